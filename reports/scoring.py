"""The arithmetic of the reports, pure Python: the Shanghai day, medians, the composite score
and the ranks. No database here, so the rules read (and test) on their own."""

import datetime
from collections.abc import Hashable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

SCORE_PLACES = Decimal("0.0001")
MINUTE_PLACES = Decimal("0.1")
WEIGHT_PLACES = Decimal("0.001")
ZERO = Decimal("0")


def report_tz() -> ZoneInfo:
    """The reports' time zone: the platform's (Asia/Shanghai), whatever a request activated."""
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of the calendar day in the reports' time zone, as aware datetimes."""
    tz = report_tz()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min,
                                    tzinfo=tz)
    return start, end


def median(values: Iterable[int]) -> Decimal | None:
    """The median (the mean of the middle two for an even count), to 0.1; None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        value = Decimal(ordered[middle])
    else:
        value = (Decimal(ordered[middle - 1]) + Decimal(ordered[middle])) / 2
    return value.quantize(MINUTE_PLACES, rounding=ROUND_HALF_UP)


def share_of_top(value, top) -> Decimal:
    """value / the subsidiary's highest value: 1 for the best, 0 when nobody has any."""
    top = Decimal(top)
    return Decimal(value) / top if top > 0 else ZERO


def composite_score(*, sales, volume, workload, misses: int, tops: Mapping[str, Decimal],
                    weights: Mapping[str, Decimal]) -> Decimal:
    """Weighted sum of the three components, each normalised within the subsidiary, minus
    the penalty for each missed deadline; rounded half up to four places."""
    score = (weights["sales"] * share_of_top(sales, tops["sales"])
             + weights["volume"] * share_of_top(volume, tops["volume"])
             + weights["workload"] * share_of_top(workload, tops["workload"])
             - weights["miss_penalty"] * misses)
    return score.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


def standard_ranks(scores: Mapping[Hashable, Decimal]) -> dict[Hashable, int]:
    """Standard competition ranking ("1224"), highest first: equal scores share a rank and
    the next rank skips as many places as were shared."""
    ranks: dict[Hashable, int] = {}
    previous, rank = None, 0
    for position, (key, score) in enumerate(
            sorted(scores.items(), key=lambda item: item[1], reverse=True), start=1):
        if score != previous:
            rank, previous = position, score
        ranks[key] = rank
    return ranks


def bounded_weight(average: Decimal, mean: Decimal, *, low: Decimal, high: Decimal) -> Decimal:
    """A routing weight: the CCO's average score relative to the group mean (1 = average),
    kept within [low, high] so nobody drops to zero or takes everything."""
    if mean <= 0:
        return Decimal("1.000")
    weight = min(max(Decimal(average) / mean, low), high)
    return weight.quantize(WEIGHT_PLACES, rounding=ROUND_HALF_UP)
