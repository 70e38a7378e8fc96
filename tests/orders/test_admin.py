"""The orders admin: scoped changelists, moves through actions that call the services."""

import pytest

from accounts.models import Role
from orders.models import CompanyLicence, Order
from tests.factories import TEST_PASSWORD, StaffFactory
from tests.orders.factories import LicenceFactory, sellable

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/order/"


@pytest.fixture
def order(place, buyer, subsidiary):
    (order,) = place(buyer, [(sellable(seller=subsidiary), 1)])
    return order


def _login(client, user):
    assert client.login(email=user.email, password=TEST_PASSWORD)


@pytest.mark.parametrize("role", [Role.CCO, Role.SUBSIDIARY_MANAGER, Role.FINANCE,
                                  Role.DEPOT_OPERATOR, Role.HQ_MANAGER])
def test_changelist_and_detail_load_for_every_staff_role(client, order, staff_by_role, role):
    _login(client, staff_by_role[role])
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert order.number in response.content.decode()
    assert client.get(f"{CHANGELIST}{order.pk}/change/").status_code == 200


def test_other_subsidiary_staff_do_not_see_the_order(client, order, other_subsidiary):
    _login(client, StaffFactory(organization=other_subsidiary, roles=[Role.CCO]))
    assert order.number not in client.get(CHANGELIST).content.decode()
    assert client.get(f"{CHANGELIST}{order.pk}/change/").status_code == 302  # not found


def test_confirm_and_cancel_actions_call_the_services(client, order, cco):
    _login(client, cco)
    client.post(CHANGELIST, {"action": "confirm", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert order.events.get(to_status="confirmed").actor == cco
    client.post(CHANGELIST, {"action": "cancel", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_licence_review_is_finance_only(client, company, staff_by_role):
    licence = LicenceFactory(company=company, status=CompanyLicence.Status.PENDING)
    company.served_by.add(staff_by_role[Role.FINANCE].organization)
    url = "/admin/orders/companylicence/"
    _login(client, staff_by_role[Role.FINANCE])
    client.post(url, {"action": "approve", "_selected_action": [licence.pk]})
    licence.refresh_from_db()
    assert licence.status == CompanyLicence.Status.APPROVED
    assert licence.reviewed_by == staff_by_role[Role.FINANCE]
    _login(client, staff_by_role[Role.CCO])
    client.post(url, {"action": "reject", "_selected_action": [licence.pk]})
    licence.refresh_from_db()
    assert licence.status == CompanyLicence.Status.APPROVED
