"""The CCO workbench in the admin.

- The inquiry changelist is the inbox: scoped by `inquiries_visible_to`, "mine, open" by
  default for a CCO (managers see all of their subsidiary), a deadline countdown column.
- The change page is the workbench (read-only record, timeline, price tiers, stock, quote
  history) with one form per move — quote, message, reassign, close as lost — each
  posted to its own URL that calls the service and redirects back with a message.
- "Add" logs an inquiry that came by phone, WeChat, a fair … (services.inquiry_submit).
- The customer 360 page shows one company's inquiries, quotes, orders and latest events.

Every object outside the user's scope answers 404. Status never changes here except
through the services.
"""

import datetime
from decimal import Decimal
from pathlib import PurePath

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.admin import ScopedAdminMixin
from accounts.models import Role
from accounts.selectors import companies_visible_to, company_members, organizations_visible_to
from catalog.models import Product
from catalog.pricing import price_table
from catalog.selectors import product_available_by_depot
from chemmall.errors import DomainError
from chemmall.money import vat_rate
from orders.models import OrderEvent
from orders.selectors import orders_visible_to

from . import services
from .admin_forms import (
    CannedReplyAdminForm,
    CloseLostForm,
    InquiryLogForm,
    MessageForm,
    QuoteForm,
    ReassignForm,
    add_service_error,
    canned_replies_filled,
    plain_quantity,
)
from .models import CannedReply, CcoProfile, Inquiry, InquiryEvent, Quote, ResponseMiss
from .selectors import (
    UNANSWERED_STATUSES,
    canned_replies_for,
    inquiries_visible_to,
    quote_price_floor,
    staff_can_answer,
)

WORKBENCH_TEMPLATE = "admin/inquiries/inquiry/workbench.html"
LOG_TEMPLATE = "admin/inquiries/inquiry/log.html"
CUSTOMER_TEMPLATE = "admin/inquiries/customer.html"
QUOTE_DEFAULT_VALIDITY_DAYS = 14
CUSTOMER_ROWS = 200
CUSTOMER_EVENTS = 50


def is_manager(user) -> bool:
    return bool(user.is_superuser or user.has_role(Role.SUBSIDIARY_MANAGER)
                or user.has_role(Role.HQ_MANAGER))


# --- The deadline countdown ---------------------------------------------------------------------


def _duration_text(delta: datetime.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return gettext("%(d)s d %(h)s h") % {"d": days, "h": hours}
    if hours:
        return gettext("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    return gettext("%(m)s min") % {"m": minutes}


def countdown_labels() -> dict[str, str]:
    """The countdown's words for the page script, with {d}/{h}/{m}/{t} for the numbers."""
    return {
        "dh": gettext("%(d)s d %(h)s h") % {"d": "{d}", "h": "{h}"},
        "hm": gettext("%(h)s h %(m)s min") % {"h": "{h}", "m": "{m}"},
        "m": gettext("%(m)s min") % {"m": "{m}"},
        "in": gettext("in %(time)s") % {"time": "{t}"},
        "overdue": gettext("overdue %(time)s") % {"time": "{t}"},
    }


def deadline_countdown(inquiry: Inquiry, now: datetime.datetime) -> tuple[str, str]:
    """(state, text) of the response deadline: answered, closed, none, due or overdue.
    Wall-clock time left ("in 2 h 15 min", "overdue 40 min"); the due time itself was
    computed in working hours at intake."""
    if inquiry.first_response_at is not None:
        return "answered", gettext("answered")
    if inquiry.status not in UNANSWERED_STATUSES:
        return "closed", inquiry.get_status_display()
    if inquiry.response_due_at is None:
        return "none", gettext("no deadline")
    left = inquiry.response_due_at - now
    if left.total_seconds() >= 0:
        return "due", gettext("in %(time)s") % {"time": _duration_text(left)}
    return "overdue", gettext("overdue %(time)s") % {"time": _duration_text(-left)}


def countdown_html(inquiry: Inquiry, now: datetime.datetime):
    state, text = deadline_countdown(inquiry, now)
    if state in ("due", "overdue"):
        due = timezone.localtime(inquiry.response_due_at)
        return format_html(
            '<span class="wb-due wb-due-{}" data-due="{}" title="{}">'
            '<time datetime="{}">{}</time> · <span class="wb-left">{}</span></span>',
            state, due.isoformat(), gettext("Answer due at %(due)s") % {
                "due": due.strftime("%Y-%m-%d %H:%M")},
            due.isoformat(), due.strftime("%m-%d %H:%M"), text)
    return format_html('<span class="wb-due wb-due-{}">{}</span>', state, text)


# --- Inbox filters ------------------------------------------------------------------------------


class _DefaultedFilter(admin.SimpleListFilter):
    """A filter with a default value instead of "All": the sidebar shows the default as
    chosen, and every choice is explicit in the URL once clicked."""

    def default_value(self) -> str:
        raise NotImplementedError

    def value(self):
        return self.used_parameters.get(self.parameter_name) or self.default_value()

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class OwnerFilter(_DefaultedFilter):
    title = _("owner")
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        return [("mine", _("Mine")), ("all", _("Everyone")), ("nobody", _("Nobody yet"))]

    def default_value(self):
        return "all" if is_manager(self.request.user) else "mine"

    def queryset(self, request, queryset):
        value = self.value()
        if value == "mine":
            return queryset.filter(owner=request.user)
        if value == "nobody":
            return queryset.filter(owner__isnull=True)
        return queryset


class StateFilter(_DefaultedFilter):
    title = _("open or closed")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("closed", _("Won or lost")), ("all", _("All"))]

    def default_value(self):
        # Asking for one status (won, lost …) means that status, open or not.
        return "all" if "status__exact" in self.request.GET else "open"

    def queryset(self, request, queryset):
        value = self.value()
        if value == "open":
            return queryset.filter(status__in=Inquiry.OPEN_STATUSES)
        if value == "closed":
            return queryset.exclude(status__in=Inquiry.OPEN_STATUSES)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("soon", _("Due within an hour"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        waiting = queryset.filter(first_response_at__isnull=True,
                                  status__in=UNANSWERED_STATUSES)
        if self.value() == "yes":
            return waiting.filter(response_due_at__lt=now)
        if self.value() == "soon":
            return waiting.filter(response_due_at__gte=now,
                                  response_due_at__lt=now + datetime.timedelta(hours=1))
        return queryset


class CompanyFilter(admin.SimpleListFilter):
    """Only shown when the customer 360 page links here with ?company=<id>."""

    title = _("company")
    parameter_name = "company"

    def lookups(self, request, model_admin):
        value = self.used_parameters.get(self.parameter_name)
        if not (value and str(value).isdigit()):
            return []
        company = companies_visible_to(request.user).filter(pk=int(value)).first()
        return [(str(company.pk), company.name)] if company else []

    def queryset(self, request, queryset):
        value = self.value()
        if value and str(value).isdigit():
            return queryset.filter(company_id=int(value))
        return queryset


# --- Inquiry admin: inbox, workbench, logging, customer 360 -------------------------------------


def _unlocalized(value) -> str:
    return "" if value is None else str(value)


def _below_floor(unit_price: Decimal, tax_inclusive: bool, floor) -> bool:
    """Compare on the same VAT basis as the list price."""
    if floor is None:
        return False
    price, floor_price = Decimal(unit_price), floor.unit_price
    if bool(tax_inclusive) != bool(floor.tax_inclusive):
        if tax_inclusive:
            floor_price = floor_price * (1 + vat_rate())
        else:
            price = price * (1 + vat_rate())
    return price < floor_price


def _floor_text(floor, quantity, unit: str) -> str:
    vat = gettext("VAT included") if floor.tax_inclusive else gettext("VAT excluded")
    return gettext("List price for %(quantity)s %(unit)s: %(price)s CNY per %(unit)s "
                   "(%(vat)s).") % {"quantity": plain_quantity(quantity), "unit": unit,
                                    "price": floor.unit_price, "vat": vat}


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    list_display = ["number", "subject_column", "buyer_column", "channel", "status",
                    "owner_column", "deadline_column", "received_at"]
    list_display_links = ["number"]
    list_filter = [OwnerFilter, StateFilter, "status", OverdueFilter, "channel",
                   "is_unlisted", ("delegated_at", admin.EmptyFieldListFilter),
                   ("seller", admin.RelatedOnlyFieldListFilter), CompanyFilter]
    search_fields = ["number", "product__chemical__cas", "chemical__cas", "requested_cas",
                     "requested_name", "product__name_en", "product__name_zh", "product__sku",
                     "product__chemical__name_en", "product__chemical__name_zh",
                     "chemical__name_en", "chemical__name_zh", "company__name",
                     "contact_name", "contact_company", "contact_email", "contact_phone"]
    search_help_text = _("Number, CAS number, chemical or product name, company, contact "
                         "name, email or phone.")
    list_select_related = ["seller", "owner", "company", "product__chemical", "chemical"]
    list_per_page = 50
    actions = None
    change_list_template = "admin/inquiries/inquiry/change_list.html"

    class Media:
        css = {"all": ["css/workbench.css"]}
        js = ["js/workbench.js"]

    # --- Scope and permissions ---

    def get_queryset(self, request):
        qs = inquiries_visible_to(request.user)
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs

    def get_search_results(self, request, queryset, search_term):
        """A CAS number typed without dashes (7664939) finds 7664-93-9 too."""
        found, may_have_duplicates = super().get_search_results(request, queryset,
                                                                search_term)
        term = search_term.strip()
        if term.isdigit() and 5 <= len(term) <= 10:
            cas = f"{term[:-3]}-{term[-3:-1]}-{term[-1]}"
            found |= queryset.filter(Q(product__chemical__cas=cas) | Q(chemical__cas=cas)
                                     | Q(requested_cas=cas))
        return found, may_have_duplicates

    def has_delete_permission(self, request, obj=None):
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404  # outside the user's scope: as if it did not exist

    def _inquiry_or_404(self, request, object_id) -> Inquiry:
        try:
            return inquiries_visible_to(request.user).get(pk=int(object_id))
        except (Inquiry.DoesNotExist, TypeError, ValueError):
            raise Http404 from None

    def _require_change(self, request, inquiry):
        if not (self.has_change_permission(request, inquiry)
                and staff_can_answer(request.user)):
            raise PermissionDenied

    def _change_url(self, inquiry) -> str:
        return reverse("admin:inquiries_inquiry_change", args=[inquiry.pk])

    # --- Inbox columns ---

    @admin.display(description=_("asked for"), ordering="requested_name")
    def subject_column(self, inquiry):
        text = inquiry.subject
        if inquiry.product_id and inquiry.product.chemical_id:
            cas = inquiry.product.chemical.cas
        elif inquiry.chemical_id:
            cas = inquiry.chemical.cas
        else:
            cas = inquiry.requested_cas
        if cas and cas not in text:
            text = f"{text} · {cas}"
        if inquiry.is_unlisted:
            return format_html('{} <span class="wb-tag">{}</span>', text, gettext("unlisted"))
        return text

    @admin.display(description=_("buyer"), ordering="company__name")
    def buyer_column(self, inquiry):
        if inquiry.company_id:
            return format_html(
                '<a href="{}">{}</a>',
                reverse("admin:inquiries_customer", args=[inquiry.company_id]),
                inquiry.company.name)
        company = f" ({inquiry.contact_company})" if inquiry.contact_company else ""
        return format_html('{}{} <span class="wb-tag">{}</span>', inquiry.contact_name, company,
                           gettext("guest"))

    @admin.display(description=_("owner"), ordering="owner__full_name")
    def owner_column(self, inquiry):
        if inquiry.owner_id is None:
            return format_html('<span class="wb-tag">{}</span>', gettext("nobody yet"))
        return inquiry.owner.get_full_name() or inquiry.owner.email

    @admin.display(description=_("answer due"), ordering="response_due_at")
    def deadline_column(self, inquiry):
        return countdown_html(inquiry, timezone.now())

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "countdown_labels": countdown_labels()}
        return super().changelist_view(request, extra_context)

    # --- URLs ---

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/quote/", view(self.quote_view), name=f"{prefix}_quote"),
            path("<int:object_id>/message/", view(self.message_view),
                 name=f"{prefix}_message"),
            path("<int:object_id>/reassign/", view(self.reassign_view),
                 name=f"{prefix}_reassign"),
            path("<int:object_id>/close-lost/", view(self.close_lost_view),
                 name=f"{prefix}_close_lost"),
            path("<int:object_id>/price-floor/", view(self.price_floor_view),
                 name=f"{prefix}_price_floor"),
            path("<int:object_id>/attachment/<int:event_id>/", view(self.attachment_view),
                 name=f"{prefix}_attachment"),
            path("customer/<int:company_id>/", view(self.customer_view),
                 name="inquiries_customer"),
            *super().get_urls(),
        ]

    # --- The workbench (change page) ---

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        inquiry = self._inquiry_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, inquiry):
            raise PermissionDenied
        return self._workbench(request, inquiry.pk)

    def _workbench(self, request, inquiry_id: int, *, bound=None, status: int = 200):
        """The page; `bound` holds the form just posted with its errors (what was typed)."""
        user = request.user
        bound = bound or {}
        events = InquiryEvent.objects.select_related("actor").order_by("created_at", "pk")
        quotes = Quote.objects.select_related("product__chemical", "created_by", "order")
        inquiry = (inquiries_visible_to(user)
                   .select_related("buyer", "logged_by", "delivery_region__parent",
                                   "company__province", "company__city", "order")
                   .prefetch_related(Prefetch("events", queryset=events),
                                     Prefetch("quotes", queryset=quotes.order_by("-version")))
                   .filter(pk=inquiry_id).first())
        if inquiry is None:
            raise Http404
        today = timezone.localdate()
        quote_list = list(inquiry.quotes.all())
        latest = quote_list[0] if quote_list else None
        can_answer = self.has_change_permission(request, inquiry) and staff_can_answer(user)

        product_info = None
        if inquiry.product_id:
            public = price_table(product_id=inquiry.product_id, company_id=None, on_date=today)
            own = (price_table(product_id=inquiry.product_id, company_id=inquiry.company_id,
                               on_date=today) if inquiry.company_id else [])
            if own and public and own[0].price_list_id == public[0].price_list_id:
                own = []
            product_info = {
                "product": inquiry.product,
                "public_tiers": public,
                "company_tiers": own,
                "stocks": product_available_by_depot(product_id=inquiry.product_id),
            }

        quote_form = bound.get("quote")
        if quote_form is None and can_answer and inquiry.is_open:
            quote_form = QuoteForm(prefix="quote", inquiry=inquiry,
                                   initial=self._quote_initial(inquiry, latest, today))
        floor = floor_info = None
        if quote_form is not None:
            product_id = quote_form["product"].value()
            product = (Product.objects.filter(pk=product_id).select_related("chemical").first()
                       if str(product_id or "").isdigit() else None)
            quantity = self._decimal_or(quote_form["quantity"].value(), inquiry.quantity)
            if product is not None:
                floor = quote_price_floor(product=product, quantity=quantity)
                floor_info = self._floor_payload(product, quantity, floor, today)

        canned = canned_replies_filled(canned_replies_for(user), inquiry, user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Inquiry %(number)s") % {"number": inquiry.number},
            "subtitle": inquiry.subject,
            "original": inquiry,
            "inquiry": inquiry,
            "has_view_permission": True,
            "countdown": countdown_html(inquiry, timezone.now()),
            "countdown_labels": countdown_labels(),
            "events": list(inquiry.events.all()),
            "quotes": quote_list,
            "latest_quote": latest,
            "product_info": product_info,
            "can_answer": can_answer,
            "quote_form": quote_form,
            "floor": floor,
            "floor_info": floor_info,
            "message_form": bound.get("message") or (
                MessageForm(prefix="message") if can_answer else None),
            "canned": canned,
            "reassign_form": bound.get("reassign") or (
                ReassignForm(prefix="reassign", inquiry=inquiry)
                if can_answer and inquiry.is_open else None),
            "lost_form": bound.get("lost") or (
                CloseLostForm(prefix="lost") if can_answer and inquiry.is_open else None),
            "customer_url": reverse("admin:inquiries_customer", args=[inquiry.company_id])
            if inquiry.company_id else None,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, WORKBENCH_TEMPLATE, context, status=status)

    @staticmethod
    def _decimal_or(value, default) -> Decimal:
        try:
            number = Decimal(str(value).strip())
        except (ArithmeticError, ValueError, TypeError):
            return default
        return number if number.is_finite() and number > 0 else default

    def _quote_initial(self, inquiry: Inquiry, latest, today: datetime.date) -> dict:
        """A revision starts from the latest version; the first quote from the inquiry and
        the list price."""
        if latest is not None:
            product, quantity = latest.product, latest.quantity
        else:
            product, quantity = inquiry.product, inquiry.quantity
        limit = None
        if product is not None:
            tiers = price_table(product_id=product.pk, company_id=None, on_date=today)
            limit = tiers[0].price_list.valid_until if tiers else None
        valid_until = today + datetime.timedelta(days=QUOTE_DEFAULT_VALIDITY_DAYS)
        if limit is not None:
            valid_until = min(valid_until, limit)
        if latest is not None:
            return {
                "product": latest.product_id, "quantity": plain_quantity(latest.quantity),
                "unit_price": latest.unit_price, "tax_inclusive": latest.tax_inclusive,
                "valid_until": latest.valid_until if latest.valid_until >= today
                else valid_until,
                "lead_time_days": latest.lead_time_days, "incoterm": latest.incoterm,
                "payment_terms": latest.payment_terms, "expected_version": latest.version,
            }
        floor = (quote_price_floor(product=product, quantity=quantity)
                 if product is not None else None)
        days = inquiry.company.payment_terms_days if inquiry.company_id else 0
        terms = (gettext("Net %(days)s days") % {"days": days} if days
                 else gettext("100% prepayment by bank transfer"))
        return {
            "product": product.pk if product else None, "quantity": plain_quantity(quantity),
            "unit_price": floor.unit_price if floor else None,
            "tax_inclusive": floor.tax_inclusive if floor else True,
            "valid_until": valid_until,
            "lead_time_days": product.lead_time_days if product else None,
            "payment_terms": terms, "expected_version": 0,
        }

    def _floor_payload(self, product, quantity, floor, today) -> dict:
        tiers = price_table(product_id=product.pk, company_id=None, on_date=today)
        limit = tiers[0].price_list.valid_until if tiers else None
        return {
            "floor": _unlocalized(floor.unit_price) if floor else "",
            "tax_inclusive": bool(floor.tax_inclusive) if floor else True,
            "vat_rate": str(vat_rate()),
            "text": _floor_text(floor, quantity, product.get_sales_unit_display())
            if floor else gettext("No public list price for this quantity."),
            "valid_limit": limit.isoformat() if limit else "",
            "valid_limit_text": gettext("The price list in force ends on %(date)s: the quote "
                                        "cannot be valid longer.")
            % {"date": date_format(limit, "Y-m-d")} if limit else "",
            "warning": gettext("Below the list price: the quote will be sent, but check it "
                               "is intended."),
        }

    def _post_only(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return None

    def quote_view(self, request, object_id):
        if (refused := self._post_only(request)) is not None:
            return refused
        inquiry = self._inquiry_or_404(request, object_id)
        self._require_change(request, inquiry)
        form = QuoteForm(request.POST, prefix="quote", inquiry=inquiry)
        if form.is_valid():
            data = form.cleaned_data
            try:
                quote = services.quote_send(
                    inquiry_id=inquiry.pk, actor=request.user, product_id=data["product"].pk,
                    quantity=data["quantity"], unit_price=data["unit_price"],
                    tax_inclusive=data["tax_inclusive"], valid_until=data["valid_until"],
                    lead_time_days=data["lead_time_days"], incoterm=data["incoterm"],
                    payment_terms=data["payment_terms"], note=data["note"],
                    expected_version=data["expected_version"])
            except Inquiry.DoesNotExist:
                raise Http404 from None
            except DomainError as exc:
                if exc.code == "stale_quote":
                    # Shown with the colleague's version above; sending again is then a
                    # decision taken knowing it.
                    data = request.POST.copy()
                    data["quote-expected_version"] = str(
                        inquiry.quotes.order_by("-version").values_list("version", flat=True)
                        .first() or 0)
                    form = QuoteForm(data, prefix="quote", inquiry=inquiry)
                    form.is_valid()
                add_service_error(form, exc)
            else:
                self.message_user(request, gettext(
                    "Quote version %(version)s sent: %(price)s CNY per %(unit)s for "
                    "%(quantity)s %(unit)s.") % {
                    "version": quote.version, "price": quote.unit_price, "unit": quote.unit,
                    "quantity": plain_quantity(quote.quantity)}, messages.SUCCESS)
                floor = quote_price_floor(product=quote.product, quantity=quote.quantity)
                if _below_floor(quote.unit_price, quote.tax_inclusive, floor):
                    self.message_user(request, gettext(
                        "The quoted %(price)s CNY is below the list price of %(floor)s CNY "
                        "for this quantity.") % {"price": quote.unit_price,
                                                 "floor": floor.unit_price}, messages.WARNING)
                return redirect(self._change_url(inquiry))
        return self._workbench(request, inquiry.pk, bound={"quote": form}, status=400)

    def message_view(self, request, object_id):
        if (refused := self._post_only(request)) is not None:
            return refused
        inquiry = self._inquiry_or_404(request, object_id)
        self._require_change(request, inquiry)
        form = MessageForm(request.POST, request.FILES, prefix="message")
        if form.is_valid():
            data = form.cleaned_data
            try:
                event = services.inquiry_message_post(
                    inquiry_id=inquiry.pk, body=data["body"], actor=request.user,
                    attachment=data["attachment"] or None, internal=data["internal"])
            except Inquiry.DoesNotExist:
                raise Http404 from None
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                if event.kind == InquiryEvent.Kind.NOTE:
                    text = gettext("Internal note saved; the buyer does not see it.")
                else:
                    text = gettext("Message sent to the buyer.")
                self.message_user(request, text, messages.SUCCESS)
                return redirect(f"{self._change_url(inquiry)}#timeline")
        return self._workbench(request, inquiry.pk, bound={"message": form}, status=400)

    def reassign_view(self, request, object_id):
        if (refused := self._post_only(request)) is not None:
            return refused
        inquiry = self._inquiry_or_404(request, object_id)
        self._require_change(request, inquiry)
        form = ReassignForm(request.POST, prefix="reassign", inquiry=inquiry)
        if form.is_valid():
            data = form.cleaned_data
            try:
                inquiry = services.inquiry_reassign(
                    inquiry_id=inquiry.pk, actor=request.user, to_user_id=data["to_user"].pk,
                    note=data["note"])
            except Inquiry.DoesNotExist:
                raise Http404 from None
            except DomainError as exc:
                add_service_error(form, exc, aliases={"owner": "to_user"})
            else:
                self.message_user(request, gettext("Handed over to %(name)s.") % {
                    "name": data["to_user"].get_full_name()}, messages.SUCCESS)
                if inquiries_visible_to(request.user).filter(pk=inquiry.pk).exists():
                    return redirect(self._change_url(inquiry))
                return redirect("admin:inquiries_inquiry_changelist")
        return self._workbench(request, inquiry.pk, bound={"reassign": form}, status=400)

    def close_lost_view(self, request, object_id):
        if (refused := self._post_only(request)) is not None:
            return refused
        inquiry = self._inquiry_or_404(request, object_id)
        self._require_change(request, inquiry)
        form = CloseLostForm(request.POST, prefix="lost")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.inquiry_close_lost(inquiry_id=inquiry.pk, actor=request.user,
                                            reason=data["reason"], note=data["note"])
            except Inquiry.DoesNotExist:
                raise Http404 from None
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                self.message_user(request, gettext("Inquiry %(number)s closed as lost.")
                                  % {"number": inquiry.number}, messages.SUCCESS)
                return redirect(self._change_url(inquiry))
        return self._workbench(request, inquiry.pk, bound={"lost": form}, status=400)

    def price_floor_view(self, request, object_id):
        """The list price ("floor") for a product and quantity, for the quote form's hint."""
        inquiry = self._inquiry_or_404(request, object_id)
        product_id = request.GET.get("product", "")
        product = (Product.objects.filter(pk=int(product_id), is_active=True,
                                          seller__in=inquiry.seller.subtree())
                   .select_related("chemical").first() if product_id.isdigit() else None)
        if product is None:
            raise Http404
        quantity = self._decimal_or(request.GET.get("quantity"), inquiry.quantity)
        floor = quote_price_floor(product=product, quantity=quantity)
        return JsonResponse(self._floor_payload(product, quantity, floor,
                                                timezone.localdate()))

    def attachment_view(self, request, object_id, event_id):
        """An attachment of the timeline, from private storage, for whoever may see the
        inquiry; 404 for anyone else."""
        inquiry = self._inquiry_or_404(request, object_id)
        event = (InquiryEvent.objects.filter(pk=event_id, inquiry=inquiry)
                 .exclude(attachment="").first())
        if event is None:
            raise Http404
        try:
            handle = event.attachment.open("rb")
        except OSError:
            raise Http404 from None
        response = FileResponse(handle, as_attachment=True,
                                filename=PurePath(event.attachment.name).name)
        response["Cache-Control"] = "private, no-store"
        return response

    # --- Logging an inquiry (the add page) ---

    def add_view(self, request, form_url="", extra_context=None):
        if not (self.has_add_permission(request) and staff_can_answer(request.user)):
            raise PermissionDenied
        form = InquiryLogForm(request.POST or None, user=request.user)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    inquiry = services.inquiry_submit(logged_by=request.user,
                                                      **form.service_kwargs())
                except DomainError as exc:
                    add_service_error(form, exc, aliases=InquiryLogForm.SERVICE_FIELDS)
                else:
                    return self._after_logging(request, inquiry)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Log an inquiry"),
            "subtitle": gettext("That came by phone, WeChat, email, a fair or a referral"),
            "form": form,
            "media": self.media + form.media,
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, LOG_TEMPLATE, context, status=status)

    def _after_logging(self, request, inquiry):
        owner = inquiry.owner.get_full_name() if inquiry.owner_id else gettext("nobody yet")
        self.message_user(request, gettext(
            "Inquiry %(number)s logged and routed to %(seller)s (owner: %(owner)s).") % {
            "number": inquiry.number, "seller": inquiry.seller.name, "owner": owner},
            messages.SUCCESS)
        if inquiries_visible_to(request.user).filter(pk=inquiry.pk).exists():
            return redirect(self._change_url(inquiry))
        return redirect("admin:inquiries_inquiry_changelist")  # routed to another subsidiary

    # --- Customer 360 ---

    def customer_view(self, request, company_id):
        """One company as the seller's staff know it: its inquiries (every channel), quotes,
        orders and latest events. For whoever may see the company; 404 for anyone else."""
        company = companies_visible_to(request.user).filter(pk=company_id).first()
        if company is None or not self.has_view_permission(request):
            raise Http404
        inquiries = inquiries_visible_to(request.user).filter(company=company)
        orders = orders_visible_to(request.user).filter(company=company)
        quotes = (Quote.objects.filter(inquiry__in=inquiries.values("pk"))
                  .select_related("inquiry", "product__chemical", "created_by")
                  .order_by("-created_at", "-pk"))
        inquiry_events = (InquiryEvent.objects.filter(inquiry__in=inquiries.values("pk"))
                          .select_related("inquiry", "actor")
                          .order_by("-created_at", "-pk")[:CUSTOMER_EVENTS])
        order_events = (OrderEvent.objects.filter(order__in=orders.values("pk"))
                        .select_related("order", "actor")
                        .order_by("-created_at", "-pk")[:CUSTOMER_EVENTS])
        timeline = sorted(
            [{"at": e.created_at, "kind": "inquiry", "event": e} for e in inquiry_events]
            + [{"at": e.created_at, "kind": "order", "event": e} for e in order_events],
            key=lambda row: row["at"], reverse=True)[:CUSTOMER_EVENTS]
        inquiry_rows = list(inquiries.order_by("-received_at", "-pk")[:CUSTOMER_ROWS])
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Customer %(company)s") % {"company": company.name},
            "company": company,
            "members": company_members(company_id=company.pk),
            "inquiries": [{"inquiry": i, "countdown": countdown_html(i, now)}
                          for i in inquiry_rows],
            "inquiries_count": inquiries.count(),
            "quotes": list(quotes[:CUSTOMER_ROWS]),
            "orders": list(orders.order_by("-placed_at", "-pk")[:CUSTOMER_ROWS]),
            "orders_count": orders.count(),
            "timeline": timeline,
            "inbox_url": reverse("admin:inquiries_inquiry_changelist")
            + f"?company={company.pk}&owner=all&state=all",
            "can_view_orders": request.user.has_perm("orders.view_order"),
            "can_view_company": request.user.has_perm("accounts.view_company"),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, CUSTOMER_TEMPLATE, context)


# --- Canned replies, CCO profiles, missed deadlines ---------------------------------------------


def canned_replies_visible_to(user):
    """The replies of the organisations the user may see, and those of the organisation
    above (which the user's CCOs insert too, but may not edit)."""
    if not (user and user.is_authenticated and user.is_active and user.organization_id):
        return CannedReply.objects.none()
    visible = organizations_visible_to(user).values("pk")
    parent = user.organization.parent_id
    return CannedReply.objects.filter(Q(organization__in=visible) | Q(organization_id=parent))


@admin.register(CannedReply)
class CannedReplyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(canned_replies_visible_to)
    scoped_foreign_keys = {"organization": organizations_visible_to}
    form = CannedReplyAdminForm
    list_display = ["title", "organization", "is_active", "excerpt"]
    list_filter = ["is_active", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "body"]
    list_select_related = ["organization"]

    @admin.display(description=_("text"))
    def excerpt(self, reply):
        return reply.body if len(reply.body) <= 80 else f"{reply.body[:80]}…"

    def _editable(self, request, obj) -> bool:
        return obj is None or organizations_visible_to(request.user).filter(
            pk=obj.organization_id).exists()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._editable(request, obj)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404


@admin.register(CcoProfile)
class CcoProfileAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Managers put their CCOs on or off duty and set the cap; the routing weight comes
    from the nightly reports, the round-robin counter belongs to routing."""

    scope = staticmethod(lambda user: CcoProfile.objects.filter(
        organization__in=organizations_visible_to(user).values("pk")))
    list_display = ["user", "organization", "is_on_duty", "open_cap", "open_now",
                    "performance_weight", "started_on"]
    list_editable = ["is_on_duty", "open_cap"]
    list_filter = ["is_on_duty", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__full_name", "user__email"]
    list_select_related = ["user", "organization"]
    EDITABLE = ("is_on_duty", "open_cap")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(open_inquiries=Count(
            "user__owned_inquiries", filter=Q(user__owned_inquiries__status__in=list(
                Inquiry.OPEN_STATUSES))))

    @admin.display(description=_("open now"), ordering="open_inquiries")
    def open_now(self, profile):
        return profile.open_inquiries

    def get_fields(self, request, obj=None):
        fields = ["user", "organization", "is_on_duty", "open_cap", "performance_weight",
                  "started_on"]
        return [*fields, "current_weight"] if request.user.is_superuser else fields

    def get_readonly_fields(self, request, obj=None):
        readonly = ["user", "organization", "started_on", "current_weight"]
        if not request.user.is_superuser:
            readonly.append("performance_weight")  # the reports set it
        return readonly

    def has_add_permission(self, request):
        return False  # profiles appear when routing first meets a CCO

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Only what was edited: routing updates the counter of these rows concurrently.
        editable = {*self.EDITABLE, *(["performance_weight"] if request.user.is_superuser
                                      else [])}
        fields = [name for name in form.changed_data if name in editable]
        if fields:
            obj.save(update_fields=fields)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404


@admin.register(ResponseMiss)
class ResponseMissAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(lambda user: ResponseMiss.objects.filter(
        inquiry__in=inquiries_visible_to(user).values("pk")))
    list_display = ["inquiry", "owner", "due_at", "recorded_at"]
    list_filter = [("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["inquiry__number", "owner__full_name", "owner__email"]
    list_select_related = ["inquiry", "owner"]
    date_hierarchy = "due_at"
    fields = ["inquiry", "owner", "due_at", "recorded_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404
