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


_svg_rendered: dict[tuple[str, str], str] = {}


@register.simple_tag
def pictogram_svg(pictogram: dict) -> str:
    """A pictogram's inline SVG. A list page shows dozens; the file is the same every time
    (its title translated), so each is rendered once per language and process."""
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.utils.translation import get_language

    key = (pictogram["template"], get_language() or "")
    svg = _svg_rendered.get(key)
    if svg is None:
        svg = render_to_string(pictogram["template"])
        if not settings.DEBUG:  # while templates are being edited, render afresh
            _svg_rendered[key] = svg
    return mark_safe(svg)  # our own template's output, already escaped there


@register.simple_tag
def product_card(product) -> str:
    """A product of a list (catalog/_product_item.html). Rendering the 24 cards of a page
    is most of its time, so each card is kept (storefront.cached) under what it shows that
    changes: the product's last edit, today's list price, the stock badge, the language."""
    from django.template.loader import render_to_string
    from django.utils.translation import get_language

    from catalog.storefront import cached

    key = (f"catalog:card:{product.pk}:{product.updated_at.timestamp()}:"
           f"{getattr(product, 'list_price', None)}:{getattr(product, 'in_stock', None)}:"
           f"{get_language()}")
    html = cached(key, lambda: render_to_string("catalog/_product_item.html",
                                                {"product": product}))
    return mark_safe(html)  # our own template's output, escaped there


@register.filter
def pictograms(codes) -> list[dict]:
    """GHS codes → [{code, label, template}] (unknown codes left out)."""
    return hazards.pictograms(codes)
