"""Monthly flags: an award for the top 10 % of the group by average score, a warning for
3 or more missed deadlines in one ISO week of the month (a week belongs to the month of its
Thursday). March 2026 begins on a Sunday: its weeks are those of Monday 2, 9, 16 and 23."""

import datetime
from decimal import Decimal

import pytest

from reports.models import MonthlyFlag
from reports.services import monthly_flags_compute
from tests.reports.factories import ReportFactory, cco

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)
APRIL = datetime.date(2026, 4, 1)


def flags(month=MARCH) -> list[tuple]:
    return list(MonthlyFlag.objects.filter(month=month).order_by("kind", "cco_id")
                .values_list("cco_id", "subsidiary_id", "kind", "reason"))


def day(d: int, month: int = 3) -> datetime.date:
    return datetime.date(2026, month, d)


def row(user, on: datetime.date, *, score="0", misses=0):
    return ReportFactory(cco=user, subsidiary=user.cco_profile.organization, day=on,
                         score=Decimal(score), deadline_misses=misses)


def test_the_top_tenth_of_the_group_gets_an_award(subsidiary, other_subsidiary):
    users = [cco(subsidiary if n % 2 else other_subsidiary) for n in range(12)]
    averages = ["0.9", "0.7", "0.7", "0.5"] + ["0.1"] * 8
    for user, average in zip(users, averages, strict=True):
        row(user, day(1), score=Decimal(average) - Decimal("0.1"))
        row(user, day(31), score=Decimal(average) + Decimal("0.1"))
    outside = cco(subsidiary)  # reports in February and April only: not of March's group
    row(outside, day(28, 2), score="5")
    row(outside, day(1, 4), score="5")

    assert monthly_flags_compute(month=MARCH) == 3

    # 12 CCOs: ceil(1.2) = 2 places; ranks 1, 2, 2 — the tie at the cut gets it too.
    awarded = MonthlyFlag.objects.filter(month=MARCH, kind=MonthlyFlag.Kind.AWARD)
    assert {f.cco_id for f in awarded} == {users[0].pk, users[1].pk, users[2].pk}
    best = awarded.get(cco=users[0])
    assert best.subsidiary == other_subsidiary
    assert best.reason == ("Top 10% of the group in 2026-03: rank 1 of 12, average daily "
                           "score 0.9000.")
    assert awarded.get(cco=users[2]).reason.startswith(
        "Top 10% of the group in 2026-03: rank 2 of 12,")


def test_nobody_is_awarded_for_a_zero_month(subsidiary):
    for _n in range(3):
        row(cco(subsidiary), day(10))

    assert monthly_flags_compute(month=MARCH) == 0


def test_three_misses_in_one_week_of_the_month_give_a_warning(subsidiary):
    w1, w2, w3, w4 = (cco(subsidiary) for _n in range(4))
    row(w1, day(30), misses=2)
    row(w1, day(31), misses=1)      # week of 30 March: Thursday 2 April, April's
    row(w2, day(9), misses=1)
    row(w2, day(13), misses=2)      # 3 in the week of 9 March
    row(w3, day(15), misses=2)      # Sunday, week of 9 March
    row(w3, day(16), misses=2)      # Monday, week of 16 March: 2 and 2, no week has 3
    row(w4, day(27, 2), misses=1)
    row(w4, day(1), misses=2)       # week of 23 February (Thursday 26): February's

    assert monthly_flags_compute(month=MARCH) == 1

    assert flags() == [(w2.pk, subsidiary.pk, "warning",
                        "Missed response deadlines: 3 in week 2026-W11 (2026-03-09 to "
                        "2026-03-15).")]
    assert monthly_flags_compute(month=APRIL) == 1  # reads 30 and 31 March
    assert [f[0] for f in flags(APRIL)] == [w1.pk]
    assert monthly_flags_compute(month=datetime.date(2026, 2, 1)) == 1
    assert [f[0] for f in flags(datetime.date(2026, 2, 1))] == [w4.pk]


def test_the_threshold_is_a_setting(subsidiary, settings):
    settings.REPORTS_WARNING_MISSES_PER_WEEK = 2
    user = cco(subsidiary)
    row(user, day(15), misses=2)
    row(user, day(16), misses=2)

    monthly_flags_compute(month=MARCH)

    assert flags()[0][3] == ("Missed response deadlines: 2 in week 2026-W11 (2026-03-09 to "
                             "2026-03-15); 2 in week 2026-W12 (2026-03-16 to 2026-03-22).")


def test_a_rerun_writes_the_same_flags(subsidiary):
    good, bad = cco(subsidiary), cco(subsidiary)
    row(good, day(10), score="0.9")
    row(bad, day(10), score="0.1", misses=3)
    monthly_flags_compute(month=MARCH)
    first = flags()

    assert monthly_flags_compute(month=datetime.date(2026, 3, 17)) == 2  # any day of it

    assert flags() == first
    assert [f[2] for f in first] == ["award", "warning"]
