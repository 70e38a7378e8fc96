"""Dealers admin for subsidiary staff, HQ and finance.

Every changelist starts from the dealers selectors (HQ sees all; subsidiary staff their
subsidiary subtree's dealers); an id outside the scope answers 404. Territories and category
rates are edited inline on the dealer (the inline formset refuses a city whose province is in
the same territory); the conflicts page lists overlapping territories, companies served by
several dealers and each dealer's performance. Routed inquiries and commission lines are
records, read-only here; statements are issued by the monthly run and only marked paid, by
finance, through `services.statement_mark_paid`.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.admin import ScopedAdminMixin
from accounts.models import Region, Role, User
from accounts.selectors import organizations_visible_to
from chemmall.errors import DomainError

from . import selectors, services
from .exports import XLSX_TYPE, statement_filename, statement_xlsx
from .models import (
    Assignment,
    CategoryRate,
    CommissionLine,
    Dealer,
    RoutingRule,
    Statement,
    Territory,
)

CONFLICTS_TEMPLATE = "admin/dealers/dealer/conflicts.html"
TERRITORIES_SHOWN = 6


class _Scoped(ScopedAdminMixin):
    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404  # outside the user's scope: as if it did not exist


def dealer_users_choosable(user):
    """The users a staff member may attach to a dealer: those already on the dealers they
    see, and active dealer-role users not working for a dealer hidden from them."""
    visible = selectors.dealers_visible_to(user).values("pk")
    hidden = Dealer.objects.exclude(pk__in=visible).values("pk")
    on_visible = User.objects.filter(dealers__in=visible).values("pk")
    on_hidden = User.objects.filter(dealers__in=hidden).values("pk")
    free = (User.objects.filter(groups__name=Role.DEALER, is_active=True)
            .exclude(pk__in=on_hidden).values("pk"))
    return User.objects.filter(Q(pk__in=on_visible) | Q(pk__in=free)).order_by("email")


def routing_rules_visible_to(user):
    return RoutingRule.objects.select_related("organization").filter(
        organization__in=organizations_visible_to(user).values("pk"))


# --- Dealer: territories and category rates inline ----------------------------------------------


class _PartOfDealer:
    """Territories and category rates are part of the dealer's record: whoever may edit the
    dealer (or add one) edits them, whoever may view it sees them."""

    def _dealer_admin(self):
        return self.admin_site.get_model_admin(self.parent_model)

    def _may_edit(self, request, obj):
        parent = self._dealer_admin()
        if obj is None:
            return parent.has_add_permission(request) or parent.has_change_permission(request)
        return parent.has_change_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return self._dealer_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj)


class TerritoryFormSet(forms.BaseInlineFormSet):
    """The same region twice is refused by the unique constraint (formset validate_unique);
    a city whose province is also in the territory would overlap the dealer with itself."""

    def clean(self):
        super().clean()
        kept = [form for form in self.forms
                if getattr(form, "cleaned_data", None) and not self._should_delete_form(form)
                and form.cleaned_data.get("region") is not None]
        provinces = {form.cleaned_data["region"].code: form.cleaned_data["region"]
                     for form in kept
                     if form.cleaned_data["region"].level == Region.Level.PROVINCE}
        for form in kept:
            region = form.cleaned_data["region"]
            if region.level == Region.Level.CITY and region.parent_id in provinces:
                form.add_error("region", ValidationError(
                    _("%(city)s is inside %(province)s, which is already in this territory: "
                      "keep the province or the city, not both."),
                    code="overlap",
                    params={"city": region, "province": provinces[region.parent_id]}))


class TerritoryInline(_PartOfDealer, admin.TabularInline):
    model = Territory
    formset = TerritoryFormSet
    extra = 1
    fields = ["region", "level"]
    readonly_fields = ["level"]
    autocomplete_fields = ["region"]  # accounts' RegionAdmin searches code and names

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("region")

    @admin.display(description=_("level"))
    def level(self, territory):
        region = territory.region if territory.region_id else None
        return region.get_level_display() if region else "—"


class CategoryRateInline(_PartOfDealer, admin.TabularInline):
    model = CategoryRate
    extra = 0
    fields = ["category", "base_rate", "won_rate"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category")


class FlaggedFilter(admin.SimpleListFilter):
    title = _("flagged for review")
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", _("Flagged")), ("no", _("Not flagged"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(flagged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(flagged_at__isnull=True)
        return queryset


def _percent(fraction) -> str:
    if fraction is None:
        return "—"
    return f"{(Decimal(fraction) * 100).quantize(Decimal('0.1'))} %"


def _duration(delta: datetime.timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return gettext("%(d)s d %(h)s h") % {"d": days, "h": hours}
    if hours:
        return gettext("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    return gettext("%(m)s min") % {"m": minutes}


def _overlap_winner(first: Territory, second: Territory) -> str:
    a, b = first.dealer, second.dealer
    if a.priority == b.priority:
        return gettext("Equal priority: acceptance, conversion, then turns decide.")
    winner = a if a.priority > b.priority else b
    return gettext("%(dealer)s (higher priority)") % {"dealer": winner.name}


def performance_rows(dealers) -> list[dict]:
    """`selectors.dealer_performance` per subsidiary (peers are the subsidiary's other active
    dealers, as for the nightly review flag), formatted for the page."""
    by_org: dict[int, list] = defaultdict(list)
    for dealer in dealers.filter(is_active=True).order_by("organization", "name", "pk"):
        by_org[dealer.organization_id].append(dealer)
    rows = []
    for group in by_org.values():
        for row in selectors.dealer_performance(group):
            rows.append({**row, "conversion_text": _percent(row["conversion"]),
                         "peer_median_text": _percent(row["peer_median"]),
                         "median_response_text": _duration(row["median_response"])})
    return rows


@admin.register(Dealer)
class DealerAdmin(_Scoped, admin.ModelAdmin):
    scope = staticmethod(selectors.dealers_visible_to)
    scoped_foreign_keys = {"organization": organizations_visible_to,
                           "users": dealer_users_choosable}
    list_display = ["name", "organization", "is_active", "priority", "base_rate", "won_rate",
                    "territories_summary", "flagged"]
    list_filter = ["is_active", FlaggedFilter, ("organization", admin.RelatedOnlyFieldListFilter),
                   ("categories", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "uscc", "contact_name", "phone", "email",
                     "territories__region__code", "territories__region__name_zh",
                     "territories__region__name_en"]
    search_help_text = _("Name, credit code, contact, phone, email or a territory's region.")
    list_select_related = ["organization"]
    filter_horizontal = ["users", "categories"]
    readonly_fields = ["last_routed_at", "flagged_at", "flag_note"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "uscc", "is_active", "priority"]}),
        (_("Contact"), {"fields": ["contact_name", "phone", "email", "address"]}),
        (_("Commission"), {"fields": ["base_rate", "won_rate"]}),
        (_("Categories and portal users"), {"fields": ["categories", "users"]}),
        (_("Routing and review"), {"fields": ["last_routed_at", "flagged_at", "flag_note"]}),
    ]
    inlines = [TerritoryInline, CategoryRateInline]
    change_list_template = "admin/dealers/dealer/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(Prefetch(
            "territories", queryset=Territory.objects.select_related("region")
            .order_by("region"), to_attr="territory_list"))

    @admin.display(description=_("territory"))
    def territories_summary(self, dealer):
        names = [str(t.region) for t in dealer.territory_list]
        if not names:
            return "—"
        if len(names) > TERRITORIES_SHOWN:
            more = len(names) - TERRITORIES_SHOWN
            return gettext("%(names)s and %(n)s more") % {
                "names": ", ".join(names[:TERRITORIES_SHOWN]), "n": more}
        return ", ".join(names)

    @admin.display(description=_("flagged"), boolean=True, ordering="flagged_at")
    def flagged(self, dealer):
        return dealer.flagged_at is not None

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("conflicts/", self.admin_site.admin_view(self.conflicts_view),
                 name=f"{info[0]}_{info[1]}_conflicts"),
            *super().get_urls(),
        ]

    def conflicts_view(self, request):
        """Overlapping territories, companies served by several dealers, and performance,
        of the dealers the user may see."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        dealers = selectors.dealers_visible_to(request.user)
        overlaps = [{**pair, "winner": _overlap_winner(pair["first"], pair["second"])}
                    for pair in selectors.territory_overlaps(dealers)]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Dealer conflicts and performance"),
            "overlaps": overlaps,
            "companies": selectors.companies_with_several_dealers(dealers),
            "performance": performance_rows(dealers),
            "review_min_routed": selectors.REVIEW_MIN_ROUTED,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, CONFLICTS_TEMPLATE, context)


# --- Routing rules ------------------------------------------------------------------------------


@admin.register(RoutingRule)
class RoutingRuleAdmin(_Scoped, admin.ModelAdmin):
    scope = staticmethod(routing_rules_visible_to)
    scoped_foreign_keys = {"organization": organizations_visible_to}
    list_display = ["organization", "is_enabled", "direct_sale_threshold"]
    list_filter = ["is_enabled"]
    search_fields = ["organization__code", "organization__name_zh", "organization__name_en"]
    list_select_related = ["organization"]


# --- Routed inquiries (read-only) ---------------------------------------------------------------


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Assignment)
class AssignmentAdmin(_ReadOnly, _Scoped, admin.ModelAdmin):
    """Routing writes these and the dealers answer them in the portal: a record here."""

    scope = staticmethod(selectors.assignments_visible_to)
    list_display = ["inquiry", "dealer", "status", "routed_at", "due_at", "decided_at"]
    list_filter = ["status", ("dealer", admin.RelatedOnlyFieldListFilter),
                   ("dealer__organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["inquiry__number", "dealer__name"]
    list_select_related = ["inquiry", "dealer"]
    date_hierarchy = "routed_at"
    fields = ["inquiry", "dealer", "status", "reason", "routed_at", "due_at", "decided_at",
              "decided_by", "decline_reason"]
    readonly_fields = fields


# --- Statements and commission lines ------------------------------------------------------------


class StatementLineInline(_ReadOnly, admin.TabularInline):
    model = CommissionLine
    verbose_name_plural = _("lines")
    extra = 0
    can_delete = False
    fields = ["created_at", "order", "category", "kind", "basis", "base_amount", "rate",
              "amount", "note"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(self.parent_model).has_view_permission(
            request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "category")


def _report(modeladmin, request, failures: list[str], done: int, done_message) -> None:
    """`done_message` is an ngettext_lazy(…, "n") text."""
    for failure in failures:
        modeladmin.message_user(request, failure, messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)
    elif not failures:
        modeladmin.message_user(request, gettext("Nothing to do."), messages.WARNING)


def _run_on_each(modeladmin, request, queryset, service, done_message, *, id_kwarg: str):
    """Call `service` for each selected object on its own: one refusal (with its reason)
    does not stop the others."""
    done, failures = 0, []
    for obj in queryset.order_by("pk"):
        try:
            service(**{id_kwarg: obj.pk}, actor=request.user)
        except DomainError as exc:
            failures.append(f"{obj}: {exc.message}")
        except queryset.model.DoesNotExist:
            failures.append(f"{obj}: {gettext('not found.')}")
        else:
            done += 1
    _report(modeladmin, request, failures, done, done_message)


@admin.register(Statement)
class StatementAdmin(_Scoped, admin.ModelAdmin):
    """Issued by the monthly run; finance marks them paid. Each downloads as a workbook."""

    scope = staticmethod(selectors.statements_visible_to)
    list_display = ["dealer", "month_column", "status", "total", "paid_at", "download"]
    list_filter = ["status", ("dealer", admin.RelatedOnlyFieldListFilter),
                   ("dealer__organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["dealer__name"]
    list_select_related = ["dealer"]
    date_hierarchy = "month"
    fields = ["dealer", "month", "status", "total", "created_at", "paid_at", "paid_by",
              "download"]
    readonly_fields = fields
    inlines = [StatementLineInline]
    actions = ["mark_paid"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("dealer", "paid_by")

    def has_add_permission(self, request):
        return False  # the monthly run issues them

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False  # a statement is a record: the detail page is read-only
        return super().has_change_permission(request)  # the action needs it

    def has_delete_permission(self, request, obj=None):
        return False

    def has_finance_permission(self, request):
        """Marking paid is finance's (the service checks it again)."""
        user = request.user
        return self.has_change_permission(request) and (
            user.is_superuser or user.has_role(Role.FINANCE))

    @admin.display(description=_("month"), ordering="month")
    def month_column(self, statement):
        return f"{statement.month:%Y-%m}"

    @admin.display(description=_("workbook"))
    def download(self, statement):
        if statement.pk is None:
            return "—"
        url = reverse(f"{self.admin_site.name}:dealers_statement_xlsx", args=[statement.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download XLSX"))

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/xlsx/", self.admin_site.admin_view(self.xlsx_view),
                 name=f"{info[0]}_{info[1]}_xlsx"),
            *super().get_urls(),
        ]

    def xlsx_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        statement = self.get_object(request, object_id)
        if statement is None:
            raise Http404
        response = HttpResponse(statement_xlsx(statement), content_type=XLSX_TYPE)
        response["Content-Disposition"] = (
            f'attachment; filename="{statement_filename(statement)}"')
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.action(description=_("Mark selected statements paid"), permissions=["finance"])
    def mark_paid(self, request, queryset):
        for statement in queryset.filter(status=Statement.Status.PAID).order_by("pk"):
            self.message_user(request, gettext("%(statement)s was paid already.")
                              % {"statement": statement}, messages.WARNING)
        _run_on_each(self, request, queryset.exclude(status=Statement.Status.PAID),
                     services.statement_mark_paid,
                     ngettext_lazy("%(n)d statement marked paid.",
                                   "%(n)d statements marked paid.", "n"),
                     id_kwarg="statement_id")


@admin.register(CommissionLine)
class CommissionLineAdmin(_ReadOnly, _Scoped, admin.ModelAdmin):
    """Written by the accrual sweep (and its clawbacks): a record, never edited."""

    scope = staticmethod(selectors.commission_lines_visible_to)
    list_display = ["created_at", "dealer", "order", "category", "kind", "basis",
                    "base_amount", "rate", "amount", "statement"]
    list_filter = ["kind", "basis", ("dealer", admin.RelatedOnlyFieldListFilter),
                   ("dealer__organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["order__number", "dealer__name", "note"]
    list_select_related = ["dealer", "order", "category", "statement__dealer"]
    date_hierarchy = "created_at"
    fields = ["dealer", "order", "category", "kind", "basis", "base_amount", "rate", "amount",
              "note", "created_at", "statement"]
    readonly_fields = fields
