"""Orders admin for CCOs, managers and finance: scoped changelists (orders_visible_to,
pickups_visible_to …); status is read-only and moves only through actions that call the
services. Each action reports, per order, what it did or why it could not."""

import logging

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext, ngettext_lazy, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.admin import ScopedAdminMixin
from accounts.models import Role
from accounts.selectors import companies_visible_to, users_visible_to
from chemmall.errors import DomainError

from . import outbox, services
from .models import (
    Carrier,
    CompanyLicence,
    Order,
    OrderEvent,
    OrderLine,
    OutboxMessage,
    Pickup,
    PickupLine,
)
from .selectors import licences_visible_to, orders_visible_to, pickups_visible_to
from .staff_forms import CancelReasonForm, ReturnReasonForm
from .tasks import outbox_send_task

logger = logging.getLogger(__name__)

ACTION_TEMPLATE = "admin/orders/order/action_form.html"


def _plain(quantity) -> str:
    return format(quantity.normalize(), "f")


class _ReadOnlyInline(admin.TabularInline):
    """Part of the parent's record: whoever may view the parent sees it (lines and events
    have no model permissions of their own), nobody edits it here."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(self.parent_model).has_view_permission(
            request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = ["product", "quantity", "unit", "unit_price", "tax_inclusive", "line_total",
              "depot", "picked_up", "remaining"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product__chemical", "depot")

    @admin.display(description=_("remaining"))
    def remaining(self, line):
        return line.remaining


class OrderEventInline(_ReadOnlyInline):
    model = OrderEvent
    verbose_name_plural = _("timeline")
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class PickupInline(_ReadOnlyInline):
    model = Pickup
    fields = ["receipt", "created_at", "depot", "collected_by", "vehicle_plate",
              "recorded_by", "handed_over"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (super().get_queryset(request)
                .select_related("order", "depot", "recorded_by")
                .prefetch_related("lines__order_line__product__chemical"))

    @admin.display(description=_("receipt"))
    def receipt(self, pickup):
        return pickup.receipt_number

    @admin.display(description=_("handed over"))
    def handed_over(self, pickup):
        return ", ".join(f"{pl.order_line.product.display_name} {_plain(pl.quantity)} "
                         f"{pl.order_line.unit}" for pl in pickup.lines.all())


class OpenFilter(admin.SimpleListFilter):
    title = _("open")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", pgettext_lazy("order status filter", "Open")),
                ("no", _("Completed or cancelled"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=Order.OPEN_STATUSES)
        if self.value() == "no":
            return queryset.exclude(status__in=Order.OPEN_STATUSES)
        return queryset


def _report(modeladmin, request, failures: list[str], done: int, done_message) -> None:
    """`done_message` is an ngettext_lazy(…, "n") text."""
    for failure in failures:
        modeladmin.message_user(request, failure, messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)
    elif not failures:
        modeladmin.message_user(request, gettext("Nothing to do."), messages.WARNING)


def _run_on_each(modeladmin, request, queryset, service, done_message, kwargs_for=None,
                 **kwargs):
    """Call `service` for each selected order on its own: one order's refusal (with its
    reason) does not stop the others."""
    done, failures = 0, []
    for order in queryset.order_by("pk"):
        extra = kwargs_for(order) if kwargs_for else {}
        try:
            service(order_id=order.pk, actor=request.user, **kwargs, **extra)
        except DomainError as exc:
            failures.append(f"{order.number}: {exc.message}")
        except Order.DoesNotExist:
            failures.append(f"{order.number}: {gettext('not found.')}")
        else:
            done += 1
    _report(modeladmin, request, failures, done, done_message)


def _intermediate_page(modeladmin, request, queryset, *, action: str, title: str, **context):
    return TemplateResponse(request, ACTION_TEMPLATE, {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": title,
        "action": action,
        "orders": queryset.order_by("pk"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        **context,
    })


@admin.register(Order)
class OrderAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(orders_visible_to)
    list_display = ["number", "company", "seller", "status", "fulfilment", "payment_method",
                    "total", "po_number", "placed_at"]
    list_filter = ["status", OpenFilter, "fulfilment", "payment_method",
                   ("seller", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "company__name", "po_number"]
    list_select_related = ["company", "seller"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, OrderEventInline, PickupInline]
    readonly_fields = ["number", "checkout", "company", "placed_by", "seller", "status",
                       "fulfilment", "address", "pickup_depot", "carrier", "tracking_number",
                       "payment_method", "po_number", "requested_date", "subtotal", "vat",
                       "vat_rate", "total", "pickup_code", "pickup_code_expires_on",
                       "placed_at", "paid_at"]
    fields = readonly_fields + ["notes"]
    actions = ["confirm", "mark_ready", "mark_shipped", "mark_delivered", "complete",
               "payment_received", "invoice_paid", "approve_credit", "cancel", "mark_returned"]

    def get_queryset(self, request):
        # The changelist skips list_select_related once anything is selected: name it all.
        return super().get_queryset(request).select_related(
            "company", "seller", "placed_by", "address", "pickup_depot", "carrier", "checkout")

    def has_add_permission(self, request):
        return False  # orders come from checkout (and accepted quotes)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_finance_permission(self, request):
        """Payments and credit are finance's (the services check it again)."""
        user = request.user
        return self.has_change_permission(request) and (
            user.is_superuser or user.has_role(Role.FINANCE))

    # --- Seller moves ---

    @admin.action(description=_("Confirm selected orders"), permissions=["change"])
    def confirm(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_confirm,
                     ngettext_lazy("%(n)d order confirmed.", "%(n)d orders confirmed.", "n"))

    @admin.action(description=_("Mark selected orders ready"), permissions=["change"])
    def mark_ready(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_mark_ready,
                     ngettext_lazy("%(n)d order ready.", "%(n)d orders ready.", "n"))

    @admin.action(description=_("Mark selected orders shipped…"), permissions=["change"])
    def mark_shipped(self, request, queryset):
        """An intermediate page: the carrier (the order's unless changed) and the tracking
        number of each order, then ship them."""
        if request.POST.get("apply"):
            def ship_input(order):
                # Blank keeps the order's carrier; anything else the service checks
                # ("This carrier is not available." for a stale or forged choice).
                carrier = request.POST.get(f"carrier_{order.pk}", "").strip()
                return {"carrier_id": (int(carrier) if carrier.isdigit() else -1)
                        if carrier else None,
                        "tracking_number": request.POST.get(f"tracking_{order.pk}", "")}

            _run_on_each(self, request, queryset, services.order_ship,
                         ngettext_lazy("%(n)d order shipped.", "%(n)d orders shipped.", "n"),
                         kwargs_for=ship_input)
            return None
        return _intermediate_page(
            self, request, queryset.select_related("carrier", "address__region"),
            action="mark_shipped", title=gettext("Ship orders"), ship=True,
            carriers=Carrier.objects.filter(is_active=True).order_by("name"))

    @admin.action(description=_("Mark selected orders delivered"), permissions=["change"])
    def mark_delivered(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_mark_delivered,
                     ngettext_lazy("%(n)d order delivered.", "%(n)d orders delivered.", "n"))

    @admin.action(description=_("Complete selected delivered orders"), permissions=["change"])
    def complete(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_complete,
                     ngettext_lazy("%(n)d order completed.", "%(n)d orders completed.", "n"))

    @admin.action(description=_("Cancel selected orders…"), permissions=["change"])
    def cancel(self, request, queryset):
        """An intermediate page asks for the reason the buyer will read."""
        form = CancelReasonForm(request.POST if request.POST.get("apply") else None)
        if form.is_valid():
            _run_on_each(self, request, queryset, services.order_cancel,
                         ngettext_lazy("%(n)d order cancelled.", "%(n)d orders cancelled.", "n"),
                         reason=form.cleaned_data["reason"])
            return None
        return _intermediate_page(self, request, queryset, action="cancel",
                                  title=gettext("Cancel orders"), form=form)

    @admin.action(description=_("Record return of selected completed orders…"),
                  permissions=["change"])
    def mark_returned(self, request, queryset):
        form = ReturnReasonForm(request.POST if request.POST.get("apply") else None)
        if form.is_valid():
            _run_on_each(self, request, queryset, services.order_return,
                         ngettext_lazy("%(n)d order returned.", "%(n)d orders returned.", "n"),
                         reason=form.cleaned_data["reason"])
            return None
        return _intermediate_page(self, request, queryset, action="mark_returned",
                                  title=gettext("Record returns"), form=form)

    # --- Finance ---

    @admin.action(description=_("Invoice paid for selected credit orders"),
                  permissions=["finance"])
    def invoice_paid(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_invoice_paid,
                     ngettext_lazy("Invoice of %(n)d order recorded as paid.",
                                   "Invoices of %(n)d orders recorded as paid.", "n"))

    @admin.action(description=_("Payment received for selected orders"),
                  permissions=["finance"])
    def payment_received(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_payment_confirm,
                     ngettext_lazy("Payment of %(n)d order recorded.",
                                   "Payments of %(n)d orders recorded.", "n"))

    @admin.action(description=_("Approve credit for selected orders"), permissions=["finance"])
    def approve_credit(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_credit_approve,
                     ngettext_lazy("Credit for %(n)d order approved.",
                                   "Credit for %(n)d orders approved.", "n"))


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["name", "hazmat_qualified", "is_active"]
    list_filter = ["hazmat_qualified", "is_active"]
    search_fields = ["name"]


@admin.register(CompanyLicence)
class CompanyLicenceAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(licences_visible_to)
    scoped_foreign_keys = {"company": companies_visible_to}
    list_display = ["company", "kind", "number", "valid_until", "status", "reviewed_by"]
    list_filter = ["status", "kind"]
    search_fields = ["company__name", "number"]
    list_select_related = ["company", "reviewed_by"]
    readonly_fields = ["status", "reviewed_by", "reviewed_at", "created_at"]
    actions = ["approve", "reject"]

    def _review(self, request, queryset, approve: bool):
        done, failures = 0, []
        for licence in queryset.order_by("pk"):
            try:
                services.licence_review(licence_id=licence.pk, actor=request.user,
                                        approve=approve)
            except DomainError as exc:
                failures.append(f"{licence}: {exc.message}")
            except CompanyLicence.DoesNotExist:
                failures.append(f"{licence}: {gettext('not found.')}")
            else:
                done += 1
        _report(self, request, failures, done,
                ngettext_lazy("%(n)d licence reviewed.", "%(n)d licences reviewed.", "n"))

    @admin.action(description=_("Approve selected licences"), permissions=["change"])
    def approve(self, request, queryset):
        self._review(request, queryset, approve=True)

    @admin.action(description=_("Reject selected licences"), permissions=["change"])
    def reject(self, request, queryset):
        self._review(request, queryset, approve=False)


class PickupLineInline(_ReadOnlyInline):
    model = PickupLine
    fields = ["order_line", "quantity"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line__product__chemical")


@admin.register(Pickup)
class PickupAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """What was handed over at the depots: a record, never edited (the depot pages and
    services.pickup_record write it)."""

    scope = staticmethod(pickups_visible_to)
    list_display = ["receipt", "order", "company", "depot", "collected_by", "vehicle_plate",
                    "recorded_by", "created_at"]
    list_filter = [("depot", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["order__number", "order__company__name", "collected_by", "vehicle_plate"]
    list_select_related = ["order__company", "depot", "recorded_by"]
    date_hierarchy = "created_at"
    fields = ["order", "sequence", "depot", "collected_by", "vehicle_plate", "recorded_by",
              "created_at"]
    readonly_fields = fields
    inlines = [PickupLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("receipt"), ordering="created_at")
    def receipt(self, pickup):
        return pickup.receipt_number

    @admin.display(description=_("buyer company"), ordering="order__company__name")
    def company(self, pickup):
        return pickup.order.company


def _send_soon(message_id: int) -> None:
    """Queue the send now; with the broker down the sweep sends it within a minute."""
    try:
        outbox_send_task.delay(message_id)
    except Exception:  # noqa: BLE001 — a broker outage must not fail the admin request
        logger.warning("outbox: could not queue message %s; the sweep will send it",
                       message_id, exc_info=True)


def outbox_visible_to(user):
    """HQ staff: every message. Subsidiary staff: messages to their organisation's staff.
    Anyone else: none. (A message knows only its address, not whose order caused it.)"""
    if not (user and user.is_authenticated and user.is_active):
        return OutboxMessage.objects.none()
    if user.is_hq_staff:
        return OutboxMessage.objects.all()
    if user.organization_id:
        emails = users_visible_to(user).filter(organization__isnull=False).values("email")
        return OutboxMessage.objects.filter(to_email__in=emails)
    return OutboxMessage.objects.none()


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Read-only view of the notifications; given-up messages can be retried."""

    scope = staticmethod(outbox_visible_to)
    list_display = ["created_at", "kind", "to_email", "subject", "status", "attempts",
                    "short_error", "next_attempt_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "subject", "dedup_key"]
    date_hierarchy = "created_at"
    fields = ["kind", "to_email", "subject", "body", "status", "attempts", "last_error",
              "next_attempt_at", "claimed_until", "created_at", "sent_at", "dedup_key"]
    readonly_fields = fields
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False  # a message is a record: the detail page is read-only
        return super().has_change_permission(request)  # the retry action needs it

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("last error"))
    def short_error(self, message):
        error = message.last_error
        return f"{error[:80]}…" if len(error) > 80 else error

    @admin.action(description=_("Retry selected failed messages now"), permissions=["change"])
    def retry_now(self, request, queryset):
        done, skipped = 0, []
        for message in queryset.order_by("pk"):
            if outbox.outbox_retry(message_id=message.pk):
                transaction.on_commit(lambda pk=message.pk: _send_soon(pk))
                done += 1
            else:
                skipped.append(message)
        for message in skipped:
            self.message_user(
                request, gettext("%(message)s to %(to)s is “%(status)s”: only failed "
                                 "messages are retried.")
                % {"message": message.kind, "to": message.to_email,
                   "status": message.get_status_display()}, messages.WARNING)
        if done:
            self.message_user(request, ngettext(
                "%(n)d message queued for sending.", "%(n)d messages queued for sending.",
                done) % {"n": done}, messages.SUCCESS)
