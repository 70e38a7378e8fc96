"""Money: Decimal in CNY, rounded here and nowhere else."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")
DEFAULT_VAT_RATE = Decimal("0.13")


def money_round(value) -> Decimal:
    """Round an amount to the cent, half up (the commercial rule)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def vat_rate() -> Decimal:
    """The VAT rate prices are shown and charged with: settings.VAT_RATE, else 13 %."""
    return Decimal(str(getattr(settings, "VAT_RATE", DEFAULT_VAT_RATE)))


def vat_part(gross, rate=DEFAULT_VAT_RATE) -> Decimal:
    """The VAT contained in a tax-inclusive amount: gross − gross / (1 + rate)."""
    gross = Decimal(gross)
    return money_round(gross - gross / (Decimal(1) + Decimal(rate)))


def commission_amount(base, rate_percent) -> Decimal:
    """A commission: `rate_percent` % of `base`, rounded once."""
    return money_round(Decimal(base) * Decimal(rate_percent) / Decimal(100))
