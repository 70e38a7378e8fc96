"""Model permissions per role for reports (see accounts.permissions): managers enter their
subsidiaries' monthly targets and channel spend in the admin; `reports.selectors` says
which rows."""

from accounts.models import Role


def _perms(model: str, actions=("view", "add", "change", "delete")) -> set[str]:
    return {f"reports.{action}_{model}" for action in actions}


_MANAGE = _perms("salestarget") | _perms("channelspend")

ROLE_PERMISSIONS = {
    Role.SUBSIDIARY_MANAGER: _MANAGE,
    Role.HQ_MANAGER: _MANAGE,
}
