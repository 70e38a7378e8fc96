"""Model permissions per role for orders (see accounts.permissions)."""

from accounts.models import Role


def _perms(model: str, actions=("view",)) -> set[str]:
    return {f"orders.{action}_{model}" for action in actions}


_HANDLE = ("view", "change")

ROLE_PERMISSIONS = {
    Role.CCO: _perms("order", _HANDLE) | _perms("carrier") | _perms("companylicence"),
    Role.SUBSIDIARY_MANAGER: _perms("order", _HANDLE) | _perms("carrier", _HANDLE)
    | _perms("companylicence"),
    Role.HQ_MANAGER: _perms("order", _HANDLE) | _perms("carrier", ("view", "add", "change"))
    | _perms("companylicence"),
    Role.FINANCE: _perms("order") | _perms("companylicence", _HANDLE),
    Role.DEPOT_OPERATOR: _perms("order"),
}
