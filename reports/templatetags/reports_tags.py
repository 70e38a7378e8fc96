"""Formatting of the report tables: a cell by its column's kind, a share as a percentage."""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.1234 → "12.3 %"; empty for None."""
    if value is None:
        return "—"
    return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


@register.filter
def cell(value, kind: str) -> str:
    if value is None or value == "":
        return "—" if kind != "text" else ""
    if kind == "money":
        return floatformat(value, "2g")
    if kind == "rate":
        return percent(value)
    if kind == "number":
        return format(Decimal(value).normalize(), "f")
    if kind == "date":
        return date_filter(value, "Y-m-d")
    return str(value)
