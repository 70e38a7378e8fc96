"""Writes of the orders app: cart, checkout with stock reservation, status moves.

Locking order, everywhere: the cart's lines, then the company row (credit), then stock rows
by primary key, then order rows. Two checkouts that need the same stock therefore queue
on the first stock row instead of deadlocking. (A checkout writes its new orders before it
locks the stock, so that a hot product is held only for the reservation and the commit;
nobody else can see, let alone lock, those rows before the commit.)
"""

import datetime
import secrets
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Company, Depot, Region, Role, User
from accounts.selectors import depots_visible_to, organizations_serving, user_company_id
from accounts.services import company_mark_served
from catalog import pricing
from catalog.models import LicenceKind, Product, Stock
from chemmall.db import Prepared, insert, insert_new, update_fields
from chemmall.errors import ConflictError, DomainError
from chemmall.money import money_round, vat_part, vat_rate
from chemmall.uploads import DOCUMENT_MAX_BYTES, document_kind, document_rename

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
    Pickup,
    PickupLine,
)
from .outbox import notify_message, notify_user, outbox_enqueue_many
from .selectors import company_outstanding_credit, licences_visible_to, orders_visible_to

PICKUP_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
PICKUP_CODE_LENGTH = 10


def _plain(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


# --- Status machine ---------------------------------------------------------------------------

# The moves a buyer hears about by mail (templates/orders/email/<kind>.txt).
BUYER_MAIL_ON = {
    Order.Status.CONFIRMED: "order_confirmed",
    Order.Status.READY: "order_ready",
    Order.Status.SHIPPED: "order_shipped",
    Order.Status.CANCELLED: "order_cancelled",
}


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
    if to in BUYER_MAIL_ON:
        notify_user(user=order.placed_by, kind=BUYER_MAIL_ON[to],
                    context={"order": order, "note": note},
                    dedup_key=f"order:{order.pk}:{to}")
    return order


# The queries every cart line and checkout runs, compiled once (chemmall.db.Prepared; the
# benchmarks/README.md "Orders" section has the figures).
# The search columns (a product's whole text and its tsvector) are never needed here.
_product_orderable = Prepared(lambda product_id: Product.objects.select_related("chemical")
                              .defer("search_document", "search_vector")
                              .filter(pk=product_id, is_active=True)[:1])
_cart = Prepared(lambda user_id: Cart.objects.filter(user_id=user_id)[:1])
_cart_lines_locked = Prepared(
    lambda user_id: CartLine.objects.select_for_update(of=("self",)).filter(cart__user_id=user_id)
    .select_related("product__chemical", "product__seller")
    .defer("product__search_document", "product__search_vector")
    .order_by("product__seller_id", "pk"))
_address_of_company = Prepared(lambda address_id, company_id: Address.objects.filter(
    pk=address_id, company_id=company_id, is_active=True).order_by()[:1])
_depot_active = Prepared(lambda depot_id: Depot.objects.filter(pk=depot_id, is_active=True)
                         .order_by()[:1])
_carrier_active = Prepared(lambda carrier_id: Carrier.objects.filter(pk=carrier_id,
                                                                     is_active=True)
                           .order_by()[:1])
_company_locked = Prepared(lambda company_id: Company.objects.select_for_update()
                           .filter(pk=company_id).order_by())
_stock_locked = Prepared(lambda product_ids: Stock.objects.select_for_update(of=("self",)).filter(
    product_id__in=product_ids, depot__is_active=True).select_related("depot").order_by("pk"))
_stock_locked_at = Prepared(lambda product_ids, depot_id: Stock.objects.select_for_update(
    of=("self",)).filter(product_id__in=product_ids, depot_id=depot_id, depot__is_active=True)
    .select_related("depot").order_by("pk"))
# The locked, checked row is updated only while it still holds the quantity: the
# condition (and behind it the CHECK constraint) refuses more, without a savepoint.
_stock_reserve = Prepared(lambda stock_id, quantity: (
    Stock.objects.filter(pk=stock_id, on_hand__gte=F("reserved") + Value(quantity)),
    {"reserved": F("reserved") + Value(quantity)}))
# One group by name: one row per user, no DISTINCT over every column needed.
_seller_ccos = Prepared(lambda seller_id, group: User.objects.filter(
    organization_id=seller_id, is_active=True, groups__name=group)
    .only("email", "language", "full_name"))


# --- Cart -------------------------------------------------------------------------------------


def _cart_of(user) -> Cart:
    cart = _cart.first(user_id=user.pk)
    if cart is None:
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
        product = _product_orderable.first(product_id=int(product_id))
    except (TypeError, ValueError, OverflowError):
        product = None
    if product is None:
        raise DomainError(_("This product is not available."), field="product_id")
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
    # One INSERT … ON CONFLICT (cart, product) DO UPDATE: a line keeps its place (added_at).
    (line,) = CartLine.objects.bulk_create(
        [CartLine(cart=cart, product=product, quantity=quantity)],
        update_conflicts=True, unique_fields=["cart", "product"], update_fields=["quantity"],
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
    product_ids = [p.pk for p, _q in goods]
    if depot is not None:
        stocks = _stock_locked_at.all(product_ids=product_ids, depot_id=depot.pk)
    else:
        stocks = _stock_locked.all(product_ids=product_ids)
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
        if not _stock_reserve.update(stock_id=stock.pk, quantity=quantity):
            stock.refresh_from_db(fields=["on_hand", "reserved"])
            raise _shortage(product, wanted=quantity, available=stock.available, depot=depot)
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
    """A controlled chemical needs an approved company licence of the kind it names,
    valid on the order date."""
    controlled = [p for p in products if p.chemical_id and p.chemical.controlled]
    if not controlled:
        return
    held = set(
        CompanyLicence.objects.filter(
            company_id=company_id, status=CompanyLicence.Status.APPROVED,
            valid_until__gte=on_date,
        ).values_list("kind", flat=True)
    )
    for product in controlled:
        kind = product.chemical.licence_kind
        if kind not in held:
            raise DomainError(
                _("%(product)s is a controlled chemical: your company needs an approved "
                  "“%(licence)s” valid on %(date)s. Upload it under My company → Licences; "
                  "finance reviews it.")
                % {"product": product.display_name, "licence": LicenceKind(kind).label,
                   "date": on_date.isoformat()},
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


def _as_id(value) -> int | None:
    """An id as given by a form or a caller ("12", 12); anything else is no id (the caller's
    clear error), never a query the database refuses."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _fulfilment_target(*, company_id, fulfilment, address_id, depot_id, carrier_id):
    address = depot = carrier = None
    address_id, depot_id = _as_id(address_id), _as_id(depot_id)
    carrier_id = None if carrier_id in (None, "") else (_as_id(carrier_id) or 0)
    if fulfilment == Order.Fulfilment.DELIVERY:
        address = _address_of_company.first(address_id=address_id, company_id=company_id)
        if address is None:
            raise DomainError(_("Choose a delivery address from your address book."),
                              field="address_id")
    elif fulfilment == Order.Fulfilment.PICKUP:
        depot = _depot_active.first(depot_id=depot_id)
        if depot is None:
            raise DomainError(_("Choose the depot where you will pick up."), field="depot_id")
    else:
        raise DomainError(_("Choose delivery or pickup."), field="fulfilment")
    if carrier_id is not None and fulfilment == Order.Fulfilment.DELIVERY:
        carrier = _carrier_active.first(carrier_id=carrier_id)
        if carrier is None:
            raise DomainError(_("This carrier is not available."), field="carrier_id")
    return address, depot, carrier


def _prepare(*, user, fulfilment, address_id, depot_id, carrier_id, payment_method,
             requested_date, company_id: int | None = None):
    """What every way of placing an order checks first; locks the company row (credit)."""
    if company_id is None:
        company_id = user_company_id(user)
    if company_id is None:
        raise DomainError(_("Only members of a buyer company can order."), code="no_company")
    if payment_method not in Order.PaymentMethod.values:
        raise DomainError(_("Choose prepayment or credit terms."), field="payment_method")
    if requested_date is not None and requested_date < timezone.localdate():
        raise DomainError(_("The requested date cannot be in the past."),
                          field="requested_date")
    address, depot, carrier = _fulfilment_target(
        company_id=company_id, fulfilment=fulfilment, address_id=address_id,
        depot_id=depot_id, carrier_id=carrier_id)
    company = _company_locked.first(company_id=company_id)  # serialises credit
    if payment_method == Order.PaymentMethod.CREDIT and company.payment_terms_days == 0:
        raise DomainError(_("Your company pays in advance; credit terms are not agreed."),
                          field="payment_method")
    return company, address, depot, carrier


def _check_products(products, *, company_id: int, fulfilment: str, depot, carrier,
                    on_date: datetime.date) -> None:
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
    _check_controlled(company_id=company_id, products=products, on_date=on_date)


def _order_create(*, user, company, seller, order_lines, checkout=None, fulfilment, address,
                  depot, carrier, payment_method, po_number, requested_date, notes,
                  placed_note: str, served: bool) -> Order:
    """Write one order and its first event, check credit, tell buyer and CCOs. The lines
    (`order_lines`, unsaved: they make the totals and get the order) are the caller's to
    write, once their stock is reserved."""
    subtotal, vat, total = _totals([(ol.line_total, ol.tax_inclusive) for ol in order_lines])
    (order,) = insert([Order(
        number=f"tmp-{secrets.token_hex(8)}", checkout=checkout, company=company,
        placed_by=user, seller=seller, fulfilment=fulfilment, address=address,
        pickup_depot=depot, carrier=carrier, payment_method=payment_method,
        po_number=po_number, requested_date=requested_date, notes=notes,
        subtotal=subtotal, vat=vat, vat_rate=vat_rate(), total=total,
        pickup_code=_pickup_code() if depot is not None else "",
    )])
    order.number = _order_number(order)
    update_fields(order, ["number"])
    for ol in order_lines:
        ol.order = order
    insert([OrderEvent(order=order, from_status="", to_status=Order.Status.PLACED, actor=user,
                       note=placed_note)])
    if payment_method == Order.PaymentMethod.CREDIT:
        _credit_check(order=order, company=company, actor=user)
    if not served:
        company_mark_served(company_id=company.pk, organization_id=seller.pk)
    _notify_placed(order)
    return order


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
    # The unique (user, key) decides, in one statement: a key seen before writes nothing.
    written = insert_new([Checkout(user=user, idempotency_key=idempotency_key)],
                         key="idempotency_key")
    if not written:
        # Placed before (or just now by a concurrent request, which the insert waited for).
        first = Checkout.objects.get(user=user, idempotency_key=idempotency_key)
        return list(first.orders.order_by("pk"))
    (checkout,) = written

    company_id = user_company_id(user)
    if company_id is None:
        raise DomainError(_("Only members of a buyer company can order."), code="no_company")
    # Lock order: the cart's lines first. A second checkout of the same cart waits here and
    # then finds the lines gone; a line added meanwhile is not ordered and stays in the cart.
    lines = _cart_lines_locked.all(user_id=user.pk)
    company, address, depot, carrier = _prepare(
        user=user, company_id=company_id, fulfilment=fulfilment, address_id=address_id,
        depot_id=depot_id, carrier_id=carrier_id, payment_method=payment_method,
        requested_date=requested_date)
    if not lines:
        raise DomainError(_("Your cart is empty."), code="empty_cart")

    today = timezone.localdate()
    products = [line.product for line in lines]
    _check_products(products, company_id=company.pk, fulfilment=fulfilment, depot=depot,
                    carrier=carrier, on_date=today)

    quantities = {line.product_id: pricing.quantity_check(product=line.product,
                                                          quantity=line.quantity)
                  for line in lines}
    prices = pricing.prices_resolve_many(quantities=quantities, company_id=company.pk,
                                         on_date=today)  # one query for the whole cart
    priced = []
    for line in lines:
        quantity = quantities[line.product_id]
        price = prices.get(line.product_id) or pricing.price_resolve(  # raises: no price
            product=line.product, company_id=company.pk, quantity=quantity, on_date=today)
        priced.append((line.product, quantity, price))
    by_seller = defaultdict(list)
    for item in priced:
        by_seller[item[0].seller_id].append(item)
    served = organizations_serving(company_id=company.pk, organization_ids=by_seller)
    # The orders, their events and mails first, the stock last: a product many buyers order
    # at once stays locked only for its reservation, the lines and the commit.
    orders, all_lines = [], []
    for seller_id in sorted(by_seller):
        items = by_seller[seller_id]
        order_lines = [
            OrderLine(product=p, quantity=q, unit=p.sales_unit, unit_price=price.unit_price,
                      tax_inclusive=price.tax_inclusive, tier_id=price.tier_id,
                      line_total=money_round(price.unit_price * q))
            for p, q, price in items
        ]
        all_lines += order_lines
        orders.append(_order_create(
            user=user, company=company, seller=items[0][0].seller, order_lines=order_lines,
            checkout=checkout, fulfilment=fulfilment, address=address, depot=depot,
            carrier=carrier, payment_method=payment_method, po_number=po_number,
            requested_date=requested_date, notes=notes, placed_note=_("Placed from the cart."),
            served=seller_id in served))
    depots = _reserve(lines=[(p, q) for p, q, _price in priced], depot=depot)  # or Shortage
    for order_line in all_lines:
        order_line.depot = depots[order_line.product_id]
    insert(all_lines)
    CartLine.objects.filter(pk__in=[line.pk for line in lines]).delete()
    return orders


@transaction.atomic
def order_place_at_price(*, user, product_id: int, quantity, unit_price, tax_inclusive: bool,
                         fulfilment: str, payment_method: str, address_id=None, depot_id=None,
                         carrier_id=None, po_number: str = "",
                         requested_date: datetime.date | None = None, notes: str = "",
                         placed_note: str = "") -> Order:
    """An order of one product at an agreed price (an accepted quote): the same checks as
    checkout, stock reserved when there is enough, else made to order (no depot)."""
    company, address, depot, carrier = _prepare(
        user=user, fulfilment=fulfilment, address_id=address_id, depot_id=depot_id,
        carrier_id=carrier_id, payment_method=payment_method, requested_date=requested_date)
    product = Product.objects.select_related("chemical", "seller").get(pk=product_id)
    _check_products([product], company_id=company.pk, fulfilment=fulfilment, depot=depot,
                    carrier=carrier, on_date=timezone.localdate())
    quantity = Decimal(str(quantity))
    try:
        with transaction.atomic():
            reserved_at = _reserve(lines=[(product, quantity)], depot=depot)[product.pk]
    except Shortage:
        reserved_at = None  # made to order within the quoted lead time
    line = OrderLine(product=product, quantity=quantity, unit=product.sales_unit,
                     unit_price=unit_price, tax_inclusive=tax_inclusive, tier_id=None,
                     line_total=money_round(Decimal(unit_price) * quantity), depot=reserved_at)
    served = bool(organizations_serving(company_id=company.pk,
                                        organization_ids=[product.seller_id]))
    order = _order_create(
        user=user, company=company, seller=product.seller, order_lines=[line],
        fulfilment=fulfilment, address=address, depot=depot, carrier=carrier,
        payment_method=payment_method, po_number=po_number, requested_date=requested_date,
        notes=notes, placed_note=placed_note, served=served)
    insert([line])
    return order


def _pickup_code() -> str:
    """Ten characters from 32 (50 bits): unguessable, and easy to read out at the gate."""
    return "".join(secrets.choice(PICKUP_CODE_ALPHABET) for _i in range(PICKUP_CODE_LENGTH))


def _notify_placed(order: Order) -> None:
    """The buyer hears the order is placed; each active CCO of the seller that it is new.
    All of them in one INSERT."""
    ccos = _seller_ccos.all(seller_id=order.seller_id, group=str(Role.CCO))
    outbox_enqueue_many([
        notify_message(user=order.placed_by, kind="order_placed", context={"order": order},
                       dedup_key=f"order:{order.pk}:placed"),
        *(notify_message(user=cco, kind="order_new_for_seller", context={"order": order},
                         dedup_key=f"order:{order.pk}:new:{cco.pk}") for cco in ccos),
    ])


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
    # Visibility first: to whom the order is invisible, it does not exist (404, not 409).
    if not orders_visible_to(actor).filter(pk=order.pk).exists():
        raise Order.DoesNotExist
    if actor.organization_id is None and not actor.is_superuser:
        raise ConflictError(_("Only the seller's staff can do this."), code="forbidden")


def _require_finance(actor, order: Order | None = None) -> None:
    if order is not None and not orders_visible_to(actor).filter(pk=order.pk).exists():
        raise Order.DoesNotExist
    if not (actor.is_superuser or actor.has_role(Role.FINANCE)):
        raise ConflictError(_("Only finance can do this."), code="forbidden")


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
    if order.paid_at is None:
        order.paid_at = timezone.now()
        order.save(update_fields=["paid_at"])
    return order_move(order_id=order.pk, to=Order.Status.PAID, actor=actor,
                      note=_("Bank transfer received."))


INVOICE_PAYABLE = frozenset({Order.Status.CREDIT_APPROVED, Order.Status.READY,
                             Order.Status.SHIPPED, Order.Status.DELIVERED,
                             Order.Status.PARTIALLY_PICKED_UP, Order.Status.COMPLETED})


@transaction.atomic
def order_invoice_paid(*, order_id: int, actor) -> Order:
    """Finance records that the invoice of a credit order was paid in full (not a status
    move: the goods go on as they were; the timeline gets a line). Idempotent."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_finance(actor, order)
    if order.payment_method != Order.PaymentMethod.CREDIT:
        raise ConflictError(_("This is a prepayment order: record the bank transfer instead."),
                            code="not_credit")
    if order.paid_at is not None:
        return order
    if order.status not in INVOICE_PAYABLE:
        raise ConflictError(_("Order %(number)s is not on approved credit (%(status)s).")
                            % {"number": order.number, "status": order.get_status_display()},
                            code="bad_move")
    order.paid_at = timezone.now()
    order.save(update_fields=["paid_at"])
    OrderEvent.objects.create(order=order, from_status=order.status, to_status=order.status,
                              actor=actor, note=_("Invoice paid in full."))
    return order


@transaction.atomic
def order_return(*, order_id: int, actor, reason: str) -> Order:
    """The goods of a completed order came back to the seller (the dealers' commission on it
    is reversed by their sweep)."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_seller_staff(order, actor)
    if order.status == Order.Status.RETURNED:
        return order
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the return."), field="reason")
    return order_move(order_id=order.pk, to=Order.Status.RETURNED, actor=actor, note=reason)


@transaction.atomic
def order_credit_approve(*, order_id: int, actor, note: str = "") -> Order:
    """Finance approves a credit order that went over the company's limit."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_finance(actor, order)
    return order_move(order_id=order.pk, to=Order.Status.CREDIT_APPROVED, actor=actor,
                      note=note)


@transaction.atomic
def order_mark_ready(*, order_id: int, actor) -> Order:
    """The goods are ready to ship or collect; a pickup code is good from today for
    settings.PICKUP_CODE_VALID_DAYS days."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_seller_staff(order, actor)
    if order.status == Order.Status.READY:
        return order
    if order.fulfilment == Order.Fulfilment.PICKUP:
        valid_until = timezone.localdate() + datetime.timedelta(
            days=settings.PICKUP_CODE_VALID_DAYS)
        # An extension finance granted earlier is kept if it reaches further.
        if order.pickup_code_expires_on is None or order.pickup_code_expires_on < valid_until:
            order.pickup_code_expires_on = valid_until
            order.save(update_fields=["pickup_code_expires_on"])
    return order_move(order_id=order.pk, to=Order.Status.READY, actor=actor)


def _consume(pairs) -> None:
    """Goods leave the depot: on hand and reserved both go down by (line, quantity) pairs,
    stock rows locked in pk order."""
    needed = defaultdict(Decimal)
    for line, quantity in pairs:
        if line.depot_id is not None and quantity:
            needed[(line.product_id, line.depot_id)] += quantity
    if not needed:
        return
    stocks = Stock.objects.select_for_update().filter(
        product_id__in={p for p, _d in needed}, depot_id__in={d for _p, d in needed}
    ).order_by("pk")
    for stock in stocks:
        quantity = needed.get((stock.product_id, stock.depot_id))
        if quantity:
            Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") - quantity,
                                                     reserved=F("reserved") - quantity)


@transaction.atomic
def order_ship(*, order_id: int, actor, carrier_id: int | None = None,
               tracking_number: str = "") -> Order:
    """A delivery order leaves the depot with its carrier; the stock is consumed."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_seller_staff(order, actor)
    if order.status == Order.Status.SHIPPED:
        return order
    if order.fulfilment != Order.Fulfilment.DELIVERY:
        raise ConflictError(_("A pickup order is collected at the depot, not shipped."),
                            code="bad_move")
    carrier = order.carrier
    if carrier_id is not None:
        carrier = Carrier.objects.filter(pk=carrier_id, is_active=True).first()
        if carrier is None:
            raise DomainError(_("This carrier is not available."), field="carrier_id")
    lines = list(order.lines.select_related("product__chemical"))
    _check_hazmat(products=[line.product for line in lines], fulfilment=order.fulfilment,
                  carrier=carrier)
    if not order.can_move(Order.Status.SHIPPED):
        order_move(order_id=order.pk, to=Order.Status.SHIPPED, actor=actor)  # explains why
    order.carrier = carrier
    order.tracking_number = (tracking_number or "").strip()[:64]
    order.save(update_fields=["carrier", "tracking_number"])
    _consume((line, line.quantity) for line in lines)
    note = _("Carrier: %(carrier)s") % {"carrier": carrier.name} if carrier else ""
    if order.tracking_number:
        note = f"{note} · {order.tracking_number}" if note else order.tracking_number
    return order_move(order_id=order.pk, to=Order.Status.SHIPPED, actor=actor, note=note)


def _require_buyer_or_seller(order: Order, actor) -> None:
    """The buyer's colleagues or the seller's staff; anyone else does not see the order."""
    if not orders_visible_to(actor).filter(pk=order.pk).exists():
        raise Order.DoesNotExist


@transaction.atomic
def order_mark_delivered(*, order_id: int, actor) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_buyer_or_seller(order, actor)
    return order_move(order_id=order.pk, to=Order.Status.DELIVERED, actor=actor)


@transaction.atomic
def order_complete(*, order_id: int, actor) -> Order:
    """A delivered order is done: the buyer confirms receipt, or the seller closes it."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_buyer_or_seller(order, actor)
    if order.fulfilment != Order.Fulfilment.DELIVERY:
        # A pickup order completes when its last pickup is recorded (pickup_record):
        # completing it by hand would leave its stock reserved and nothing handed over.
        raise ConflictError(_("A pickup order is completed by recording its pickups."),
                            code="bad_move")
    if order.status == Order.Status.SHIPPED:
        order_move(order_id=order.pk, to=Order.Status.DELIVERED, actor=actor)
    return order_move(order_id=order.pk, to=Order.Status.COMPLETED, actor=actor)


# --- Depot pickup -----------------------------------------------------------------------------


def normalize_pickup_code(code: str) -> str:
    """What the collector reads out or types: case, spaces and dashes do not matter."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


@transaction.atomic
def pickup_record(*, actor, order_id: int, quantities: dict, collected_by: str,
                  vehicle_plate: str = "") -> Pickup:
    """The depot hands over some or all of what remains of each line (line id → quantity).

    The order row is locked first: of two operators recording the last remaining quantity
    at the same moment, the second waits and then finds nothing left."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None or order.fulfilment != Order.Fulfilment.PICKUP or not (
            depots_visible_to(actor).filter(pk=order.pickup_depot_id).exists()):
        raise Order.DoesNotExist
    if order.status not in (Order.Status.READY, Order.Status.PARTIALLY_PICKED_UP):
        raise ConflictError(
            _("Order %(number)s is “%(status)s”: nothing can be picked up now.")
            % {"number": order.number, "status": order.get_status_display()},
            code="not_ready")
    if order.pickup_code_expired:
        raise ConflictError(
            _("The pickup code of order %(number)s expired on %(date)s; finance can extend it.")
            % {"number": order.number, "date": order.pickup_code_expires_on.isoformat()},
            code="code_expired")
    collected_by = (collected_by or "").strip()
    if not collected_by:
        raise DomainError(_("Enter the name of the person collecting the goods."),
                          field="collected_by")
    lines = {line.pk: line for line in order.lines.select_related("product")}
    taken: list[tuple[OrderLine, Decimal]] = []
    for raw_id, raw_quantity in (quantities or {}).items():
        try:
            line = lines[int(raw_id)]
        except (KeyError, TypeError, ValueError):
            raise DomainError(_("This line is not part of order %(number)s.")
                              % {"number": order.number}, field="lines") from None
        if any(seen is line for seen, _q in taken):  # {"5": 1, 5: 2}: the same line twice
            raise DomainError(_("Each line can be entered only once."), field="lines")
        quantity = _pickup_quantity(raw_quantity, line)
        if quantity:
            taken.append((line, quantity))
    if not taken:
        raise DomainError(_("Enter the quantity handed over for at least one line."),
                          field="lines")
    pickup = Pickup.objects.create(
        order=order, depot_id=order.pickup_depot_id, recorded_by=actor,
        collected_by=collected_by[:100], vehicle_plate=(vehicle_plate or "").strip()[:20],
        sequence=order.pickups.count() + 1,
    )
    PickupLine.objects.bulk_create(
        PickupLine(pickup=pickup, order_line=line, quantity=q) for line, q in taken)
    for line, quantity in taken:
        OrderLine.objects.filter(pk=line.pk).update(picked_up=F("picked_up") + quantity)
        line.picked_up += quantity
    _consume(taken)
    everything_taken = all(line.remaining == 0 for line in lines.values())
    summary = ", ".join(f"{line.product.display_name} {_plain(q)} {line.unit}"
                        for line, q in taken)
    note = _("Pickup %(receipt)s by %(who)s: %(what)s") % {
        "receipt": pickup.receipt_number, "who": pickup.collected_by, "what": summary}
    order_move(order_id=order.pk, actor=actor, note=note,
               to=Order.Status.COMPLETED if everything_taken
               else Order.Status.PARTIALLY_PICKED_UP)
    return pickup


def _pickup_quantity(raw, line: OrderLine) -> Decimal:
    if raw in (None, ""):
        return Decimal(0)
    try:
        quantity = Decimal(str(raw).strip())
    except ArithmeticError:
        raise DomainError(_("Enter the quantity as a number."), field="lines") from None
    if not quantity.is_finite():  # NaN, Infinity
        raise DomainError(_("Enter the quantity as a number."), field="lines")
    if quantity < 0:
        raise DomainError(_("The quantity cannot be negative."), field="lines")
    # Before the decimals check: quantize() raises InvalidOperation for huge values (1E+30).
    if quantity > line.remaining:
        raise ConflictError(
            _("Only %(remaining)s %(unit)s of %(product)s remain to be picked up.")
            % {"remaining": _plain(line.remaining), "unit": line.unit,
               "product": line.product.display_name},
            code="more_than_remains")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise DomainError(_("Quantities have at most three decimals."), field="lines")
    return quantity


@transaction.atomic
def pickup_code_extend(*, order_id: int, actor, until: datetime.date) -> Order:
    """Finance gives a collector more time."""
    order = Order.objects.select_for_update().get(pk=order_id)
    _require_finance(actor, order)
    if order.fulfilment != Order.Fulfilment.PICKUP or not order.is_open:
        raise ConflictError(_("Only open pickup orders have a pickup code to extend."),
                            code="not_pickup")
    if until is None or until < timezone.localdate():
        raise DomainError(_("Choose a date from today on."), field="until")
    before = order.pickup_code_expires_on
    order.pickup_code_expires_on = until
    order.save(update_fields=["pickup_code_expires_on"])
    OrderEvent.objects.create(
        order=order, from_status=order.status, to_status=order.status, actor=actor,
        note=_("Pickup code valid until %(until)s (was %(before)s).")
        % {"until": until.isoformat(), "before": before.isoformat() if before else "—"})
    return order


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


# --- Reorder ----------------------------------------------------------------------------------


@transaction.atomic
def order_reorder(*, user, order_id: int) -> tuple[int, list[str]]:
    """Put an earlier order's lines back in the cart at today's prices; returns how many
    lines went in and, for the others, why not (no longer sold, no price today …)."""
    order = orders_visible_to(user).filter(pk=order_id).first()
    if order is None or user_company_id(user) != order.company_id:
        raise Order.DoesNotExist
    added, problems = 0, []
    for line in order.lines.select_related("product"):
        try:
            with transaction.atomic():
                cart_line_set(user=user, product_id=line.product_id, quantity=line.quantity)
        except DomainError as exc:
            problems.append(f"{line.product.display_name}: {exc.message}")
        else:
            added += 1
    return added, problems


# --- Address book -----------------------------------------------------------------------------


def _member_company_id(user) -> int:
    company_id = user_company_id(user)
    if company_id is None:
        raise DomainError(_("Only members of a buyer company have an address book."),
                          code="no_company")
    return company_id


@transaction.atomic
def address_create(*, user, recipient: str, phone: str, city_code: str, line: str,
                   label: str = "", is_default: bool = False) -> Address:
    company_id = _member_company_id(user)
    region = Region.objects.filter(pk=city_code or "").first()
    if region is None or (region.level == Region.Level.PROVINCE
                          and Region.objects.filter(parent=region).exists()):
        # A province is precise enough only for the municipalities, which have no cities.
        raise DomainError(_("Choose the city."), field="city")
    values = {"recipient": recipient, "phone": phone, "line": line}
    for field_name, value in values.items():
        if not (value or "").strip():
            raise DomainError(_("This field is required."), field=field_name)
    Company.objects.select_for_update().filter(pk=company_id).first()  # one default at a time
    has_default = Address.objects.filter(company_id=company_id, is_default=True,
                                         is_active=True).exists()
    if is_default or not has_default:
        Address.objects.filter(company_id=company_id, is_default=True).update(is_default=False)
        is_default = True
    return Address.objects.create(
        company_id=company_id, label=(label or "").strip()[:60],
        recipient=recipient.strip()[:100], phone=phone.strip()[:32], region=region,
        line=line.strip()[:255], is_default=is_default,
    )


@transaction.atomic
def address_set_default(*, user, address_id: int) -> Address:
    company_id = _member_company_id(user)
    Company.objects.select_for_update().filter(pk=company_id).first()
    address = Address.objects.filter(pk=address_id, company_id=company_id,
                                     is_active=True).first()
    if address is None:
        raise Address.DoesNotExist
    Address.objects.filter(company_id=company_id, is_default=True).exclude(
        pk=address.pk).update(is_default=False)
    Address.objects.filter(pk=address.pk).update(is_default=True)
    address.is_default = True
    return address


@transaction.atomic
def address_archive(*, user, address_id: int) -> None:
    """Take an address out of the book; orders that used it keep it."""
    company_id = _member_company_id(user)
    updated = Address.objects.filter(pk=address_id, company_id=company_id,
                                     is_active=True).update(is_active=False, is_default=False)
    if not updated:
        raise Address.DoesNotExist


# --- Licences ---------------------------------------------------------------------------------

LICENCE_MAX_BYTES = DOCUMENT_MAX_BYTES


def licence_document_kind(document) -> str | None:
    """Sniffed from the content, not trusted from the name or the browser's content type."""
    return document_kind(document)


@transaction.atomic
def licence_submit(*, user, kind: str, number: str, valid_until: datetime.date,
                   document) -> CompanyLicence:
    """A company member uploads a licence (PDF or a scan as PNG/JPEG) for finance to review."""
    company_id = _member_company_id(user)
    if kind not in LicenceKind.values:
        raise DomainError(_("Choose the kind of licence."), field="kind")
    number = (number or "").strip()
    if not number:
        raise DomainError(_("Enter the licence number."), field="number")
    if valid_until is None or valid_until < timezone.localdate():
        raise DomainError(_("This licence has expired; upload a valid one."),
                          field="valid_until")
    if document is None:
        raise DomainError(_("Attach the licence as a PDF, PNG or JPEG file."), field="document")
    if document.size > LICENCE_MAX_BYTES:
        raise DomainError(_("The file is larger than 10 MB."), field="document")
    if licence_document_kind(document) is None:
        raise DomainError(_("Attach the licence as a PDF, PNG or JPEG file."), field="document")
    document_rename(document, prefix="licence")  # never the uploader's name
    return CompanyLicence.objects.create(company_id=company_id, kind=kind, number=number[:64],
                                         valid_until=valid_until, document=document)


@transaction.atomic
def licence_review(*, licence_id: int, actor, approve: bool) -> CompanyLicence:
    _require_finance(actor)
    if not licences_visible_to(actor).filter(pk=licence_id).exists():
        raise CompanyLicence.DoesNotExist
    licence = CompanyLicence.objects.select_for_update().get(pk=licence_id)
    if licence.status == (CompanyLicence.Status.APPROVED if approve
                          else CompanyLicence.Status.REJECTED):
        return licence  # a repeated click changes nothing
    licence.status = (CompanyLicence.Status.APPROVED if approve
                      else CompanyLicence.Status.REJECTED)
    licence.reviewed_by = actor
    licence.reviewed_at = timezone.now()
    licence.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return licence
