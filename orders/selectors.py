"""Reads of the orders app, and the answer to "which orders may this user see"."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.selectors import user_company_id
from catalog import pricing
from catalog.models import PriceTier
from chemmall.money import money_round

from .models import Cart, CartLine, Order


def orders_visible_to(user) -> QuerySet[Order]:
    """HQ staff: all orders. Subsidiary staff: orders sold by their subsidiary's subtree.
    A buyer: its company's orders. Anyone else: none."""
    qs = Order.objects.select_related("company", "seller", "placed_by")
    if not (user and user.is_authenticated and user.is_active):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.organization_id:
        return qs.filter(seller__in=user.organization.subtree())
    company_id = user_company_id(user)
    if company_id is None:
        return qs.none()
    return qs.filter(company_id=company_id)


def company_outstanding_credit(company_id: int) -> Decimal:
    """Sum of the totals of the company's open credit orders (not completed or cancelled)."""
    total = (
        Order.objects.filter(company_id=company_id,
                             payment_method=Order.PaymentMethod.CREDIT,
                             status__in=Order.OPEN_STATUSES)
        .aggregate(s=Sum("total"))["s"]
    )
    return total or Decimal("0.00")


@dataclass
class CartLineView:
    line: CartLine
    price: pricing.ResolvedPrice | None
    line_total: Decimal | None

    @property
    def product(self):
        return self.line.product


@dataclass
class CartView:
    lines: list[CartLineView] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((v.line_total for v in self.lines if v.line_total is not None),
                   Decimal("0.00"))

    @property
    def has_unpriced(self) -> bool:
        return any(v.price is None for v in self.lines)


def _resolve_many(*, product_ids, company_id, quantities, on_date):
    """price_resolve for several products in one query, with the same rules."""
    scope = Q(price_list__company__isnull=True)
    if company_id is not None:
        scope |= Q(price_list__company_id=company_id)
    tiers = (
        PriceTier.objects.filter(product_id__in=product_ids).filter(scope)
        .filter(price_list__valid_from__lte=on_date)
        .filter(Q(price_list__valid_until__isnull=True)
                | Q(price_list__valid_until__gte=on_date))
        .select_related("price_list")
        .order_by("price_list__company_id", "-price_list__valid_from", "-price_list_id",
                  "min_quantity")
    )
    by_product = defaultdict(list)
    for tier in tiers:
        by_product[tier.product_id].append(tier)
    resolved = {}
    for product_id in product_ids:
        quantity = quantities[product_id]
        # pricing._winning_lists holds the priority rule; a public batch resolver in catalog
        # would be the better home for this.
        for group in pricing._winning_lists(by_product[product_id]):
            reached = [t for t in group if t.min_quantity <= quantity]
            if reached:
                tier = reached[-1]
                resolved[product_id] = pricing.ResolvedPrice(
                    unit_price=tier.unit_price, min_quantity=tier.min_quantity,
                    tier_id=tier.pk, price_list_id=tier.price_list_id,
                    is_company_price=tier.price_list.company_id is not None,
                    tax_inclusive=tier.tax_inclusive, valid_until=tier.price_list.valid_until,
                )
                break
    return resolved


def cart_for(user) -> CartView:
    """The user's cart with today's prices; three queries whatever its size."""
    lines = list(
        CartLine.objects.filter(cart__user=user)
        .select_related("product__seller", "product__chemical")
        .order_by("product__seller_id", "added_at", "pk")
    )
    if not lines:
        return CartView()
    prices = _resolve_many(
        product_ids=[line.product_id for line in lines],
        company_id=user_company_id(user),
        quantities={line.product_id: line.quantity for line in lines},
        on_date=timezone.localdate(),
    )
    views = []
    for line in lines:
        price = prices.get(line.product_id)
        total = money_round(price.unit_price * line.quantity) if price else None
        views.append(CartLineView(line=line, price=price, line_total=total))
    return CartView(lines=views)


def cart_get_or_none(user) -> Cart | None:
    return Cart.objects.filter(user=user).first()
