"""/api/v1/ routes of the catalog: categories, chemicals, products. Public (read only).

Products are listed with the same filters and search as the /products/ page
(`catalog.filters.ProductFilter`); a product's detail carries the price table of the caller's
company (the public one for guests), the stock available by depot and the hazard data.
"""

import re

import django_filters
from django.db.models import Q
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.selectors import user_company_id
from chemmall.money import vat_rate

from . import hazards, pricing, selectors, storefront
from .filters import ProductFilter
from .models import Category, Chemical, Product

# --- Serializers ------------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text=_("In the request's language."))
    parent = serializers.CharField(source="parent.key", read_only=True, allow_null=True,
                                   help_text=_("Key of the parent category."))
    product_count = serializers.IntegerField(
        read_only=True, help_text=_("Public products in it and its subcategories."))

    class Meta:
        model = Category
        fields = ["id", "key", "name", "name_en", "name_zh", "parent", "position",
                  "product_count"]


class PictogramSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("GHS01 … GHS09"))
    label = serializers.CharField()


class HazardStatementSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("e.g. H225"))
    text = serializers.CharField(help_text=_("Empty when the code is not a standard one."))


class ChemicalSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text=_("In the request's language."))
    pictograms = serializers.SerializerMethodField()
    hazard_statements = serializers.SerializerMethodField()
    is_hazardous = serializers.BooleanField(read_only=True)

    class Meta:
        model = Chemical
        fields = ["id", "cas", "name", "name_en", "name_zh", "synonyms", "formula", "hs_code",
                  "ghs_pictograms", "pictograms", "signal_word", "h_statements",
                  "hazard_statements", "un_number", "transport_class", "packing_group",
                  "controlled", "is_hazardous"]

    @extend_schema_field(PictogramSerializer(many=True))
    def get_pictograms(self, chemical):
        return [{"code": p["code"], "label": p["label"]}
                for p in hazards.pictograms(chemical.ghs_pictograms)]

    @extend_schema_field(HazardStatementSerializer(many=True))
    def get_hazard_statements(self, chemical):
        return hazards.h_statements(chemical.h_statements)


class ChemicalBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    is_hazardous = serializers.BooleanField(read_only=True)

    class Meta:
        model = Chemical
        fields = ["id", "cas", "name", "formula", "ghs_pictograms", "signal_word", "un_number",
                  "transport_class", "packing_group", "controlled", "licence_kind",
                  "is_hazardous"]


class SellerSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ProductListSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    chemical = ChemicalBriefSerializer(read_only=True, allow_null=True)
    category = serializers.CharField(source="category.key", read_only=True)
    seller = SellerSerializer(read_only=True)
    list_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True,
        help_text=_("Public price (CNY, per sales unit) of the lowest quantity tier valid "
                    "today; null without one."))
    in_stock = serializers.BooleanField(read_only=True,
                                        help_text=_("Available at some depot now."))

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "chemical", "category", "seller", "grade", "purity",
                  "packaging", "sales_unit", "min_order_quantity", "quantity_step",
                  "lead_time_days", "is_service", "is_featured", "list_price", "in_stock"]


class PriceTierSerializer(serializers.Serializer):
    min_quantity = serializers.DecimalField(max_digits=14, decimal_places=3,
                                            help_text=_("From this quantity on."))
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2,
                                          help_text=_("CNY per sales unit."))
    tax_inclusive = serializers.BooleanField()
    vat = serializers.DecimalField(max_digits=14, decimal_places=2,
                                   help_text=_("VAT contained in (or added to) the unit price."))


class PriceTableSerializer(serializers.Serializer):
    is_company_price = serializers.BooleanField(
        help_text=_("The caller's company's own price list (else the public one)."))
    valid_until = serializers.DateField(allow_null=True)
    currency = serializers.CharField()
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    tiers = PriceTierSerializer(many=True, help_text=_("Empty: no valid price; send an inquiry."))


class StockSerializer(serializers.Serializer):
    depot = serializers.CharField(source="depot.code")
    depot_name = serializers.CharField(source="depot.name")
    region = serializers.CharField(source="depot.region_id")
    region_name = serializers.CharField(source="depot.region.name")
    available = serializers.DecimalField(max_digits=14, decimal_places=3,
                                         help_text=_("On hand minus reserved, in the sales "
                                                     "unit."))


class ProductDetailSerializer(ProductListSerializer):
    chemical = ChemicalSerializer(read_only=True, allow_null=True)
    sds_url = serializers.SerializerMethodField()
    prices = PriceTableSerializer(source="price_info", read_only=True)
    stock = StockSerializer(source="stock_levels", many=True, read_only=True)

    class Meta(ProductListSerializer.Meta):
        fields = [*ProductListSerializer.Meta.fields, "description", "sds_url", "prices",
                  "stock"]

    def get_sds_url(self, product) -> str | None:
        if not product.sds:
            return None
        url = reverse("catalog:product-sds", args=[product.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


# --- Filters ----------------------------------------------------------------------------------


class ChemicalFilter(django_filters.FilterSet):
    cas = django_filters.CharFilter(label=_("CAS number"), method="filter_cas", max_length=20)
    q = django_filters.CharFilter(label=_("Name, synonym or formula"), method="filter_q",
                                  max_length=200)
    controlled = django_filters.BooleanFilter()

    class Meta:
        model = Chemical
        fields = ["cas", "q", "controlled"]

    def filter_cas(self, queryset, name, value: str):
        digits = re.sub(r"[^0-9]", "", value)  # 67-56-1, 67561 and " 67 56 1" alike
        if len(digits) < 5:
            return queryset.none()
        return queryset.filter(cas=f"{digits[:-3]}-{digits[-3:-1]}-{digits[-1]}")

    def filter_q(self, queryset, name, value: str):
        value = value.strip()
        return queryset.filter(Q(name_en__icontains=value) | Q(name_zh__icontains=value)
                               | Q(formula__iexact=value)
                               | Q(synonyms__icontains=value))


# --- Views ------------------------------------------------------------------------------------


class CategoryListView(generics.ListAPIView):
    """The category tree, flat, in display order; each with its public product count."""

    permission_classes = [AllowAny]
    serializer_class = CategorySerializer
    queryset = Category.objects.none()  # for the schema; the tree is read in list()
    pagination_class = None

    def list(self, request, *args, **kwargs):
        tree = storefront.category_tree()
        ordered = []

        def walk(nodes):
            for node in nodes:
                ordered.append(node)
                walk(node.child_list)

        walk(tree.roots)
        for node in ordered:  # the parent for the serializer, without a query each
            node.parent = tree.by_pk.get(node.parent_id)
        return Response(self.get_serializer(ordered, many=True).data)


class ChemicalListView(generics.ListAPIView):
    """Chemicals (substances) with identity and hazard data."""

    permission_classes = [AllowAny]
    serializer_class = ChemicalSerializer
    queryset = selectors.chemicals_all().order_by("name_en", "pk")
    filterset_class = ChemicalFilter


class ChemicalDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = ChemicalSerializer
    queryset = selectors.chemicals_all()


@extend_schema_view(get=extend_schema(
    description=_("Active products. `q` searches names, synonyms (Chinese too), CAS numbers "
                  "and formulas, exact CAS first and tolerant of typos; results come in "
                  "relevance order unless `sort` says otherwise.")))
class ProductListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = ProductListSerializer
    filterset_class = ProductFilter

    def get_queryset(self):
        return storefront.products_listed()


class ProductDetailView(generics.RetrieveAPIView):
    """One active product with the caller's prices (its company's list when it has one),
    stock available by depot and hazard data."""

    permission_classes = [AllowAny]
    serializer_class = ProductDetailSerializer

    def get_queryset(self):
        return storefront.products_listed()

    def get_object(self):
        product = super().get_object()
        user = self.request.user
        company_id = user_company_id(user) if user.is_authenticated else None
        tiers = pricing.price_table(product_id=product.pk, company_id=company_id,
                                    on_date=timezone.localdate())
        product.price_info = {
            "is_company_price": bool(tiers) and tiers[0].price_list.company_id is not None,
            "valid_until": tiers[0].price_list.valid_until if tiers else None,
            "currency": "CNY",
            "vat_rate": vat_rate(),
            "tiers": storefront.price_rows(tiers),
        }
        product.stock_levels = [] if product.is_service else (
            selectors.product_available_by_depot(product_id=product.pk))
        return product


urlpatterns = [
    path("categories/", CategoryListView.as_view(), name="api-categories"),
    path("chemicals/", ChemicalListView.as_view(), name="api-chemicals"),
    path("chemicals/<int:pk>/", ChemicalDetailView.as_view(), name="api-chemical"),
    path("products/", ProductListView.as_view(), name="api-products"),
    path("products/<int:pk>/", ProductDetailView.as_view(), name="api-product"),
]
