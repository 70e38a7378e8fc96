"""Depot operator and finance pages of the orders app.

The views translate input and call services and selectors. A DomainError becomes a form
error (400, or 409 when the state of the order forbids it) and the page keeps what was
typed. Whatever the selectors do not return answers 404, and so do these pages to users
without the permission they need (SPEC: access outside one's bounds is a 404).
"""

import datetime
import functools
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, Sum, prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from chemmall.errors import DomainError

from . import selectors, services
from .models import CompanyLicence, Order, OrderEvent, PickupLine
from .staff_forms import (
    CancelReasonForm,
    CreditApproveForm,
    LicenceReviewForm,
    PickupCodeExtendForm,
    PickupLookupForm,
    PickupRecordForm,
)

PAGE_SIZE = 20
# Codes that expire within this many days show up on finance's list of codes to extend.
PICKUP_CODE_SOON_DAYS = 3


def permission_required_or_404(perm: str):
    """Signed in (else to the login page) and holding `perm` (else 404)."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


depot_required = permission_required_or_404("orders.add_pickup")
finance_required = permission_required_or_404("orders.change_companylicence")


def _plain(quantity) -> str:
    """6.000 → "6", 0.500 → "0.5"."""
    return format(Decimal(quantity).normalize(), "f")


def _add_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _page(request, queryset, param: str = "page", *, path: str = ""):
    """A page of `queryset` (two queries: count and slice) with links to `path` (this page
    unless given) that keep the other query parameters, so several lists on one page page
    independently."""
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(param))

    def link(number: int) -> str:
        query = request.GET.copy()
        query[param] = number
        return f"{path}?{query.urlencode()}"

    page.previous_url = link(page.previous_page_number()) if page.has_previous() else ""
    page.next_url = link(page.next_page_number()) if page.has_next() else ""
    return page


# --- Depot ------------------------------------------------------------------------------------


def _not_found_message() -> str:
    return _("No pickup order with this code at your depots.")


def _lookup_page(request, form, *, status: int = 200):
    return render(request, "orders/depot/lookup.html", {"form": form}, status=status)


def _code_not_found(request, code: str = ""):
    """The one answer to an unknown code and to another depot's order alike."""
    form = PickupLookupForm({"code": code})
    if form.is_valid():
        form.add_error("code", _not_found_message())
    return _lookup_page(request, form, status=404)


@depot_required
@require_http_methods(["GET"])
def depot_lookup(request):
    """The collector reads out the code; the operator types it here."""
    if "code" not in request.GET:
        return _lookup_page(request, PickupLookupForm())
    form = PickupLookupForm(request.GET)
    if not form.is_valid():
        return _lookup_page(request, form, status=400)
    code = form.cleaned_data["code"]
    if selectors.pickup_order_for_code(user=request.user, code=code) is None:
        form.add_error("code", _not_found_message())
        return _lookup_page(request, form, status=404)
    return redirect("depot:pickup", code=code)


def _pickup_order(request, code: str) -> Order | None:
    order = selectors.pickup_order_for_code(user=request.user, code=code)
    if order is not None:
        # display_name falls back to the chemical's name: one query for all lines.
        prefetch_related_objects([order], "lines__product__chemical")
    return order


def _pickup_page(request, order: Order, form, *, status: int = 200):
    pickable = order.status in (Order.Status.READY, Order.Status.PARTIALLY_PICKED_UP)
    context = {
        "order": order,
        "form": form,
        "rows": [
            {"line": line, "field": field, "bought": _plain(line.quantity),
             "picked_up": _plain(line.picked_up), "remaining": _plain(line.remaining),
             "done": line.remaining <= 0}
            for line, field in form.line_fields()
        ],
        "pickable": pickable and not order.pickup_code_expired,
        "pickups": sorted(order.pickups.all(), key=lambda p: p.sequence),
    }
    return render(request, "orders/depot/pickup.html", context, status=status)


@depot_required
@require_http_methods(["GET", "POST"])
def depot_pickup(request, code: str):
    """An order found by its pickup code: what was bought, taken and remains; record a
    pickup of some or all of it."""
    normalized = services.normalize_pickup_code(code)
    if normalized != code:
        return redirect("depot:pickup", code=normalized) if normalized else _code_not_found(
            request)
    order = _pickup_order(request, code)
    if order is None:
        return _code_not_found(request, code)
    if request.method == "GET":
        return _pickup_page(request, order, PickupRecordForm(lines=order.lines.all()))
    form = PickupRecordForm(request.POST, lines=order.lines.all())
    if not form.is_valid():
        return _pickup_page(request, order, form, status=400)
    try:
        pickup = services.pickup_record(
            actor=request.user, order_id=order.pk, quantities=form.quantities(),
            collected_by=form.cleaned_data["collected_by"],
            vehicle_plate=form.cleaned_data["vehicle_plate"],
        )
    except Order.DoesNotExist:
        return _code_not_found(request, code)
    except DomainError as exc:
        # Show what remains now (another operator may just have handed some over), and
        # keep what was typed.
        order = _pickup_order(request, code)
        if order is None:
            return _code_not_found(request, code)
        form = PickupRecordForm(request.POST, lines=order.lines.all())
        form.is_valid()
        _add_error(form, exc)
        return _pickup_page(request, order, form, status=exc.status_code)
    messages.success(request, _("Pickup %(receipt)s recorded.") % {
        "receipt": pickup.receipt_number})
    return redirect("depot:receipt", pk=pickup.pk)


@depot_required
@require_http_methods(["GET"])
def depot_receipt(request, pk: int):
    """The printable receipt of one pickup: what was handed over and what still remains
    after it (as it was then, so a reprint says the same)."""
    pickup = get_object_or_404(
        selectors.pickups_visible_to(request.user)
        .select_related("order__seller", "depot__region")
        .prefetch_related("lines"),
        pk=pk,
    )
    taken_until_then = dict(
        PickupLine.objects.filter(pickup__order_id=pickup.order_id,
                                  pickup__sequence__lte=pickup.sequence)
        .order_by().values_list("order_line_id").annotate(total=Sum("quantity"))
    )
    taken_now = {pl.order_line_id: pl.quantity for pl in pickup.lines.all()}
    rows = []
    for line in pickup.order.lines.select_related("product__chemical"):
        now = taken_now.get(line.pk)
        rows.append({
            "line": line, "bought": _plain(line.quantity),
            "now": _plain(now) if now else "",
            "remaining": _plain(line.quantity - taken_until_then.get(line.pk, 0)),
        })
    context = {"pickup": pickup, "order": pickup.order, "rows": rows}
    return render(request, "orders/depot/receipt.html", context)


@depot_required
@require_http_methods(["GET"])
def depot_pickups(request):
    """Recent pickups at the depots the user runs, newest first."""
    pickups = selectors.pickups_visible_to(request.user).order_by("-created_at", "-pk")
    return render(request, "orders/depot/pickups.html", {"page": _page(request, pickups)})


# --- Finance ----------------------------------------------------------------------------------


def _finance_lists(request) -> dict:
    user = request.user
    visible = selectors.orders_visible_to(user)
    payments = visible.filter(
        payment_method=Order.PaymentMethod.PREPAYMENT,
        status__in=[Order.Status.PLACED, Order.Status.CONFIRMED],
    ).order_by("placed_at", "pk")
    credit = visible.filter(status=Order.Status.AWAITING_CREDIT).prefetch_related(
        Prefetch("events", to_attr="credit_events",
                 queryset=OrderEvent.objects.filter(to_status=Order.Status.AWAITING_CREDIT)
                 .order_by("-created_at", "-pk")),
    ).order_by("placed_at", "pk")
    invoices = visible.filter(payment_method=Order.PaymentMethod.CREDIT, paid_at__isnull=True,
                              status__in=[Order.Status.SHIPPED, Order.Status.DELIVERED,
                                          Order.Status.PARTIALLY_PICKED_UP,
                                          Order.Status.COMPLETED]).order_by("placed_at", "pk")
    licences = selectors.licences_visible_to(user).filter(
        status=CompanyLicence.Status.PENDING).order_by("created_at", "pk")
    home = reverse("finance:home")  # also rendered by the buttons' POST views on errors
    return {
        "payments": _page(request, payments, "payments", path=home),
        "credit": _page(request, credit, "credit", path=home),
        "invoices": _page(request, invoices.select_related("company"), "invoices", path=home),
        "licences": _page(request, licences, "licences", path=home),
        "codes_due": _codes_due(user).count(),
        "today": timezone.localdate(),
    }


def _finance_home(request, *, error: str = "", status: int = 200):
    context = {**_finance_lists(request), "error": error}
    return render(request, "orders/finance/home.html", context, status=status)


@finance_required
@require_http_methods(["GET"])
def finance_home(request):
    """What waits for finance: transfers to confirm, credit to approve, licences to review."""
    return _finance_home(request)


def _visible_order(request, pk: int) -> Order:
    return get_object_or_404(selectors.orders_visible_to(request.user), pk=pk)


def _finance_action(request, pk: int, service, done: str, **kwargs):
    """Run a one-click finance service on an order; errors show on the overview."""
    order = _visible_order(request, pk)
    try:
        service(order_id=order.pk, actor=request.user, **kwargs)
    except Order.DoesNotExist:
        raise Http404 from None
    except DomainError as exc:
        return _finance_home(request, error=f"{order.number}: {exc.message}",
                             status=exc.status_code)
    messages.success(request, done % {"number": order.number})
    return redirect("finance:home")


@finance_required
@require_POST
def finance_payment_confirm(request, pk: int):
    return _finance_action(request, pk, services.order_payment_confirm,
                           _("Payment of order %(number)s recorded."))


@finance_required
@require_POST
def finance_invoice_paid(request, pk: int):
    return _finance_action(request, pk, services.order_invoice_paid,
                           _("Invoice of order %(number)s recorded as paid."))


@finance_required
@require_POST
def finance_credit_approve(request, pk: int):
    _visible_order(request, pk)  # out of scope is a 404 whatever was posted
    form = CreditApproveForm(request.POST)
    if not form.is_valid():
        return _finance_home(request, error=" ".join(
            str(e) for errors in form.errors.values() for e in errors), status=400)
    note = form.cleaned_data["note"]
    return _finance_action(request, pk, services.order_credit_approve,
                           _("Credit for order %(number)s approved."), note=note)


def _credit_note(order: Order) -> str:
    event = order.events.filter(to_status=Order.Status.AWAITING_CREDIT).order_by(
        "-created_at", "-pk").first()
    return event.note if event else ""


@finance_required
@require_http_methods(["GET", "POST"])
def finance_order_cancel(request, pk: int):
    """Cancel an order (typically a credit order finance will not approve), with a reason
    the buyer reads."""
    order = _visible_order(request, pk)
    form = CancelReasonForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.order_cancel(order_id=order.pk, actor=request.user,
                                      reason=form.cleaned_data["reason"])
            except Order.DoesNotExist:
                raise Http404 from None
            except DomainError as exc:
                _add_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("Order %(number)s cancelled.") % {
                    "number": order.number})
                return redirect("finance:home")
        else:
            status = 400
    context = {"order": order, "form": form, "credit_note": _credit_note(order)}
    return render(request, "orders/finance/cancel.html", context, status=status)


@finance_required
@require_POST
def finance_licence_review(request, pk: int):
    licence = get_object_or_404(selectors.licences_visible_to(request.user), pk=pk)
    form = LicenceReviewForm(request.POST)
    if not form.is_valid():
        return _finance_home(request, error=_("Choose approve or reject."), status=400)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.licence_review(licence_id=licence.pk, actor=request.user, approve=approve)
    except CompanyLicence.DoesNotExist:
        raise Http404 from None
    except DomainError as exc:
        return _finance_home(request, error=f"{licence}: {exc.message}",
                             status=exc.status_code)
    done = (_("Licence %(licence)s of %(company)s approved.") if approve
            else _("Licence %(licence)s of %(company)s rejected."))
    messages.success(request, done % {"licence": licence, "company": licence.company.name})
    return redirect("finance:home")


def _codes_due(user):
    """Open pickup orders whose code has expired or expires within a few days."""
    soon = timezone.localdate() + datetime.timedelta(days=PICKUP_CODE_SOON_DAYS)
    return selectors.orders_visible_to(user).filter(
        Q(pickup_code_expires_on__lte=soon), fulfilment=Order.Fulfilment.PICKUP,
        status__in=Order.OPEN_STATUSES,
    ).select_related("pickup_depot")


@finance_required
@require_http_methods(["GET"])
def finance_pickup_codes(request):
    orders = _codes_due(request.user).order_by("pickup_code_expires_on", "pk")
    context = {"page": _page(request, orders), "today": timezone.localdate(),
               "soon_days": PICKUP_CODE_SOON_DAYS}
    return render(request, "orders/finance/pickup_codes.html", context)


@finance_required
@require_http_methods(["GET", "POST"])
def finance_pickup_code_extend(request, pk: int):
    order = get_object_or_404(
        selectors.orders_visible_to(request.user).select_related("pickup_depot"),
        pk=pk, fulfilment=Order.Fulfilment.PICKUP)
    form = PickupCodeExtendForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.pickup_code_extend(order_id=order.pk, actor=request.user,
                                            until=form.cleaned_data["until"])
            except Order.DoesNotExist:
                raise Http404 from None
            except DomainError as exc:
                _add_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _(
                    "The pickup code of order %(number)s is valid until %(until)s.") % {
                    "number": order.number, "until": form.cleaned_data["until"].isoformat()})
                return redirect(reverse("finance:pickup-codes"))
        else:
            status = 400
    context = {"order": order, "form": form, "today": timezone.localdate()}
    return render(request, "orders/finance/pickup_code_extend.html", context, status=status)
