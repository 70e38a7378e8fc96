"""Who sees what: the scoping selectors every view, API and admin page starts from."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import selectors
from accounts.models import Company, Role
from tests.factories import (
    BuyerFactory,
    CompanyFactory,
    DepotFactory,
    StaffFactory,
    SubsidiaryFactory,
    UserFactory,
    WorkingCalendarFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(hq, subsidiary, other_subsidiary, company):
    """Two subsidiaries, each with customers and a depot; one customer shared by both."""
    company.served_by.add(subsidiary)
    other_customer = CompanyFactory()
    other_customer.served_by.add(other_subsidiary)
    shared_customer = CompanyFactory()
    shared_customer.served_by.add(subsidiary, other_subsidiary)
    return {
        "company": company,
        "other_customer": other_customer,
        "shared_customer": shared_customer,
        "unserved": CompanyFactory(),
        "depot": DepotFactory(organization=subsidiary),
        "second_depot": DepotFactory(organization=subsidiary),
        "other_depot": DepotFactory(organization=other_subsidiary),
    }


def ids(qs):
    return set(qs.values_list("pk", flat=True))


# --- companies --------------------------------------------------------------------------------


def test_buyer_sees_only_own_company(world, buyer):
    assert list(selectors.companies_visible_to(buyer)) == [world["company"]]


def test_non_admin_buyer_sees_own_company_too(world):
    colleague = BuyerFactory(company=world["company"], is_company_admin=False)
    assert list(selectors.companies_visible_to(colleague)) == [world["company"]]


def test_outsider_buyer_does_not_see_company(world, outsider_buyer):
    visible = selectors.companies_visible_to(outsider_buyer)
    assert world["company"] not in visible
    assert visible.count() == 1


def test_cco_sees_only_companies_its_subsidiary_serves(world, cco):
    assert ids(selectors.companies_visible_to(cco)) == {
        world["company"].pk, world["shared_customer"].pk}


def test_cco_of_other_subsidiary_sees_none_of_them(world, other_subsidiary):
    other_cco = StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    visible = ids(selectors.companies_visible_to(other_cco))
    assert visible == {world["other_customer"].pk, world["shared_customer"].pk}
    assert world["company"].pk not in visible


def test_shared_customer_appears_once(world, subsidiary):
    manager = StaffFactory(organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER])
    qs = selectors.companies_visible_to(manager)
    assert qs.filter(pk=world["shared_customer"].pk).count() == 1
    assert qs.count() == 2


def test_hq_manager_sees_all_companies(world, hq_manager):
    assert ids(selectors.companies_visible_to(hq_manager)) == ids(Company.objects.all())
    assert world["unserved"] in selectors.companies_visible_to(hq_manager)


def test_hq_finance_sees_all_companies(world, hq):
    finance = StaffFactory(organization=hq, roles=[Role.FINANCE])
    assert ids(selectors.companies_visible_to(finance)) == ids(Company.objects.all())


def test_superuser_sees_all_companies(world):
    superuser = UserFactory(is_superuser=True)
    assert ids(selectors.companies_visible_to(superuser)) == ids(Company.objects.all())


def test_anonymous_sees_no_companies(world):
    assert not selectors.companies_visible_to(AnonymousUser()).exists()


def test_inactive_buyer_sees_no_companies(world, buyer):
    buyer.is_active = False
    buyer.save()
    assert not selectors.companies_visible_to(buyer).exists()


def test_user_without_company_or_organisation_sees_no_companies(world):
    assert not selectors.companies_visible_to(UserFactory(roles=[Role.DEALER])).exists()


def test_memberships_follow_company_scope(world, buyer, outsider_buyer, cco):
    assert ids(selectors.memberships_visible_to(buyer)) == {buyer.membership.pk}
    assert outsider_buyer.membership.pk not in ids(selectors.memberships_visible_to(cco))
    assert buyer.membership.pk in ids(selectors.memberships_visible_to(cco))


# --- users ------------------------------------------------------------------------------------


def test_buyer_sees_own_colleagues_only(world, buyer, outsider_buyer, cco):
    colleague = BuyerFactory(company=world["company"])
    assert ids(selectors.users_visible_to(buyer)) == {buyer.pk, colleague.pk}


def test_subsidiary_staff_see_their_subsidiarys_staff(subsidiary, other_subsidiary, cco,
                                                     subsidiary_manager, buyer, hq_manager):
    other_cco = StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    assert ids(selectors.users_visible_to(cco)) == {cco.pk, subsidiary_manager.pk}
    assert other_cco.pk not in ids(selectors.users_visible_to(subsidiary_manager))


def test_hq_manager_sees_every_user(cco, buyer, outsider_buyer, hq_manager):
    assert {cco.pk, buyer.pk, outsider_buyer.pk, hq_manager.pk} <= ids(
        selectors.users_visible_to(hq_manager))


def test_user_without_company_sees_only_self(buyer):
    dealer = UserFactory(roles=[Role.DEALER])
    assert ids(selectors.users_visible_to(dealer)) == {dealer.pk}


def test_anonymous_sees_no_users(buyer):
    assert not selectors.users_visible_to(AnonymousUser()).exists()


# --- organisations ----------------------------------------------------------------------------


def test_subsidiary_staff_see_only_own_subsidiary(hq, subsidiary, other_subsidiary, cco,
                                                  subsidiary_manager):
    assert list(selectors.organizations_visible_to(cco)) == [subsidiary]
    assert list(selectors.organizations_visible_to(subsidiary_manager)) == [subsidiary]


def test_hq_staff_see_all_organisations(hq, subsidiary, other_subsidiary, hq_manager):
    assert ids(selectors.organizations_visible_to(hq_manager)) == {
        hq.pk, subsidiary.pk, other_subsidiary.pk}


def test_buyer_and_anonymous_see_no_organisations_to_manage(subsidiary, buyer):
    assert not selectors.organizations_visible_to(buyer).exists()
    assert not selectors.organizations_visible_to(AnonymousUser()).exists()


# --- depots -----------------------------------------------------------------------------------


def test_depot_operator_sees_only_depots_he_operates(world, subsidiary):
    operator = StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR])
    world["depot"].operators.add(operator)
    assert list(selectors.depots_visible_to(operator)) == [world["depot"]]


def test_depot_operator_without_depot_sees_none(world, subsidiary):
    operator = StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR])
    assert not selectors.depots_visible_to(operator).exists()


def test_subsidiary_manager_sees_the_subsidiarys_depots(world, subsidiary_manager):
    assert ids(selectors.depots_visible_to(subsidiary_manager)) == {
        world["depot"].pk, world["second_depot"].pk}


def test_operator_who_is_also_manager_sees_all_subsidiary_depots(world, subsidiary):
    user = StaffFactory(organization=subsidiary,
                        roles=[Role.DEPOT_OPERATOR, Role.SUBSIDIARY_MANAGER])
    world["depot"].operators.add(user)
    assert ids(selectors.depots_visible_to(user)) == {world["depot"].pk, world["second_depot"].pk}


def test_hq_manager_sees_all_depots(world, hq_manager):
    assert selectors.depots_visible_to(hq_manager).count() == 3


def test_buyer_sees_no_depots(world, buyer):
    assert not selectors.depots_visible_to(buyer).exists()
    assert not selectors.depots_visible_to(AnonymousUser()).exists()


# --- calendars --------------------------------------------------------------------------------


def test_calendars_visible_to(hq, subsidiary, hq_manager, cco, buyer):
    own = WorkingCalendarFactory(name="Own calendar")
    sub = SubsidiaryFactory(parent=hq, calendar=own)
    unused = WorkingCalendarFactory(name="Unused")
    sub_cco = StaffFactory(organization=sub, roles=[Role.CCO])

    assert ids(selectors.calendars_visible_to(sub_cco)) == {own.pk}
    assert ids(selectors.calendars_visible_to(cco)) == {subsidiary.calendar_id}
    assert ids(selectors.calendars_visible_to(hq_manager)) == {
        own.pk, unused.pk, hq.calendar_id}
    assert not selectors.calendars_visible_to(buyer).exists()
    assert not selectors.calendars_visible_to(AnonymousUser()).exists()


def test_calendar_shared_by_two_subsidiaries_appears_once(subsidiary, other_subsidiary, cco):
    assert subsidiary.calendar_id == other_subsidiary.calendar_id
    assert selectors.calendars_visible_to(cco).count() == 1


# --- small reads ------------------------------------------------------------------------------


def test_user_company_and_admin_flags(world, buyer, cco):
    colleague = BuyerFactory(company=world["company"])
    assert selectors.user_company_id(buyer) == world["company"].pk
    assert selectors.user_company_id(cco) is None
    assert selectors.user_is_company_admin(user=buyer, company_id=world["company"].pk)
    assert not selectors.user_is_company_admin(user=colleague, company_id=world["company"].pk)
    assert [m.user for m in selectors.company_members(company_id=world["company"].pk)][0] == buyer


def test_provinces_and_cities():
    assert selectors.provinces().count() == 34
    assert selectors.cities().filter(code="320500", parent_id="320000").exists()
