"""The orders admin: scoped changelists, moves through actions that call the services."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from orders import services
from orders.models import CompanyLicence, Order, OutboxMessage
from tests.factories import TEST_PASSWORD, BuyerFactory, DepotFactory, StaffFactory
from tests.orders.factories import CarrierFactory, LicenceFactory, sellable

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
    # Cancelling asks for the reason first (the service insists on one for staff).
    response = client.post(CHANGELIST, {"action": "cancel", "_selected_action": [order.pk]})
    assert response.status_code == 200 and 'name="reason"' in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    client.post(CHANGELIST, {"action": "cancel", "_selected_action": [order.pk], "apply": "1",
                             "reason": "Out of production"})
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.events.get(to_status="cancelled").note == "Out of production"


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


# --- Actions for each role --------------------------------------------------------------------

S = Order.Status


def _messages(response) -> list[str]:
    return [str(m.message) for m in response.context["messages"]]


def _act(client, action, orders, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in orders], **extra}
    return client.post(CHANGELIST, data, follow=True)


def _actions_offered(client) -> set[str]:
    page = client.get(CHANGELIST).content.decode()
    return set(re.findall(r'<option value="([a-z_]+)">', page))


@pytest.fixture
def finance(staff_by_role):
    return staff_by_role[Role.FINANCE]


@pytest.fixture
def delivery(place, buyer, subsidiary):
    carrier = CarrierFactory(name="Sure Freight")
    (order,) = place(buyer, [(sellable(seller=subsidiary), 2)], carrier_id=carrier.pk,
                     po_number="PO-DELIVERY-7")
    return order


def test_a_delivery_order_goes_all_the_way_through_the_actions(client, delivery, cco, finance):
    _login(client, cco)
    assert {"confirm", "mark_ready", "mark_shipped", "mark_delivered", "complete",
            "cancel"} <= _actions_offered(client)
    assert not {"payment_received", "approve_credit"} & _actions_offered(client)
    response = _act(client, "confirm", [delivery])
    assert "1 order confirmed." in _messages(response)
    # A forged finance action from a CCO is refused with a message and changes nothing.
    response = _act(client, "payment_received", [delivery])
    assert _messages(response) == ["No action selected."]
    delivery.refresh_from_db()
    assert delivery.status == S.CONFIRMED

    _login(client, finance)
    assert {"payment_received", "approve_credit"} <= _actions_offered(client)
    response = _act(client, "payment_received", [delivery])
    assert "Payment of 1 order recorded." in _messages(response)
    delivery.refresh_from_db()
    assert delivery.status == S.PAID
    assert delivery.events.get(to_status=S.PAID).actor == finance

    _login(client, cco)
    _act(client, "mark_ready", [delivery])
    delivery.refresh_from_db()
    assert delivery.status == S.READY
    page = _act(client, "mark_shipped", [delivery]).content.decode()
    assert f'name="tracking_{delivery.pk}"' in page and "Sure Freight (as ordered)" in page
    delivery.refresh_from_db()
    assert delivery.status == S.READY  # the first step only asks
    response = _act(client, "mark_shipped", [delivery], apply="1",
                    **{f"tracking_{delivery.pk}": " SF1234567 ", f"carrier_{delivery.pk}": ""})
    assert "1 order shipped." in _messages(response)
    delivery.refresh_from_db()
    assert delivery.status == S.SHIPPED
    assert (delivery.carrier.name, delivery.tracking_number) == ("Sure Freight", "SF1234567")
    _act(client, "mark_delivered", [delivery])
    delivery.refresh_from_db()
    assert delivery.status == S.DELIVERED
    response = _act(client, "complete", [delivery])
    assert "1 order completed." in _messages(response)
    delivery.refresh_from_db()
    assert delivery.status == S.COMPLETED


def test_each_order_reports_its_own_failure(client, place, buyer, subsidiary, cco):
    product = sellable(seller=subsidiary)
    (good,) = place(buyer, [(product, 1)])
    (gone,) = place(buyer, [(product, 1)])
    services.order_cancel(order_id=gone.pk, actor=buyer)
    _login(client, cco)
    response = _act(client, "confirm", [good, gone])
    assert response.status_code == 200
    msgs = _messages(response)
    assert "1 order confirmed." in msgs
    assert f"{gone.number}: Order {gone.number} cannot go from “Cancelled” to “Confirmed”." in msgs
    good.refresh_from_db()
    assert good.status == S.CONFIRMED
    response = _act(client, "complete", [good])
    assert _messages(response) == [
        f"{good.number}: Order {good.number} cannot go from “Confirmed” to “Completed”."]


def test_a_pickup_order_cannot_be_shipped(client, place, buyer, subsidiary, cco, finance):
    depot = DepotFactory(organization=subsidiary)
    (order,) = place(buyer, [(sellable(seller=subsidiary, depots=[(depot, "5")]), 1)],
                     fulfilment="pickup", depot_id=depot.pk)
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    services.order_mark_ready(order_id=order.pk, actor=cco)
    _login(client, cco)
    response = _act(client, "mark_shipped", [order], apply="1")
    assert _messages(response) == [
        f"{order.number}: A pickup order is collected at the depot, not shipped."]
    order.refresh_from_db()
    assert order.status == S.READY


def test_shipping_with_another_carrier_or_a_bogus_one(client, delivery, cco, finance):
    services.order_confirm(order_id=delivery.pk, actor=cco)
    services.order_payment_confirm(order_id=delivery.pk, actor=finance)
    services.order_mark_ready(order_id=delivery.pk, actor=cco)
    other = CarrierFactory(name="Other Lines")
    _login(client, cco)
    assert f'<option value="{other.pk}">Other Lines' in _act(
        client, "mark_shipped", [delivery]).content.decode()
    response = _act(client, "mark_shipped", [delivery], apply="1",
                    **{f"carrier_{delivery.pk}": "abc"})
    assert _messages(response) == [f"{delivery.number}: This carrier is not available."]
    delivery.refresh_from_db()
    assert delivery.status == S.READY
    _act(client, "mark_shipped", [delivery], apply="1",
         **{f"carrier_{delivery.pk}": str(other.pk), f"tracking_{delivery.pk}": "OL-1"})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.carrier, delivery.tracking_number) == (
        S.SHIPPED, other, "OL-1")


def test_finance_approves_credit_in_the_admin(client, place, buyer, company, subsidiary,
                                              cco, finance):
    company.credit_limit, company.payment_terms_days = Decimal("10"), 30
    company.save()
    (order,) = place(buyer, [(sellable(seller=subsidiary), 5)], payment_method="credit")
    assert order.status == S.AWAITING_CREDIT
    _login(client, cco)
    assert _messages(_act(client, "approve_credit", [order])) == ["No action selected."]
    _login(client, finance)
    response = _act(client, "approve_credit", [order])
    assert "Credit for 1 order approved." in _messages(response)
    order.refresh_from_db()
    assert order.status == S.CREDIT_APPROVED
    # Paying a credit order is explained, not done.
    response = _act(client, "payment_received", [order])
    assert _messages(response) == [
        f"{order.number}: This order is on credit terms; there is no prepayment."]


def test_cancel_needs_a_reason(client, order, cco):
    _login(client, cco)
    response = _act(client, "cancel", [order], apply="1", reason="  ")
    assert response.status_code == 200
    assert "Please give the reason." in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.PLACED
    assert not order.events.filter(to_status=S.CANCELLED).exists()


def test_depot_operators_and_other_subsidiaries_cannot_act(client, order, staff_by_role,
                                                           other_subsidiary):
    _login(client, staff_by_role[Role.DEPOT_OPERATOR])  # view only: no actions at all
    assert _actions_offered(client) == set()
    _act(client, "confirm", [order])
    order.refresh_from_db()
    assert order.status == S.PLACED
    _login(client, StaffFactory(organization=other_subsidiary, roles=[Role.CCO]))
    response = _act(client, "confirm", [order])
    assert "1 order confirmed." not in _messages(response)
    order.refresh_from_db()
    assert order.status == S.PLACED


# --- Filters, search, detail ------------------------------------------------------------------


def test_open_filter_and_search(client, place, buyer, subsidiary, cco, delivery):
    (closed,) = place(buyer, [(sellable(seller=subsidiary), 1)])
    services.order_cancel(order_id=closed.pk, actor=buyer)
    _login(client, cco)
    open_page = client.get(CHANGELIST, {"open": "yes"}).content.decode()
    assert delivery.number in open_page and closed.number not in open_page
    closed_page = client.get(CHANGELIST, {"open": "no"}).content.decode()
    assert closed.number in closed_page and delivery.number not in closed_page
    found = client.get(CHANGELIST, {"q": "PO-DELIVERY-7"}).content.decode()
    assert delivery.number in found and closed.number not in found
    by_company = client.get(CHANGELIST, {"q": buyer.membership.company.name}).content.decode()
    assert delivery.number in by_company


def test_seller_filter_offers_only_visible_sellers(client, order, cco, other_subsidiary):
    _login(client, cco)
    page = client.get(CHANGELIST).content.decode()
    assert str(order.seller) in page
    assert str(other_subsidiary) not in page


def test_order_page_shows_lines_remaining_timeline_and_pickups(client, place, buyer,
                                                               subsidiary, cco, finance):
    depot = DepotFactory(organization=subsidiary)
    operator = StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR])
    depot.operators.add(operator)
    (order,) = place(buyer, [(sellable(seller=subsidiary, depots=[(depot, "9")]), 7)],
                     fulfilment="pickup", depot_id=depot.pk)
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    services.order_mark_ready(order_id=order.pk, actor=cco)
    pickup = services.pickup_record(actor=operator, order_id=order.pk,
                                    quantities={order.lines.get().pk: "3"},
                                    collected_by="Driver Wu", vehicle_plate="苏E99999")
    _login(client, cco)
    page = client.get(f"{CHANGELIST}{order.pk}/change/").content.decode()
    assert pickup.receipt_number in page and "Driver Wu" in page and "苏E99999" in page
    assert "Remaining" in page and "Partially picked up" in page
    assert re.search(r'field-remaining">\s*<p>4(\.000)?</p>', page)
    assert 'name="_save"' in page  # notes stay editable …
    assert 'name="status"' not in page  # … the status does not


# --- Pickups and the outbox -------------------------------------------------------------------


def test_pickup_admin_is_scoped_and_read_only(client, place, buyer, subsidiary, cco, finance,
                                              other_subsidiary):
    depot = DepotFactory(organization=subsidiary)
    operator = StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR])
    depot.operators.add(operator)
    (order,) = place(buyer, [(sellable(seller=subsidiary, depots=[(depot, "9")]), 2)],
                     fulfilment="pickup", depot_id=depot.pk)
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    services.order_mark_ready(order_id=order.pk, actor=cco)
    pickup = services.pickup_record(actor=operator, order_id=order.pk,
                                    quantities={order.lines.get().pk: "1"},
                                    collected_by="Driver Wu")
    url = "/admin/orders/pickup/"
    _login(client, cco)
    assert pickup.receipt_number in client.get(url).content.decode()
    detail = client.get(f"{url}{pickup.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.get(f"{url}add/").status_code == 403
    _login(client, StaffFactory(organization=other_subsidiary, roles=[Role.CCO]))
    assert pickup.receipt_number not in client.get(url).content.decode()
    assert client.get(f"{url}{pickup.pk}/change/").status_code == 302  # not found


OUTBOX = "/admin/orders/outboxmessage/"


def test_outbox_is_scoped_and_failed_messages_can_be_retried(
        client, cco, order, buyer, subsidiary_manager, hq_manager,
        django_capture_on_commit_callbacks):
    to_buyer = OutboxMessage.objects.get(to_email=buyer.email, kind="order_placed")
    to_cco = OutboxMessage.objects.get(to_email=cco.email)
    OutboxMessage.objects.filter(pk=to_buyer.pk).update(
        status=OutboxMessage.Status.FAILED, attempts=8, last_error="SMTPServerDisconnected")

    _login(client, cco)  # no permission on the outbox
    assert client.get(OUTBOX).status_code == 403
    _login(client, subsidiary_manager)  # mails to their own staff only; read-only
    page = client.get(OUTBOX).content.decode()
    assert cco.email in page and buyer.email not in page
    assert "retry_now" not in page
    _login(client, hq_manager)
    page = client.get(OUTBOX).content.decode()
    assert buyer.email in page and "SMTPServerDisconnected" in page
    detail = client.get(f"{OUTBOX}{to_buyer.pk}/change/").content.decode()
    assert 'name="_save"' not in detail

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(OUTBOX, {"action": "retry_now",
                                        "_selected_action": [to_buyer.pk, to_cco.pk]},
                               follow=True)
    msgs = _messages(response)
    assert "1 message queued for sending." in msgs
    assert any("only failed messages are retried" in m for m in msgs)
    to_buyer.refresh_from_db()
    assert to_buyer.status == OutboxMessage.Status.SENT and to_buyer.last_error == ""
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [buyer.email]
    to_cco.refresh_from_db()
    assert to_cco.status == OutboxMessage.Status.PENDING  # untouched


# --- Query counts -----------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


def test_changelists_take_a_constant_number_of_queries(client, place, buyer, subsidiary, cco,
                                                       django_assert_max_num_queries):
    product = sellable(seller=subsidiary)
    place(buyer, [(product, 1)])
    _login(client, cco)
    few = _queries(client, CHANGELIST)
    for _i in range(6):
        place(BuyerFactory(), [(product, 1)], address_id=None, fulfilment="pickup",
              depot_id=product.stocks.first().depot_id)
    assert _queries(client, CHANGELIST) == few
    with django_assert_max_num_queries(16):
        client.get(CHANGELIST)


def test_a_completed_order_is_returned_with_a_reason(client, delivery, cco, finance):
    services.order_confirm(order_id=delivery.pk, actor=cco)
    services.order_payment_confirm(order_id=delivery.pk, actor=finance)
    services.order_mark_ready(order_id=delivery.pk, actor=cco)
    services.order_ship(order_id=delivery.pk, actor=cco, tracking_number="SF1")
    services.order_complete(order_id=delivery.pk, actor=cco)
    _login(client, cco)
    page = _act(client, "mark_returned", [delivery]).content.decode()
    assert 'name="reason"' in page and "Reason for the return" in page
    response = _act(client, "mark_returned", [delivery], apply="1", reason="Wrong grade")
    assert "1 order returned." in _messages(response)
    delivery.refresh_from_db()
    assert delivery.status == S.RETURNED
    assert delivery.events.get(to_status=S.RETURNED).note == "Wrong grade"


def test_finance_records_a_credit_invoice_paid_in_the_admin(client, place, buyer, company,
                                                            subsidiary, cco, finance):
    company.credit_limit, company.payment_terms_days = Decimal("100000"), 30
    company.save()
    (order,) = place(buyer, [(sellable(seller=subsidiary), 1)], payment_method="credit")
    services.order_confirm(order_id=order.pk, actor=cco)
    _login(client, cco)
    assert "invoice_paid" not in _actions_offered(client)
    _login(client, finance)
    response = _act(client, "invoice_paid", [order])
    assert "Invoice of 1 order recorded as paid." in _messages(response)
    order.refresh_from_db()
    assert order.paid_at is not None
