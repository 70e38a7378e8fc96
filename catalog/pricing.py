"""Price resolution: (product, company, quantity, date) → the unit price and the tier used.

The one place prices are decided; cart, checkout and quotes all call `price_resolve`.
Rules: only lists valid on the date count; a list for the buyer's company wins over the
public list; among lists of the same kind the latest `valid_from` wins (the ~10-working-day
price cycle simply adds a newer list); within the list, the highest tier whose
`min_quantity` the quantity reaches.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils.translation import gettext as _

from chemmall.db import Prepared
from chemmall.errors import DomainError
from chemmall.money import money_round

from .models import PriceTier, Product


class NoValidPrice(DomainError):
    default_code = "no_price"


class QuantityNotAllowed(DomainError):
    default_code = "quantity"


# Quantities are stored as Decimal(14, 3); anything larger cannot be an order line.
MAX_QUANTITY = Decimal("99999999999")


def _plain(value: Decimal) -> str:
    """200 → '200', 0.500 → '0.5' (normalize() alone would write 2E+2)."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class ResolvedPrice:
    unit_price: Decimal
    min_quantity: Decimal
    tier_id: int
    price_list_id: int
    is_company_price: bool
    tax_inclusive: bool
    valid_until: datetime.date | None

    def total(self, quantity: Decimal) -> Decimal:
        return money_round(self.unit_price * Decimal(quantity))


def _valid_tiers_query(*, product_ids, company_id: int | None, on_date: datetime.date):
    scope = Q(price_list__company__isnull=True)
    if company_id is not None:
        scope |= Q(price_list__company_id=company_id)
    return (
        PriceTier.objects.filter(product_id__in=product_ids)
        .filter(scope)
        .filter(price_list__valid_from__lte=on_date)
        .filter(Q(price_list__valid_until__isnull=True) | Q(price_list__valid_until__gte=on_date))
        .select_related("price_list")
        .order_by("price_list__company_id", "-price_list__valid_from", "-price_list_id",
                  "min_quantity")
    )


# Every cart line and checkout resolves prices: compiled once (chemmall.db.Prepared).
_valid_tiers_prepared = Prepared(_valid_tiers_query)


def _valid_tiers(*, product_ids, company_id: int | None,
                 on_date: datetime.date) -> list[PriceTier]:
    product_ids = [int(pk) for pk in product_ids]
    if not product_ids:
        return []
    return _valid_tiers_prepared.all(product_ids=product_ids, company_id=company_id,
                                     on_date=on_date)


def _winning_lists(tiers) -> list[list[PriceTier]]:
    """Tiers grouped by list, in priority order: company lists first, newest first."""
    groups: dict[int, list[PriceTier]] = {}
    for tier in tiers:
        groups.setdefault(tier.price_list_id, []).append(tier)
    return sorted(
        groups.values(),
        key=lambda g: (g[0].price_list.company_id is None, -g[0].price_list.valid_from.toordinal(),
                       -g[0].price_list_id),
    )


def _pick(tiers, quantity: Decimal) -> ResolvedPrice | None:
    """The highest reached tier of the first list (in priority order) that has one."""
    for group in _winning_lists(tiers):
        reached = [t for t in group if t.min_quantity <= quantity]
        if reached:
            tier = reached[-1]
            return ResolvedPrice(
                unit_price=tier.unit_price, min_quantity=tier.min_quantity, tier_id=tier.pk,
                price_list_id=tier.price_list_id,
                is_company_price=tier.price_list.company_id is not None,
                tax_inclusive=tier.tax_inclusive, valid_until=tier.price_list.valid_until,
            )
    return None


def price_table(*, product_id: int, company_id: int | None,
                on_date: datetime.date) -> list[PriceTier]:
    """The tiers a buyer of `company_id` sees for the product on a date (the winning list's),
    lowest quantity first; [] when there is no valid price."""
    lists = _winning_lists(_valid_tiers(product_ids=[product_id], company_id=company_id,
                                        on_date=on_date))
    return lists[0] if lists else []


def price_resolve(*, product: Product, company_id: int | None, quantity,
                  on_date: datetime.date) -> ResolvedPrice:
    price = _pick(_valid_tiers(product_ids=[product.pk], company_id=company_id,
                               on_date=on_date), Decimal(quantity))
    if price is None:
        raise NoValidPrice(
            _("%(product)s has no valid price on %(date)s for this quantity; send an inquiry "
              "for a quote.") % {"product": product.display_name, "date": on_date.isoformat()},
            field="quantity",
        )
    return price


def prices_resolve_many(*, quantities: dict[int, Decimal], company_id: int | None,
                        on_date: datetime.date) -> dict[int, ResolvedPrice]:
    """price_resolve for several products (product id → quantity) in one query; a product
    without a valid price is left out of the answer."""
    by_product: dict[int, list[PriceTier]] = {}
    for tier in _valid_tiers(product_ids=list(quantities), company_id=company_id,
                             on_date=on_date):
        by_product.setdefault(tier.product_id, []).append(tier)
    resolved = {}
    for product_id, quantity in quantities.items():
        price = _pick(by_product.get(product_id, []), Decimal(quantity))
        if price is not None:
            resolved[product_id] = price
    return resolved


def quantity_check(*, product: Product, quantity) -> Decimal:
    """The quantity as a Decimal if the product may be ordered in it, else a clear error."""
    try:
        quantity = Decimal(str(quantity))
    except (InvalidOperation, ValueError, TypeError):
        raise QuantityNotAllowed(_("Enter the quantity as a number."), field="quantity") from None
    if not quantity.is_finite() or quantity <= 0:
        raise QuantityNotAllowed(_("The quantity must be more than zero."), field="quantity")
    if quantity > MAX_QUANTITY:
        raise QuantityNotAllowed(_("The quantity is too large; send an inquiry instead."),
                                 field="quantity")
    unit = product.get_sales_unit_display()
    if quantity < product.min_order_quantity:
        raise QuantityNotAllowed(
            _("The minimum order is %(moq)s %(unit)s.")
            % {"moq": _plain(product.min_order_quantity), "unit": unit},
            field="quantity",
        )
    if (quantity - product.min_order_quantity) % product.quantity_step != 0:
        raise QuantityNotAllowed(
            _("Order in steps of %(step)s %(unit)s from %(moq)s %(unit)s.")
            % {"step": _plain(product.quantity_step), "unit": unit,
               "moq": _plain(product.min_order_quantity)},
            field="quantity",
        )
    return quantity
