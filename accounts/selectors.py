"""Reads, and the answer to "what may this user see". Views, API and admin start here."""

import datetime

from django.db.models import QuerySet

from chemmall.db import Prepared

from .calendar import CalendarRules, add_working_time, working_time_between
from .models import (
    CalendarDay,
    Company,
    Depot,
    Membership,
    Organization,
    Region,
    Role,
    User,
    WorkingCalendar,
)


def _is_authenticated(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


# --- Scoping ----------------------------------------------------------------------------------


def organizations_visible_to(user) -> QuerySet[Organization]:
    qs = Organization.objects.select_related("parent", "calendar")
    if not _is_authenticated(user):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.organization_id:
        return qs.filter(user.organization.subtree_q())
    return qs.none()


def companies_visible_to(user) -> QuerySet[Company]:
    """HQ staff: every company. Subsidiary staff: the companies their subsidiary serves.
    A buyer: its own company. Anyone else: none."""
    qs = Company.objects.select_related("province", "city")
    if not _is_authenticated(user):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.organization_id:
        return qs.filter(served_by__in=user.organization.subtree()).distinct()
    return qs.filter(memberships__user=user)


def users_visible_to(user) -> QuerySet[User]:
    qs = User.objects.select_related("organization", "membership__company")
    if not _is_authenticated(user):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.organization_id:
        return qs.filter(organization__in=user.organization.subtree())
    company_id = user_company_id(user)
    if company_id is not None:
        return qs.filter(membership__company_id=company_id)
    return qs.filter(pk=user.pk)


def depots_visible_to(user) -> QuerySet[Depot]:
    """Depots a user manages: HQ all, subsidiary staff theirs, operators the ones they run."""
    qs = Depot.objects.select_related("organization", "region")
    if not _is_authenticated(user):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.has_role(Role.DEPOT_OPERATOR) and not user.has_role(Role.SUBSIDIARY_MANAGER):
        return qs.filter(operators=user)
    if user.organization_id:
        return qs.filter(organization__in=user.organization.subtree())
    return qs.none()


def memberships_visible_to(user) -> QuerySet[Membership]:
    return Membership.objects.select_related("user", "company").filter(
        company__in=companies_visible_to(user)
    )


def calendars_visible_to(user) -> QuerySet[WorkingCalendar]:
    if not _is_authenticated(user):
        return WorkingCalendar.objects.none()
    if user.is_hq_staff:
        return WorkingCalendar.objects.all()
    if user.organization_id:
        return WorkingCalendar.objects.filter(
            organizations__in=user.organization.subtree()
        ).distinct()
    return WorkingCalendar.objects.none()


# --- Users and companies ----------------------------------------------------------------------


# A user has one membership (one-to-one): no ordering, so no join for the default one.
# Compiled once: checkout and intake ask it for every order and inquiry.
_user_company = Prepared(lambda user_id: Membership.objects.filter(user_id=user_id).order_by()
                         .values_list("company_id", flat=True)[:1])


def user_company_id(user) -> int | None:
    if user is None or user.pk is None:
        return None
    return _user_company.first(user_id=user.pk)


_serving = Prepared(lambda company_id, organization_ids: Company.served_by.through.objects
                    .filter(company_id=company_id, organization_id__in=organization_ids)
                    .values_list("organization_id", flat=True))


def organizations_serving(*, company_id: int, organization_ids) -> set[int]:
    """Which of these organisations already deal with the company (`served_by`): asked by
    every checkout and intake before `company_mark_served`."""
    organization_ids = [int(pk) for pk in organization_ids]
    if not organization_ids:
        return set()
    return set(_serving.all(company_id=company_id, organization_ids=organization_ids))


def user_is_company_admin(*, user, company_id: int) -> bool:
    return Membership.objects.filter(user=user, company_id=company_id, is_admin=True).exists()


def company_members(*, company_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(company_id=company_id).select_related("user").order_by(
        "-is_admin", "user__full_name", "user__email"
    )


# --- Regions ----------------------------------------------------------------------------------


def provinces() -> QuerySet[Region]:
    return Region.objects.filter(level=Region.Level.PROVINCE)


def cities() -> QuerySet[Region]:
    return Region.objects.filter(level=Region.Level.CITY)


# --- Working time -----------------------------------------------------------------------------


# Every intake and escalation works out a deadline: compiled once (chemmall.db.Prepared).
_calendar_days = Prepared(lambda calendar_id: CalendarDay.objects.filter(calendar_id=calendar_id)
                          .values_list("date", "kind"))


def calendar_rules(calendar: WorkingCalendar) -> CalendarRules:
    """The calendar's rules with every dated exception; a few dozen rows a year."""
    from zoneinfo import ZoneInfo

    days = _calendar_days.all(calendar_id=calendar.pk)
    holidays = frozenset(d for d, kind in days if kind == CalendarDay.Kind.HOLIDAY)
    makeup = frozenset(d for d, kind in days if kind == CalendarDay.Kind.WORKDAY)
    return CalendarRules(
        tz=ZoneInfo(calendar.timezone),
        day_start=calendar.day_start,
        day_end=calendar.day_end,
        break_start=calendar.break_start,
        break_end=calendar.break_end,
        workweek=frozenset(int(d) - 1 for d in calendar.workdays),
        holidays=holidays,
        makeup_workdays=makeup,
    )


def working_deadline(
    *, organization: Organization, start: datetime.datetime, hours: float | int
) -> datetime.datetime:
    """`start` plus `hours` working hours on the organisation's calendar."""
    rules = calendar_rules(organization.calendar)
    return add_working_time(rules, start=start, duration=datetime.timedelta(hours=hours))


def working_minutes_between(
    *, organization: Organization, start: datetime.datetime, end: datetime.datetime
) -> int:
    rules = calendar_rules(organization.calendar)
    return int(working_time_between(rules, start=start, end=end).total_seconds() // 60)
