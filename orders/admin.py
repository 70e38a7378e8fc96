"""Orders admin: scoped by orders_visible_to; status moves only through actions (services)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import ScopedAdminMixin
from accounts.selectors import companies_visible_to
from chemmall.errors import DomainError

from . import services
from .models import Carrier, CompanyLicence, Order, OrderEvent, OrderLine
from .selectors import licences_visible_to, orders_visible_to


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = ["product", "quantity", "unit", "unit_price", "tax_inclusive", "line_total",
              "depot"]
    readonly_fields = fields


class OrderEventInline(_ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields


def _run_on_each(modeladmin, request, queryset, service, done_message, **kwargs):
    done = 0
    for order in queryset:
        try:
            service(order_id=order.pk, actor=request.user, **kwargs)
        except (DomainError, Order.DoesNotExist) as exc:
            modeladmin.message_user(request, f"{order.number}: {getattr(exc, 'message', exc)}",
                                    messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message(done), messages.SUCCESS)


@admin.register(Order)
class OrderAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(orders_visible_to)
    list_display = ["number", "company", "seller", "status", "fulfilment", "payment_method",
                    "total", "placed_at"]
    list_filter = ["status", "fulfilment", "payment_method", "seller"]
    search_fields = ["number", "company__name", "po_number"]
    list_select_related = ["company", "seller"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, OrderEventInline]
    readonly_fields = ["number", "checkout", "company", "placed_by", "seller", "status",
                       "fulfilment", "address", "pickup_depot", "carrier", "payment_method",
                       "po_number", "requested_date", "subtotal", "vat", "vat_rate", "total",
                       "pickup_code", "placed_at"]
    fields = readonly_fields + ["notes"]
    actions = ["confirm", "mark_ready", "cancel"]

    def has_add_permission(self, request):
        return False  # orders come from checkout (and accepted quotes)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Confirm selected orders"), permissions=["change"])
    def confirm(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_confirm,
                     lambda n: ngettext("%d order confirmed.", "%d orders confirmed.", n) % n)

    @admin.action(description=_("Mark selected orders ready"), permissions=["change"])
    def mark_ready(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_mark_ready,
                     lambda n: ngettext("%d order ready.", "%d orders ready.", n) % n)

    @admin.action(description=_("Cancel selected orders"), permissions=["change"])
    def cancel(self, request, queryset):
        _run_on_each(self, request, queryset, services.order_cancel,
                     lambda n: ngettext("%d order cancelled.", "%d orders cancelled.", n) % n,
                     reason=str(_("Cancelled by the seller in the admin.")))


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
        done = 0
        for licence in queryset:
            try:
                services.licence_review(licence_id=licence.pk, actor=request.user,
                                        approve=approve)
            except (DomainError, CompanyLicence.DoesNotExist) as exc:
                self.message_user(request, getattr(exc, "message", str(exc)), messages.ERROR)
                return
            done += 1
        self.message_user(request, ngettext("%d licence reviewed.", "%d licences reviewed.",
                                            done) % done, messages.SUCCESS)

    @admin.action(description=_("Approve selected licences"), permissions=["change"])
    def approve(self, request, queryset):
        self._review(request, queryset, approve=True)

    @admin.action(description=_("Reject selected licences"), permissions=["change"])
    def reject(self, request, queryset):
        self._review(request, queryset, approve=False)
