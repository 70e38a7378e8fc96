"""Writes of the catalog: products, price lists (with their history), stock levels."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Company, Organization
from chemmall.errors import DomainError

from . import search
from .models import PriceChange, PriceList, PriceTier, Product, Stock


@dataclass(frozen=True)
class TierInput:
    product: Product
    min_quantity: Decimal
    unit_price: Decimal
    tax_inclusive: bool = True


@transaction.atomic
def product_save(*, product: Product) -> Product:
    """Create or update a product and refresh its search entry."""
    product.full_clean()
    product.save()
    search.index_products(product_ids=[product.pk])
    return product


def price_list_problems(*, seller: Organization, company: Company | None,
                        valid_from: datetime.date, valid_until: datetime.date | None,
                        tiers: list[TierInput]) -> list[str]:
    """Everything wrong with a proposed price list, as readable sentences ([] = fine)."""
    problems = []
    if valid_until is not None and valid_until < valid_from:
        problems.append(_("The list ends before it starts."))
    by_product: dict[int, list[TierInput]] = {}
    for tier in tiers:
        if tier.product.seller_id != seller.pk:
            problems.append(_("%(sku)s is not a product of %(seller)s.")
                            % {"sku": tier.product.sku, "seller": seller.name})
        if tier.unit_price <= 0:
            problems.append(_("%(sku)s: the unit price must be more than zero.")
                            % {"sku": tier.product.sku})
        if tier.min_quantity < 0:
            problems.append(_("%(sku)s: the tier quantity cannot be negative.")
                            % {"sku": tier.product.sku})
        by_product.setdefault(tier.product.pk, []).append(tier)
    for product_tiers in by_product.values():
        sku = product_tiers[0].product.sku
        quantities = [t.min_quantity for t in product_tiers]
        if quantities != sorted(quantities) or len(set(quantities)) != len(quantities):
            problems.append(_("%(sku)s: tiers must go up in quantity, each quantity once.")
                            % {"sku": sku})
        elif any(b.unit_price > a.unit_price for a, b in zip(product_tiers, product_tiers[1:],
                                                              strict=False)):
            problems.append(_("%(sku)s: a larger quantity cannot cost more per unit.")
                            % {"sku": sku})
    clashing = (
        PriceTier.objects.filter(product_id__in=by_product, price_list__seller=seller,
                                 price_list__company=company, price_list__valid_from=valid_from)
        .values_list("product__sku", flat=True).distinct()
    )
    for sku in clashing:
        problems.append(_("%(sku)s already has a price list starting %(date)s for this customer "
                          "scope; two lists with the same start would be ambiguous.")
                        % {"sku": sku, "date": valid_from.isoformat()})
    return problems


@transaction.atomic
def price_list_create(*, seller: Organization, company: Company | None, name: str,
                      valid_from: datetime.date, valid_until: datetime.date | None,
                      tiers: list[TierInput], created_by=None,
                      source: str = PriceList.Source.MANUAL) -> PriceList:
    """A new price list, whole or not at all; every tier is recorded in the price history."""
    if not tiers:
        raise DomainError(_("A price list needs at least one price."), field="tiers")
    problems = price_list_problems(seller=seller, company=company, valid_from=valid_from,
                                   valid_until=valid_until, tiers=tiers)
    if problems:
        raise DomainError(" ".join(problems), field="tiers")
    price_list = PriceList.objects.create(
        seller=seller, company=company, name=name, valid_from=valid_from,
        valid_until=valid_until, source=source, created_by=created_by,
    )
    PriceTier.objects.bulk_create([
        PriceTier(price_list=price_list, product=t.product, min_quantity=t.min_quantity,
                  unit_price=t.unit_price, tax_inclusive=t.tax_inclusive)
        for t in tiers
    ])
    PriceChange.objects.bulk_create([
        PriceChange(product=t.product, company=company, price_list=price_list,
                    min_quantity=t.min_quantity, unit_price=t.unit_price,
                    effective_from=valid_from, changed_by=created_by)
        for t in tiers
    ])
    return price_list


@transaction.atomic
def stock_set_on_hand(*, product: Product, depot_id: int, on_hand: Decimal) -> Stock:
    """Set a depot's counted stock. Never below what is already reserved for orders."""
    stock, _created = Stock.objects.select_for_update().get_or_create(
        product=product, depot_id=depot_id)
    if on_hand < stock.reserved:
        raise DomainError(
            _("%(reserved)s is reserved for orders; the stock cannot go below that.")
            % {"reserved": format(stock.reserved.normalize(), "f")}, field="on_hand")
    stock.on_hand = on_hand
    stock.save(update_fields=["on_hand"])
    return stock


@transaction.atomic
def price_tiers_record_history(*, price_list: PriceList, tiers, user=None) -> list[PriceChange]:
    """Record in the price history tiers added to or changed in a list by hand (the admin).
    A tier whose latest record already says the same is skipped, so a repeated call adds
    nothing. Lists in force are not edited at all (the admin forbids it); this only follows
    lists that have not started yet."""
    recorded = []
    for tier in tiers:
        latest = (PriceChange.objects
                  .filter(price_list=price_list, product_id=tier.product_id,
                          min_quantity=tier.min_quantity)
                  .order_by("-recorded_at", "-pk").first())
        if latest is not None and (latest.unit_price, latest.effective_from,
                                   latest.company_id) == (tier.unit_price, price_list.valid_from,
                                                          price_list.company_id):
            continue
        recorded.append(PriceChange(
            product_id=tier.product_id, company_id=price_list.company_id, price_list=price_list,
            min_quantity=tier.min_quantity, unit_price=tier.unit_price,
            effective_from=price_list.valid_from, changed_by=user))
    return PriceChange.objects.bulk_create(recorded)
