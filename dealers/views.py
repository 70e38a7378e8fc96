"""The dealer portal: pages for the users of a dealer (not the admin).

Every page reads through the dealers selectors scoped to the user's own dealer: an inquiry,
line or statement of another dealer is a 404, and so is the whole portal for anybody who does
not work for an active dealer. Actions call `dealers.services`; a DomainError becomes a form
error (400, 409 where the state forbids it) and the page keeps what was typed.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chemmall.errors import DomainError
from inquiries.forms import MessageForm
from inquiries.models import InquiryEvent, Quote
from orders.staff_views import _page

from . import exports, selectors, services
from .forms import AssignmentFilterForm, DealerQuoteForm, DeclineForm
from .models import Assignment

PRIVATE = {"Cache-Control": "private, no-store"}


def dealer_required(view):
    """Signed in and working for an active dealer (`request.dealer`); others get a 404."""

    @functools.wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        request.dealer = selectors.dealer_of(request.user)
        if request.dealer is None:
            raise Http404
        response = view(request, *args, **kwargs)
        for header, value in PRIVATE.items():
            response.headers.setdefault(header, value)
        return response

    return wrapped


def _own(request):
    return selectors.assignments_visible_to(request.user).filter(dealer=request.dealer)


def _assignment(request, pk: int) -> Assignment:
    assignment = _own(request).filter(pk=pk).first()
    if assignment is None:
        raise Http404
    return assignment


@dealer_required
@require_GET
def assignment_list(request):
    form = AssignmentFilterForm(request.GET or None)
    rows = _own(request)
    status = form.cleaned_data.get("status") if form.is_valid() else ""
    if status:
        rows = rows.filter(status=status)
    waiting = _own(request).filter(status=Assignment.Status.ROUTED,
                                   due_at__gt=timezone.now()).count()
    return render(request, "dealers/portal/assignment_list.html", {
        "page": _page(request, rows.order_by("-routed_at", "-pk")), "form": form,
        "waiting": waiting, "now": timezone.now()})


CONVERSATION = (InquiryEvent.Kind.MESSAGE_IN, InquiryEvent.Kind.MESSAGE_OUT)


def _detail(request, assignment, *, decline_form=None, quote_form=None, message_form=None,
            status=200):
    inquiry = assignment.inquiry
    quotes = list(Quote.objects.filter(inquiry=inquiry).select_related("product")
                  .order_by("-version"))
    accepted = assignment.status == Assignment.Status.ACCEPTED
    if accepted and quote_form is None and inquiry.is_open:
        latest = quotes[0] if quotes else None
        quote_form = DealerQuoteForm(inquiry=inquiry, initial={
            "product": inquiry.product_id or (latest.product_id if latest else None),
            "quantity": format(inquiry.quantity.normalize(), "f"),
            "valid_until": latest.valid_until if latest else None,
            "expected_version": latest.version if latest else 0,
            "unit_price": latest.unit_price if latest else None,
            "payment_terms": latest.payment_terms if latest else "",
            "lead_time_days": latest.lead_time_days if latest else None})
    accepted_open = accepted and inquiry.is_open
    messages_shown = (list(inquiry.events.filter(kind__in=CONVERSATION, is_public=True)
                           .select_related("actor").order_by("created_at", "pk"))
                      if accepted else [])
    return render(request, "dealers/portal/assignment_detail.html", {
        "assignment": assignment, "inquiry": inquiry, "quotes": quotes,
        "conversation": messages_shown,
        "message_form": (message_form or MessageForm()) if accepted_open else None,
        "decline_form": decline_form or DeclineForm(),
        "quote_form": quote_form if accepted and inquiry.is_open else None,
        "can_answer": assignment.is_open, "now": timezone.now()}, status=status)


@dealer_required
@require_GET
def assignment_detail(request, pk: int):
    return _detail(request, _assignment(request, pk))


@dealer_required
@require_POST
def assignment_accept(request, pk: int):
    assignment = _assignment(request, pk)
    try:
        services.assignment_accept(assignment_id=assignment.pk, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _detail(request, _assignment(request, pk), status=exc.status_code)
    messages.success(request, _("Accepted: the inquiry is yours to quote."))
    return redirect("dealers:assignment", pk=assignment.pk)


@dealer_required
@require_POST
def assignment_decline(request, pk: int):
    assignment = _assignment(request, pk)
    form = DeclineForm(request.POST)
    if form.is_valid():
        try:
            services.assignment_decline(assignment_id=assignment.pk, user=request.user,
                                        reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_service_error(exc)
            return _detail(request, _assignment(request, pk), decline_form=form,
                           status=exc.status_code)
        messages.success(request, _("Declined: the inquiry went back to the subsidiary."))
        return redirect("dealers:home")
    return _detail(request, assignment, decline_form=form, status=400)


@dealer_required
@require_POST
def assignment_quote(request, pk: int):
    assignment = _assignment(request, pk)
    form = DealerQuoteForm(request.POST, inquiry=assignment.inquiry)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.dealer_quote_send(
                assignment_id=assignment.pk, user=request.user, product_id=data["product"].pk,
                quantity=data["quantity"], unit_price=data["unit_price"],
                tax_inclusive=data["tax_inclusive"], valid_until=data["valid_until"],
                lead_time_days=data["lead_time_days"], incoterm=data["incoterm"],
                payment_terms=data["payment_terms"], note=data["note"],
                expected_version=data["expected_version"])
        except DomainError as exc:
            form.add_service_error(exc)
            return _detail(request, _assignment(request, pk), quote_form=form,
                           status=exc.status_code)
        messages.success(request, _("Quote sent to the buyer."))
        return redirect("dealers:assignment", pk=assignment.pk)
    return _detail(request, assignment, quote_form=form, status=400)


@dealer_required
@require_POST
def assignment_message(request, pk: int):
    assignment = _assignment(request, pk)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.dealer_message_post(assignment_id=assignment.pk, user=request.user,
                                         body=form.cleaned_data["body"],
                                         attachment=form.cleaned_data["attachment"])
        except DomainError as exc:
            form.add_service_error(exc)
            return _detail(request, _assignment(request, pk), message_form=form,
                           status=exc.status_code)
        messages.success(request, _("Message sent to the buyer."))
        return redirect("dealers:assignment", pk=assignment.pk)
    return _detail(request, assignment, message_form=form, status=400)


@dealer_required
@require_GET
def commission_list(request):
    lines = (selectors.commission_lines_visible_to(request.user)
             .filter(dealer=request.dealer).order_by("-created_at", "-pk"))
    return render(request, "dealers/portal/commission_list.html", {
        "page": _page(request, lines), "unsettled": selectors.unsettled_total(request.dealer)})


@dealer_required
@require_GET
def statement_list(request):
    statements = selectors.statements_visible_to(request.user).filter(dealer=request.dealer)
    return render(request, "dealers/portal/statement_list.html",
                  {"page": _page(request, statements.order_by("-month"))})


def _statement(request, pk: int):
    statement = (selectors.statements_visible_to(request.user)
                 .filter(dealer=request.dealer, pk=pk).first())
    if statement is None:
        raise Http404
    return statement


@dealer_required
@require_GET
def statement_detail(request, pk: int):
    statement = _statement(request, pk)
    lines = statement.lines.select_related("order", "category").order_by("created_at", "pk")
    return render(request, "dealers/portal/statement_detail.html",
                  {"statement": statement, "lines": lines})


@dealer_required
@require_GET
def statement_xlsx(request, pk: int):
    statement = _statement(request, pk)
    response = HttpResponse(exports.statement_xlsx(statement), content_type=exports.XLSX_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="{exports.statement_filename(statement)}"')
    return response
