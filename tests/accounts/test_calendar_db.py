"""Working deadlines on an organisation's calendar as stored in the database (China 2026)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts import selectors, services
from accounts.models import CalendarDay
from tests.factories import SubsidiaryFactory, WorkingCalendarFactory

SH = ZoneInfo("Asia/Shanghai")


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


@pytest.fixture
def organization(db):
    """A subsidiary on a 9–18 calendar with a 12–13 lunch break, China 2026 imported."""
    calendar = WorkingCalendarFactory(name="China 2026")
    services.working_calendar_sync_holidays(calendar_id=calendar.pk, years=[2026])
    return SubsidiaryFactory(calendar=calendar)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (at(2026, 3, 9, 14), at(2026, 3, 9, 18)),  # Monday afternoon, ends at day end
        (at(2026, 3, 9, 10), at(2026, 3, 9, 15)),  # lunch break does not count
        (at(2026, 3, 9, 17), at(2026, 3, 10, 12)),  # 1 h Monday + 3 h Tuesday morning
        (at(2026, 3, 13, 16), at(2026, 3, 16, 11)),  # Friday → Monday over the weekend
        (at(2026, 3, 8, 20), at(2026, 3, 9, 14)),  # sent on Sunday: counts from Monday 9:00
        (at(2026, 9, 30, 17), at(2026, 10, 8, 12)),  # across the National Day holiday
        (at(2026, 10, 9, 16), at(2026, 10, 10, 11)),  # onto the make-up Saturday
        (at(2026, 10, 10, 15), at(2026, 10, 12, 10)),  # from the make-up Saturday to Monday
        (at(2026, 2, 13, 16), at(2026, 2, 14, 11)),  # Spring Festival make-up Saturday
        (at(2026, 2, 14, 17), at(2026, 2, 24, 12)),  # then the Spring Festival week off
    ],
)
def test_working_deadline(organization, start, due):
    deadline = selectors.working_deadline(organization=organization, start=start, hours=4)
    assert deadline == due
    assert deadline.utcoffset() == dt.timedelta(hours=8)
    assert selectors.working_minutes_between(
        organization=organization, start=start, end=deadline) == 240


def test_working_deadline_accepts_utc_start(organization):
    start = at(2026, 3, 9, 14).astimezone(dt.UTC)
    assert selectors.working_deadline(
        organization=organization, start=start, hours=4) == at(2026, 3, 9, 18)


def test_weekend_inside_the_holiday_is_off_too(organization):
    # An ordinary weekend around the holiday is not a row, yet it is still off.
    assert not CalendarDay.objects.filter(calendar=organization.calendar,
                                          date="2026-10-03").exists()
    assert selectors.working_deadline(
        organization=organization, start=at(2026, 10, 2, 10), hours=1) == at(2026, 10, 8, 10)


def test_manual_holiday_shifts_the_deadline(organization):
    start = at(2026, 3, 9, 17)
    assert selectors.working_deadline(
        organization=organization, start=start, hours=4) == at(2026, 3, 10, 12)

    CalendarDay.objects.create(calendar=organization.calendar, date=dt.date(2026, 3, 10),
                               kind=CalendarDay.Kind.HOLIDAY, name="Plant shutdown")

    assert selectors.working_deadline(
        organization=organization, start=start, hours=4) == at(2026, 3, 11, 12)
    assert selectors.working_minutes_between(
        organization=organization, start=start, end=at(2026, 3, 11, 12)) == 240


def test_manual_workday_on_a_sunday_counts(organization):
    CalendarDay.objects.create(calendar=organization.calendar, date=dt.date(2026, 3, 15),
                               kind=CalendarDay.Kind.WORKDAY, name="Inventory Sunday")
    assert selectors.working_deadline(
        organization=organization, start=at(2026, 3, 13, 17), hours=4) == at(2026, 3, 15, 12)


def test_calendar_of_another_organisation_is_not_used(organization):
    # The same dates on another calendar change nothing for this organisation.
    other = WorkingCalendarFactory(name="Other")
    CalendarDay.objects.create(calendar=other, date=dt.date(2026, 3, 10),
                               kind=CalendarDay.Kind.HOLIDAY, name="Elsewhere")
    assert selectors.working_deadline(
        organization=organization, start=at(2026, 3, 9, 17), hours=4) == at(2026, 3, 10, 12)


def test_calendar_without_break_and_six_day_week(db):
    calendar = WorkingCalendarFactory(name="Depot shifts", workdays="123456",
                                      day_start=dt.time(8), day_end=dt.time(17),
                                      break_start=None, break_end=None,
                                      follow_china_holidays=False)
    organization = SubsidiaryFactory(calendar=calendar)
    assert selectors.working_deadline(
        organization=organization, start=at(2026, 3, 13, 15), hours=4) == at(2026, 3, 14, 10)


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (at(2026, 3, 9, 9), at(2026, 3, 9, 18), 8 * 60),  # a full day without the lunch hour
        (at(2026, 3, 9, 11, 30), at(2026, 3, 9, 13, 30), 60),
        (at(2026, 9, 30, 9), at(2026, 10, 8, 18), 16 * 60),  # two working days around the week
        (at(2026, 10, 1, 9), at(2026, 10, 7, 18), 0),  # the holiday week
        (at(2026, 10, 10, 9), at(2026, 10, 10, 18), 8 * 60),  # the make-up Saturday
        (at(2026, 3, 9, 18), at(2026, 3, 9, 9), 0),  # end before start
    ],
)
def test_working_minutes_between(organization, start, end, minutes):
    assert selectors.working_minutes_between(
        organization=organization, start=start, end=end) == minutes
