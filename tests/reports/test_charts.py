"""The server-side SVG geometry of the dashboards' charts, without a database."""

import datetime
from decimal import Decimal

from reports import charts
from reports.selectors import months_back


def test_trend_chart_scales_to_a_round_top():
    start = datetime.date(2026, 3, 1)
    series = [{"day": start + datetime.timedelta(days=n), "orders": n, "amount": Decimal(a)}
              for n, a in enumerate(["0", "350", "700"])]
    chart = charts.trend_chart(series)
    # Top 700 → step 200 (700/4 = 175 → 200), axis to 800.
    assert [value for _y, value in chart.y_ticks] == [0, 200, 400, 600, 800]
    assert chart.points[0].y == charts.BOTTOM and chart.points[0].x == charts.LEFT
    assert chart.points[-1].x == charts.RIGHT
    assert chart.path == "M72.0 206.0 L388.0 122.0 L704.0 38.0"  # 350 of 800, 700 of 800
    assert chart.total == Decimal("1050")
    assert charts.trend_chart([]) is None


def test_trend_chart_of_days_without_sales_is_flat():
    chart = charts.trend_chart([{"day": datetime.date(2026, 3, 1), "orders": 0,
                                 "amount": Decimal("0")}])
    assert chart.points[0].y == charts.BOTTOM


def test_bar_chart_longest_bar_is_the_largest_value():
    chart = charts.bar_chart([{"label": "A", "amount": Decimal("50")},
                              {"label": "B", "amount": Decimal("100")}])
    a, b = chart.bars
    assert b.width == charts.RIGHT - 90 - charts.BAR_LABEL and a.width == b.width / 2
    assert b.y > a.y and chart.height > b.y
    assert charts.bar_chart([]) is None


def test_months_back_keeps_the_day_or_the_month_end():
    assert months_back(datetime.date(2026, 3, 31), 1) == datetime.date(2026, 2, 28)
    assert months_back(datetime.date(2026, 1, 10), 1) == datetime.date(2025, 12, 10)
    assert months_back(datetime.date(2024, 2, 29), 12) == datetime.date(2023, 2, 28)
