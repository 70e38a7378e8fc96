"""The product FilterSet shared by the search page and /api/v1/products/.

Search (`q`) runs after the other filters, through `catalog.search`, and keeps its relevance
order unless another `sort` is asked for. The result of the search (suggestion, CAS match)
is left on `filterset.search_result` for the page to show.
"""

import django_filters
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from accounts.models import Organization

from . import search, storefront
from .models import Grade, Product

YES_NO = [("yes", _("Yes")), ("no", _("No"))]

SORT_RELEVANCE, SORT_PRICE, SORT_PRICE_DESC, SORT_NAME, SORT_NEWEST = (
    "relevance", "price", "-price", "name", "newest")
SORTS = [
    (SORT_RELEVANCE, _("Relevance")),
    (SORT_PRICE, _("Price: low to high")),
    (SORT_PRICE_DESC, _("Price: high to low")),
    (SORT_NAME, _("Name")),
    (SORT_NEWEST, _("Newest")),
]


def _category_choices():
    return storefront.category_tree().choices()


def _seller_choices():
    return [(o.code, o.name) for o in Organization.objects.filter(is_active=True)
            .order_by("kind", "code")]


def _string(description: str) -> dict:
    """The schema of a filter whose choices are data (not listed as an enum)."""
    return {"type": "string", "description": description}


def _evaluated_once(choices):
    """A callable the form may iterate as often as it likes for one query at most, and
    none at all when the field is neither given nor rendered (the API's usual case)."""
    if not callable(choices):
        return choices
    cache: list = []

    def once():
        if not cache:
            cache.append(list(choices()))
        return cache[0]

    return once


def hazardous_q() -> Q:
    """A chemical with a UN number or a GHS pictogram (testing services never are)."""
    return Q(chemical__isnull=False) & (
        ~Q(chemical__un_number="") | ~Q(chemical__ghs_pictograms=[]))


def name_ordering():
    """Order by the name a buyer sees (Product.display_name) in the active language."""
    own_zh, own_en = NullIf("name_zh", Value("")), NullIf("name_en", Value(""))
    if (get_language() or "").startswith("zh"):
        return Coalesce(own_zh, own_en, "chemical__name_zh", "sku")
    return Coalesce(own_en, own_zh, "chemical__name_en", "sku")


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), max_length=200, method="filter_passthrough",
        help_text=_("Name, synonym (Chinese too), CAS number or formula."))
    # Categories and sellers are data: their choices are read at most once per request
    # (see __init__), and the schema documents them as plain strings.
    category = extend_schema_field(_string(
        "Category key (see /api/v1/categories/); its subcategories are included.",
    ))(django_filters.ChoiceFilter(
        label=_("Category"), choices=_category_choices, method="filter_category",
        empty_label=_("All categories")))
    grade = django_filters.ChoiceFilter(label=_("Grade"), choices=Grade.choices,
                                        empty_label=_("Any grade"))
    seller = extend_schema_field(_string(
        "Seller organisation code (see /api/v1/organizations/); HQ includes its subsidiaries.",
    ))(django_filters.ChoiceFilter(
        label=_("Seller"), choices=_seller_choices, method="filter_seller",
        empty_label=_("All sellers")))
    hazardous = django_filters.ChoiceFilter(
        label=_("Hazardous"), choices=YES_NO, method="filter_hazardous",
        empty_label=_("Either"),
        help_text=_("yes: has a UN number or GHS pictograms; no: has neither."))
    in_stock = django_filters.ChoiceFilter(
        label=_("In stock"), choices=YES_NO, method="filter_in_stock", empty_label=_("Either"),
        help_text=_("yes: available (on hand minus reserved) at some depot."))
    price_min = django_filters.NumberFilter(
        label=_("Price from (CNY)"), field_name="list_price", lookup_expr="gte",
        min_value=0, max_digits=14, decimal_places=2,
        help_text=_("Public price of the lowest quantity tier, valid today."))
    price_max = django_filters.NumberFilter(
        label=_("Price up to (CNY)"), field_name="list_price", lookup_expr="lte",
        min_value=0, max_digits=14, decimal_places=2,
        help_text=_("Public price of the lowest quantity tier, valid today."))
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"), choices=SORTS, method="filter_passthrough",
        empty_label=_("Default order"),
        help_text=_("Default: relevance when searching, else name."))

    class Meta:
        model = Product
        fields = ["q", "category", "grade", "seller", "hazardous", "in_stock", "price_min",
                  "price_max", "sort"]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None,
                 category_choices=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        # Data-driven choices: read once per request, and only when needed.
        self.filters["category"].extra["choices"] = _evaluated_once(
            category_choices if category_choices is not None else _category_choices)
        self.filters["seller"].extra["choices"] = _evaluated_once(_seller_choices)
        self.search_result: search.SearchResult | None = None

    # --- filters -------------------------------------------------------------------------------

    def filter_passthrough(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # q and sort are applied in filter_queryset, after everything else

    def filter_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The subtree's ids from the (cached) tree: an indexed IN instead of an OR over
        # three joins of the category table, which the planner can only filter row by row.
        tree = storefront.category_tree()
        root = tree.by_key.get(value)
        if root is None:
            return queryset.none()
        ids, todo = set(), [root]
        while todo:
            node = todo.pop()
            if node.pk not in ids:  # a bad parent loop must not hang
                ids.add(node.pk)
                todo.extend(node.child_list)
        return queryset.filter(category_id__in=sorted(ids))

    def filter_seller(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(seller__code=value) | Q(seller__parent__code=value))

    def filter_hazardous(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(hazardous_q()) if value == "yes" else queryset.exclude(
            hazardous_q())

    def filter_in_stock(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if "in_stock" not in queryset.query.annotations:
            queryset = queryset.annotate(in_stock=storefront.available_somewhere())
        return queryset.filter(in_stock=(value == "yes"))

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if "list_price" not in queryset.query.annotations:
            queryset = storefront.with_listing_annotations(queryset)
        data = dict(self.form.cleaned_data)
        query = (data.pop("q", None) or "").strip()
        sort = data.pop("sort", None) or ""
        for name, value in data.items():
            queryset = self.filters[name].filter(queryset, value)
        if query:
            self.search_result = search.search_products(query=query, queryset=queryset)
            queryset = self.search_result.products
        return self._sort(queryset, sort=sort, searched=bool(query))

    @staticmethod
    def _sort(queryset: QuerySet, *, sort: str, searched: bool) -> QuerySet:
        if sort in ("", SORT_RELEVANCE) and searched:
            return queryset  # the search's relevance order
        if sort == SORT_PRICE:
            return queryset.order_by(F("list_price").asc(nulls_last=True), "pk")
        if sort == SORT_PRICE_DESC:
            return queryset.order_by(F("list_price").desc(nulls_last=True), "pk")
        if sort == SORT_NEWEST:
            return queryset.order_by("-created_at", "-pk")
        return queryset.order_by(name_ordering(), "pk")
