"""The nightly tasks (dates as ISO strings; the defaults are yesterday and last month in
Asia/Shanghai) and `manage.py report_backfill FROM TO`."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from inquiries.models import CcoProfile
from reports.models import CcoDailyReport, MonthlyFlag
from reports.tasks import cco_daily_report_task, monthly_flags_task
from tests.reports.factories import EventFactory, InquiryFactory, ReportFactory, at, cco

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_ccos(subsidiary):
    """A answered an inquiry on Tuesday 10 March 2026 (score 0.3 + 0.2 = 0.5); B did nothing."""
    a, b = cco(subsidiary), cco(subsidiary)
    inquiry = InquiryFactory(seller=subsidiary, owner=a, received_at=at(2026, 3, 10, 9),
                             first_response_at=at(2026, 3, 10, 9, 30))
    EventFactory(inquiry=inquiry, created_at=at(2026, 3, 10, 9, 30))
    return a, b


def test_the_nightly_task_reports_yesterday_in_shanghai_then_sets_the_weights(two_ccos, clock):
    a, b = two_ccos
    clock(at(2026, 3, 11, 0, 30))  # still 10 March in UTC (16:30): yesterday is the 10th

    assert cco_daily_report_task.delay().get() == 2

    assert set(CcoDailyReport.objects.values_list("day", "cco_id", "score")) == {
        (datetime.date(2026, 3, 10), a.pk, Decimal("0.5000")),
        (datetime.date(2026, 3, 10), b.pk, Decimal("0.0000"))}
    # mean of the averages 0.25: A 2.000, B 0 → the floor 0.200
    assert dict(CcoProfile.objects.values_list("user_id", "performance_weight")) == {
        a.pk: Decimal("2.000"), b.pk: Decimal("0.200")}


def test_the_nightly_task_takes_a_day_and_reruns_the_same(two_ccos, clock):
    clock(at(2026, 3, 20, 0, 30))
    cco_daily_report_task.delay("2026-03-10")
    first = list(CcoDailyReport.objects.order_by("cco_id").values_list(
        "cco_id", "day", "score", "rank_in_group"))

    assert cco_daily_report_task.delay("2026-03-10").get() == 2

    assert list(CcoDailyReport.objects.order_by("cco_id").values_list(
        "cco_id", "day", "score", "rank_in_group")) == first


def test_the_monthly_task_flags_last_month_by_default(subsidiary, clock):
    user = cco(subsidiary)
    ReportFactory(cco=user, day=datetime.date(2026, 3, 31), score=Decimal("0.9"))
    ReportFactory(cco=user, day=datetime.date(2026, 2, 10), score=Decimal("0.9"))
    clock(at(2026, 4, 1, 1, 0))

    assert monthly_flags_task.delay().get() == 1
    assert monthly_flags_task.delay("2026-02-15").get() == 1

    assert set(MonthlyFlag.objects.values_list("month", "kind")) == {
        (datetime.date(2026, 3, 1), "award"), (datetime.date(2026, 2, 1), "award")}


def backfill(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("report_backfill", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_backfill_fills_a_range_day_by_day_with_a_counter(two_ccos, clock):
    clock(at(2026, 3, 20, 10))

    out, err = backfill("2026-03-09", "2026-03-11")

    assert sorted(set(CcoDailyReport.objects.values_list("day", flat=True))) == [
        datetime.date(2026, 3, 9), datetime.date(2026, 3, 10), datetime.date(2026, 3, 11)]
    assert CcoDailyReport.objects.count() == 6
    assert "1/3 2026-03-09 (2 rows)" in err and "3/3 2026-03-11 (6 rows)" in err
    assert out.strip() == "3 days, 6 report rows from 2026-03-09 to 2026-03-11."
    before = list(CcoDailyReport.objects.order_by("day", "cco_id").values_list(
        "day", "cco_id", "received", "score", "rank_in_group"))

    backfill("2026-03-10", "2026-03-10")  # again, over a day already there

    assert list(CcoDailyReport.objects.order_by("day", "cco_id").values_list(
        "day", "cco_id", "received", "score", "rank_in_group")) == before


@pytest.mark.parametrize(("args", "message"), [
    (("2026-03-11", "2026-03-09"), "is before FROM"),
    (("2026-03-01", "2026-03-21"), "is in the future"),
    (("2026-03-01", "10/03/2026"), "not an ISO date"),
])
def test_backfill_refuses_a_bad_range(db, clock, args, message):
    clock(at(2026, 3, 20, 10))

    with pytest.raises(CommandError, match=message):
        backfill(*args)
    assert not CcoDailyReport.objects.exists()
