"""FilterSets of the orders app."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .models import Order


class OrderFilter(django_filters.FilterSet):
    """The buyer's order list: status, placing date range, free text over the order number
    and the buyer's own purchase order number."""

    q = django_filters.CharFilter(label=_("Order or PO number"), max_length=64,
                                  method="filter_q")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Order.Status.choices,
                                         empty_label=_("Any status"))
    placed_from = django_filters.DateFilter(
        label=_("Placed from"), field_name="placed_at", lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}))
    placed_to = django_filters.DateFilter(
        label=_("Placed until"), field_name="placed_at", lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Order
        fields = ["q", "status", "placed_from", "placed_to"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(po_number__icontains=value))
