"""The product page's price trend: a small step chart drawn on the server as SVG.

`price_chart()` turns price histories (see `storefront.price_history`) into geometry; the
template `catalog/_price_chart.html` draws it. No JavaScript, nothing to load.
"""

import datetime
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

WIDTH, HEIGHT = 640, 220
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 64, 536, 14, 190
LABEL_GAP = 14  # px between the two "now" labels when the prices are close


def months_back(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` earlier (the month's last day when it has fewer days)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = datetime.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last_day))


@dataclass
class Point:
    x: float
    y: float
    day: datetime.date
    price: Decimal


@dataclass
class Series:
    key: str
    label: str
    path: str
    points: list[Point]
    current: Decimal
    current_y: float
    label_y: float = 0.0


@dataclass
class Chart:
    start: datetime.date
    end: datetime.date
    series: list[Series]
    y_ticks: list[tuple[float, Decimal]]
    x_ticks: list[tuple[float, datetime.date]]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM
    low: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    tick_decimals: int = 0

    @property
    def label_x(self) -> int:
        return self.plot_right + 8


def _nice_step(span: Decimal, ticks: int = 4) -> Decimal:
    raw = float(span) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return Decimal(str(factor * magnitude))
    return Decimal(str(10 * magnitude))  # pragma: no cover (the loop always returns)


def _y_domain(prices: list[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    low, high = min(prices), max(prices)
    if low == high:  # one price: a flat line in the middle
        pad = max(low * Decimal("0.05"), Decimal("1"))
        low, high = low - pad, high + pad
    else:
        pad = (high - low) * Decimal("0.1")
        low, high = low - pad, high + pad
    low = max(low, Decimal(0))
    step = _nice_step(high - low)
    low = (low / step).to_integral_value(ROUND_FLOOR) * step
    high = (high / step).to_integral_value(ROUND_CEILING) * step
    return low, high, step


def price_chart(*, histories: dict[str, list[tuple[datetime.date, Decimal]]],
                labels: dict[str, str], start: datetime.date,
                end: datetime.date) -> Chart | None:
    """A step chart of each non-empty history from `start` to `end` (today); None when
    there is nothing to draw. A change dated before `start` is drawn from `start`."""
    histories = {key: sorted(points) for key, points in histories.items() if points}
    if not histories:
        return None
    days = max((end - start).days, 1)
    low, high, step = _y_domain([p for points in histories.values() for _d, p in points])
    plot_width, plot_height = PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP

    def x_of(day: datetime.date) -> float:
        clamped = min(max(day, start), end)
        return round(PLOT_LEFT + (clamped - start).days / days * plot_width, 1)

    def y_of(price: Decimal) -> float:
        return round(PLOT_BOTTOM - float((price - low) / (high - low)) * plot_height, 1)

    series = []
    for key, history in histories.items():
        points = [Point(x=x_of(day), y=y_of(price), day=day, price=price)
                  for day, price in history]
        path = [f"M{points[0].x} {points[0].y}"]
        for point in points[1:]:
            path.append(f"H{point.x} V{point.y}")
        path.append(f"H{PLOT_RIGHT}")
        series.append(Series(key=key, label=labels.get(key, key), path=" ".join(path),
                             points=points, current=points[-1].price,
                             current_y=points[-1].y, label_y=points[-1].y + 4))
    # Keep the "now" labels apart when two series end close together.
    ordered = sorted(series, key=lambda s: s.label_y)
    for upper, lower in zip(ordered, ordered[1:], strict=False):
        if lower.label_y - upper.label_y < LABEL_GAP:
            lower.label_y = upper.label_y + LABEL_GAP

    y_ticks = []
    value = low
    while value <= high:
        y_ticks.append((y_of(value), value))
        value += step
    x_ticks = []
    month = datetime.date(start.year, start.month, 1)
    while month <= end:
        if month > start:
            x_ticks.append((x_of(month), month))
        month = datetime.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return Chart(start=start, end=end, series=series, y_ticks=y_ticks, x_ticks=x_ticks,
                 low=low, high=high, tick_decimals=0 if step >= 1 else 2)
