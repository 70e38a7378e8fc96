"""Reads for the buyer pages and the public API: listing annotations, the category tree with
product counts, featured products and the price history behind the trend chart."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from chemmall.money import money_round, vat_part, vat_rate

from .models import Category, PriceChange, PriceTier, Product, Stock
from .selectors import products_public


def public_entry_price(*, on_date: datetime.date) -> Subquery:
    """The public list's lowest-quantity tier valid on `on_date` (the same list
    `pricing.price_table` picks for a guest: the newest valid public list)."""
    tiers = (
        PriceTier.objects.filter(product=OuterRef("pk"), price_list__company__isnull=True,
                                 price_list__valid_from__lte=on_date)
        .filter(Q(price_list__valid_until__isnull=True)
                | Q(price_list__valid_until__gte=on_date))
        .order_by("-price_list__valid_from", "-price_list_id", "min_quantity")
        .values("unit_price")[:1]
    )
    return Subquery(tiers, output_field=DecimalField(max_digits=14, decimal_places=2))


def available_somewhere() -> Exists:
    """Some active depot has more on hand than is reserved."""
    return Exists(Stock.objects.filter(product=OuterRef("pk"), depot__is_active=True,
                                       on_hand__gt=F("reserved")))


def with_listing_annotations(queryset: QuerySet[Product], *,
                             on_date: datetime.date | None = None) -> QuerySet[Product]:
    """`list_price` (public entry price today, None without one) and `in_stock`."""
    on_date = on_date or timezone.localdate()
    return queryset.annotate(list_price=public_entry_price(on_date=on_date),
                             in_stock=available_somewhere())


def products_listed(*, on_date: datetime.date | None = None) -> QuerySet[Product]:
    """The public catalog with what a list shows about each product (not the search index
    columns: the widest of a row, and a list sorts every matching row before the page)."""
    return with_listing_annotations(
        products_public().defer("search_document", "search_vector"), on_date=on_date)


def cached(key: str, compute):
    """`compute()` kept for settings.CATALOG_CACHE_SECONDS (0: not kept) in the process's
    cache: what every storefront page shows and costs ~10 ms of database time to read (the
    category tree with its counts, the featured products, an unfiltered category page),
    and each rendered product card."""
    seconds = settings.CATALOG_CACHE_SECONDS
    if not seconds:
        return compute()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def products_featured(*, limit: int = 8) -> list[Product]:
    today = timezone.localdate()  # the list prices are today's
    return cached(f"catalog:featured:{limit}:{today.isoformat()}", lambda: list(
        products_listed(on_date=today).filter(is_featured=True)
        .order_by("-created_at", "pk")[:limit]))


def listing_page(products: QuerySet[Product], *, number, page_size: int,
                 browse_key: str | None = None) -> Page:
    """A page of a product list. `browse_key` names a list that is the same for everyone
    (a category page without filters or search: how most buyers come in from the menu):
    its rows and count are kept for the minute of `cached`, the cards' prices and stock
    badges with them."""
    paginator = Paginator(products, page_size)
    if browse_key is None:
        return paginator.get_page(number)

    def compute():
        page = paginator.get_page(number)
        return paginator.count, page.number, list(page.object_list)

    count, page_number, rows = cached(
        f"catalog:browse:{browse_key}:{number or ''}:{timezone.localdate().isoformat()}",
        compute)
    paginator.count = count  # a cached_property: set, so the list is not counted again
    return Page(rows, page_number, paginator)


def product_for_page(*, product_id: int) -> Product:
    """One public product with what its page shows in the same query (404 by DoesNotExist)."""
    return products_public().select_related("category__parent").get(pk=product_id)


# --- Category tree ------------------------------------------------------------------------------


@dataclass
class CategoryTree:
    """All categories, each with `.product_count` (public products, its subtree included)
    and `.child_list`; `roots` in display order. Built from one query."""

    roots: list[Category] = field(default_factory=list)
    by_key: dict[str, Category] = field(default_factory=dict)
    by_pk: dict[int, Category] = field(default_factory=dict)

    def ancestors(self, category: Category) -> list[Category]:
        """Root first, the category itself excluded."""
        chain, node = [], self.by_pk.get(category.parent_id)
        while node is not None and node not in chain:
            chain.append(node)
            node = self.by_pk.get(node.parent_id)
        return list(reversed(chain))

    def choices(self) -> list[tuple[str, str]]:
        """(key, label) for a select: depth-first, children indented."""
        out: list[tuple[str, str]] = []

        def walk(nodes, depth):
            for node in nodes:
                out.append((node.key, f"{'— ' * depth}{node.name}"))
                walk(node.child_list, depth + 1)

        walk(self.roots, 0)
        return out


def category_tree() -> CategoryTree:
    return cached("catalog:category-tree", _category_tree)


def _category_tree() -> CategoryTree:
    public = Q(products__is_active=True, products__seller__is_active=True)
    categories = list(Category.objects.annotate(direct_count=Count("products", filter=public))
                      .order_by("position", "key"))
    by_pk = {c.pk: c for c in categories}
    for category in categories:
        category.product_count = 0
        category.child_list = []
    tree = CategoryTree(by_key={c.key: c for c in categories}, by_pk=by_pk)
    for category in categories:
        node, seen = category, set()
        while node is not None and node.pk not in seen:  # a bad parent loop must not hang
            seen.add(node.pk)
            node.product_count += category.direct_count
            node = by_pk.get(node.parent_id)
        parent = by_pk.get(category.parent_id)
        (parent.child_list if parent else tree.roots).append(category)
    return tree


# --- Price history ------------------------------------------------------------------------------


def _scope_history(scope: Q, *, product_id: int, since: datetime.date) -> Q:
    """Changes of one scope in the window, plus the last one before it (the price the window
    starts with)."""
    before = (PriceChange.objects.filter(scope, product_id=product_id, effective_from__lt=since)
              .order_by("-effective_from").values("effective_from")[:1])
    return scope & (Q(effective_from__gte=since) | Q(effective_from=Subquery(before)))


def price_history(*, product_id: int, company_id: int | None, since: datetime.date,
                  until: datetime.date) -> dict[int | None, list[tuple[datetime.date, Decimal]]]:
    """The lowest tier's price at each change, per scope: None = public list, else the
    company's own. One query. A change dated before `since` (the starting price) is kept
    with its own date; the chart clamps it."""
    condition = _scope_history(Q(company__isnull=True), product_id=product_id, since=since)
    if company_id is not None:
        condition |= _scope_history(Q(company_id=company_id), product_id=product_id,
                                    since=since)
    rows = (
        PriceChange.objects.filter(condition, product_id=product_id, effective_from__lte=until)
        .order_by("effective_from", "min_quantity", "recorded_at", "pk")
        .values_list("company_id", "effective_from", "min_quantity", "unit_price")
    )
    lowest: dict[tuple[int | None, datetime.date], tuple[Decimal, Decimal]] = {}
    for scope, day, min_quantity, unit_price in rows:
        current = lowest.get((scope, day))
        # The lowest tier of that day; among equal tiers the last recorded one.
        if current is None or min_quantity <= current[0]:
            lowest[(scope, day)] = (min_quantity, unit_price)
    series: dict[int | None, list[tuple[datetime.date, Decimal]]] = {}
    for (scope, day), (_min_quantity, unit_price) in sorted(
            lowest.items(), key=lambda item: item[0][1]):
        series.setdefault(scope, []).append((day, unit_price))
    return series


# --- Prices as shown ----------------------------------------------------------------------------


def price_rows(tiers: list[PriceTier]) -> list[dict]:
    """A price table (`pricing.price_table`) as rows: from/up-to quantity, unit price and the
    VAT in it (tax-inclusive tiers) or on top of it (the others)."""
    rate = vat_rate()
    rows = []
    for index, tier in enumerate(tiers):
        vat = (vat_part(tier.unit_price, rate) if tier.tax_inclusive
               else money_round(tier.unit_price * rate))
        rows.append({
            "min_quantity": tier.min_quantity,
            "up_to": tiers[index + 1].min_quantity if index + 1 < len(tiers) else None,
            "unit_price": tier.unit_price,
            "tax_inclusive": tier.tax_inclusive,
            "vat": vat,
        })
    return rows
