"""Model permissions per role for orders (see accounts.permissions)."""

from accounts.models import Role


def _perms(model: str, actions=("view",)) -> set[str]:
    return {f"orders.{action}_{model}" for action in actions}


_HANDLE = ("view", "change")

ROLE_PERMISSIONS = {
    Role.CCO: _perms("order", _HANDLE) | _perms("carrier") | _perms("companylicence")
    | _perms("pickup"),
    Role.SUBSIDIARY_MANAGER: _perms("order", _HANDLE) | _perms("carrier", _HANDLE)
    | _perms("companylicence") | _perms("pickup") | _perms("outboxmessage"),
    Role.HQ_MANAGER: _perms("order", _HANDLE) | _perms("carrier", ("view", "add", "change"))
    | _perms("companylicence") | _perms("pickup") | _perms("outboxmessage", _HANDLE),
    # Finance pages check change_companylicence; payments and credit need change_order.
    Role.FINANCE: _perms("order", _HANDLE) | _perms("companylicence", _HANDLE)
    | _perms("pickup"),
    # The depot pages check add_pickup.
    Role.DEPOT_OPERATOR: _perms("order") | _perms("pickup", ("view", "add")),
}
