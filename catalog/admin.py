"""Catalog admin: staff see and edit only their own subsidiary's products and prices."""

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import selectors as account_selectors
from accounts.admin import ScopedAdminMixin
from accounts.models import Organization

from . import price_import, selectors, services
from .models import Category, Chemical, PriceChange, PriceList, PriceTier, Product, Stock


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["key", "name_zh", "name_en", "parent", "position"]
    search_fields = ["key", "name_zh", "name_en"]
    ordering = ["position", "key"]


@admin.register(Chemical)
class ChemicalAdmin(admin.ModelAdmin):
    list_display = ["cas", "name_en", "name_zh", "formula", "un_number", "signal_word",
                    "controlled"]
    list_filter = ["controlled", "signal_word", "transport_class", "categories"]
    search_fields = ["cas", "name_en", "name_zh", "formula", "un_number"]
    filter_horizontal = ["categories"]
    fieldsets = [
        (None, {"fields": ["cas", "name_en", "name_zh", "synonyms", "formula", "hs_code",
                           "categories"]}),
        (_("Hazards"), {"fields": ["ghs_pictograms", "signal_word", "h_statements",
                                   "un_number", "transport_class", "packing_group",
                                   "controlled", "licence_kind"]}),
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:  # names or synonyms may have changed: the products' search entries too
            services.search.index_products(
                product_ids=list(obj.products.values_list("pk", flat=True)))


class StockInline(admin.TabularInline):
    model = Stock
    extra = 0
    fields = ["depot", "on_hand", "reserved"]
    readonly_fields = ["reserved"]  # reservations move only through orders

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "depot":
            kwargs["queryset"] = account_selectors.depots_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Product)
class ProductAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(selectors.products_editable_by)
    scoped_foreign_keys = {"seller": account_selectors.organizations_visible_to}
    list_display = ["sku", "display_name", "cas", "seller", "grade", "packaging", "sales_unit",
                    "min_order_quantity", "is_active"]
    list_filter = ["is_active", "is_service", "grade", "sales_unit", "category", "seller"]
    search_fields = ["sku", "chemical__cas", "chemical__name_en", "chemical__name_zh",
                     "name_en", "name_zh"]
    list_select_related = ["chemical", "seller"]
    autocomplete_fields = ["chemical"]
    inlines = [StockInline]
    list_per_page = 50

    @admin.display(description=_("CAS number"), ordering="chemical__cas")
    def cas(self, obj):
        return obj.chemical.cas if obj.chemical_id else "—"

    def save_model(self, request, obj, form, change):
        services.product_save(product=obj)


class PriceTierFormSet(BaseInlineFormSet):
    def clean(self):
        """A new list is checked as the price list service checks one: the seller's products,
        prices above zero, each quantity once, a larger quantity never dearer."""
        super().clean()
        price_list = self.instance
        if (any(self.errors) or not price_list._state.adding or price_list.seller_id is None
                or price_list.valid_from is None):
            return
        tiers = sorted(
            (services.TierInput(product=data["product"], min_quantity=data["min_quantity"],
                                unit_price=data["unit_price"],
                                tax_inclusive=data.get("tax_inclusive", True))
             for data in (form.cleaned_data for form in self.forms)
             if data and not data.get("DELETE")),
            key=lambda t: (t.product.pk, t.min_quantity),
        )
        if not tiers:
            raise ValidationError(_("A price list needs at least one price."))
        problems = services.price_list_problems(
            seller=price_list.seller, company=price_list.company,
            valid_from=price_list.valid_from, valid_until=price_list.valid_until, tiers=tiers)
        if problems:
            raise ValidationError(problems)


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    formset = PriceTierFormSet
    extra = 0
    fields = ["product", "min_quantity", "unit_price", "tax_inclusive"]
    autocomplete_fields = ["product"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "product":
            kwargs["queryset"] = selectors.products_editable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request, obj=None):
        return _list_is_editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        # Effective prices are history: a new price is a new list, never an edit.
        return obj is None or obj.valid_from > _today()


def _today():
    from django.utils import timezone

    return timezone.localdate()


def _list_is_editable(price_list) -> bool:
    """Only lists that have not started yet may change: prices in force are history."""
    return price_list is None or price_list.valid_from > _today()


class PriceListImportForm(forms.Form):
    seller = forms.ModelChoiceField(label=_("Seller"), queryset=Organization.objects.none())
    file = forms.FileField(
        label=_("Price list file"),
        help_text=_("An Excel workbook (.xlsx) or a CSV UTF-8 file, at most 5 MB: one row "
                    "per price tier under the header sku, company_uscc, min_quantity, "
                    "unit_price, valid_from, valid_until, tax_inclusive."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        sellers = account_selectors.organizations_visible_to(user).filter(
            kind=Organization.Kind.SUBSIDIARY, is_active=True)
        self.fields["seller"].queryset = sellers
        if len(sellers) == 1:
            self.fields["seller"].initial = sellers[0].pk

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > price_import.MAX_BYTES:
            raise ValidationError(_("The file is larger than %(size)d MB; split it into "
                                    "smaller files.")
                                  % {"size": price_import.MAX_BYTES // (1024 * 1024)})
        return upload


SAMPLE_FILES = {"csv": "sample_price_list.csv", "xlsx": "sample_price_list.xlsx"}
PRICE_FIELDS = {"product", "min_quantity", "unit_price"}


@admin.register(PriceList)
class PriceListAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope = staticmethod(lambda user: PriceList.objects.filter(
        seller__in=account_selectors.organizations_visible_to(user)))
    scoped_foreign_keys = {"seller": account_selectors.organizations_visible_to,
                           "company": account_selectors.companies_visible_to}
    list_display = ["name", "seller", "company", "valid_from", "valid_until", "source",
                    "created_at"]
    list_filter = ["source", "seller"]
    search_fields = ["name", "company__name"]
    list_select_related = ["seller", "company"]
    date_hierarchy = "valid_from"
    readonly_fields = ["source", "created_by", "created_at"]
    inlines = [PriceTierInline]
    change_list_template = "admin/catalog/pricelist/change_list.html"
    import_template = "admin/catalog/pricelist/import.html"
    max_errors_shown = 500

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # The tiers are the seller's products: the seller stays what it was created with.
        return [*readonly, "seller"] if obj is not None else readonly

    def has_change_permission(self, request, obj=None):
        return _list_is_editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _list_is_editable(obj) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.source = PriceList.Source.MANUAL
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        price_list = form.instance
        if change and {"valid_from", "company"} & set(form.changed_data):
            tiers = list(price_list.tiers.all())  # every tier now starts elsewhere
        else:
            tiers = []
            for formset in formsets:
                if formset.model is PriceTier:
                    tiers += formset.new_objects
                    tiers += [tier for tier, fields in formset.changed_objects
                              if PRICE_FIELDS & set(fields)]
        if tiers:
            services.price_tiers_record_history(price_list=price_list, tiers=tiers,
                                                user=request.user)

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.import_view),
                 name=f"{prefix}_import"),
            path("import/sample.<str:kind>", self.admin_site.admin_view(self.sample_view),
                 name=f"{prefix}_import_sample"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):  # catalog.add_pricelist
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = PriceListImportForm(request.POST, request.FILES, user=request.user)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                report = price_import.price_list_import(
                    seller=form.cleaned_data["seller"], file=upload, filename=upload.name,
                    user=request.user)
                if report.ok:
                    lists = len(report.price_lists)
                    self.message_user(request, ngettext(
                        "Imported %(lists)d price list with %(tiers)d prices.",
                        "Imported %(lists)d price lists with %(tiers)d prices.", lists)
                        % {"lists": lists, "tiers": report.tiers_count}, messages.SUCCESS)
                    return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}"
                                    "_changelist")
        else:
            form = PriceListImportForm(user=request.user)
        errors = report.errors if report else []
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import price list"),
            "form": form,
            "import_errors": errors[:self.max_errors_shown],
            "import_errors_count": len(errors),
            "import_errors_hidden": max(0, len(errors) - self.max_errors_shown),
            "columns": price_import.COLUMNS,
        }
        return TemplateResponse(request, self.import_template, context)

    def sample_view(self, request, kind):
        if not self.has_add_permission(request) or kind not in SAMPLE_FILES:
            raise Http404
        path_ = Path(__file__).resolve().parent / "data" / SAMPLE_FILES[kind]
        return FileResponse(path_.open("rb"), as_attachment=True, filename=path_.name)


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    list_display = ["product", "company", "min_quantity", "unit_price", "effective_from",
                    "recorded_at", "changed_by"]
    list_filter = ["effective_from"]
    search_fields = ["product__sku", "product__chemical__cas"]
    list_select_related = ["product__chemical", "company", "changed_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            product__in=selectors.products_editable_by(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
