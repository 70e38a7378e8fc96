"""Response deadlines: arrival + the seller's service level in working hours on its own
calendar (lunch break, evenings, weekends, holidays and make-up working days as
CalendarDay rows), the reminder at 75 % of that time, and the clock restarting when the
sweep hands an inquiry on."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import CalendarDay
from inquiries import services
from inquiries.models import Inquiry, LostReason
from orders.models import OutboxMessage
from tests.factories import SubsidiaryFactory, WorkingCalendarFactory
from tests.inquiries.test_routing import ask, cco
from tests.orders.factories import sellable

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


@pytest.fixture
def clock(monkeypatch):
    """clock(moment): from now on "now" is `moment` — for the services and for the
    arrival time an inquiry is stamped with."""
    received_at = Inquiry._meta.get_field("received_at")

    def set_to(moment: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        monkeypatch.setitem(received_at.__dict__, "_get_default", lambda: moment)

    return set_to


@pytest.fixture
def seller(subsidiary):
    """A subsidiary on the 9–18 calendar with a 12–13 lunch break, no holidays yet, the
    default service level of 4 working hours, one CCO and a product."""
    assert subsidiary.service_level_hours == 4
    cco(subsidiary)
    return subsidiary


def holiday(calendar, day: dt.date, kind=CalendarDay.Kind.HOLIDAY) -> None:
    CalendarDay.objects.create(calendar=calendar, date=day, kind=kind, name="test")


@pytest.mark.parametrize(("arrival", "remind", "due"), [
    # Monday morning: 10–12 and, after lunch, 13–15
    (at(2026, 3, 9, 10), at(2026, 3, 9, 14), at(2026, 3, 9, 15)),
    # at lunch: counting starts at 13:00
    (at(2026, 3, 9, 12, 20), at(2026, 3, 9, 16), at(2026, 3, 9, 17)),
    # Monday evening, 17:00: one hour today, three tomorrow morning
    (at(2026, 3, 9, 17), at(2026, 3, 10, 11), at(2026, 3, 10, 12)),
    # after hours: from 9:00 the next day, lunch not counted
    (at(2026, 3, 9, 21, 30), at(2026, 3, 10, 12), at(2026, 3, 10, 14)),
    # Friday 16:00 over the weekend to Monday
    (at(2026, 3, 13, 16), at(2026, 3, 16, 10), at(2026, 3, 16, 11)),
    # sent on Sunday: counts from Monday 9:00; 3 h end as lunch begins
    (at(2026, 3, 15, 20), at(2026, 3, 16, 12), at(2026, 3, 16, 14)),
])
def test_due_is_arrival_plus_four_working_hours(seller, clock, arrival, remind, due):
    clock(arrival)
    inquiry = ask(sellable(seller=seller))

    inquiry.refresh_from_db()
    assert inquiry.received_at == arrival
    assert (inquiry.remind_at, inquiry.response_due_at) == (remind, due)


def test_a_holiday_is_skipped(seller, clock):
    holiday(seller.calendar, dt.date(2026, 3, 16))  # the Monday
    clock(at(2026, 3, 13, 16))

    inquiry = ask(sellable(seller=seller))

    assert inquiry.remind_at == at(2026, 3, 17, 10)
    assert inquiry.response_due_at == at(2026, 3, 17, 11)


def test_a_holiday_week_is_skipped(seller, clock):
    for day in range(1, 8):  # National Day, Thursday 1 to Wednesday 7 October
        holiday(seller.calendar, dt.date(2026, 10, day))
    clock(at(2026, 9, 30, 17))

    inquiry = ask(sellable(seller=seller))

    assert inquiry.response_due_at == at(2026, 10, 8, 12)


def test_a_make_up_working_saturday_counts(seller, clock):
    holiday(seller.calendar, dt.date(2026, 3, 14), kind=CalendarDay.Kind.WORKDAY)
    clock(at(2026, 3, 13, 16))

    inquiry = ask(sellable(seller=seller))

    assert inquiry.remind_at == at(2026, 3, 14, 10)
    assert inquiry.response_due_at == at(2026, 3, 14, 11)


def test_each_seller_counts_on_its_own_calendar_and_service_level(seller, hq, clock):
    strict = SubsidiaryFactory(parent=hq, calendar=WorkingCalendarFactory(name="Plant"),
                               service_level_hours=8)
    cco(strict)
    holiday(strict.calendar, dt.date(2026, 3, 10))  # the plant's Tuesday off
    clock(at(2026, 3, 9, 10))

    ours = ask(sellable(seller=seller))
    theirs = ask(sellable(seller=strict))

    assert ours.response_due_at == at(2026, 3, 9, 15)
    # 8 hours: Monday 10–12, 13–18 (7 h), Tuesday off, Wednesday 9–10
    assert theirs.response_due_at == at(2026, 3, 11, 10)
    assert theirs.remind_at == at(2026, 3, 9, 17)  # 6 h = 75 %


def test_the_owner_is_told_the_deadline_in_local_time(seller, clock):
    clock(at(2026, 3, 9, 10))

    inquiry = ask(sellable(seller=seller))

    mail = OutboxMessage.objects.get(kind="inquiry_assigned", to_email=inquiry.owner.email)
    assert "Please answer by 2026-03-09 15:00." in mail.body


def test_the_clock_restarts_when_the_sweep_escalates(seller, clock):
    cco(seller)  # someone to hand it to
    clock(at(2026, 3, 9, 10))
    inquiry = ask(sellable(seller=seller))
    clock(at(2026, 3, 9, 15, 1))

    assert services.inquiries_sweep()["escalated"] == 1

    inquiry.refresh_from_db()
    # 15:01 + 4 h: 15:01–18:00 and 9:00–10:01 the next day
    assert inquiry.response_due_at == at(2026, 3, 10, 10, 1)
    assert inquiry.remind_at == at(2026, 3, 10, 9, 1)
    assert inquiry.reminded_at is None


def test_a_waiting_inquiry_gets_its_deadline_from_the_moment_someone_takes_it(subsidiary,
                                                                              clock):
    only = cco(subsidiary, cap=1)
    product = sellable(seller=subsidiary)
    clock(at(2026, 3, 9, 9, 30))
    first = ask(product)
    clock(at(2026, 3, 9, 10))
    waiting = ask(product)
    assert waiting.response_due_at is None

    clock(at(2026, 3, 9, 17))
    services.inquiry_close_lost(inquiry_id=first.pk, actor=only, reason=LostReason.PRICE)
    assert services.inquiries_sweep()["assigned"] == 1

    waiting.refresh_from_db()
    assert waiting.owner == only
    assert waiting.response_due_at == at(2026, 3, 10, 12)  # not 15:00 on the day it came
