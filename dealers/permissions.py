"""Model permissions per role for dealers (see accounts.permissions). Dealer users need none:
the portal is their place, scoped by `selectors.dealer_of`, not the admin."""

from accounts.models import Role


def _perms(model: str, actions=("view",)) -> set[str]:
    return {f"dealers.{action}_{model}" for action in actions}


_MANAGE = ("view", "add", "change")
_READ = _perms("assignment") | _perms("statement") | _perms("commissionline")

ROLE_PERMISSIONS = {
    Role.SUBSIDIARY_MANAGER: _perms("dealer", _MANAGE) | _perms("routingrule", _MANAGE) | _READ,
    Role.HQ_MANAGER: _perms("dealer", _MANAGE) | _perms("routingrule", _MANAGE) | _READ,
    Role.CCO: _perms("dealer") | _perms("assignment"),
    # Finance marks statements paid.
    Role.FINANCE: _perms("dealer") | _perms("statement", ("view", "change"))
    | _perms("commissionline"),
}
