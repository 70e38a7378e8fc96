"""Buyer pages of the orders app: cart, checkout, orders, pickup balances, address book,
licences.

The views translate input and call services and selectors. A DomainError of a service
becomes a form error (status 400) and the page keeps what was typed; anything the
selectors do not return is a 404.
"""

import functools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Depot
from accounts.selectors import companies_visible_to, user_company_id
from catalog import views as catalog_views
from chemmall.errors import DomainError
from chemmall.money import vat_rate

from . import selectors, services
from .filters import OrderFilter
from .forms import AddressForm, CartAddForm, CartLineForm, CheckoutForm, LicenceForm
from .models import Address, Carrier, Order
from .services import _totals as order_totals  # the cart adds up exactly as the order will

PAGE_SIZE = 20


def company_member_required(view):
    """Signed in and a member of a buyer company (passed on as `company_id`), else 404."""

    @functools.wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        company_id = user_company_id(request.user)
        if company_id is None:
            raise Http404
        return view(request, *args, company_id=company_id, **kwargs)

    return wrapped


def _percent(rate) -> str:
    return format((Decimal(rate) * 100).normalize(), "f")


def _plain(quantity) -> str:
    """200.000 → "200", 0.500 → "0.5"."""
    return format(Decimal(quantity).normalize(), "f")


def _errors_text(form) -> list[str]:
    return [str(error) for errors in form.errors.values() for error in errors]


# --- Cart -------------------------------------------------------------------------------------


@dataclass
class CartRow:
    view: selectors.CartLineView
    value: str  # what the quantity input shows: the cart's quantity, or what was typed
    error: str = ""


@dataclass
class SellerGroup:
    """The cart lines of one seller: they become one order at checkout."""

    seller: object
    rows: list[CartRow] = field(default_factory=list)
    subtotal: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")


def _cart_groups(cart: selectors.CartView, errors=None) -> tuple[list[SellerGroup], tuple]:
    """Cart lines grouped by seller with each group's totals, and the cart's totals
    (excl. VAT, VAT, incl. VAT) over the lines that have a price."""
    errors = errors or {}
    groups: list[SellerGroup] = []
    priced_all = []
    for view in cart.lines:
        seller = view.product.seller
        if not groups or groups[-1].seller.pk != seller.pk:
            groups.append(SellerGroup(seller=seller))
        typed, error = errors.get(view.product.pk, (None, ""))
        groups[-1].rows.append(CartRow(view=view, error=error,
                                       value=_plain(view.line.quantity) if typed is None
                                       else typed))
    for group in groups:
        priced = [(r.view.line_total, r.view.price.tax_inclusive) for r in group.rows
                  if r.view.price is not None]
        group.subtotal, group.vat, group.total = order_totals(priced)
        priced_all.extend(priced)
    return groups, order_totals(priced_all)


def _render_cart(request, *, errors=None, status=200):
    cart = selectors.cart_for(request.user)
    groups, (subtotal, vat, total) = _cart_groups(cart, errors)
    return render(request, "orders/cart.html", {
        "cart": cart,
        "groups": groups,
        "subtotal": subtotal,
        "vat": vat,
        "total": total,
        "vat_rate_percent": _percent(vat_rate()),
    }, status=status)


@require_POST
def cart_add(request):
    """The product page's "Add to cart": puts the product in the cart in this quantity."""
    form = CartAddForm(request.POST)
    if "product" in form.errors:
        raise Http404
    product_id = form.cleaned_data["product"]
    product_url = reverse("catalog:product", args=[product_id])
    if not request.user.is_authenticated:
        return redirect_to_login(product_url)
    if form.is_valid():
        try:
            line = services.cart_line_set(user=request.user, product_id=product_id,
                                          quantity=form.cleaned_data["quantity"])
        except DomainError as exc:
            form.add_error("quantity" if exc.field == "quantity" else None, exc.message)
        else:
            messages.success(request, _("%(product)s: %(quantity)s %(unit)s in your cart.") % {
                "product": line.product.display_name, "quantity": _plain(line.quantity),
                "unit": line.product.get_sales_unit_display()})
            return redirect(product_url)
    for error in _errors_text(form):
        messages.error(request, error)
    # The product page again, with the typed quantity and the reason (404 if not for sale).
    response = catalog_views.product_detail(request, product_id)
    response.status_code = 400
    return response


@login_required
@require_GET
def cart(request):
    return _render_cart(request)


@login_required
@require_POST
def cart_line_update(request, product_id: int):
    """A new quantity for a cart line; 0 takes it out of the cart."""
    if not any(v.product.pk == product_id for v in selectors.cart_for(request.user).lines):
        raise Http404  # not in this user's cart
    form = CartLineForm(request.POST)
    if form.is_valid():
        try:
            line = services.cart_line_set(user=request.user, product_id=product_id,
                                          quantity=form.cleaned_data["quantity"])
        except DomainError as exc:
            form.add_error("quantity", exc.message)
        else:
            if line is None:
                messages.success(request, _("The line is removed from your cart."))
            else:
                messages.success(request, _("%(product)s: %(quantity)s %(unit)s in your cart.")
                                 % {"product": line.product.display_name,
                                    "quantity": _plain(line.quantity),
                                    "unit": line.product.get_sales_unit_display()})
            return redirect("orders:cart")
    typed = form.data.get("quantity", "")
    return _render_cart(request, errors={product_id: (typed, " ".join(_errors_text(form)))},
                        status=400)


@login_required
@require_POST
def cart_line_remove(request, product_id: int):
    services.cart_line_remove(user=request.user, product_id=product_id)
    messages.success(request, _("The line is removed from your cart."))
    return redirect("orders:cart")


# --- Checkout ---------------------------------------------------------------------------------


def _pickup_depots(cart: selectors.CartView):
    """Where the cart can be picked up: active depots of its one seller that hold some of
    each of its goods (services need no stock). None when the cart has several sellers."""
    sellers = {v.product.seller_id for v in cart.lines}
    if len(sellers) != 1:
        return Depot.objects.none()
    depots = Depot.objects.filter(organization_id=sellers.pop(), is_active=True)
    goods = {v.product.pk for v in cart.lines if not v.product.is_service}
    if goods:
        holding = Q(stocks__product_id__in=goods, stocks__on_hand__gt=F("stocks__reserved"))
        depots = depots.annotate(goods_held=Count("stocks", filter=holding)).filter(
            goods_held=len(goods))
    return depots.select_related("region").order_by("code")


@company_member_required
@require_http_methods(["GET", "POST"])
def checkout(request, company_id: int):
    cart = selectors.cart_for(request.user)
    if request.method == "GET" and not cart.lines:
        messages.info(request, _("Your cart is empty."))
        return redirect("orders:cart")
    company = companies_visible_to(request.user).get(pk=company_id)
    addresses = selectors.addresses_of(request.user)
    offered = list(_pickup_depots(cart))
    default = next((a for a in addresses if a.is_default), None)
    form = CheckoutForm(
        request.POST or None,
        addresses=addresses,
        carriers=Carrier.objects.filter(is_active=True),
        # Any active depot is valid input (a replay finds the cart empty); the page offers
        # only those that can hand over this cart, and the service checks the rest.
        depots=Depot.objects.filter(is_active=True).select_related("region"),
        initial={
            "idempotency_key": uuid.uuid4().hex,
            "fulfilment": Order.Fulfilment.DELIVERY,
            "address": default.pk if default else None,
            "payment_method": (Order.PaymentMethod.CREDIT if company.payment_terms_days
                               else Order.PaymentMethod.PREPAYMENT),
        },
    )
    form.fields["depot"].widget.choices = [("", form.fields["depot"].empty_label)] + [
        (d.pk, form.fields["depot"].label_from_instance(d)) for d in offered]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            orders = services.checkout_place(
                user=request.user, idempotency_key=data["idempotency_key"],
                fulfilment=data["fulfilment"],
                address_id=data["address"].pk if data["address"] else None,
                depot_id=data["depot"].pk if data["depot"] else None,
                carrier_id=data["carrier"].pk if data["carrier"] else None,
                payment_method=data["payment_method"], po_number=data["po_number"],
                requested_date=data["requested_date"], notes=data["notes"],
            )
        except DomainError as exc:
            form.add_service_error(exc)
        else:
            return _placed(request, orders)
    groups, (subtotal, vat, total) = _cart_groups(cart)
    hazardous = ", ".join(v.product.display_name for v in cart.lines
                          if v.product.chemical_id and v.product.chemical.un_number)
    return render(request, "orders/checkout.html", {
        "form": form,
        "cart": cart,
        "groups": groups,
        "subtotal": subtotal,
        "vat": vat,
        "total": total,
        "vat_rate_percent": _percent(vat_rate()),
        "company": company,
        "outstanding_credit": selectors.company_outstanding_credit(company_id),
        "has_addresses": bool(addresses),
        "offered_depots": offered,
        "several_sellers": len(groups) > 1,
        "hazardous": hazardous,
    }, status=400 if form.errors else 200)


def _placed(request, orders: list[Order]):
    if not orders:  # cannot happen: a checkout places at least one order
        return redirect("orders:list")
    numbers = ", ".join(o.number for o in orders)
    messages.success(request, ngettext(
        "Thank you! Order %(numbers)s is placed.",
        "Thank you! Orders %(numbers)s are placed, one per seller.",
        len(orders)) % {"numbers": numbers})
    for order in orders:
        if order.status == Order.Status.AWAITING_CREDIT:
            messages.warning(request, _(
                "Order %(number)s goes over your company's credit limit: it waits for "
                "finance's credit approval.") % {"number": order.number})
    if len(orders) == 1:
        return redirect("orders:detail", pk=orders[0].pk)
    return redirect("orders:list")


# --- Orders -----------------------------------------------------------------------------------


@login_required
@require_GET
def order_list(request):
    filterset = OrderFilter(request.GET or None, request=request,
                            queryset=selectors.orders_visible_to(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orders/order_list.html", {
        "filterset": filterset,
        "form": filterset.form,
        "page": page,
        "filtered": bool(filterset.is_bound and any(
            v not in (None, "") for v in filterset.form.cleaned_data.values())),
    })


def _order_or_404(user, pk: int) -> Order:
    try:
        return selectors.order_for_page(user=user, order_id=pk)
    except Order.DoesNotExist:
        raise Http404 from None


def pickup_qr_svg(code: str) -> str:
    """The pickup code as a QR code, inline SVG (segno; a regular QR, not a micro one)."""
    svg = segno.make_qr(code, error="m").svg_inline(scale=5, border=2, svgclass="pickup-qr")
    return mark_safe(svg)  # segno's own markup around a code of letters and digits only


@dataclass
class PickupView:
    pickup: object
    rows: list  # (order line, quantity) pairs


def _order_context(user, order: Order) -> dict:
    lines = list(order.lines.all())
    by_pk = {line.pk: line for line in lines}
    # Pickup lines point at the order's own lines, whose products are loaded already.
    pickups = [PickupView(pickup=p, rows=[(by_pk[pl.order_line_id], pl.quantity)
                                          for pl in p.lines.all()])
               for p in order.pickups.all()]
    is_buyer = user_company_id(user) == order.company_id
    code = order.pickup_code
    return {
        "order": order,
        "lines": lines,
        "events": list(order.events.all()),
        "pickups": pickups,
        "is_pickup": order.fulfilment == Order.Fulfilment.PICKUP,
        "pickup_code_display": " ".join(code[i:i + 5] for i in range(0, len(code), 5)),
        "pickup_qr": pickup_qr_svg(code) if code else "",
        "vat_rate_percent": _percent(order.vat_rate),
        "is_buyer": is_buyer,
        "can_cancel": is_buyer and order.status in services.CANCELLABLE_BY_BUYER,
        "can_complete": is_buyer and order.fulfilment == Order.Fulfilment.DELIVERY
        and order.status in (Order.Status.SHIPPED, Order.Status.DELIVERED),
        "can_reorder": is_buyer,
    }


@login_required
@require_GET
def order_detail(request, pk: int):
    order = _order_or_404(request.user, pk)
    return render(request, "orders/order_detail.html", _order_context(request.user, order))


@login_required
@require_GET
def order_print(request, pk: int):
    order = _order_or_404(request.user, pk)
    return render(request, "orders/order_print.html", _order_context(request.user, order))


def _order_action(request, pk: int, action, success: str):
    try:
        order = action()
    except Order.DoesNotExist:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success % {"number": order.number})
    return redirect("orders:detail", pk=pk)


@login_required
@require_POST
def order_cancel(request, pk: int):
    reason = request.POST.get("reason", "")[:500]
    return _order_action(
        request, pk,
        lambda: services.order_cancel(order_id=pk, actor=request.user, reason=reason),
        _("Order %(number)s is cancelled; the reserved goods are released."))


@login_required
@require_POST
def order_complete(request, pk: int):
    return _order_action(
        request, pk, lambda: services.order_complete(order_id=pk, actor=request.user),
        _("Thank you: order %(number)s is received and completed."))


@login_required
@require_POST
def order_reorder(request, pk: int):
    try:
        added, problems = services.order_reorder(user=request.user, order_id=pk)
    except Order.DoesNotExist:
        raise Http404 from None
    if added:
        messages.success(request, ngettext(
            "%(count)s line is back in your cart, at today's price.",
            "%(count)s lines are back in your cart, at today's prices.", added)
            % {"count": added})
    if problems:
        messages.warning(request, _("Not added to the cart: %(problems)s")
                         % {"problems": "; ".join(problems)})
    return redirect("orders:cart")


@dataclass
class DepotBalance:
    depot: Depot
    lines: list = field(default_factory=list)


@company_member_required
@require_GET
def pickup_balances(request, company_id: int):
    """What the company bought and has not yet picked up, by depot."""
    lines = selectors.open_pickup_balances(request.user).select_related(
        "product__chemical", "order__pickup_depot__region")
    groups: list[DepotBalance] = []
    for line in lines:
        depot = line.order.pickup_depot
        if not groups or groups[-1].depot.pk != depot.pk:
            groups.append(DepotBalance(depot=depot))
        groups[-1].lines.append(line)
    return render(request, "orders/balances.html", {"groups": groups})


# --- Address book -----------------------------------------------------------------------------


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return None


@company_member_required
@require_http_methods(["GET", "POST"])
def addresses(request, company_id: int):
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            address = services.address_create(
                user=request.user, recipient=data["recipient"], phone=data["phone"],
                city_code=data["city"], line=data["line"], label=data["label"],
                is_default=data["is_default"])
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The address “%(address)s” is in your address book.")
                             % {"address": address})
            return redirect(_safe_next(request) or reverse("orders:addresses"))
    return render(request, "orders/addresses.html", {
        "addresses": selectors.addresses_of(request.user),
        "form": form,
        "next": _safe_next(request) or "",
    }, status=400 if form.errors else 200)


@company_member_required
@require_POST
def address_set_default(request, pk: int, company_id: int):
    try:
        address = services.address_set_default(user=request.user, address_id=pk)
    except Address.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("“%(address)s” is your default delivery address.")
                     % {"address": address})
    return redirect("orders:addresses")


@company_member_required
@require_POST
def address_remove(request, pk: int, company_id: int):
    try:
        services.address_archive(user=request.user, address_id=pk)
    except Address.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("The address is removed from your address book; orders that "
                                "used it keep it."))
    return redirect("orders:addresses")


# --- Licences ---------------------------------------------------------------------------------


@company_member_required
@require_http_methods(["GET", "POST"])
def licences(request, company_id: int):
    form = LicenceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            licence = services.licence_submit(
                user=request.user, kind=data["kind"], number=data["number"],
                valid_until=data["valid_until"], document=data["document"])
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Licence %(licence)s is uploaded; finance reviews it.")
                             % {"licence": licence})
            return redirect("orders:licences")
    return render(request, "orders/licences.html", {
        "licences": selectors.licences_visible_to(request.user).filter(company_id=company_id),
        "today": timezone.localdate(),
        "form": form,
    }, status=400 if form.errors else 200)


@login_required
@require_GET
def licence_document(request, pk: int):
    """The licence's file, from private storage: for the company's members and the staff
    who may see the company (selectors.licences_visible_to); 404 for anyone else."""
    licence = selectors.licences_visible_to(request.user).filter(pk=pk).first()
    if licence is None or not licence.document:
        raise Http404
    try:
        handle = licence.document.open("rb")
    except OSError:  # the file is gone from storage
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True,
                            filename=PurePath(licence.document.name).name)
    response["Cache-Control"] = "private, no-store"
    return response

