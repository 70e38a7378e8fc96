"""Reads of the orders app, and the answer to "which orders may this user see"."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from accounts.selectors import companies_visible_to, depots_visible_to, user_company_id
from catalog import pricing
from chemmall.money import money_round

from .models import Address, Cart, CartLine, CompanyLicence, Order, OrderLine, Pickup


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


def licences_visible_to(user) -> QuerySet[CompanyLicence]:
    """Staff: licences of the companies they may see (HQ: all). A buyer: its company's."""
    return CompanyLicence.objects.select_related("company", "reviewed_by").filter(
        company__in=companies_visible_to(user))


def company_outstanding_credit(company_id: int) -> Decimal:
    """Sum of the totals of the company's credit orders whose invoice is not paid yet
    (cancelled and returned orders owe nothing; a completed one owes until finance records
    the payment, `order_invoice_paid`)."""
    total = (
        Order.objects.filter(company_id=company_id,
                             payment_method=Order.PaymentMethod.CREDIT, paid_at__isnull=True)
        .exclude(status__in=[Order.Status.CANCELLED, Order.Status.RETURNED])
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


def cart_for(user) -> CartView:
    """The user's cart with today's prices; three queries whatever its size."""
    lines = list(
        CartLine.objects.filter(cart__user=user)
        .select_related("product__seller", "product__chemical")
        .order_by("product__seller_id", "added_at", "pk")
    )
    if not lines:
        return CartView()
    prices = pricing.prices_resolve_many(
        quantities={line.product_id: line.quantity for line in lines},
        company_id=user_company_id(user), on_date=timezone.localdate(),
    )
    views = []
    for line in lines:
        price = prices.get(line.product_id)
        total = money_round(price.unit_price * line.quantity) if price else None
        views.append(CartLineView(line=line, price=price, line_total=total))
    return CartView(lines=views)


def cart_get_or_none(user) -> Cart | None:
    return Cart.objects.filter(user=user).first()


def order_for_page(*, user, order_id: int) -> Order:
    """An order the user may see, with its lines, timeline and pickups in four queries."""
    return (
        orders_visible_to(user)
        .select_related("address__region", "pickup_depot__region", "carrier", "checkout")
        .prefetch_related("lines__product__chemical", "lines__depot",
                          "events__actor", "pickups__lines__order_line__product",
                          "pickups__recorded_by")
        .get(pk=order_id)
    )


def open_pickup_balances(user) -> QuerySet[OrderLine]:
    """Bought but not yet picked up, over all the company's open pickup orders."""
    visible = orders_visible_to(user).filter(fulfilment=Order.Fulfilment.PICKUP,
                                             status__in=Order.OPEN_STATUSES)
    return (
        OrderLine.objects.filter(order__in=visible.values("pk"), picked_up__lt=F("quantity"))
        .select_related("order__pickup_depot", "product")
        .order_by("order__pickup_depot_id", "order__placed_at", "pk")
    )


def pickup_order_for_code(*, user, code: str) -> Order | None:
    """The pickup order a depot operator may hand over under this code, else None."""
    if not code:
        return None
    return (
        Order.objects.filter(pickup_code=code, fulfilment=Order.Fulfilment.PICKUP,
                             pickup_depot__in=depots_visible_to(user))
        .select_related("company", "seller", "pickup_depot", "placed_by")
        .prefetch_related("lines__product", "pickups__lines")
        .first()
    )


def pickups_visible_to(user) -> QuerySet[Pickup]:
    """Pickups at the depots a user runs, or of the orders a buyer's company placed."""
    qs = Pickup.objects.select_related("order__company", "depot", "recorded_by")
    if user.is_authenticated and user.organization_id:
        return qs.filter(depot__in=depots_visible_to(user))
    return qs.filter(order__in=orders_visible_to(user).values("pk"))


def addresses_of(user) -> QuerySet[Address]:
    """The active address book of the user's company (empty for non-members)."""
    company_id = user_company_id(user)
    if company_id is None:
        return Address.objects.none()
    return Address.objects.filter(company_id=company_id, is_active=True).select_related(
        "region__parent")
