"""Model permissions per role for the catalog (see accounts.permissions)."""

from accounts.models import Role


def _perms(model: str, actions=("view",)) -> set[str]:
    return {f"catalog.{action}_{model}" for action in actions}


_EDIT = ("view", "add", "change")

ROLE_PERMISSIONS = {
    Role.CCO: (_perms("product", _EDIT) | _perms("stock", _EDIT) | _perms("chemical")
               | _perms("category") | _perms("pricelist", _EDIT) | _perms("pricetier", _EDIT)
               | _perms("pricechange")),
    Role.SUBSIDIARY_MANAGER: (_perms("product", _EDIT) | _perms("stock", _EDIT)
                              | _perms("chemical", _EDIT) | _perms("category")
                              | _perms("pricelist", _EDIT) | _perms("pricetier", _EDIT)
                              | _perms("pricechange")),
    Role.HQ_MANAGER: (_perms("product", _EDIT) | _perms("stock", _EDIT)
                      | _perms("chemical", _EDIT) | _perms("category", _EDIT)
                      | _perms("pricelist", _EDIT) | _perms("pricetier", _EDIT)
                      | _perms("pricechange")),
    Role.FINANCE: _perms("product") | _perms("pricelist") | _perms("pricetier")
    | _perms("pricechange"),
    Role.DEPOT_OPERATOR: _perms("product") | _perms("stock", ("view", "change")),
}
