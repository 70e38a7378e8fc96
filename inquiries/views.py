"""Buyer and guest pages of the inquiries app.

/inquiries/new/ takes an inquiry from a guest or a buyer; /inquiries/ and /inquiries/<pk>/
belong to the buyer's company; /inquiries/track/<token>/ is the private link a guest gets.
The views translate input and call services and selectors: a DomainError becomes a form
error (400; 409 where the state forbids it; 429 for the guest rate limit) and the page keeps
what was typed; an inquiry the selectors do not return is a 404. Buyers and guests see the
public timeline only (selectors.public_events): never internal notes or routing.
"""

import datetime
import logging
from dataclasses import dataclass, field
from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Depot
from accounts.selectors import companies_visible_to, user_company_id
from catalog.models import normalize_cas, validate_cas
from catalog.selectors import products_public
from catalog.templatetags.catalog_tags import qty
from chemmall.errors import DomainError
from orders import selectors as order_selectors
from orders.models import Carrier, Order
from orders.views import company_member_required

from . import selectors, services
from .forms import AcceptForm, DeclineForm, InquiryFilterForm, InquiryForm, MessageForm
from .models import Channel, Inquiry, Quote

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
THANKS_SESSION_KEY = "inquiries_thanks_token"
PRIVATE_HEADERS = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}


def _status(exc: DomainError) -> int:
    return 429 if exc.code == "rate_limited" else exc.status_code


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _private(response):
    """Pages behind a private link: not cached by shared caches, not indexed."""
    for name, value in PRIVATE_HEADERS.items():
        response[name] = value
    return response


# --- A new inquiry ------------------------------------------------------------------------------


def _product(raw: str):
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        return None
    return products_public().filter(pk=pk).first()


def _initial_from_search(query: str) -> dict:
    """The catalog's "ask us" link passes the search: a CAS number or a name."""
    query = (query or "").strip()[:200]
    if not query:
        return {}
    cas = normalize_cas(query)
    try:
        validate_cas(cas)
    except ValidationError:
        return {"requested_name": query}
    return {"requested_cas": cas}


@require_http_methods(["GET", "POST"])
def inquiry_new(request):
    user = request.user
    company_id = user_company_id(user) if user.is_authenticated else None
    guest = company_id is None
    posted = request.method == "POST"
    raw_product = ((request.POST if posted else request.GET).get("product") or "").strip()
    product = _product(raw_product) if raw_product else None
    if not posted and raw_product and product is None:
        raise Http404  # a product that is not (or no longer) for sale
    if posted and guest and request.POST.get("website"):
        # The honeypot is filled: a bot. It sees the thank-you page; nothing is saved.
        logger.info("Inquiry honeypot filled from %s; dropped.", _client_ip(request))
        request.session.pop(THANKS_SESSION_KEY, None)
        return redirect("inquiries:thanks")

    initial = {"product": product.pk if product else None}
    if product is not None:
        initial["quantity"] = qty(product.min_order_quantity)
    else:
        initial.update(_initial_from_search(request.GET.get("q", "")))
    if guest and user.is_authenticated:  # e.g. staff: a contact like anyone else
        initial.update(contact_name=user.get_full_name(), contact_email=user.email)
    form = InquiryForm(request.POST if posted else None, product=product, guest=guest,
                       initial=initial)
    status = 200
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            inquiry = services.inquiry_submit(
                buyer=None if guest else user, product_id=data["product"],
                requested_name=data.get("requested_name", ""),
                requested_cas=data.get("requested_cas", ""), unit=data.get("unit", ""),
                quantity=data["quantity"], target_price=data["target_price"],
                delivery_region_code=form.delivery_region_code, needed_by=data["needed_by"],
                wants_local_service=data["wants_local_service"],
                message=data["message"], channel=Channel.WEB,
                contact_name=data.get("contact_name", ""),
                contact_company=data.get("contact_company", ""),
                contact_email=data.get("contact_email", ""),
                contact_phone=data.get("contact_phone", ""),
                client_ip=_client_ip(request))
        except DomainError as exc:
            form.add_service_error(exc)
            status = _status(exc)
        else:
            if guest:
                request.session[THANKS_SESSION_KEY] = inquiry.access_token
                return redirect("inquiries:thanks")
            messages.success(request, _("Inquiry %(number)s is sent to %(seller)s; you will "
                                        "find the answer here.")
                             % {"number": inquiry.number, "seller": inquiry.seller.name})
            return redirect("inquiries:detail", pk=inquiry.pk)
    if form.errors and status == 200:
        status = 400
    return render(request, "inquiries/inquiry_form.html", {
        "form": form,
        "product": product,
        "guest": guest,
    }, status=status)


@require_GET
def inquiry_thanks(request):
    """After a guest's inquiry: its private link (also sent by email)."""
    token = request.session.get(THANKS_SESSION_KEY, "")
    inquiry = selectors.inquiry_for_token(token) if token else None
    return _private(render(request, "inquiries/thanks.html", {
        "inquiry": inquiry,
        "track_url": request.build_absolute_uri(
            reverse("inquiries:track", args=[inquiry.access_token])) if inquiry else "",
    }))


# --- The company's inquiries --------------------------------------------------------------------


@company_member_required
@require_GET
def inquiry_list(request, company_id: int):
    form = InquiryFilterForm(request.GET or None)
    inquiries = selectors.inquiries_visible_to(request.user).filter(company_id=company_id)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    if status == InquiryFilterForm.OPEN:
        inquiries = inquiries.filter(status__in=Inquiry.OPEN_STATUSES)
    elif status:
        inquiries = inquiries.filter(status=status)
    # The quote a row shows: the open version, or the accepted one; one query per page.
    shown = Quote.objects.filter(status__in=[Quote.Status.SENT, Quote.Status.ACCEPTED])
    inquiries = inquiries.prefetch_related(
        Prefetch("quotes", queryset=shown.order_by("-version"), to_attr="shown_quotes"))
    page = Paginator(inquiries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inquiries/inquiry_list.html", {
        "form": form,
        "page": page,
        "filtered": bool(status),
        "today": timezone.localdate(),
    })


# --- One inquiry: the company's page and the guest's private link ------------------------------


COMPARED = [
    ("product_id", gettext_lazy("Product")),
    ("unit_price", gettext_lazy("Unit price")),
    ("tax_inclusive", gettext_lazy("VAT")),
    ("quantity", gettext_lazy("Quantity")),
    ("valid_until", gettext_lazy("Valid until")),
    ("lead_time_days", gettext_lazy("Lead time")),
    ("incoterm", gettext_lazy("Incoterm")),
    ("payment_terms", gettext_lazy("Payment terms")),
]


def _shown(quote: Quote, name: str) -> str:
    value = getattr(quote, name)
    if name == "product_id":
        return quote.product.display_name
    if name == "unit_price":
        return f"¥{value}"
    if name == "tax_inclusive":
        return _("included") if value else _("excluded")
    if name == "quantity":
        return f"{qty(value)} {quote.unit}"
    if name == "lead_time_days":
        return ngettext("%(days)s day", "%(days)s days", value) % {"days": value}
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class Version:
    quote: Quote
    is_first: bool = False
    changes: list[Change] = field(default_factory=list)


def _versions(quotes: list[Quote]) -> list[Version]:
    """Newest first, each with what changed since the version before it."""
    rows = []
    for index, quote in enumerate(quotes):
        before = quotes[index + 1] if index + 1 < len(quotes) else None
        changes = [] if before is None else [
            Change(str(label), _shown(before, name), _shown(quote, name))
            for name, label in COMPARED if getattr(before, name) != getattr(quote, name)]
        rows.append(Version(quote=quote, is_first=before is None, changes=changes))
    return rows


def _accept_form(user, *, company, quote: Quote, data=None) -> AcceptForm:
    addresses = list(order_selectors.addresses_of(user))
    default = next((a for a in addresses if a.is_default), None)
    form = AcceptForm(
        data,
        addresses=order_selectors.addresses_of(user),
        carriers=Carrier.objects.filter(is_active=True),
        # Pickup: at a depot of the quote's seller (made to order when it holds too little).
        depots=Depot.objects.filter(organization_id=quote.product.seller_id, is_active=True)
        .select_related("region").order_by("code"),
        initial={
            "fulfilment": Order.Fulfilment.DELIVERY,
            "address": default.pk if default else None,
            "payment_method": (Order.PaymentMethod.CREDIT if company.payment_terms_days
                               else Order.PaymentMethod.PREPAYMENT),
        },
    )
    form.has_addresses = bool(addresses)
    return form


def _claim_state(user, inquiry: Inquiry, company_id) -> str:
    """What the private link offers about accepting: the visitor's relation to it."""
    if not user.is_authenticated:
        return "anonymous"
    if company_id is None:
        return "no_company"
    if inquiry.company_id == company_id:
        return "member"
    return "claim" if inquiry.company_id is None else "other_company"


def _render_inquiry(request, inquiry: Inquiry, *, token: str = "", company_id=None,
                    accept_form=None, decline_form=None, message_form=None,
                    claim_error: str = "", status: int = 200):
    """The public view of an inquiry, for the company (`token` empty) or the private link."""
    user = request.user
    today = timezone.localdate()
    quotes = list(inquiry.quotes.select_related("product__chemical").order_by("-version"))
    current = next((q for q in quotes if q.status == Quote.Status.SENT), None)
    accepted = next((q for q in quotes if q.status == Quote.Status.ACCEPTED), None)
    if company_id is None and user.is_authenticated:
        company_id = user_company_id(user)
    is_member = company_id is not None and company_id == inquiry.company_id
    can_accept = (not token and is_member and current is not None
                  and current.valid_until >= today)
    company = None
    if can_accept or accept_form is not None:
        company = companies_visible_to(user).get(pk=company_id)
        if accept_form is None:
            accept_form = _accept_form(user, company=company, quote=current)
    track_path = reverse("inquiries:track", args=[inquiry.access_token]) if token else ""
    context = {
        "inquiry": inquiry,
        "token": token,
        "events": list(selectors.public_events(inquiry)),
        "versions": _versions(quotes),
        "current": current,
        "current_expired": current is not None and current.valid_until < today,
        "accepted": accepted,
        "can_accept": can_accept,
        "accept_form": accept_form,
        "has_addresses": getattr(accept_form, "has_addresses", False),
        "company": company,
        "decline_form": decline_form or DeclineForm(),
        "message_form": message_form or MessageForm(),
        "is_member": is_member,
        "claim": _claim_state(user, inquiry, company_id) if token else "",
        "claim_error": claim_error,
        "login_url": f"{reverse('accounts:login')}?{urlencode({'next': track_path})}",
        "register_url": f"{reverse('accounts:register')}?{urlencode({'next': track_path})}",
    }
    response = render(request, "inquiries/inquiry_detail.html", context, status=status)
    return _private(response) if token else response


def _company_inquiry(user, pk: int, company_id: int) -> Inquiry:
    inquiry = selectors.inquiries_visible_to(user).filter(pk=pk, company_id=company_id).first()
    if inquiry is None:
        raise Http404
    return inquiry


def _tracked_inquiry(token: str) -> Inquiry:
    inquiry = selectors.inquiry_for_token(token)
    if inquiry is None:
        raise Http404
    return inquiry


def _quote_of(inquiry: Inquiry, quote_pk: int) -> Quote:
    quote = inquiry.quotes.select_related("product").filter(pk=quote_pk).first()
    if quote is None:
        raise Http404
    return quote


@company_member_required
@require_GET
def inquiry_detail(request, pk: int, company_id: int):
    return _render_inquiry(request, _company_inquiry(request.user, pk, company_id),
                           company_id=company_id)


@require_GET
def inquiry_track(request, token: str):
    return _render_inquiry(request, _tracked_inquiry(token), token=token)


# --- Accept, decline, write ---------------------------------------------------------------------


@company_member_required
@require_POST
def quote_accept(request, pk: int, quote_pk: int, company_id: int):
    inquiry = _company_inquiry(request.user, pk, company_id)
    quote = _quote_of(inquiry, quote_pk)
    company = companies_visible_to(request.user).get(pk=company_id)
    form = _accept_form(request.user, company=company, quote=quote, data=request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            order = services.quote_accept(
                quote_id=quote.pk, buyer=request.user, fulfilment=data["fulfilment"],
                payment_method=data["payment_method"],
                address_id=data["address"].pk if data["address"] else None,
                depot_id=data["depot"].pk if data["depot"] else None,
                carrier_id=data["carrier"].pk if data["carrier"] else None,
                po_number=data["po_number"])
        except Quote.DoesNotExist:
            raise Http404 from None
        except DomainError as exc:
            form.add_service_error(exc)
            status = _status(exc)
        else:
            messages.success(request, _("Thank you! You accepted version %(version)s of the "
                                        "quote: order %(number)s is placed.")
                             % {"version": quote.version, "number": order.number})
            if order.status == Order.Status.AWAITING_CREDIT:
                messages.warning(request, _(
                    "Order %(number)s goes over your company's credit limit: it waits for "
                    "finance's credit approval.") % {"number": order.number})
            return redirect("orders:detail", pk=order.pk)
    return _render_inquiry(request, inquiry, company_id=company_id, accept_form=form,
                           status=status)


def _decline(request, inquiry: Inquiry, quote_pk: int, *, token: str = "", company_id=None):
    quote = _quote_of(inquiry, quote_pk)
    form = DeclineForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            if token:
                services.quote_decline(quote_id=quote.pk, token=token,
                                       reason=form.cleaned_data["reason"])
            else:
                services.quote_decline(quote_id=quote.pk, buyer=request.user,
                                       reason=form.cleaned_data["reason"])
        except Quote.DoesNotExist:
            raise Http404 from None
        except DomainError as exc:
            form.add_service_error(exc)
            status = _status(exc)
        else:
            messages.success(request, _("You declined version %(version)s of the quote; the "
                                        "seller is told why.") % {"version": quote.version})
            return redirect(_page_url(inquiry, token))
    return _render_inquiry(request, inquiry, token=token, company_id=company_id,
                           decline_form=form, status=status)


def _message(request, inquiry: Inquiry, *, token: str = "", company_id=None):
    form = MessageForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            if token:
                services.inquiry_message_post(inquiry_id=inquiry.pk, body=data["body"],
                                              token=token, attachment=data["attachment"])
            else:
                services.inquiry_message_post(inquiry_id=inquiry.pk, body=data["body"],
                                              actor=request.user,
                                              attachment=data["attachment"])
        except Inquiry.DoesNotExist:
            raise Http404 from None
        except DomainError as exc:
            form.add_service_error(exc)
            status = _status(exc)
        else:
            messages.success(request, _("Your message is sent to %(seller)s.")
                             % {"seller": inquiry.seller.name})
            return redirect(f"{_page_url(inquiry, token)}#timeline")
    return _render_inquiry(request, inquiry, token=token, company_id=company_id,
                           message_form=form, status=status)


def _page_url(inquiry: Inquiry, token: str) -> str:
    if token:
        return reverse("inquiries:track", args=[token])
    return reverse("inquiries:detail", args=[inquiry.pk])


@company_member_required
@require_POST
def quote_decline(request, pk: int, quote_pk: int, company_id: int):
    return _decline(request, _company_inquiry(request.user, pk, company_id), quote_pk,
                    company_id=company_id)


@require_POST
def track_quote_decline(request, token: str, quote_pk: int):
    return _decline(request, _tracked_inquiry(token), quote_pk, token=token)


@company_member_required
@require_POST
def inquiry_message(request, pk: int, company_id: int):
    return _message(request, _company_inquiry(request.user, pk, company_id),
                    company_id=company_id)


@require_POST
def track_message(request, token: str):
    return _message(request, _tracked_inquiry(token), token=token)


@require_POST
def track_claim(request, token: str):
    """A signed-in buyer adds the inquiry of a private link to the company's account."""
    inquiry = _tracked_inquiry(token)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("inquiries:track", args=[token]))
    try:
        inquiry = services.inquiry_claim(token=token, user=request.user)
    except Inquiry.DoesNotExist:
        raise Http404 from None
    except DomainError as exc:
        return _render_inquiry(request, inquiry, token=token, claim_error=exc.message,
                               status=_status(exc))
    messages.success(request, _("Inquiry %(number)s is now in your company's account.")
                     % {"number": inquiry.number})
    return redirect("inquiries:detail", pk=inquiry.pk)


# --- Attachments --------------------------------------------------------------------------------


def _attachment(inquiry: Inquiry, event_pk: int):
    """A public message's file, from storage (never a public media URL)."""
    event = selectors.public_events(inquiry).filter(pk=event_pk).exclude(attachment="").first()
    if event is None:
        raise Http404
    try:
        handle = event.attachment.open("rb")
    except OSError:  # the file is gone from storage
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True,
                            filename=PurePath(event.attachment.name).name)
    response["Cache-Control"] = "private, no-store"
    return response


@company_member_required
@require_GET
def attachment(request, pk: int, event_pk: int, company_id: int):
    return _attachment(_company_inquiry(request.user, pk, company_id), event_pk)


@require_GET
def track_attachment(request, token: str, event_pk: int):
    return _attachment(_tracked_inquiry(token), event_pk)
