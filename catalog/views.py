"""Buyer pages: product search and list, category pages, the product page, SDS download."""

import datetime
from pathlib import PurePath

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import user_company_id
from chemmall.money import vat_rate

from . import hazards, pricing, selectors, storefront
from .filters import ProductFilter
from .models import Product
from .price_chart import months_back, price_chart

PAGE_SIZE = 24
TREND_MONTHS = 6


def product_list(request):
    """/products/: search and filter the whole catalog."""
    return _listing(request, tree=storefront.category_tree(), category=None)


def category_detail(request, key: str):
    """/categories/<key>/: the same list, narrowed to a category and its subcategories."""
    tree = storefront.category_tree()
    category = tree.by_key.get(key)
    if category is None:
        raise Http404
    return _listing(request, tree=tree, category=category)


def _listing(request, *, tree: storefront.CategoryTree, category):
    data = request.GET.copy()
    if category is not None:
        data["category"] = category.key
    filterset = ProductFilter(data, queryset=storefront.products_listed(), request=request,
                              category_choices=tree.choices())
    products = filterset.qs  # invalid fields are left out and shown as form errors
    browsing = (category is not None and not (request.GET.keys() - {"page", "sort"})
                and filterset.is_valid())  # nothing but the category, a page, a sort
    page = storefront.listing_page(
        products, number=request.GET.get("page"), page_size=PAGE_SIZE,
        browse_key=f"{category.key}:{request.GET.get('sort', '')}" if browsing else None)
    query = (filterset.form.cleaned_data.get("q") or "").strip()
    return render(request, "catalog/product_list.html", {
        "filterset": filterset,
        "form": filterset.form,
        "page": page,
        "query": query,
        "search": filterset.search_result,
        "category": category,
        "ancestors": tree.ancestors(category) if category else [],
        "subcategories": category.child_list if category else tree.roots,
        "filtered": any(v not in (None, "") for k, v in filterset.form.cleaned_data.items()
                        if k not in ("q", "sort") and not (category and k == "category")),
    })


def product_detail(request, pk: int):
    try:
        product = storefront.product_for_page(product_id=pk)
    except Product.DoesNotExist:
        raise Http404 from None
    today = timezone.localdate()
    company_id = user_company_id(request.user) if request.user.is_authenticated else None
    tiers = pricing.price_table(product_id=product.pk, company_id=company_id, on_date=today)
    chemical = product.chemical
    return render(request, "catalog/product_detail.html", {
        "product": product,
        "chemical": chemical,
        "pictograms": hazards.pictograms(chemical.ghs_pictograms) if chemical else [],
        "h_statements": hazards.h_statements(chemical.h_statements) if chemical else [],
        "prices": storefront.price_rows(tiers),
        "price_list": tiers[0].price_list if tiers else None,
        "is_company_price": bool(tiers) and tiers[0].price_list.company_id is not None,
        "vat_rate_percent": format((vat_rate() * 100).normalize(), "f"),
        "stocks": [] if product.is_service else selectors.product_available_by_depot(
            product_id=product.pk),
        "chart": _trend_chart(product_id=product.pk, company_id=company_id, today=today),
        "trend_months": TREND_MONTHS,
        # product_for_page joins the category's parent: the breadcrumb costs no query.
        "ancestors": [c for c in (product.category.parent, product.category) if c is not None],
    })


def _trend_chart(*, product_id: int, company_id: int | None, today: datetime.date):
    since = months_back(today, TREND_MONTHS)
    history = storefront.price_history(product_id=product_id, company_id=company_id,
                                       since=since, until=today)
    histories = {"public": history.get(None, [])}
    if company_id is not None:
        histories["company"] = history.get(company_id, [])
    return price_chart(histories=histories, start=since, end=today, labels={
        "public": _("Public price"), "company": _("Your company's price")})


def product_sds(request, pk: int):
    """The safety data sheet of an active product, from private storage."""
    product = selectors.products_public().filter(pk=pk).first()
    if product is None or not product.sds:
        raise Http404
    try:
        handle = product.sds.open("rb")
    except OSError:  # the file is gone from storage
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=PurePath(product.sds.name).name)
