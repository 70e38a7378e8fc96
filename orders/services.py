"""Writes of the orders app: cart, checkout with stock reservation, status moves.

Locking order, everywhere: the cart row, then the company row (credit), then stock rows
by primary key, then order rows. Two checkouts that need the same stock therefore queue
on the first stock row instead of deadlocking.
"""

import datetime
import secrets
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Company, Depot, Role
from accounts.selectors import user_company_id
from accounts.services import company_mark_served
from catalog import pricing
from catalog.models import Product, Stock
from chemmall.errors import ConflictError, DomainError
from chemmall.money import money_round, vat_part

from .models import (
    Address,
    Carrier,
    Cart,
    CartLine,
    Checkout,
    CompanyLicence,
    Order,
    OrderEvent,
    OrderLine,
)
from .selectors import company_outstanding_credit, orders_visible_to

PICKUP_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def vat_rate() -> Decimal:
    return Decimal(str(getattr(settings, "VAT_RATE", Decimal("0.13"))))


def _plain(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


# --- Status machine ---------------------------------------------------------------------------


@transaction.atomic
def order_move(*, order_id: int, to: str, actor=None, note: str = "") -> Order:
    """Move an order to `to` if `Order.MOVES` allows it, writing one event. Moving to the
    current status again is a no-op unless MOVES lists the self-move."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if to not in Order.Status.values:
        raise DomainError(_("Unknown order status: %(to)s") % {"to": to}, field="to")
    to = Order.Status(to)
    if order.status == to and not order.can_move(to):
        return order  # a repeated request changes nothing
    if not order.can_move(to):
        raise ConflictError(
            _("Order %(number)s cannot go from “%(from)s” to “%(to)s”.")
            % {"number": order.number, "from": order.get_status_display(), "to": to.label},
            code="bad_move",
        )
    OrderEvent.objects.create(order=order, from_status=order.status, to_status=to,
                              actor=actor, note=note)
    order.status = to
    order.save(update_fields=["status"])
    return order


# --- Cart -------------------------------------------------------------------------------------


def _cart_of(user) -> Cart:
    cart, _created = Cart.objects.get_or_create(user=user)
    return cart


@transaction.atomic
def cart_line_set(*, user, product_id: int, quantity) -> CartLine | None:
    """Put a product in the cart in this quantity (replacing any earlier quantity);
    quantity 0 removes it. The quantity must be orderable and priced for the buyer."""
    company_id = user_company_id(user)
    if company_id is None:
        raise DomainError(_("Only members of a buyer company can order."), code="no_company")
    try:
        product = Product.objects.select_related("chemical").get(pk=product_id, is_active=True)
    except Product.DoesNotExist:
        raise DomainError(_("This product is not available."), field="product_id") from None
    cart = _cart_of(user)
    try:
        if Decimal(str(quantity)) == 0:
            CartLine.objects.filter(cart=cart, product=product).delete()
            return None
    except ArithmeticError:
        pass  # quantity_check explains it
    quantity = pricing.quantity_check(product=product, quantity=quantity)
    pricing.price_resolve(product=product, company_id=company_id, quantity=quantity,
                          on_date=timezone.localdate())
    line, _created = CartLine.objects.update_or_create(
        cart=cart, product=product, defaults={"quantity": quantity}
    )
    return line


@transaction.atomic
def cart_line_remove(*, user, product_id: int) -> None:
    CartLine.objects.filter(cart__user=user, product_id=product_id).delete()


# --- Checkout ---------------------------------------------------------------------------------


class Shortage(DomainError):
    default_code = "shortage"


def _shortage(product: Product, *, wanted: Decimal, available: Decimal,
              depot: Depot | None = None, split: bool = False) -> Shortage:
    unit = product.get_sales_unit_display()
    values = {"product": product.display_name, "wanted": _plain(wanted),
              "available": _plain(max(available, Decimal(0))), "unit": unit}
    if depot is not None:
        values["depot"] = depot.name
        message = _("Not enough %(product)s at %(depot)s: you ordered %(wanted)s %(unit)s, "
                    "%(available)s %(unit)s are available there.")
    elif split:
        message = _("No single depot holds %(wanted)s %(unit)s of %(product)s; "
                    "%(available)s %(unit)s are available in total. Order less, or split "
                    "the order.")
    else:
        message = _("Not enough %(product)s: you ordered %(wanted)s %(unit)s, "
                    "%(available)s %(unit)s are available in total.")
    return Shortage(message % values, field="quantity")


def _reserve(*, lines, depot: Depot | None) -> dict[int, Depot | None]:
    """Reserve stock for (product, quantity) lines; returns product id → depot used.
    All needed stock rows are locked at once, ordered by pk, so concurrent checkouts
    queue instead of deadlocking and nobody reserves more than is on hand."""
    goods = [(p, q) for p, q in lines if not p.is_service]
    chosen: dict[int, Depot | None] = {p.pk: None for p, _q in lines if p.is_service}
    if not goods:
        return chosen
    stocks = Stock.objects.select_for_update(of=("self",)).filter(
        product_id__in=[p.pk for p, _q in goods], depot__is_active=True,
    ).select_related("depot").order_by("pk")
    if depot is not None:
        stocks = stocks.filter(depot=depot)
    by_product = defaultdict(list)
    for stock in stocks:
        by_product[stock.product_id].append(stock)
    for product, quantity in goods:
        rows = by_product[product.pk]
        if depot is not None:
            available = rows[0].available if rows else Decimal(0)
            if available < quantity:
                raise _shortage(product, wanted=quantity, available=available, depot=depot)
            stock = rows[0]
        else:
            total = sum((s.available for s in rows), Decimal(0))
            best = max(rows, key=lambda s: (s.available, -s.pk), default=None)
            if best is None or best.available < quantity:
                raise _shortage(product, wanted=quantity, available=total,
                                split=total >= quantity)
            stock = best
        try:
            with transaction.atomic():  # the DB constraint is the last line of defence
                Stock.objects.filter(pk=stock.pk).update(reserved=F("reserved") + quantity)
        except IntegrityError:
            stock.refresh_from_db(fields=["on_hand", "reserved"])
            raise _shortage(product, wanted=quantity, available=stock.available,
                            depot=depot) from None
        stock.reserved += quantity
        chosen[product.pk] = stock.depot
    return chosen


def _release(order: Order) -> None:
    """Give back the stock an order reserved (rows locked in pk order)."""
    lines = [line for line in order.lines.all() if line.depot_id]
    if not lines:
        return
    needed = defaultdict(Decimal)
    for line in lines:
        needed[(line.product_id, line.depot_id)] += line.quantity
    stocks = Stock.objects.select_for_update().filter(
        product_id__in={p for p, _d in needed}, depot_id__in={d for _p, d in needed}
    ).order_by("pk")
    for stock in stocks:
        quantity = needed.get((stock.product_id, stock.depot_id))
        if quantity:
            Stock.objects.filter(pk=stock.pk).update(reserved=F("reserved") - quantity)


def _check_controlled(*, company_id: int, products, on_date: datetime.date) -> None:
    """Controlled chemicals need an approved company licence valid on the date. Any kind
    is accepted for now; the chemical → licence kind mapping comes later."""
    controlled = [p for p in products if p.chemical_id and p.chemical.controlled]
    if not controlled:
        return
    licensed = CompanyLicence.objects.filter(
        company_id=company_id, status=CompanyLicence.Status.APPROVED,
        valid_until__gte=on_date,
    ).exists()
    if not licensed:
        raise DomainError(
            _("%(product)s is a controlled chemical: your company needs an approved licence "
              "valid on %(date)s. Upload it under Company → Licences; finance reviews it.")
            % {"product": controlled[0].display_name, "date": on_date.isoformat()},
            code="licence_required",
        )


def _check_hazmat(*, products, fulfilment: str, carrier: Carrier | None) -> None:
    if fulfilment != Order.Fulfilment.DELIVERY:
        return  # the buyer collects it: no carrier involved
    hazardous = [p for p in products if p.chemical_id and p.chemical.un_number]
    if not hazardous or (carrier is not None and carrier.hazmat_qualified):
        return
    product = hazardous[0]
    if carrier is None:
        message = _("%(product)s is dangerous goods (UN %(un)s): choose a hazmat-qualified "
                    "carrier for delivery, or pick it up at a depot.")
    else:
        message = _("%(product)s is dangerous goods (UN %(un)s) and %(carrier)s is not "
                    "qualified to carry dangerous goods: choose a hazmat-qualified carrier, "
                    "or pick it up at a depot.")
    raise DomainError(
        message % {"product": product.display_name, "un": product.chemical.un_number,
                   "carrier": carrier.name if carrier else ""},
        field="carrier_id", code="hazmat_carrier",
    )


def _totals(priced) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal excl. VAT, VAT, total incl. VAT) of (line_total, tax_inclusive) pairs."""
    rate = vat_rate()
    gross = sum((t for t, inclusive in priced if inclusive), Decimal("0.00"))
    net = sum((t for t, inclusive in priced if not inclusive), Decimal("0.00"))
    vat = vat_part(gross, rate) + money_round(net * rate)
    total = gross + net + money_round(net * rate)
    return total - vat, vat, total


def _order_number(order: Order) -> str:
    return f"CM{timezone.localdate(order.placed_at):%Y%m%d}{order.pk:06d}"


def _fulfilment_target(*, company_id, fulfilment, address_id, depot_id, carrier_id):
    address = depot = carrier = None
    if fulfilment == Order.Fulfilment.DELIVERY:
        address = Address.objects.filter(pk=address_id, company_id=company_id).first()
        if address is None:
            raise DomainError(_("Choose a delivery address from your address book."),
                              field="address_id")
    elif fulfilment == Order.Fulfilment.PICKUP:
        depot = Depot.objects.filter(pk=depot_id, is_active=True).first()
        if depot is None:
            raise DomainError(_("Choose the depot where you will pick up."), field="depot_id")
    else:
        raise DomainError(_("Choose delivery or pickup."), field="fulfilment")
    if carrier_id is not None and fulfilment == Order.Fulfilment.DELIVERY:
        carrier = Carrier.objects.filter(pk=carrier_id, is_active=True).first()
        if carrier is None:
            raise DomainError(_("This carrier is not available."), field="carrier_id")
    return address, depot, carrier


@transaction.atomic
def checkout_place(*, user, idempotency_key: str, fulfilment: str, address_id=None,
                   depot_id=None, carrier_id=None, payment_method: str, po_number: str = "",
                   requested_date: datetime.date | None = None, notes: str = "") -> list[Order]:
    """Place the cart: one order per seller, prices of today, stock reserved, cart emptied.
    A retry with the same idempotency key returns the first checkout's orders unchanged."""
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 64:
        raise DomainError(_("Send an idempotency key of 1 to 64 characters."),
                          field="idempotency_key")
    try:
        with transaction.atomic():
            checkout = Checkout.objects.create(user=user, idempotency_key=idempotency_key)
    except IntegrityError:
        # Placed before (or just now by a concurrent request, which the insert waited for).
        first = Checkout.objects.get(user=user, idempotency_key=idempotency_key)
        return list(first.orders.order_by("pk"))

    company_id = user_company_id(user)
    if company_id is None:
        raise DomainError(_("Only members of a buyer company can order."), code="no_company")
    if payment_method not in Order.PaymentMethod.values:
        raise DomainError(_("Choose prepayment or credit terms."), field="payment_method")
    if requested_date is not None and requested_date < timezone.localdate():
        raise DomainError(_("The requested date cannot be in the past."),
                          field="requested_date")
    cart = Cart.objects.select_for_update().filter(user=user).first()
    lines = list(
        CartLine.objects.filter(cart=cart).select_related("product__chemical", "product__seller")
        .order_by("product__seller_id", "pk")
    ) if cart else []
    if not lines:
        raise DomainError(_("Your cart is empty."), code="empty_cart")
    address, depot, carrier = _fulfilment_target(
        company_id=company_id, fulfilment=fulfilment, address_id=address_id,
        depot_id=depot_id, carrier_id=carrier_id)
    company = Company.objects.select_for_update().get(pk=company_id)  # serialises credit
    if payment_method == Order.PaymentMethod.CREDIT and company.payment_terms_days == 0:
        raise DomainError(_("Your company pays in advance; credit terms are not agreed."),
                          field="payment_method")

    today = timezone.localdate()
    products = [line.product for line in lines]
    for product in products:
        if not product.is_active:
            raise DomainError(_("%(product)s is no longer sold; remove it from the cart.")
                              % {"product": product.display_name}, code="inactive")
    if depot is not None:
        others = [p for p in products if p.seller_id != depot.organization_id]
        if others:
            raise DomainError(
                _("%(product)s is not sold from %(depot)s; pick up only what that depot "
                  "holds, or choose delivery.")
                % {"product": others[0].display_name, "depot": depot.name},
                field="depot_id",
            )
    _check_hazmat(products=products, fulfilment=fulfilment, carrier=carrier)
    _check_controlled(company_id=company_id, products=products, on_date=today)

    priced = []
    for line in lines:
        quantity = pricing.quantity_check(product=line.product, quantity=line.quantity)
        price = pricing.price_resolve(product=line.product, company_id=company_id,
                                      quantity=quantity, on_date=today)
        priced.append((line.product, quantity, price))
    depots = _reserve(lines=[(p, q) for p, q, _price in priced], depot=depot)

    by_seller = defaultdict(list)
    for item in priced:
        by_seller[item[0].seller_id].append(item)
    orders = []
    for seller_id in sorted(by_seller):
        items = by_seller[seller_id]
        order_lines = [
            OrderLine(product=p, quantity=q, unit=p.sales_unit, unit_price=price.unit_price,
                      tax_inclusive=price.tax_inclusive, tier_id=price.tier_id,
                      line_total=money_round(price.unit_price * q), depot=depots[p.pk])
            for p, q, price in items
        ]
        subtotal, vat, total = _totals([(ol.line_total, ol.tax_inclusive) for ol in order_lines])
        order = Order.objects.create(
            number=f"tmp-{secrets.token_hex(8)}", checkout=checkout, company_id=company_id,
            placed_by=user, seller_id=seller_id, fulfilment=fulfilment, address=address,
            pickup_depot=depot, carrier=carrier, payment_method=payment_method,
            po_number=po_number, requested_date=requested_date, notes=notes,
            subtotal=subtotal, vat=vat, vat_rate=vat_rate(), total=total,
            pickup_code="".join(secrets.choice(PICKUP_CODE_ALPHABET) for _i in range(8))
            if depot is not None else "",
        )
        order.number = _order_number(order)
        order.save(update_fields=["number"])
        for ol in order_lines:
            ol.order = order
        OrderLine.objects.bulk_create(order_lines)
        OrderEvent.objects.create(order=order, from_status="", to_status=Order.Status.PLACED,
                                  actor=user, note=_("Placed from the cart."))
        if payment_method == Order.PaymentMethod.CREDIT:
            _credit_check(order=order, company=company, actor=user)
        company_mark_served(company_id=company_id, organization_id=seller_id)
        orders.append(order)
    CartLine.objects.filter(cart=cart).delete()
    return orders


def _credit_check(*, order: Order, company: Company, actor) -> None:
    """Over the limit, a credit order waits for finance (the event says why)."""
    outstanding = company_outstanding_credit(company.pk) - order.total  # without this one
    if outstanding + order.total <= company.credit_limit:
        return
    order_move(
        order_id=order.pk, to=Order.Status.AWAITING_CREDIT, actor=actor,
        note=_("Outstanding credit %(outstanding)s + this order %(total)s exceeds the "
               "credit limit %(limit)s CNY; finance must approve.")
        % {"outstanding": outstanding, "total": order.total, "limit": company.credit_limit},
    )
    order.status = Order.Status.AWAITING_CREDIT


# --- Moves with their own rules ---------------------------------------------------------------


def _require_seller_staff(order: Order, actor) -> None:
    if actor.organization_id is None and not actor.is_superuser:
        raise ConflictError(_("Only the seller's staff can do this."), code="forbidden")
    if not orders_visible_to(actor).filter(pk=order.pk).exists():
        raise Order.DoesNotExist


def _require_finance(actor, order: Order | None = None) -> None:
    if not (actor.is_superuser or actor.has_role(Role.FINANCE)):
        raise ConflictError(_("Only finance can do this."), code="forbidden")
    if order is not None and not orders_visible_to(actor).filter(pk=order.pk).exists():
        raise Order.DoesNotExist


@transaction.atomic
def order_confirm(*, order_id: int, actor) -> Order:
    """The seller accepts a placed order; a credit order (within the limit, checked at
    checkout) is credit-approved at the same time."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_seller_staff(order, actor)
    is_credit = order.payment_method == Order.PaymentMethod.CREDIT
    if is_credit and order.status == Order.Status.CREDIT_APPROVED:
        return order  # confirmed before: a repeated click changes nothing
    order = order_move(order_id=order.pk, to=Order.Status.CONFIRMED, actor=actor)
    if is_credit:
        order = order_move(order_id=order.pk, to=Order.Status.CREDIT_APPROVED, actor=actor,
                           note=_("Within the company's credit limit."))
    return order


@transaction.atomic
def order_payment_confirm(*, order_id: int, actor) -> Order:
    """Finance records the bank transfer of a prepayment order. Idempotent."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_finance(actor, order)
    if order.payment_method != Order.PaymentMethod.PREPAYMENT:
        raise ConflictError(_("This order is on credit terms; there is no prepayment."),
                            code="not_prepayment")
    return order_move(order_id=order.pk, to=Order.Status.PAID, actor=actor,
                      note=_("Bank transfer received."))


@transaction.atomic
def order_credit_approve(*, order_id: int, actor, note: str = "") -> Order:
    """Finance approves a credit order that went over the company's limit."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_finance(actor, order)
    return order_move(order_id=order.pk, to=Order.Status.CREDIT_APPROVED, actor=actor,
                      note=note)


@transaction.atomic
def order_mark_ready(*, order_id: int, actor) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_seller_staff(order, actor)
    return order_move(order_id=order.pk, to=Order.Status.READY, actor=actor)


CANCELLABLE_BY_BUYER = {Order.Status.PLACED, Order.Status.AWAITING_CREDIT}


@transaction.atomic
def order_cancel(*, order_id: int, actor, reason: str = "") -> Order:
    """Cancel and give the reserved stock back. The buyer may cancel before the seller
    confirms; the seller's staff may cancel until payment, giving a reason."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if not orders_visible_to(actor).filter(pk=order.pk).exists():
        raise Order.DoesNotExist
    if order.status == Order.Status.CANCELLED:
        return order
    is_buyer = actor.organization_id is None and not actor.is_superuser
    if is_buyer and order.status not in CANCELLABLE_BY_BUYER:
        raise ConflictError(
            _("Order %(number)s is already confirmed; ask the seller to cancel it.")
            % {"number": order.number}, code="bad_move")
    reason = (reason or "").strip()
    if not is_buyer and not reason:
        raise DomainError(_("Give the reason for cancelling."), field="reason")
    order = order_move(order_id=order.pk, to=Order.Status.CANCELLED, actor=actor, note=reason)
    _release(order)
    return order


# --- Licences ---------------------------------------------------------------------------------


@transaction.atomic
def licence_review(*, licence_id: int, actor, approve: bool) -> CompanyLicence:
    _require_finance(actor)
    licence = CompanyLicence.objects.select_for_update().get(pk=licence_id)
    licence.status = (CompanyLicence.Status.APPROVED if approve
                      else CompanyLicence.Status.REJECTED)
    licence.reviewed_by = actor
    licence.reviewed_at = timezone.now()
    licence.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return licence
