"""The dashboards' charts, drawn on the server as SVG (the house pattern of
`catalog/price_chart.py`): these functions turn figures into geometry, the templates
`reports/_trend_chart.html` and `reports/_bar_chart.html` draw it. No JavaScript."""

import datetime
import math
from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 72, 704, 14, 206
BAR_HEIGHT, BAR_GAP, BAR_LABEL = 18, 8, 150


def _nice_ceiling(value: Decimal, ticks: int = 4) -> tuple[Decimal, Decimal]:
    """(top of the axis, step): a round step, about a `ticks`th of `value`, and the first
    multiple of it at or above `value`."""
    if value <= 0:
        return Decimal(ticks), Decimal(1)
    raw = float(value) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = Decimal(str(next(f * magnitude for f in (1, 2, 2.5, 5, 10) if f * magnitude >= raw)))
    return step * math.ceil(value / step), step


@dataclass
class TrendPoint:
    x: float
    y: float
    day: datetime.date
    amount: Decimal
    orders: int


@dataclass
class TrendChart:
    points: list[TrendPoint]
    path: str
    area: str
    y_ticks: list[tuple[float, Decimal]]
    x_ticks: list[tuple[float, datetime.date]]
    total: Decimal
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = RIGHT
    plot_top: int = TOP
    plot_bottom: int = BOTTOM


def trend_chart(series: list[dict]) -> TrendChart | None:
    """A line of the daily sales (`selectors.sales_series`); None without days."""
    if not series:
        return None
    top, step = _nice_ceiling(max(row["amount"] for row in series))
    span = max(len(series) - 1, 1)

    def x_of(index: int) -> float:
        return round(LEFT + index / span * (RIGHT - LEFT), 1)

    def y_of(amount: Decimal) -> float:
        return round(BOTTOM - float(amount / top) * (BOTTOM - TOP), 1)

    points = [TrendPoint(x=x_of(i), y=y_of(row["amount"]), day=row["day"],
                         amount=row["amount"], orders=row["orders"])
              for i, row in enumerate(series)]
    path = "M" + " L".join(f"{p.x} {p.y}" for p in points)
    area = f"{path} L{points[-1].x} {BOTTOM} L{points[0].x} {BOTTOM} Z"
    y_ticks = [(y_of(step * n), step * n) for n in range(int(top / step) + 1)]
    every = 7 if len(series) <= 31 else 14
    x_ticks = [(p.x, p.day) for i, p in enumerate(points)
               if (len(points) - 1 - i) % every == 0]
    return TrendChart(points=points, path=path, area=area, y_ticks=y_ticks, x_ticks=x_ticks,
                      total=sum((row["amount"] for row in series), Decimal("0.00")))


@dataclass
class Bar:
    label: str
    value: Decimal
    y: float
    width: float
    text_y: float
    value_x: float


@dataclass
class BarChart:
    bars: list[Bar]
    height: int
    width: int = WIDTH
    label_width: int = BAR_LABEL
    bar_height: int = BAR_HEIGHT


def bar_chart(rows: list[dict], *, value: str = "amount", limit: int = 12) -> BarChart | None:
    """Horizontal bars of the first `limit` rows (label, value); None without rows."""
    rows = rows[:limit]
    if not rows:
        return None
    top = max((Decimal(row[value]) for row in rows), default=Decimal(0)) or Decimal(1)
    plot = RIGHT - 90 - BAR_LABEL
    bars = []
    for i, row in enumerate(rows):
        y = TOP + i * (BAR_HEIGHT + BAR_GAP)
        width = round(float(Decimal(row[value]) / top) * plot, 1)
        width = max(width, 1.0)
        bars.append(Bar(label=row["label"], value=row[value], y=y, width=width,
                        text_y=y + BAR_HEIGHT - 5, value_x=round(BAR_LABEL + width + 6, 1)))
    return BarChart(bars=bars, height=TOP * 2 + len(bars) * (BAR_HEIGHT + BAR_GAP))
