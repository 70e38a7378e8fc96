"""Working-time arithmetic (accounts.calendar): examples, China 2026 holidays, properties."""

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.calendar import (
    CalendarRules,
    add_working_time,
    china_holiday_rows,
    is_working_day,
    working_periods,
    working_time_between,
)

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
MON_FRI = frozenset(range(5))
MON_SAT = frozenset(range(6))

# Seeded from the package, as production does; chinesecalendar 1.11 covers up to 2026.
CHINA_ROWS = china_holiday_rows([2025, 2026, 2027])
CHINA_HOLIDAYS = frozenset(d for d, kind, _ in CHINA_ROWS if kind == "holiday")
CHINA_MAKEUP = frozenset(d for d, kind, _ in CHINA_ROWS if kind == "workday")


def make_rules(lunch=True, workweek=MON_FRI, china=True, **kw):
    kw.setdefault("day_start", dt.time(9))
    kw.setdefault("day_end", dt.time(18))
    if lunch:
        kw.setdefault("break_start", dt.time(12))
        kw.setdefault("break_end", dt.time(13))
    kw.setdefault("holidays", CHINA_HOLIDAYS if china else frozenset())
    kw.setdefault("makeup_workdays", CHINA_MAKEUP if china else frozenset())
    return CalendarRules(tz=kw.pop("tz", SH), workweek=workweek, **kw)


RULES = make_rules()


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


def add(start, hours, rules=RULES):
    return add_working_time(rules, start=start, duration=hours * H)


# --- concrete examples (week of Mon 2026-03-09, no holidays) -------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (at(2026, 3, 9, 14), 4, at(2026, 3, 9, 18)),  # ends exactly at day end: stays there
        (at(2026, 3, 9, 17), 4, at(2026, 3, 10, 12)),  # 1h Mon + 3h Tue morning
        (at(2026, 3, 13, 16), 4, at(2026, 3, 16, 11)),  # Fri 2h + Mon 9-11
        (at(2026, 3, 14, 10), 4, at(2026, 3, 16, 14)),  # Saturday arrival: Mon 9-12, 13-14
        (at(2026, 3, 9, 12, 30), 1, at(2026, 3, 9, 14)),  # lunch arrival counts from 13:00
        (at(2026, 3, 9, 7), 0, at(2026, 3, 9, 9)),  # 0 → next working moment
        (at(2026, 3, 9, 10), 0, at(2026, 3, 9, 10)),  # 0 inside working time → start
        (at(2026, 3, 9, 18), 0, at(2026, 3, 10, 9)),  # a period end is not a working moment
        (at(2026, 3, 9, 9), 40, at(2026, 3, 13, 18)),  # one full week
    ],
)
def test_examples(start, hours, due):
    result = add(start, hours)
    assert result == due
    assert result.tzinfo == SH
    assert working_time_between(RULES, start=start, end=result) == hours * H


def test_without_lunch_break():
    rules = make_rules(lunch=False)
    assert add(at(2026, 3, 9, 17), 4, rules) == at(2026, 3, 10, 12)
    assert add(at(2026, 3, 9, 11), 2, rules) == at(2026, 3, 9, 13)


def test_start_in_other_zone_is_converted():
    start = dt.datetime(2026, 3, 9, 6, tzinfo=dt.UTC)  # 14:00 in Shanghai
    result = add(start, 4)
    assert result == at(2026, 3, 9, 18)
    assert str(result.tzinfo) == "Asia/Shanghai"


def test_working_time_between():
    assert working_time_between(RULES, start=at(2026, 3, 9, 8), end=at(2026, 3, 9, 20)) == 8 * H
    assert working_time_between(RULES, start=at(2026, 3, 13, 17), end=at(2026, 3, 16, 10)) == 2 * H
    assert working_time_between(RULES, start=at(2026, 3, 9, 15), end=at(2026, 3, 9, 10)) == 0 * H
    assert working_time_between(RULES, start=at(2026, 3, 14, 9), end=at(2026, 3, 15, 18)) == 0 * H


def test_working_periods():
    assert working_periods(RULES, dt.date(2026, 3, 9)) == [
        (at(2026, 3, 9, 9), at(2026, 3, 9, 12)),
        (at(2026, 3, 9, 13), at(2026, 3, 9, 18)),
    ]
    assert working_periods(RULES, dt.date(2026, 3, 14)) == []


# --- China 2026 (data from chinesecalendar 1.11) ----------------------------------------------


def test_china_holiday_rows_2026():
    rows = {d: (kind, name) for d, kind, name in china_holiday_rows([2026])}
    assert rows[dt.date(2026, 10, 1)] == ("holiday", "National Day")  # Thu
    assert rows[dt.date(2026, 10, 7)] == ("holiday", "National Day")  # Wed
    assert dt.date(2026, 10, 3) not in rows  # a Saturday: off anyway, no row needed
    assert rows[dt.date(2026, 10, 10)] == ("workday", "National Day")  # make-up Saturday
    assert rows[dt.date(2026, 2, 14)] == ("workday", "Spring Festival")  # make-up Saturday
    assert rows[dt.date(2026, 2, 16)] == ("holiday", "Spring Festival")
    assert all(d.year == 2026 for d in rows)
    for day, (kind, _) in rows.items():
        assert (day.weekday() < 5) == (kind == "holiday")


def test_china_holiday_rows_skips_uncovered_years():
    assert china_holiday_rows([1999, 2200]) == []
    assert china_holiday_rows([]) == []


def test_national_day_2026():
    # Wed 30 Sep 17:00: 1h that day, Oct 1-7 off, then Thu Oct 8 09:00-12:00.
    assert add(at(2026, 9, 30, 17), 4) == at(2026, 10, 8, 12)
    assert not any(is_working_day(RULES, dt.date(2026, 10, d)) for d in range(1, 8))
    assert is_working_day(RULES, dt.date(2026, 10, 8))


def test_makeup_saturday_2026_counts():
    assert is_working_day(RULES, dt.date(2026, 10, 10))  # Sat, make-up for National Day
    assert is_working_day(RULES, dt.date(2026, 2, 14))  # Sat, make-up for Spring Festival
    assert not is_working_day(RULES, dt.date(2026, 10, 17))  # an ordinary Saturday
    # Fri Oct 9 16:00: 2h Friday, then Saturday 9-11.
    assert add(at(2026, 10, 9, 16), 4) == at(2026, 10, 10, 11)
    assert working_periods(RULES, dt.date(2026, 10, 10))[0][0] == at(2026, 10, 10, 9)


def test_holiday_and_makeup_precedence():
    rules = make_rules(
        china=False,
        workweek=MON_SAT,
        holidays={dt.date(2026, 3, 9)},  # a Monday
        makeup_workdays={dt.date(2026, 3, 15)},  # a Sunday
    )
    assert not is_working_day(rules, dt.date(2026, 3, 9))
    assert is_working_day(rules, dt.date(2026, 3, 14))  # Saturday in a Mon-Sat week
    assert is_working_day(rules, dt.date(2026, 3, 15))


# --- other zones, performance, errors ---------------------------------------------------------


def test_dst_day_counts_real_elapsed_time():
    berlin = ZoneInfo("Europe/Berlin")  # clocks jump 02:00 → 03:00 on Sun 2026-03-29
    rules = CalendarRules(tz=berlin, day_start=dt.time(0), day_end=dt.time(6), workweek=range(7))
    start = dt.datetime(2026, 3, 29, 0, tzinfo=berlin)
    end = dt.datetime(2026, 3, 29, 6, tzinfo=berlin)
    assert working_time_between(rules, start=start, end=end) == 5 * H
    assert add_working_time(rules, start=start, duration=5 * H) == end


def test_1000_hours_is_fast():
    start = at(2025, 3, 3, 10)
    add(start, 1000)  # warm up
    t0 = time.perf_counter()
    for _ in range(10):
        result = add(start, 1000)
    elapsed = (time.perf_counter() - t0) / 10
    assert working_time_between(RULES, start=start, end=result) == 1000 * H
    assert elapsed < 0.05  # typically ~1 ms; generous bound for slow CI machines


def test_naive_datetimes_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_time(RULES, start=dt.datetime(2026, 3, 9, 10), duration=H)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_time_between(RULES, start=at(2026, 3, 9, 10), end=dt.datetime(2026, 3, 9, 12))


def test_bad_duration_rejected():
    with pytest.raises(ValueError, match="negative"):
        add_working_time(RULES, start=at(2026, 3, 9, 10), duration=-H)
    with pytest.raises(TypeError, match="timedelta"):
        add_working_time(RULES, start=at(2026, 3, 9, 10), duration=4)


def test_calendar_without_working_days_raises():
    rules = make_rules(china=False, workweek=())
    with pytest.raises(ValueError, match="no working day"):
        add(at(2026, 3, 9, 10), 1, rules)
    assert working_time_between(rules, start=at(2026, 1, 1), end=at(2028, 1, 1)) == 0 * H
    # A lone make-up day is enough.
    rules = CalendarRules(
        tz=SH,
        day_start=dt.time(9),
        day_end=dt.time(18),
        workweek=(),
        makeup_workdays={dt.date(2026, 6, 1)},
    )
    assert add(at(2026, 3, 9, 10), 1, rules) == at(2026, 6, 1, 10)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"day_start": dt.time(18), "day_end": dt.time(9)}, "earlier than day_end"),
        ({"day_start": dt.time(9), "day_end": dt.time(9)}, "earlier than day_end"),
        ({"break_start": dt.time(12)}, "both be set"),
        ({"break_end": dt.time(13)}, "both be set"),
        ({"break_start": dt.time(13), "break_end": dt.time(12)}, "strictly inside"),
        ({"break_start": dt.time(8), "break_end": dt.time(10)}, "strictly inside"),
        ({"break_start": dt.time(17), "break_end": dt.time(19)}, "strictly inside"),
        ({"workweek": {0, 7}}, "weekday"),
        (
            {"holidays": {dt.date(2026, 3, 9)}, "makeup_workdays": {dt.date(2026, 3, 9)}},
            "both holiday and make-up",
        ),
        ({"day_start": dt.time(9, tzinfo=SH)}, "naive"),
        ({"tz": "Asia/Shanghai"}, "tzinfo"),
    ],
)
def test_bad_rules_rejected(kw, message):
    kw = {"tz": SH, "day_start": dt.time(9), "day_end": dt.time(18), **kw}
    with pytest.raises(ValueError, match=message):
        CalendarRules(**kw)


# --- properties -------------------------------------------------------------------------------


@st.composite
def rules_strategy(draw):
    """Random minute-aligned days (with or without a break), Mon-Fri or Mon-Sat, China data."""
    minute = st.integers(0, 24 * 60 - 1)
    start, end = sorted(draw(st.lists(minute, min_size=2, max_size=2, unique=True)))
    brk = None
    if draw(st.booleans()) and end - start >= 3:
        brk = sorted(
            draw(st.lists(st.integers(start + 1, end - 1), min_size=2, max_size=2, unique=True))
        )

    def t(m):
        return dt.time(m // 60, m % 60)

    return CalendarRules(
        tz=SH,
        day_start=t(start),
        day_end=t(end),
        break_start=t(brk[0]) if brk else None,
        break_end=t(brk[1]) if brk else None,
        workweek=draw(st.sampled_from([MON_FRI, MON_SAT])),
        holidays=CHINA_HOLIDAYS,
        makeup_workdays=CHINA_MAKEUP,
    )


any_rules = st.one_of(
    st.sampled_from(
        [make_rules(lunch=lunch, workweek=w) for lunch in (True, False) for w in (MON_FRI, MON_SAT)]
    ),
    rules_strategy(),
)
any_moment = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2027, 12, 31, 23, 59),
    timezones=st.just(SH),
)
# Whole hours and minutes often land exactly on period edges, where off-by-one bugs hide.
starts = st.one_of(
    any_moment,
    any_moment.map(lambda d: d.replace(second=0, microsecond=0)),
    any_moment.map(lambda d: d.replace(minute=0, second=0, microsecond=0)),
)
durations = st.integers(0, 100 * 60).map(lambda m: dt.timedelta(minutes=m))
positive_durations = st.integers(1, 100 * 60).map(lambda m: dt.timedelta(minutes=m))
props = settings(max_examples=200, deadline=None)


@props
@given(any_rules, starts, durations, durations)
def test_monotonic_in_duration(rules, start, d1, d2):
    d1, d2 = sorted([d1, d2])
    assert add_working_time(rules, start=start, duration=d1) <= add_working_time(
        rules, start=start, duration=d2
    )


@props
@given(any_rules, starts, starts, durations)
def test_monotonic_in_start(rules, s1, s2, d):
    s1, s2 = sorted([s1, s2])
    assert add_working_time(rules, start=s1, duration=d) <= add_working_time(
        rules, start=s2, duration=d
    )


@props
@given(any_rules, starts, positive_durations)
def test_result_is_in_working_time(rules, start, d):
    result = add_working_time(rules, start=start, duration=d)
    assert result.tzinfo == SH and result > start
    # Inside a period or exactly at its end (a deadline never lands on its start).
    assert any(a < result <= b for a, b in working_periods(rules, result.date()))


@props
@given(any_rules, starts)
def test_zero_duration_is_next_working_moment(rules, start):
    moment = add_working_time(rules, start=start, duration=dt.timedelta(0))
    assert moment >= start
    assert any(a <= moment < b for a, b in working_periods(rules, moment.date()))
    assert working_time_between(rules, start=start, end=moment) == dt.timedelta(0)


@props
@given(any_rules, starts, durations)
def test_round_trip(rules, start, d):
    end = add_working_time(rules, start=start, duration=d)
    assert working_time_between(rules, start=start, end=end) == d


@props
@given(any_rules, starts, durations, positive_durations)
def test_additive(rules, start, a, b):
    # Holds for b > 0: a first result at a period end resumes at the next period.
    # (For b == 0 it fails by design: add(end_of_day, 0) is the next morning.)
    first = add_working_time(rules, start=start, duration=a)
    assert add_working_time(rules, start=first, duration=b) == add_working_time(
        rules, start=start, duration=a + b
    )


@props
@given(any_rules, starts, starts)
def test_between_is_additive_over_a_split(rules, s1, s2):
    lo, hi = sorted([s1, s2])
    mid = lo + (hi - lo) / 2
    whole = working_time_between(rules, start=lo, end=hi)
    parts = working_time_between(rules, start=lo, end=mid) + working_time_between(
        rules, start=mid, end=hi
    )
    assert whole == parts
    if lo < hi:
        assert working_time_between(rules, start=hi, end=lo) == dt.timedelta(0)
