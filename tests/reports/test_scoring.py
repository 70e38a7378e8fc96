"""The pure arithmetic: the Shanghai day, medians, the score, ranks, bounded weights."""

import datetime
from decimal import Decimal

from reports import scoring
from tests.reports.factories import at

D = Decimal


def test_the_day_runs_from_midnight_to_midnight_in_shanghai():
    start, end = scoring.day_bounds(datetime.date(2026, 3, 10))
    assert (start, end) == (at(2026, 3, 10), at(2026, 3, 11))
    assert start.astimezone(datetime.UTC) == datetime.datetime(2026, 3, 9, 16, tzinfo=datetime.UTC)


def test_median():
    assert scoring.median([]) is None
    assert scoring.median([270, 20, 210]) == D("210.0")
    assert scoring.median([1, 2]) == D("1.5")
    assert scoring.median([7]) == D("7.0")


def test_score_normalises_within_the_subsidiary_and_subtracts_misses():
    weights = {"sales": D("0.5"), "volume": D("0.3"), "workload": D("0.2"),
               "miss_penalty": D("0.1")}
    tops = {"sales": D("2000"), "volume": D("4"), "workload": D("0")}
    score = scoring.composite_score(sales=D("500"), volume=1, workload=0, misses=3, tops=tops,
                                    weights=weights)
    # 0.5 × 0.25 + 0.3 × 0.25 + 0 (nobody worked: top 0) − 0.3
    assert score == D("-0.1000")


def test_standard_competition_ranking():
    ranks = scoring.standard_ranks({"a": D("0.9"), "b": D("0.5"), "c": D("0.5"), "d": D("0.1")})
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert scoring.standard_ranks({}) == {}


def test_bounded_weight():
    low, high = D("0.2"), D("3.0")
    assert scoring.bounded_weight(D("0.6"), D("1.2"), low=low, high=high) == D("0.500")
    assert scoring.bounded_weight(D("-1"), D("1.2"), low=low, high=high) == D("0.200")
    assert scoring.bounded_weight(D("9"), D("1.2"), low=low, high=high) == D("3.000")
    assert scoring.bounded_weight(D("0.5"), D("0"), low=low, high=high) == D("1.000")
