"""Working-time arithmetic on a subsidiary's working calendar.

Pure Python (no Django, no database) so it can be unit- and property-tested on its own.
Used for inquiry deadlines ("arrival + 4 working hours") and for reports
("first response time in working minutes").

Internally every instant is handled in UTC: aware datetimes that share a tzinfo compare and
subtract by wall clock in Python, which would be wrong across a DST change. Durations are
real elapsed time, kept as ``timedelta`` (integer microseconds), never floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

UTC = dt.UTC
ZERO = dt.timedelta(0)
# A calendar with no working day for this long is misconfigured; stop instead of looping forever.
MAX_DAYS_OFF = 400
DEFAULT_WORKWEEK = frozenset({0, 1, 2, 3, 4})


@dataclass(frozen=True)
class CalendarRules:
    tz: dt.tzinfo  # normally a zoneinfo.ZoneInfo, e.g. ZoneInfo("Asia/Shanghai")
    day_start: dt.time
    day_end: dt.time
    break_start: dt.time | None = None
    break_end: dt.time | None = None
    workweek: frozenset[int] = DEFAULT_WORKWEEK  # date.weekday() numbers
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Accept any iterable from callers (lists, querysets) but store frozensets so the
        # rules stay hashable and immutable.
        for name in ("workweek", "holidays", "makeup_workdays"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))

        if not isinstance(self.tz, dt.tzinfo):
            raise ValueError("tz must be a tzinfo such as zoneinfo.ZoneInfo('Asia/Shanghai')")
        times = [self.day_start, self.day_end, self.break_start, self.break_end]
        # An aware time would be silently re-labelled by datetime.combine(..., tzinfo=tz).
        if any(t is not None and t.tzinfo is not None for t in times):
            raise ValueError("day and break times must be naive wall-clock times in tz")
        if not self.day_start < self.day_end:
            raise ValueError(
                f"day_start ({self.day_start}) must be earlier than day_end ({self.day_end})"
            )
        if (self.break_start is None) != (self.break_end is None):
            raise ValueError("break_start and break_end must both be set or both be None")
        if self.break_start is not None and not (
            self.day_start < self.break_start < self.break_end < self.day_end
        ):
            raise ValueError(
                f"break {self.break_start}-{self.break_end} must lie strictly inside the "
                f"working day {self.day_start}-{self.day_end}"
            )
        if not self.workweek <= set(range(7)):
            raise ValueError("workweek must hold weekday() numbers 0 (Monday) to 6 (Sunday)")
        both = self.holidays & self.makeup_workdays
        if both:
            raise ValueError(
                "dates cannot be both holiday and make-up workday: "
                + ", ".join(str(d) for d in sorted(both))
            )

    @property
    def _day_times(self) -> list[tuple[dt.time, dt.time]]:
        if self.break_start is None:
            return [(self.day_start, self.day_end)]
        return [(self.day_start, self.break_start), (self.break_end, self.day_end)]


def is_working_day(rules: CalendarRules, day: dt.date) -> bool:
    if day in rules.makeup_workdays:
        return True
    return day.weekday() in rules.workweek and day not in rules.holidays


def working_periods(rules: CalendarRules, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The day's working periods as aware datetimes in rules.tz; [] on a day off."""
    if not is_working_day(rules, day):
        return []
    return [
        (dt.datetime.combine(day, a, tzinfo=rules.tz), dt.datetime.combine(day, b, tzinfo=rules.tz))
        for a, b in rules._day_times
    ]


def _utc_periods(
    rules: CalendarRules, first_day: dt.date, last_day: dt.date | None = None
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Working periods in UTC from first_day on (through last_day if given).

    Without last_day the walk is open-ended, so it gives up after MAX_DAYS_OFF days off in a row.
    """
    day = first_day
    days_off = 0
    one_day = dt.timedelta(days=1)
    while last_day is None or day <= last_day:
        periods = working_periods(rules, day)
        if periods:
            days_off = 0
            for a, b in periods:
                a, b = a.astimezone(UTC), b.astimezone(UTC)
                if a < b:  # a period inside a DST gap can come out empty or reversed
                    yield a, b
        else:
            days_off += 1
            if last_day is None and days_off > MAX_DAYS_OFF:
                raise ValueError(
                    f"no working day from {day - MAX_DAYS_OFF * one_day} to {day}; check the "
                    "calendar's workweek, holidays and make-up workdays"
                )
        day += one_day


def _local(rules: CalendarRules, moment: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(rules.tz)


def add_working_time(
    rules: CalendarRules, *, start: dt.datetime, duration: dt.timedelta
) -> dt.datetime:
    """The moment `duration` of working time after `start`, aware in rules.tz.

    Counting begins at the first working moment at or after start. A result that lands exactly
    on the end of a period stays there (14:00 + 4h with an 18:00 day end is 18:00 the same day);
    duration 0 gives the next working moment itself.
    """
    local_start = _local(rules, start, "start")
    if not isinstance(duration, dt.timedelta):
        raise TypeError(f"duration must be a timedelta, got {type(duration).__name__}")
    if duration < ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")

    cursor = local_start.astimezone(UTC)
    remaining = duration
    for a, b in _utc_periods(rules, local_start.date()):
        if b <= cursor:  # a period end is not a working moment: move on to the next period
            continue
        a = max(a, cursor)
        if remaining <= b - a:
            return (a + remaining).astimezone(rules.tz)
        remaining -= b - a
    raise AssertionError("unreachable: _utc_periods is endless or raises")


def working_time_between(
    rules: CalendarRules, *, start: dt.datetime, end: dt.datetime
) -> dt.timedelta:
    """Working time inside [start, end]; zero if end <= start."""
    local_start = _local(rules, start, "start")
    local_end = _local(rules, end, "end")
    # Compare in UTC: same-tzinfo comparison is by wall clock and ignores DST folds.
    lo, hi = local_start.astimezone(UTC), local_end.astimezone(UTC)
    if hi <= lo:
        return ZERO
    total = ZERO
    for a, b in _utc_periods(rules, local_start.date(), local_end.date()):
        a, b = max(a, lo), min(b, hi)
        if a < b:
            total += b - a
    return total


def china_holiday_rows(years: Iterable[int]) -> list[tuple[dt.date, str, str]]:
    """(date, "holiday" | "workday", name) rows for seeding a Chinese working calendar.

    Only the dates that change a Mon-Fri week: statutory holidays on Mon-Fri and make-up
    working days (调休) on Sat/Sun, from the chinese_calendar package, which follows the
    State Council's yearly notice. Years it has no data for yet are skipped here; see
    china_estimated_holiday_rows.
    """
    import chinese_calendar  # local import: only seeding code needs the package

    wanted = set(years)
    rows = [
        (day, kind, getattr(name, "value", name))  # name may be a str or a Holiday enum
        for kind, table, on_weekend in (
            ("holiday", chinese_calendar.holidays, False),
            ("workday", chinese_calendar.workdays, True),
        )
        for day, name in table.items()
        if day.year in wanted and (day.weekday() >= 5) == on_weekend
    ]
    return sorted(rows)


def china_official_years() -> frozenset[int]:
    """Years for which chinese_calendar carries the State Council's published schedule."""
    import chinese_calendar

    return frozenset(day.year for day in chinese_calendar.holidays)


def china_estimated_holiday_rows(years: Iterable[int]) -> list[tuple[dt.date, str, str]]:
    """Holidays on Mon-Fri as the `holidays` package computes them from the lunar calendar,
    for years whose official notice is not in chinese_calendar yet. Make-up working days
    cannot be predicted, so there are none; the rows are replaced by the official ones
    once a package update brings them."""
    import holidays

    rows = []
    for year in years:
        for day, name in holidays.country_holidays("CN", years=year).items():
            if day.weekday() < 5:
                rows.append((day, "holiday", f"{name} (estimated)"))
    return sorted(rows)
