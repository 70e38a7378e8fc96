"""The dashboards' rollups: a day built by hand with every row worked out below, the
identical rerun, the Asia/Shanghai day edges, and the two tasks."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.models import Region
from inquiries.models import Channel, Inquiry, LostReason
from orders.models import Order
from reports import tasks
from reports.models import DailyCategorySales, DailyInquiries, DailyLostInquiries, DailySales
from reports.services import rollups_refresh
from tests.catalog.factories import CategoryFactory
from tests.orders.factories import AddressFactory
from tests.reports.factories import (
    InquiryFactory,
    OrderFactory,
    OrderLineFactory,
    QuoteFactory,
    at,
    cco,
    pickup_order,
)

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 10)


def sales(day=DAY):
    return sorted(DailySales.objects.filter(day=day).values_list(
        "seller_id", "province_id", "channel", "from_inquiry", "orders", "amount"))


def by_category(day=DAY):
    return sorted(DailyCategorySales.objects.filter(day=day).values_list(
        "seller_id", "category_id", "orders", "amount"), key=lambda r: (r[0], r[1] or 0))


def funnel(day=DAY):
    return sorted(DailyInquiries.objects.filter(day=day).values_list(
        "seller_id", "channel", "received", "quoted", "won", "lost"))


def losses(day=DAY):
    return sorted(DailyLostInquiries.objects.filter(day=day).values_list(
        "seller_id", "reason", "lost"))


@pytest.fixture
def day_built(subsidiary, other_subsidiary):
    """S: a checkout order to Suzhou (Jiangsu) with lines in two categories, a phone
    inquiry's order picked up in Shanghai, a cancelled order, orders just outside the day.
    T: one checkout order to Shanghai. Inquiries of S received in the day: two by web (one
    quoted, one won), a phone one lost on price; one just before the day."""
    owner = cco(subsidiary)
    x, y = CategoryFactory(), CategoryFactory()  # x.pk < y.pk
    shanghai = Region.objects.get(code="310000")

    # 1. Checkout, delivered to Suzhou: 500.00 incl. VAT in x, 500.00 excl. VAT in y (gross
    # 565.00); total 1,130.00. Share of x = round(1130 × 500 / 1065, 2) = 530.52, y the rest
    # 1130.00 − 530.52 = 599.48.
    web_order = OrderFactory(seller=subsidiary, total=Decimal("1130.00"),
                             placed_at=at(2026, 3, 10, 0, 0, 1))
    OrderLineFactory(order=web_order, product__category=x, line_total=Decimal("500.00"))
    OrderLineFactory(order=web_order, product__category=y, line_total=Decimal("500.00"),
                     tax_inclusive=False)
    # 2. From a phone inquiry of last week, picked up at a Shanghai depot: 200.00, no lines.
    phone_order = pickup_order(seller=subsidiary, total=Decimal("200.00"),
                               depot__region=shanghai, placed_at=at(2026, 3, 10, 15))
    InquiryFactory(seller=subsidiary, owner=owner, channel=Channel.PHONE,
                   status=Inquiry.Status.WON, order=phone_order, received_at=at(2026, 3, 3, 9))
    # 3. Another checkout order to Suzhou in x only: 100.00.
    small = OrderFactory(seller=subsidiary, total=Decimal("100.00"),
                         placed_at=at(2026, 3, 10, 23, 59, 59))
    OrderLineFactory(order=small, product__category=x, line_total=Decimal("100.00"))
    # Not counted: cancelled; the day before; the day after (Shanghai time).
    OrderFactory(seller=subsidiary, total=Decimal("999.00"), status=Order.Status.CANCELLED,
                 placed_at=at(2026, 3, 10, 11))
    OrderFactory(seller=subsidiary, total=Decimal("888.00"), placed_at=at(2026, 3, 9, 23, 59))
    OrderFactory(seller=subsidiary, total=Decimal("777.00"), placed_at=at(2026, 3, 11, 0, 0))
    # T: a checkout order delivered to Shanghai (a municipality: the address's region is the
    # province itself).
    t_order = OrderFactory(seller=other_subsidiary, total=Decimal("50.00"),
                           address=AddressFactory(region=shanghai),
                           placed_at=at(2026, 3, 10, 8))

    # Inquiries of S received in the day.
    quoted = InquiryFactory(seller=subsidiary, owner=owner, status=Inquiry.Status.QUOTED,
                            received_at=at(2026, 3, 10, 0, 1))
    QuoteFactory(inquiry=quoted)
    InquiryFactory(seller=subsidiary, owner=owner, status=Inquiry.Status.WON,
                   received_at=at(2026, 3, 10, 9), order=web_order)
    InquiryFactory(seller=subsidiary, owner=owner, channel=Channel.PHONE,
                   status=Inquiry.Status.LOST, lost_reason=LostReason.PRICE,
                   received_at=at(2026, 3, 10, 10))
    InquiryFactory(seller=subsidiary, owner=owner, received_at=at(2026, 3, 10, 23, 59))
    InquiryFactory(seller=subsidiary, owner=owner, received_at=at(2026, 3, 9, 23, 59))
    return {"S": subsidiary, "T": other_subsidiary, "x": x, "y": y, "web_order": web_order,
            "t_order": t_order}


def test_a_day_by_hand(day_built):
    s, t, x, y = (day_built[k] for k in "STxy")
    written = rollups_refresh(day=DAY)
    assert written == {"sales": 4, "categories": 4, "inquiries": 2, "lost": 1}
    # The web order carries an inquiry (won by quote): its channel is that inquiry's, web,
    # and it counts as from an inquiry; order 3 is a plain checkout order.
    assert sales() == sorted([
        (s.pk, "310000", "phone", True, 1, Decimal("200.00")),
        (s.pk, "320000", "web", False, 1, Decimal("100.00")),
        (s.pk, "320000", "web", True, 1, Decimal("1130.00")),
        (t.pk, "310000", "web", False, 1, Decimal("50.00")),
    ])
    assert by_category() == [
        (s.pk, None, 1, Decimal("200.00")),
        (s.pk, x.pk, 2, Decimal("630.52")),  # 530.52 + 100.00
        (s.pk, y.pk, 1, Decimal("599.48")),
        (t.pk, None, 1, Decimal("50.00")),
    ]
    # Categories add up to the sales to the cent.
    assert sum(r[3] for r in by_category()) == sum(r[5] for r in sales()) == Decimal("1480.00")
    # web: received 3 (00:01, 09:00, 23:59), quoted 2 (one with a quote, one won), won 1.
    assert funnel() == sorted([(s.pk, "phone", 1, 0, 0, 1), (s.pk, "web", 3, 2, 1, 0)])
    assert losses() == [(s.pk, "price", 1)]


def test_rerun_writes_the_same_rows(day_built):
    rollups_refresh(day=DAY)
    first = (sales(), by_category(), funnel(), losses())
    rollups_refresh(day=DAY)
    assert (sales(), by_category(), funnel(), losses()) == first
    # A change since then shows in the next run, and replaces the old row.
    day_built["t_order"].status = Order.Status.CANCELLED
    day_built["t_order"].save(update_fields=["status"])
    rollups_refresh(day=DAY)
    assert [r for r in sales() if r[0] == day_built["T"].pk] == []
    assert len(by_category()) == 3


def test_neighbouring_days_are_their_own(day_built):
    rollups_refresh(day=DAY)
    rollups_refresh(day=DAY - datetime.timedelta(days=1))
    s = day_built["S"]
    assert sales(DAY - datetime.timedelta(days=1)) == [(s.pk, "320000", "web", False, 1,
                                                        Decimal("888.00"))]
    assert funnel(DAY - datetime.timedelta(days=1)) == [(s.pk, "web", 1, 0, 0, 0)]
    assert len(sales()) == 4  # untouched by the other day's refresh


def test_tasks_refresh_today_yesterday_and_the_recent_weeks(day_built, monkeypatch):
    monkeypatch.setattr(tasks, "_today", lambda: DAY)
    done = []
    real = tasks.services.rollups_refresh

    def spy(*, day):
        done.append(day)
        return real(day=day)

    monkeypatch.setattr(tasks.services, "rollups_refresh", spy)
    assert tasks.rollups_refresh_task() > 0
    assert done == [DAY, DAY - datetime.timedelta(days=1)]
    assert len(sales()) == 4
    done.clear()
    tasks.rollups_recent_task(days=3)
    assert done == [DAY - datetime.timedelta(days=n) for n in (2, 3, 4)]


def test_backfill_refreshes_the_rollups_on_request(day_built, clock):
    clock(at(2026, 3, 20, 10))
    out = io.StringIO()
    call_command("report_backfill", "2026-03-09", "2026-03-10", "--rollups", stdout=out,
                 stderr=io.StringIO())
    assert out.getvalue().strip().endswith("rollups refreshed.")
    assert len(sales()) == 4
    assert len(sales(DAY - datetime.timedelta(days=1))) == 1
