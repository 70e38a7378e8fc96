"""Holiday import: official schedule where published, estimates after, hand rows kept."""

import datetime

import pytest

from accounts.calendar import china_official_years
from accounts.models import CalendarDay
from accounts.services import working_calendar_sync_holidays
from tests.factories import WorkingCalendarFactory

pytestmark = pytest.mark.django_db


def _first_unofficial_year() -> int:
    return max(china_official_years()) + 1


def test_years_without_an_official_notice_get_estimated_holidays_only():
    calendar = WorkingCalendarFactory()
    year = _first_unofficial_year()
    working_calendar_sync_holidays(calendar_id=calendar.pk, years=[year])
    rows = CalendarDay.objects.filter(calendar=calendar, date__year=year)
    assert rows.exists()
    assert set(rows.values_list("source", flat=True)) == {CalendarDay.Source.ESTIMATE}
    assert set(rows.values_list("kind", flat=True)) == {CalendarDay.Kind.HOLIDAY}
    assert all(row.date.weekday() < 5 for row in rows)
    assert rows.filter(date=datetime.date(year, 10, 1)).exists() or datetime.date(
        year, 10, 1).weekday() >= 5


def test_an_estimate_the_official_schedule_does_not_confirm_is_removed():
    calendar = WorkingCalendarFactory()
    stale = CalendarDay.objects.create(
        calendar=calendar, date=datetime.date(2026, 3, 11), kind=CalendarDay.Kind.HOLIDAY,
        name="guess", source=CalendarDay.Source.ESTIMATE)
    manual = CalendarDay.objects.create(
        calendar=calendar, date=datetime.date(2026, 3, 12), kind=CalendarDay.Kind.HOLIDAY,
        name="company outing", source=CalendarDay.Source.MANUAL)
    working_calendar_sync_holidays(calendar_id=calendar.pk, years=[2026])
    assert not CalendarDay.objects.filter(pk=stale.pk).exists()
    assert CalendarDay.objects.get(pk=manual.pk).name == "company outing"
    national_day = CalendarDay.objects.get(calendar=calendar, date=datetime.date(2026, 10, 1))
    assert national_day.source == CalendarDay.Source.PACKAGE
    assert working_calendar_sync_holidays(calendar_id=calendar.pk, years=[2026]) == 0
