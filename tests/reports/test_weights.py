"""Closing the loop: each CCO's routing weight from the average score of the last 30 days,
relative to the group mean and bounded, in two queries."""

import datetime
from decimal import Decimal

import pytest

from inquiries.models import CcoProfile
from reports.services import cco_weights_update
from tests.reports.factories import ReportFactory, cco

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 4, 11)


def weight(user) -> Decimal:
    return CcoProfile.objects.get(user=user).performance_weight


def scores(user, *values, days_ago=(1, 2, 3)):
    for n, value in zip(days_ago, values, strict=False):
        ReportFactory(cco=user, subsidiary=user.cco_profile.organization,
                      day=TODAY - datetime.timedelta(days=n), score=Decimal(value))


def test_weights_follow_the_average_score_within_bounds(subsidiary, other_subsidiary,
                                                        django_assert_max_num_queries):
    a, b, c = cco(subsidiary), cco(subsidiary), cco(subsidiary)
    d = cco(other_subsidiary)
    untouched = cco(subsidiary, performance_weight=Decimal("1.500"))
    scores(a, "0.5", "0.7")                      # average 0.6
    scores(b, "0.3")                             # 0.3
    scores(c, "0", "0", "0")                     # 0
    scores(d, "3.9", days_ago=(30,))             # 3.9, the first day of the window
    scores(d, "100", "100", days_ago=(31, 0))    # before the window, and today: not read
    scores(untouched, "5", days_ago=(31,))       # no report in the window: keeps its weight

    with django_assert_max_num_queries(4):       # averages, UPDATE (and a savepoint pair)
        assert cco_weights_update(today=TODAY) == 4

    # The group mean of the averages: (0.6 + 0.3 + 0 + 3.9) / 4 = 1.2
    assert weight(a) == Decimal("0.500")        # 0.6 / 1.2
    assert weight(b) == Decimal("0.250")
    assert weight(c) == Decimal("0.200")        # 0 → the floor: never zero
    assert weight(d) == Decimal("3.000")        # 3.25 → the ceiling
    assert weight(untouched) == Decimal("1.500")


def test_a_rerun_sets_the_same_weights(subsidiary):
    a, b = cco(subsidiary), cco(subsidiary)
    scores(a, "0.8")
    scores(b, "0.4")

    cco_weights_update(today=TODAY)
    first = (weight(a), weight(b))
    cco_weights_update(today=TODAY)

    assert (weight(a), weight(b)) == first == (Decimal("1.333"), Decimal("0.667"))


def test_with_no_positive_mean_everyone_gets_the_normal_weight(subsidiary):
    a, b = cco(subsidiary, performance_weight=Decimal("2")), cco(subsidiary)
    scores(a, "-0.2")
    scores(b, "0")

    cco_weights_update(today=TODAY)

    assert weight(a) == weight(b) == Decimal("1.000")


def test_no_reports_changes_nothing(subsidiary):
    a = cco(subsidiary, performance_weight=Decimal("2.5"))

    assert cco_weights_update(today=TODAY) == 0
    assert weight(a) == Decimal("2.500")
