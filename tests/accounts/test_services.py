"""accounts.services: registration, invitations, roles and the holiday import."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from accounts import services
from accounts.calendar import china_holiday_rows
from accounts.models import CalendarDay, Company, Membership, Role, User
from accounts.permissions import ROLE_PERMISSIONS
from chemmall.errors import ConflictError, DomainError
from tests.factories import (
    TEST_PASSWORD,
    BuyerFactory,
    CompanyFactory,
    StaffFactory,
    UserFactory,
    WorkingCalendarFactory,
    valid_uscc,
)


def register(**overrides):
    data = {
        "company_name": " 苏州测试化工有限公司 ",
        "uscc": valid_uscc(777),
        "province_code": "320000",
        "city_code": "320500",
        "address": "苏州工业园区星湖街 1 号",
        "email": "Boss@Example.com",
        "full_name": "Zhang Boss",
        "password": TEST_PASSWORD,
    }
    data.update(overrides)
    return services.company_register(**data)


def counts():
    return Company.objects.count(), User.objects.count(), Membership.objects.count()


def assert_register_refused(error, field, **overrides):
    """`register(**overrides)` raises `error` about `field` and saves nothing."""
    before = counts()
    with pytest.raises(error) as excinfo:
        register(**overrides)
    assert excinfo.value.field == field
    assert counts() == before


# --- company_register -------------------------------------------------------------------------


@pytest.mark.django_db
def test_company_register_creates_company_admin_and_buyer_role():
    user = register()

    company = Company.objects.get(uscc=valid_uscc(777))
    assert company.name == "苏州测试化工有限公司"
    assert (company.province_id, company.city_id) == ("320000", "320500")
    assert user.email == "boss@example.com"
    assert user.check_password(TEST_PASSWORD)
    assert user.membership.company == company
    assert user.membership.is_admin
    assert user.has_role(Role.BUYER)
    assert not user.is_staff
    assert list(company.members.all()) == [user]


@pytest.mark.django_db
def test_company_register_normalises_lowercase_uscc():
    register(uscc="91110000600037341l")
    assert Company.objects.filter(uscc="91110000600037341L").exists()


@pytest.mark.django_db
def test_company_register_without_city():
    user = register(city_code=None)
    assert user.membership.company.city is None


@pytest.mark.django_db
@pytest.mark.parametrize("uscc", ["91110000600037341M", "9111000060003734", "91110000I00037341L",
                                  ""])
def test_company_register_bad_uscc_saves_nothing(uscc):
    assert_register_refused(DomainError, "uscc", uscc=uscc)


@pytest.mark.django_db
def test_company_register_uscc_with_separators_is_a_domain_error():
    # The stored code is the bare 18 characters; never a raw ValidationError, which the views
    # would turn into a 500.
    assert_register_refused(DomainError, "uscc", uscc="91110000-600037341L")


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["91110000600037341L", "91110000600037341l"])
def test_company_register_duplicate_uscc_is_a_conflict(given):
    CompanyFactory(uscc="91110000600037341L")
    assert_register_refused(ConflictError, "uscc", uscc=given)


@pytest.mark.django_db
def test_company_register_city_outside_province_saves_nothing():
    # Hangzhou is in Zhejiang
    assert_register_refused(DomainError, "city", province_code="320000", city_code="330100")


@pytest.mark.django_db
@pytest.mark.parametrize("province", ["320500", "999999", ""])
def test_company_register_unknown_province_saves_nothing(province):
    assert_register_refused(DomainError, "province", province_code=province, city_code=None)


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@Example.com"])
def test_company_register_duplicate_email_saves_nothing(email):
    UserFactory(email="taken@example.com")
    assert_register_refused(ConflictError, "email", email=email)


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short", "1234567890123", "password1234", "boss@example.com"])
def test_company_register_weak_password_saves_nothing(password):
    assert_register_refused(DomainError, "password", password=password)


@pytest.mark.django_db
def test_company_register_blank_company_name_saves_nothing():
    assert_register_refused(DomainError, "name", company_name="   ")


# --- company_member_invite --------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_invites_colleague(buyer, company, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invited = services.company_member_invite(
            company_id=company.pk, inviter=buyer, email="New.Colleague@Example.com",
            full_name="New Colleague")

    assert len(callbacks) == 1
    invited.refresh_from_db()
    assert invited.email == "new.colleague@example.com"
    assert not invited.has_usable_password()
    assert invited.membership.company == company
    assert invited.membership.invited_by == buyer
    assert not invited.membership.is_admin
    assert invited.has_role(Role.BUYER)
    assert not invited.is_staff
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["new.colleague@example.com"]
    assert company.name in mail.subject
    assert "/accounts/invitation/" in mail.body
    assert buyer.full_name in mail.body


@pytest.mark.django_db
def test_invitation_mail_waits_for_commit(buyer, company, mailoutbox,
                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.company_member_invite(company_id=company.pk, inviter=buyer,
                                       email="later@example.com", full_name="Later")
    assert len(callbacks) == 1
    assert mailoutbox == []  # nothing is sent while the transaction may still roll back


@pytest.mark.django_db
def test_admin_may_invite_another_admin(buyer, company, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invited = services.company_member_invite(
            company_id=company.pk, inviter=buyer, email="second@example.com",
            full_name="Second Admin", make_admin=True)
    assert invited.membership.is_admin


@pytest.mark.django_db
def test_non_admin_member_cannot_invite(company, mailoutbox, django_capture_on_commit_callbacks):
    member = BuyerFactory(company=company, is_company_admin=False)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Company.DoesNotExist):
        services.company_member_invite(company_id=company.pk, inviter=member,
                                       email="x@example.com", full_name="X")
    assert counts() == before
    assert mailoutbox == []


@pytest.mark.django_db
def test_admin_of_other_company_cannot_invite_into_company(company, mailoutbox,
                                                           django_capture_on_commit_callbacks):
    outsider_admin = BuyerFactory(is_company_admin=True)  # admin of its own company
    before = counts()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Company.DoesNotExist):
        services.company_member_invite(company_id=company.pk, inviter=outsider_admin,
                                       email="x@example.com", full_name="X")
    assert counts() == before
    assert mailoutbox == []


@pytest.mark.django_db
def test_staff_cannot_invite_into_a_company(company, cco):
    company.served_by.add(cco.organization)
    with pytest.raises(Company.DoesNotExist):
        services.company_member_invite(company_id=company.pk, inviter=cco,
                                       email="x@example.com", full_name="X")


@pytest.mark.django_db
def test_invite_existing_email_is_a_conflict(buyer, company, outsider_buyer):
    before = counts()
    with pytest.raises(ConflictError) as excinfo:
        services.company_member_invite(company_id=company.pk, inviter=buyer,
                                       email=outsider_buyer.email.upper(), full_name="X")
    assert excinfo.value.field == "email"
    assert counts() == before


# --- users and roles --------------------------------------------------------------------------


@pytest.mark.django_db
def test_user_set_roles_rejects_unknown_role():
    user = UserFactory(roles=[Role.BUYER])
    with pytest.raises(DomainError) as excinfo:
        services.user_set_roles(user=user, roles=[Role.CCO, "wizard"])
    assert excinfo.value.field == "roles"
    user = User.objects.get(pk=user.pk)
    assert user.roles == {Role.BUYER}
    assert not user.is_staff


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(Role.values))
def test_user_set_roles_sets_is_staff_for_staff_roles(role, subsidiary):
    user = UserFactory(organization=subsidiary)
    services.user_set_roles(user=user, roles=[role])
    user = User.objects.get(pk=user.pk)
    assert user.roles == {role}
    staff_roles = {Role.CCO, Role.SUBSIDIARY_MANAGER, Role.HQ_MANAGER, Role.FINANCE,
                   Role.DEPOT_OPERATOR}
    assert user.is_staff == (role in staff_roles)


@pytest.mark.django_db
def test_user_set_roles_removes_staff_status_with_the_last_staff_role(cco):
    services.user_set_roles(user=cco, roles=[Role.BUYER])
    cco = User.objects.get(pk=cco.pk)
    assert not cco.is_staff
    assert cco.roles == {Role.BUYER}


@pytest.mark.django_db
def test_user_set_roles_keeps_superuser_staff():
    admin = UserFactory(is_superuser=True, is_staff=True)
    services.user_set_roles(user=admin, roles=[])
    assert User.objects.get(pk=admin.pk).is_staff


@pytest.mark.django_db
def test_user_set_roles_refreshes_the_cached_roles(cco):
    assert cco.has_role(Role.CCO)
    services.user_set_roles(user=cco, roles=[Role.FINANCE])
    assert cco.has_role(Role.FINANCE) and not cco.has_role(Role.CCO)


@pytest.mark.django_db
def test_user_create_staff_needs_an_organisation():
    with pytest.raises(DomainError) as excinfo:
        services.user_create(email="cco@example.com", full_name="C", roles=[Role.CCO])
    assert excinfo.value.field == "organization"
    assert not User.objects.filter(email="cco@example.com").exists()


def _group_permissions() -> dict[str, set[str]]:
    return {
        group.name: {f"{p.content_type.app_label}.{p.codename}"
                     for p in group.permissions.select_related("content_type")}
        for group in Group.objects.filter(name__in=Role.values)
    }


@pytest.mark.django_db
def test_roles_sync_is_idempotent_and_matches_role_permissions():
    services.roles_sync()
    first = _group_permissions()
    services.roles_sync()
    assert _group_permissions() == first
    assert set(first) == set(Role.values)
    for role, perms in ROLE_PERMISSIONS.items():  # other apps add their own models' perms
        assert {p for p in first[role] if p.startswith("accounts.")} == perms
    assert "accounts.view_company" in first[Role.CCO]
    assert "accounts.change_company" not in first[Role.CCO]
    assert first[Role.BUYER] == set()


@pytest.mark.django_db
def test_roles_sync_removes_a_permission_added_by_hand():
    cco_group = Group.objects.get(name=Role.CCO)
    cco_group.permissions.add(Permission.objects.get(codename="delete_company"))
    services.roles_sync()
    assert not cco_group.permissions.filter(codename="delete_company").exists()


@pytest.mark.django_db
def test_role_groups_give_their_users_the_permissions(cco, hq_manager):
    assert cco.has_perm("accounts.view_company")
    assert not cco.has_perm("accounts.change_company")
    assert hq_manager.has_perm("accounts.add_organization")


# --- working calendar -------------------------------------------------------------------------


def _day(calendar, date):
    return CalendarDay.objects.get(calendar=calendar, date=date)


@pytest.mark.django_db
def test_sync_holidays_imports_2026():
    calendar = WorkingCalendarFactory()
    written = services.working_calendar_sync_holidays(calendar_id=calendar.pk, years=[2026])

    assert written == len(china_holiday_rows([2026])) > 0
    national_day = _day(calendar, datetime.date(2026, 10, 1))
    assert national_day.kind == CalendarDay.Kind.HOLIDAY
    assert national_day.source == CalendarDay.Source.PACKAGE
    assert national_day.name == "National Day"
    makeup = _day(calendar, datetime.date(2026, 10, 10))
    assert makeup.date.weekday() == 5  # a Saturday
    assert makeup.kind == CalendarDay.Kind.WORKDAY
    # an ordinary weekend is no exception row
    assert not CalendarDay.objects.filter(calendar=calendar, date="2026-10-03").exists()
    assert not CalendarDay.objects.filter(calendar=calendar, date__year=2025).exists()


@pytest.mark.django_db
def test_sync_holidays_twice_writes_nothing_the_second_time():
    calendar = WorkingCalendarFactory()
    services.working_calendar_sync_holidays(calendar_id=calendar.pk, years=[2026])
    rows = list(CalendarDay.objects.filter(calendar=calendar).values_list("date", "kind", "name"))

    assert services.working_calendar_sync_holidays(calendar_id=calendar.pk, years=[2026]) == 0
    assert list(
        CalendarDay.objects.filter(calendar=calendar).values_list("date", "kind", "name")
    ) == rows


@pytest.mark.django_db
def test_sync_holidays_keeps_a_manual_row_on_the_same_date():
    calendar = WorkingCalendarFactory()
    manual = CalendarDay.objects.create(
        calendar=calendar, date=datetime.date(2026, 10, 1), kind=CalendarDay.Kind.WORKDAY,
        name="Year-end stock-take", source=CalendarDay.Source.MANUAL)

    written = services.working_calendar_sync_holidays(calendar_id=calendar.pk, years=[2026])

    assert written == len(china_holiday_rows([2026])) - 1
    manual.refresh_from_db()
    assert (manual.kind, manual.name, manual.source) == (
        CalendarDay.Kind.WORKDAY, "Year-end stock-take", CalendarDay.Source.MANUAL)
    assert CalendarDay.objects.filter(calendar=calendar, date="2026-10-01").count() == 1


@pytest.mark.django_db
def test_sync_holidays_only_touches_its_calendar():
    calendar = WorkingCalendarFactory(name="A")
    other = WorkingCalendarFactory(name="B")
    services.working_calendar_sync_holidays(calendar_id=calendar.pk, years=[2026])
    assert not CalendarDay.objects.filter(calendar=other).exists()


@pytest.mark.django_db
def test_calendars_sync_holidays_skips_calendars_that_do_not_follow_china():
    following = WorkingCalendarFactory(name="China")
    own = WorkingCalendarFactory(name="Own rules", follow_china_holidays=False)
    written = services.calendars_sync_holidays(today=datetime.date(2026, 3, 1))
    assert written == CalendarDay.objects.filter(calendar=following).count()
    assert CalendarDay.objects.filter(calendar=following, date__year=2026).count() == len(
        china_holiday_rows([2026]))
    assert not CalendarDay.objects.filter(calendar=own).exists()
    assert not CalendarDay.objects.filter(~Q(calendar=following)).exists()


@pytest.mark.django_db
def test_company_mark_served_is_idempotent(company, subsidiary):
    services.company_mark_served(company_id=company.pk, organization_id=subsidiary.pk)
    services.company_mark_served(company_id=company.pk, organization_id=subsidiary.pk)
    assert list(company.served_by.all()) == [subsidiary]


@pytest.mark.django_db
def test_staff_factory_user_is_not_a_buyer(subsidiary):
    staff = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    assert not Membership.objects.filter(user=staff).exists()
