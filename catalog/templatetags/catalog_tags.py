"""Small display filters for catalog pages."""

import re
from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from catalog import hazards

register = template.Library()

_COUNT = re.compile(r"(?<=[A-Za-z)\]])(\d+)")


@register.filter
def qty(value) -> str:
    """A quantity without trailing zeros: Decimal("25.000") → "25", "0.500" → "0.5"."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    normalized = number.normalize()
    if normalized == normalized.to_integral_value():
        normalized = normalized.quantize(Decimal(1))
    return f"{normalized:f}"


@register.filter
def formula(value) -> str:
    """A molecular formula with its atom counts as subscripts: H2SO4 → H₂SO₄ (<sub>);
    a leading count (hydrates: CuSO4·5H2O) stays on the line."""
    parts = _COUNT.split(str(value or ""))  # text, count, text, count, …, text
    html = "".join(f"<sub>{part}</sub>" if index % 2 else escape(part)
                   for index, part in enumerate(parts))
    return mark_safe(html)  # every text part is escaped; counts are digits only


@register.filter
def pictograms(codes) -> list[dict]:
    """GHS codes → [{code, label, template}] (unknown codes left out)."""
    return hazards.pictograms(codes)
