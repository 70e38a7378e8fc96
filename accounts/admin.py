"""The admin for staff; every changelist starts from the scoping selectors."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import selectors, services
from .models import (
    CalendarDay,
    Company,
    Depot,
    Membership,
    Organization,
    Region,
    User,
    WorkingCalendar,
)


class ScopedAdminMixin:
    """`scope` is a selector (user → queryset): what the staff member may see at all.
    `scoped_foreign_keys` narrows the choices of foreign keys (and many-to-many fields) the
    same way."""

    scope = None
    scoped_foreign_keys: dict = {}

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(pk__in=type(self).scope(request.user).values("pk"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        selector = self.scoped_foreign_keys.get(db_field.name)
        if selector is not None:
            kwargs["queryset"] = selector(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        selector = self.scoped_foreign_keys.get(db_field.name)
        if selector is not None:
            kwargs["queryset"] = selector(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name_zh", "name_en"]
    list_select_related = ["parent"]

    def has_add_permission(self, request):
        return False  # reference data: it comes from the migration, not by hand

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 1
    fields = ["date", "kind", "name", "source"]
    readonly_fields = ["source"]


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(selectors.calendars_visible_to)
    list_display = ["name", "timezone", "workdays", "day_start", "day_end",
                    "follow_china_holidays"]
    inlines = [CalendarDayInline]
    actions = ["sync_china_holidays"]

    @admin.action(description=_("Import China's holidays for this year and next"),
                  permissions=["change"])
    def sync_china_holidays(self, request, queryset):
        year = timezone.localdate().year
        written = sum(
            services.working_calendar_sync_holidays(calendar_id=pk, years=[year, year + 1])
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, ngettext("%(n)d day imported.", "%(n)d days imported.",
                                            written) % {"n": written}, messages.SUCCESS)


@admin.register(Organization)
class OrganizationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(selectors.organizations_visible_to)
    scoped_foreign_keys = {"parent": selectors.organizations_visible_to,
                           "calendar": selectors.calendars_visible_to}
    list_display = ["code", "name_zh", "name_en", "kind", "parent", "service_level_hours",
                    "dealer_window_hours", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name_zh", "name_en"]
    list_select_related = ["parent"]
    autocomplete_fields = ["region"]

    def get_readonly_fields(self, request, obj=None):
        # A subsidiary's place in the group is HQ's decision; its own staff cannot move it
        # (nor could they save the form: their parent choices do not include HQ).
        readonly = super().get_readonly_fields(request, obj)
        if request.user.is_hq_staff:
            return readonly
        return [*readonly, "kind", "parent"]


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "company"
    extra = 0
    fields = ["user", "is_admin", "invited_by", "created_at"]
    readonly_fields = ["user", "invited_by", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False  # colleagues join by invitation from their company admin


@admin.register(Company)
class CompanyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(selectors.companies_visible_to)
    list_display = ["name", "uscc", "province", "city", "credit_limit", "payment_terms_days",
                    "is_active", "created_at"]
    list_filter = ["is_active", "province"]
    search_fields = ["name", "uscc"]
    list_select_related = ["province", "city"]
    autocomplete_fields = ["province", "city"]
    filter_horizontal = ["served_by"]
    inlines = [MembershipInline]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request, obj=None):
        # Which subsidiaries serve a customer is recorded by orders and inquiries; only HQ
        # corrects it by hand, so a subsidiary cannot widen its own reach.
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_hq_staff:
            fields.append("served_by")
        return fields


@admin.register(Depot)
class DepotAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(selectors.depots_visible_to)
    scoped_foreign_keys = {"organization": selectors.organizations_visible_to,
                           "operators": selectors.users_visible_to}
    list_display = ["code", "name_zh", "organization", "region", "is_active"]
    list_filter = ["is_active", "organization"]
    search_fields = ["code", "name_zh", "name_en", "address"]
    list_select_related = ["organization", "region"]
    autocomplete_fields = ["region"]
    filter_horizontal = ["operators"]


@admin.register(User)
class UserAdmin(ScopedAdminMixin, DjangoUserAdmin):
    scope = staticmethod(selectors.users_visible_to)
    scoped_foreign_keys = {"organization": selectors.organizations_visible_to}
    ordering = ["email"]
    list_display = ["email", "full_name", "organization", "is_staff", "is_active",
                    "last_login"]
    list_filter = ["is_staff", "is_active", "groups", "organization"]
    search_fields = ["email", "full_name", "phone"]
    list_select_related = ["organization"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["full_name", "phone", "language", "organization"]}),
        (_("Roles and access"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"],
                "fields": ["email", "full_name", "organization", "password1", "password2"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups"]
