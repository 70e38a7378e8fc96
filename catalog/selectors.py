"""Reads of the catalog and who may see or edit what."""

from django.db.models import Prefetch, QuerySet, Sum

from accounts.models import Role

from .models import Category, Chemical, Product, Stock


def products_public() -> QuerySet[Product]:
    """What buyers and guests browse: active products of active sellers."""
    return Product.objects.filter(is_active=True, seller__is_active=True).select_related(
        "chemical", "seller", "category")


def products_editable_by(user) -> QuerySet[Product]:
    """Staff edit their own subsidiary's products; HQ all of them."""
    qs = Product.objects.select_related("chemical", "seller", "category")
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.organization_id:
        return qs.filter(seller__in=user.organization.subtree())
    return qs.none()


def stocks_editable_by(user) -> QuerySet[Stock]:
    qs = Stock.objects.select_related("product__chemical", "depot")
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.has_role(Role.DEPOT_OPERATOR) and not user.has_role(Role.SUBSIDIARY_MANAGER):
        return qs.filter(depot__operators=user)
    if user.organization_id:
        return qs.filter(product__seller__in=user.organization.subtree())
    return qs.none()


def product_detail(*, product_id: int) -> Product:
    return (
        products_public()
        .prefetch_related(Prefetch("stocks", queryset=Stock.objects.select_related("depot")
                                   .order_by("depot__code")))
        .get(pk=product_id)
    )


def product_available_by_depot(*, product_id: int) -> list[Stock]:
    return list(Stock.objects.filter(product_id=product_id, depot__is_active=True)
                .select_related("depot__region").order_by("depot__code"))


def product_total_available(*, product_id: int):
    totals = Stock.objects.filter(product_id=product_id).aggregate(
        on_hand=Sum("on_hand"), reserved=Sum("reserved"))
    return (totals["on_hand"] or 0) - (totals["reserved"] or 0)


def categories_top() -> QuerySet[Category]:
    return Category.objects.filter(parent__isnull=True)


def chemicals_all() -> QuerySet[Chemical]:
    return Chemical.objects.all()
