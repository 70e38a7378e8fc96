"""The daily CCO report: a day built by hand with every figure worked out below, the
identical rerun, the Asia/Shanghai day edges, who gets a row, the same day through the real
services, and a query count that does not grow with the number of CCOs."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from inquiries.models import Inquiry, InquiryEvent
from orders.models import Order
from reports.models import CcoDailyReport, ScoreWeights
from reports.services import cco_daily_report_compute
from tests.factories import StaffFactory, SubsidiaryFactory
from tests.reports.factories import (
    EventFactory,
    InquiryFactory,
    MissFactory,
    OrderFactory,
    QuoteFactory,
    at,
    cco,
    holiday,
)

pytestmark = pytest.mark.django_db

Kind = InquiryEvent.Kind
DAY = datetime.date(2026, 3, 10)  # a Tuesday; Monday 9 March is a holiday on the calendar
FIGURES = ["received", "answered", "answered_on_time", "median_first_response_minutes",
           "quotes_sent", "orders_won", "sales_amount", "messages", "workload",
           "deadline_misses", "score", "rank_in_subsidiary", "rank_in_group"]


def report(user, day=DAY) -> dict:
    return CcoDailyReport.objects.filter(cco=user, day=day).values(*FIGURES).get()


def snapshot(day=DAY) -> list[tuple]:
    return list(CcoDailyReport.objects.filter(day=day).order_by("cco_id")
                .values_list("cco_id", "subsidiary_id", *FIGURES))


@pytest.fixture
def day_built(subsidiary, other_subsidiary):
    """Subsidiary S (default weights) with CCOs A, B, C; subsidiary T (its own weights) with
    CCOs X, Y. Calendar: 9–18 with a 12–13 break, Mon–Fri, Monday 9 March a holiday."""
    holiday(subsidiary.calendar, datetime.date(2026, 3, 9))
    a, b, c = cco(subsidiary), cco(subsidiary), cco(subsidiary)
    x, y = cco(other_subsidiary), cco(other_subsidiary)
    ScoreWeights.objects.create(organization=other_subsidiary, sales=Decimal("0.2"),
                                volume=Decimal("0.4"), workload=Decimal("0.4"),
                                miss_penalty=Decimal("0.5"))
    s = {"seller": subsidiary}

    # --- A ---------------------------------------------------------------------------------
    # i1: in on Friday 16:00, answered Tuesday 10:30, in time. Working minutes: Friday
    # 16–18 (120), Monday a holiday (0, not 480), Tuesday 9:00–10:30 (90) = 210.
    i1 = InquiryFactory(**s, owner=a, received_at=at(2026, 3, 6, 16),
                        response_due_at=at(2026, 3, 10, 12),
                        first_response_at=at(2026, 3, 10, 10, 30))
    EventFactory(inquiry=i1, kind=Kind.MESSAGE_OUT, created_at=at(2026, 3, 10, 10, 30))
    # i2: in 9:00, quoted 9:20 (20 minutes, in time), revised twice, v3 accepted: an order of
    # 1,130.00 placed at 16:00 — 3 quotes sent, 1 order won.
    order = OrderFactory(seller=subsidiary, total=Decimal("1130.00"),
                         placed_at=at(2026, 3, 10, 16))
    i2 = InquiryFactory(**s, owner=a, status=Inquiry.Status.WON, order=order,
                        received_at=at(2026, 3, 10, 9), response_due_at=at(2026, 3, 10, 14),
                        first_response_at=at(2026, 3, 10, 9, 20))
    for version, moment, kind in [(1, at(2026, 3, 10, 9, 20), Kind.QUOTED),
                                  (2, at(2026, 3, 10, 11), Kind.QUOTE_REVISED),
                                  (3, at(2026, 3, 10, 15), Kind.QUOTE_REVISED)]:
        QuoteFactory(inquiry=i2, version=version, created_at=moment,
                     status="accepted" if version == 3 else "superseded",
                     order=order if version == 3 else None)
        EventFactory(inquiry=i2, kind=kind, created_at=moment)
    EventFactory(inquiry=i2, kind=Kind.STATUS, created_at=at(2026, 3, 10, 9, 20))
    EventFactory(inquiry=i2, kind=Kind.QUOTE_ACCEPTED, actor=None,  # the buyer's, not A's
                 created_at=at(2026, 3, 10, 16))
    # i3: in at 8:00 (the clock starts at 9:00), due 13:00, missed (the sweep records it at
    # 13:01 and, nobody else being free, gives A a new deadline, 17:00), answered 14:30:
    # late all the same. Working minutes 9–12 (180) + 13:00–14:30 (90) = 270.
    i3 = InquiryFactory(**s, owner=a, received_at=at(2026, 3, 10, 8),
                        response_due_at=at(2026, 3, 10, 17),
                        first_response_at=at(2026, 3, 10, 14, 30))
    MissFactory(inquiry=i3, due_at=at(2026, 3, 10, 13))
    EventFactory(inquiry=i3, kind=Kind.NOTE, created_at=at(2026, 3, 10, 11))
    EventFactory(inquiry=i3, kind=Kind.MESSAGE_OUT, created_at=at(2026, 3, 10, 14, 30))
    EventFactory(inquiry=i3, kind=Kind.NOTE, created_at=at(2026, 3, 9, 23, 59, 59))  # Monday

    # --- B ---------------------------------------------------------------------------------
    # i4: in 10:00, quoted 11:00 (60 minutes, in time); i5: in 17:00, not answered yet.
    i4 = InquiryFactory(**s, owner=b, received_at=at(2026, 3, 10, 10),
                        response_due_at=at(2026, 3, 10, 15), first_response_at=at(2026, 3, 10, 11))
    QuoteFactory(inquiry=i4, created_at=at(2026, 3, 10, 11))
    EventFactory(inquiry=i4, kind=Kind.QUOTED, created_at=at(2026, 3, 10, 11))
    EventFactory(inquiry=i4, kind=Kind.STATUS, created_at=at(2026, 3, 10, 11))
    EventFactory(inquiry=i4, kind=Kind.MESSAGE_OUT, created_at=at(2026, 3, 10, 18, 30))
    InquiryFactory(**s, owner=b, received_at=at(2026, 3, 10, 17))
    # Won: an order of 2,260.00 placed today on an older inquiry; not won: one placed
    # yesterday, and one placed today but cancelled since.
    for total, placed, status in [("2260.00", at(2026, 3, 10, 12, 30), "confirmed"),
                                  ("999.00", at(2026, 3, 9, 16), "confirmed"),
                                  ("500.00", at(2026, 3, 10, 13), "cancelled")]:
        won = OrderFactory(seller=subsidiary, total=Decimal(total), placed_at=placed,
                           status=status)
        InquiryFactory(**s, owner=b, status=Inquiry.Status.WON, order=won,
                       received_at=at(2026, 3, 2, 10), first_response_at=at(2026, 3, 2, 11))
    # Misses: two deadlines today; one due yesterday 23:00 but recorded today counts for
    # yesterday.
    for due in (at(2026, 3, 10, 9, 30), at(2026, 3, 10, 16)):
        MissFactory(inquiry=InquiryFactory(**s, owner=b, received_at=at(2026, 3, 5, 9)),
                    due_at=due)
    MissFactory(inquiry=InquiryFactory(**s, owner=b, received_at=at(2026, 3, 5, 9)),
                due_at=at(2026, 3, 9, 23), recorded_at=at(2026, 3, 10, 0, 1))

    # --- X (T) -----------------------------------------------------------------------------
    # in 13:30, answered 13:45 (15 minutes); nothing else.
    i10 = InquiryFactory(seller=other_subsidiary, owner=x, received_at=at(2026, 3, 10, 13, 30),
                         response_due_at=at(2026, 3, 10, 17, 30),
                         first_response_at=at(2026, 3, 10, 13, 45))
    EventFactory(inquiry=i10, kind=Kind.MESSAGE_OUT, created_at=at(2026, 3, 10, 13, 45))

    # --- Not reported: a manager without a profile who answers; a deactivated CCO and a
    # CCO starting tomorrow, both with nothing that day.
    manager = StaffFactory(organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER])
    EventFactory(inquiry=InquiryFactory(**s, owner=manager, received_at=at(2026, 3, 10, 9),
                                        first_response_at=at(2026, 3, 10, 9, 5)),
                 created_at=at(2026, 3, 10, 9, 5))
    gone = cco(subsidiary)
    gone.is_active = False
    gone.save()
    cco(subsidiary, started_on=datetime.date(2026, 3, 11))
    return {"a": a, "b": b, "c": c, "x": x, "y": y}


def test_a_day_built_by_hand(day_built):
    ccos = day_built

    assert cco_daily_report_compute(day=DAY) == 5

    # S, default weights 0.5 / 0.3 / 0.2, penalty 0.1. Tops: sales 2,260.00 (B), answered
    # 3 (A), workload 7 (A).
    # A: 0.5 × 1130/2260 + 0.3 × 3/3 + 0.2 × 7/7 − 0.1 × 1 = 0.25 + 0.3 + 0.2 − 0.1 = 0.65
    assert report(ccos["a"]) == {
        "received": 2,                    # i2, i3 (i1 came on Friday)
        "answered": 3,                    # i1, i2, i3
        "answered_on_time": 2,            # i3 missed its 13:00 deadline
        "median_first_response_minutes": Decimal("210.0"),  # of 20, 210, 270
        "quotes_sent": 3,                 # i2 v1, v2, v3
        "orders_won": 1, "sales_amount": Decimal("1130.00"),
        "messages": 3,                    # 2 messages, 1 note (Monday's not counted)
        "workload": 7,                    # the 3, 3 quote events, 1 status change
        "deadline_misses": 1,
        "score": Decimal("0.6500"), "rank_in_subsidiary": 1, "rank_in_group": 2,
    }
    # B: 0.5 × 2260/2260 + 0.3 × 1/3 + 0.2 × 3/7 − 0.1 × 2
    #    = 0.5 + 0.1 + 0.0857142… − 0.2 = 0.4857142… → 0.4857
    assert report(ccos["b"]) == {
        "received": 2, "answered": 1, "answered_on_time": 1,
        "median_first_response_minutes": Decimal("60.0"),
        "quotes_sent": 1, "orders_won": 1, "sales_amount": Decimal("2260.00"),
        "messages": 1, "workload": 3, "deadline_misses": 2,
        "score": Decimal("0.4857"), "rank_in_subsidiary": 2, "rank_in_group": 3,
    }
    zero = {"received": 0, "answered": 0, "answered_on_time": 0,
            "median_first_response_minutes": None, "quotes_sent": 0, "orders_won": 0,
            "sales_amount": Decimal("0.00"), "messages": 0, "workload": 0,
            "deadline_misses": 0, "score": Decimal("0.0000")}
    # C and Y: nothing at all, a row all the same; tied at 0 in the group: 4 and 4.
    assert report(ccos["c"]) == {**zero, "rank_in_subsidiary": 3, "rank_in_group": 4}
    assert report(ccos["y"]) == {**zero, "rank_in_subsidiary": 2, "rank_in_group": 4}
    # X, T's weights 0.2 / 0.4 / 0.4: nobody in T sold (sales component 0);
    # 0.4 × 1/1 + 0.4 × 1/1 = 0.8.
    assert report(ccos["x"]) == {
        **zero, "received": 1, "answered": 1, "answered_on_time": 1,
        "median_first_response_minutes": Decimal("15.0"), "messages": 1, "workload": 1,
        "score": Decimal("0.8000"), "rank_in_subsidiary": 1, "rank_in_group": 1,
    }
    assert set(CcoDailyReport.objects.values_list("cco_id", flat=True)) == {
        u.pk for u in ccos.values()}


def test_without_the_holiday_the_friday_inquiry_took_eight_hours_more(day_built, subsidiary):
    subsidiary.calendar.days.all().delete()

    cco_daily_report_compute(day=DAY)

    # A's times become 20, 690 (120 + 480 + 90), 270: the median is 270.
    assert report(day_built["a"])["median_first_response_minutes"] == Decimal("270.0")


def test_a_rerun_writes_identical_rows(day_built):
    cco_daily_report_compute(day=DAY)
    first = snapshot()

    assert cco_daily_report_compute(day=DAY) == 5

    assert snapshot() == first
    assert CcoDailyReport.objects.count() == 5


def test_a_rerun_replaces_the_day_after_a_change(day_built):
    cco_daily_report_compute(day=DAY)
    Order.objects.filter(total=Decimal("2260.00")).update(status=Order.Status.CANCELLED)

    cco_daily_report_compute(day=DAY)

    assert report(day_built["b"])["orders_won"] == 0
    assert CcoDailyReport.objects.filter(day=DAY).count() == 5


def test_other_days_are_left_alone(day_built):
    cco_daily_report_compute(day=DAY)
    cco_daily_report_compute(day=DAY - datetime.timedelta(days=1))
    monday = snapshot(DAY - datetime.timedelta(days=1))

    cco_daily_report_compute(day=DAY)

    assert snapshot(DAY - datetime.timedelta(days=1)) == monday
    # Monday: B's miss due at 23:00, A's note at 23:59:59, B's order placed at 16:00.
    assert report(day_built["b"], DAY - datetime.timedelta(days=1))["deadline_misses"] == 1
    assert report(day_built["b"], DAY - datetime.timedelta(days=1))["orders_won"] == 1
    assert report(day_built["a"], DAY - datetime.timedelta(days=1))["messages"] == 1


def test_the_day_is_a_shanghai_day(subsidiary):
    """23:59 and 00:01 Shanghai time are different days, though both fall on 10 March in
    UTC (15:59 and 16:01)."""
    owner = cco(subsidiary)
    late = InquiryFactory(seller=subsidiary, owner=owner, received_at=at(2026, 3, 10, 23, 59))
    early = InquiryFactory(seller=subsidiary, owner=owner, received_at=at(2026, 3, 11, 0, 1))
    EventFactory(inquiry=late, created_at=at(2026, 3, 10, 23, 59, 59))
    EventFactory(inquiry=early, created_at=at(2026, 3, 11, 0, 0))
    assert late.received_at.astimezone(datetime.UTC).date() == datetime.date(2026, 3, 10)
    assert early.received_at.astimezone(datetime.UTC).date() == datetime.date(2026, 3, 10)

    cco_daily_report_compute(day=datetime.date(2026, 3, 10))
    cco_daily_report_compute(day=datetime.date(2026, 3, 11))

    for day in (datetime.date(2026, 3, 10), datetime.date(2026, 3, 11)):
        assert (report(owner, day)["received"], report(owner, day)["workload"]) == (1, 1)


def test_a_day_without_ccos_writes_nothing(db):
    assert cco_daily_report_compute(day=DAY) == 0
    assert not CcoDailyReport.objects.exists()


def _busy_ccos(n: int, hq) -> None:
    """`n` CCOs in two subsidiaries, each with an answered inquiry, a quote, a message, a
    miss and an order won."""
    subsidiaries = [SubsidiaryFactory(parent=hq), SubsidiaryFactory(parent=hq)]
    for i in range(n):
        seller = subsidiaries[i % 2]
        owner = cco(seller)
        order = OrderFactory(seller=seller, total=Decimal(100 + i), placed_at=at(2026, 3, 10, 15))
        inquiry = InquiryFactory(seller=seller, owner=owner, status=Inquiry.Status.WON,
                                 order=order, received_at=at(2026, 3, 10, 9),
                                 response_due_at=at(2026, 3, 10, 14),
                                 first_response_at=at(2026, 3, 10, 9, 10 + i))
        QuoteFactory(inquiry=inquiry, created_at=at(2026, 3, 10, 9, 10 + i))
        EventFactory(inquiry=inquiry, created_at=at(2026, 3, 10, 9, 10 + i))
        MissFactory(inquiry=InquiryFactory(seller=seller, owner=owner,
                                           received_at=at(2026, 3, 9, 9)),
                    due_at=at(2026, 3, 10, 13))


@pytest.mark.parametrize("n", [2, 20])
def test_the_number_of_queries_does_not_grow_with_the_ccos(hq, n, django_assert_max_num_queries):
    _busy_ccos(n, hq)

    # lock, profiles, 6 GROUP BYs, calendars, the calendar's rules, weights, DELETE, INSERT,
    # and the savepoint pair around them.
    with django_assert_max_num_queries(15):
        assert cco_daily_report_compute(day=DAY) == n

    assert CcoDailyReport.objects.filter(orders_won=1, quotes_sent=1, deadline_misses=1,
                                         answered=1).count() == n


def test_two_and_twenty_ccos_take_the_same_queries(hq):
    counts = []
    for n in (2, 20):
        CcoDailyReport.objects.all().delete()
        _busy_ccos(n, hq)
        with CaptureQueriesContext(connection) as queries:
            cco_daily_report_compute(day=DAY)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_who_gets_an_inquiry_another_let_pass_is_judged_by_the_fresh_deadline(subsidiary):
    a, b = cco(subsidiary), cco(subsidiary)
    handed_on = InquiryFactory(seller=subsidiary, owner=b, received_at=at(2026, 3, 10, 9),
                               response_due_at=at(2026, 3, 10, 17),  # B's, from 13:00
                               first_response_at=at(2026, 3, 10, 14, 30))
    MissFactory(inquiry=handed_on, owner=a, due_at=at(2026, 3, 10, 13))

    cco_daily_report_compute(day=DAY)

    assert (report(b)["answered_on_time"], report(b)["deadline_misses"]) == (1, 0)
    assert (report(a)["answered"], report(a)["deadline_misses"]) == (0, 1)
