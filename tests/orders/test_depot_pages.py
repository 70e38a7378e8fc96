"""Depot operator pages: code lookup, partial pickups to completion, receipts, scoping."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from catalog.models import Stock
from orders import services
from orders.models import Order, Pickup
from tests.factories import TEST_PASSWORD, BuyerFactory, DepotFactory, StaffFactory
from tests.orders.factories import sellable

pytestmark = pytest.mark.django_db

D = Decimal
S = Order.Status
LOOKUP = "/depot/"


def _login(client, user):
    assert client.login(email=user.email, password=TEST_PASSWORD)


def _operator(depot):
    operator = StaffFactory(organization=depot.organization, roles=[Role.DEPOT_OPERATOR],
                            full_name=f"Operator of {depot.code}")
    depot.operators.add(operator)
    return operator


def _pickup_order(place, buyer, products, depot, quantities):
    (order,) = place(buyer, list(zip(products, quantities, strict=True)),
                     fulfilment="pickup", depot_id=depot.pk)
    return order


def _make_ready(order, *, cco, finance):
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    return services.order_mark_ready(order_id=order.pk, actor=cco)


@pytest.fixture
def depot(subsidiary):
    return DepotFactory(organization=subsidiary)


@pytest.fixture
def operator(depot):
    return _operator(depot)


@pytest.fixture
def goods(subsidiary, depot):
    """Two products with 10 and 5 on hand at the depot."""
    return (sellable(seller=subsidiary, depots=[(depot, "10")], name_en="Acetone drum"),
            sellable(seller=subsidiary, depots=[(depot, "5")], name_en="Ethanol can"))


@pytest.fixture
def placed(place, buyer, goods, depot):
    """A pickup order of 6 and 3, placed (not ready)."""
    return _pickup_order(place, buyer, goods, depot, [6, 3])


@pytest.fixture
def ready(placed, cco, staff_by_role):
    return _make_ready(placed, cco=cco, finance=staff_by_role[Role.FINANCE])


def _url(order) -> str:
    return f"/depot/pickup/{order.pickup_code}/"


def _post_data(order, quantities, *, collected_by="李师傅", plate="苏E12345"):
    lines = list(order.lines.order_by("pk"))
    data = {f"line_{line.pk}": q for line, q in zip(lines, quantities, strict=True)}
    data.update(collected_by=collected_by, vehicle_plate=plate)
    return data


def _picked_up(order) -> list[Decimal]:
    return list(order.lines.order_by("pk").values_list("picked_up", flat=True))


def _dashed_lower(code: str) -> str:
    return f" {code[:4].lower()}-{code[4:7]} {code[7:].lower()} "


# --- The flow ---------------------------------------------------------------------------------


def test_lookup_is_case_space_and_dash_tolerant(client, ready, operator):
    _login(client, operator)
    response = client.get(LOOKUP)
    assert response.status_code == 200
    assert 'name="code"' in response.content.decode()
    response = client.get(LOOKUP, {"code": _dashed_lower(ready.pickup_code)})
    assert response.status_code == 302
    assert response["Location"] == _url(ready)
    # A typed URL is tolerated the same way.
    response = client.get(f"/depot/pickup/{ready.pickup_code.lower()}/")
    assert response.status_code == 302 and response["Location"] == _url(ready)


def test_two_partial_pickups_to_completion(client, ready, goods, depot, operator):
    _login(client, operator)
    response = client.get(_url(ready))
    page = response.content.decode()
    assert response.status_code == 200
    assert ready.number in page and ready.company.name in page
    assert "Acetone drum" in page and "Ethanol can" in page
    assert "Ready" in page
    valid_until = ready.pickup_code_expires_on.isoformat()
    assert f"valid until {valid_until}" in page

    response = client.post(_url(ready), _post_data(ready, ["2", "3"]))
    first = Pickup.objects.get(order=ready)
    assert response.status_code == 302
    assert response["Location"] == f"/depot/receipts/{first.pk}/"
    ready.refresh_from_db()
    assert ready.status == S.PARTIALLY_PICKED_UP
    assert _picked_up(ready) == [D("2"), D("3")]
    assert (first.collected_by, first.vehicle_plate, first.recorded_by) == (
        "李师傅", "苏E12345", operator)

    receipt = client.get(response["Location"]).content.decode()
    assert first.receipt_number in receipt and f"{ready.number}-P1" in receipt
    assert "李师傅" in receipt and "苏E12345" in receipt and operator.full_name in receipt
    assert str(depot) in receipt and ready.company.name in receipt
    rows = _receipt_rows(receipt)
    assert rows == [["Acetone drum", "6", "2", "4"], ["Ethanol can", "3", "3", "0"]]

    page = client.get(_url(ready)).content.decode()
    assert _pickup_rows(page) == [["Acetone drum", "6", "2", "4"], ["Ethanol can", "3", "3", "0"]]
    assert first.receipt_number in page  # earlier pickups are listed

    response = client.post(_url(ready), _post_data(ready, ["4", ""], plate=""))
    assert response.status_code == 302
    ready.refresh_from_db()
    assert ready.status == S.COMPLETED
    assert _picked_up(ready) == [D("6"), D("3")]
    second = Pickup.objects.get(order=ready, sequence=2)
    receipt = client.get(f"/depot/receipts/{second.pk}/").content.decode()
    assert _receipt_rows(receipt) == [["Acetone drum", "6", "4", "0"],
                                      ["Ethanol can", "3", "—", "0"]]
    # The first receipt, printed again, still says what remained then.
    receipt = client.get(f"/depot/receipts/{first.pk}/").content.decode()
    assert _receipt_rows(receipt)[0] == ["Acetone drum", "6", "2", "4"]
    a, b = goods
    assert Stock.objects.get(product=a, depot=depot).on_hand == D("4")
    assert Stock.objects.get(product=b, depot=depot).on_hand == D("2")

    page = client.get(_url(ready)).content.decode()
    assert "Everything on this order has been picked up." in page
    listing = client.get("/depot/pickups/").content.decode()
    assert first.receipt_number in listing and second.receipt_number in listing


def _table_rows(html: str, start_marker: str) -> list[list[str]]:
    """The text of the cells of the first table body after `start_marker`."""
    import re

    body = html.split(start_marker, 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        texts = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]
        rows.append([t.split(" ")[0] if i else t for i, t in enumerate(texts)][:4])
    return rows


def _receipt_rows(html: str) -> list[list[str]]:
    return _table_rows(html, 'class="receipt"')


def _pickup_rows(html: str) -> list[list[str]]:
    return _table_rows(html, "<form method=\"post\"")


# --- Bad input and refusals -------------------------------------------------------------------


def test_more_than_remains_is_refused_and_nothing_changes(client, ready, operator):
    _login(client, operator)
    events = ready.events.count()
    response = client.post(_url(ready), _post_data(ready, ["7", "1"]))
    page = response.content.decode()
    assert response.status_code == 409
    assert "Only 6 kg of Acetone drum remain to be picked up." in page
    assert 'value="7"' in page and 'value="李师傅"' in page  # what was typed is kept
    ready.refresh_from_db()
    assert ready.status == S.READY and ready.events.count() == events
    assert _picked_up(ready) == [0, 0]
    assert not Pickup.objects.exists()


def test_second_operator_recording_what_is_gone_gets_a_conflict(client, ready, depot, operator):
    colleague = _operator(depot)
    _login(client, operator)
    client.get(_url(ready))  # both have the page open with 6 remaining
    services.pickup_record(actor=colleague, order_id=ready.pk,
                           quantities={ready.lines.order_by("pk")[0].pk: "6"},
                           collected_by="王师傅")
    response = client.post(_url(ready), _post_data(ready, ["6", ""]))
    page = response.content.decode()
    assert response.status_code == 409
    assert "Only 0 kg of Acetone drum remain to be picked up." in page
    assert _pickup_rows(page)[0] == ["Acetone drum", "6", "6", "0"]  # shows what is left now
    assert Pickup.objects.filter(order=ready).count() == 1
    assert _picked_up(ready) == [D("6"), 0]


@pytest.mark.parametrize("quantities, message", [
    (["abc", ""], "Enter the quantity as a number."),
    (["-1", ""], "The quantity cannot be negative."),
    (["", ""], "Enter the quantity handed over for at least one line."),
    (["0.0001", ""], "Quantities have at most three decimals."),
])
def test_bad_quantities_answer_400(client, ready, operator, quantities, message):
    _login(client, operator)
    response = client.post(_url(ready), _post_data(ready, quantities))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Pickup.objects.exists()


def test_collector_name_is_required(client, ready, operator):
    _login(client, operator)
    response = client.post(_url(ready), _post_data(ready, ["1", ""], collected_by=" "))
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Pickup.objects.exists()


def test_expired_code_is_refused(client, ready, operator):
    Order.objects.filter(pk=ready.pk).update(
        pickup_code_expires_on=timezone.localdate() - datetime.timedelta(days=1))
    _login(client, operator)
    page = client.get(_url(ready)).content.decode()
    assert "finance can extend the code" in page
    assert 'name="collected_by"' not in page  # no form to fill in
    response = client.post(_url(ready), _post_data(ready, ["1", ""]))
    assert response.status_code == 409
    assert "expired on" in response.content.decode()
    assert not Pickup.objects.exists()


def test_order_not_ready_yet_is_refused(client, placed, operator):
    _login(client, operator)
    page = client.get(_url(placed)).content.decode()
    assert "not ready for pickup yet" in page and 'name="collected_by"' not in page
    response = client.post(_url(placed), _post_data(placed, ["1", ""]))
    assert response.status_code == 409
    assert "nothing can be picked up now" in response.content.decode()
    assert not Pickup.objects.exists()


# --- Scope ------------------------------------------------------------------------------------


NOT_HERE = "No pickup order with this code at your depots."


def test_unknown_code_and_other_depots_order_get_the_same_404(client, ready, subsidiary):
    other_depot_operator = _operator(DepotFactory(organization=subsidiary))
    _login(client, other_depot_operator)
    unknown = client.get(LOOKUP, {"code": "ZZZZ-ZZZZ-ZZ"})
    foreign = client.get(LOOKUP, {"code": ready.pickup_code})
    assert unknown.status_code == foreign.status_code == 404
    assert NOT_HERE in unknown.content.decode() and NOT_HERE in foreign.content.decode()
    direct = client.get(_url(ready))
    assert direct.status_code == 404 and NOT_HERE in direct.content.decode()
    response = client.post(_url(ready), _post_data(ready, ["1", ""]))
    assert response.status_code == 404
    assert not Pickup.objects.exists()


@pytest.mark.parametrize("who", ["buyer", "cco", "subsidiary_manager"])
def test_users_without_the_depot_permission_get_404(client, ready, buyer, cco,
                                                    subsidiary_manager, who):
    user = {"buyer": buyer, "cco": cco, "subsidiary_manager": subsidiary_manager}[who]
    _login(client, user)
    assert client.get(LOOKUP).status_code == 404
    assert client.get(_url(ready)).status_code == 404
    assert client.post(_url(ready), _post_data(ready, ["1", ""])).status_code == 404
    assert client.get("/depot/pickups/").status_code == 404
    assert not Pickup.objects.exists()


def test_anonymous_users_are_sent_to_sign_in(client, ready):
    response = client.get(_url(ready))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_receipt_and_listing_of_another_depot_are_out_of_reach(client, ready, operator,
                                                                subsidiary):
    pickup = services.pickup_record(actor=operator, order_id=ready.pk,
                                    quantities={ready.lines.order_by("pk")[0].pk: "1"},
                                    collected_by="李师傅")
    other = _operator(DepotFactory(organization=subsidiary))
    _login(client, other)
    assert client.get(f"/depot/receipts/{pickup.pk}/").status_code == 404
    assert pickup.receipt_number not in client.get("/depot/pickups/").content.decode()
    _login(client, operator)
    assert client.get(f"/depot/receipts/{pickup.pk}/").status_code == 200


def test_buyer_cannot_open_a_receipt_of_its_own_pickup(client, ready, operator, buyer):
    pickup = services.pickup_record(actor=operator, order_id=ready.pk,
                                    quantities={ready.lines.order_by("pk")[0].pk: "1"},
                                    collected_by="李师傅")
    _login(client, buyer)
    assert client.get(f"/depot/receipts/{pickup.pk}/").status_code == 404


# --- Query counts -----------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


def test_pickup_page_and_listing_take_a_constant_number_of_queries(
        client, place, subsidiary, depot, operator, cco, staff_by_role,
        django_assert_max_num_queries):
    finance = staff_by_role[Role.FINANCE]
    products = [sellable(seller=subsidiary, depots=[(depot, "100")]) for _i in range(6)]

    def pickup_order(n_lines, n_pickups):
        order = _make_ready(_pickup_order(place, BuyerFactory(), products[:n_lines], depot,
                                          [5] * n_lines), cco=cco, finance=finance)
        for _i in range(n_pickups):
            services.pickup_record(actor=operator, order_id=order.pk,
                                   quantities={line.pk: "1" for line in order.lines.all()},
                                   collected_by="李师傅")
        return order

    small, big = pickup_order(1, 1), pickup_order(6, 3)
    _login(client, operator)
    for url in (_url, lambda o: f"/depot/receipts/{o.pickups.last().pk}/"):
        assert _queries(client, url(small)) == _queries(client, url(big))
    with django_assert_max_num_queries(13):
        assert client.get(_url(big)).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(f"/depot/receipts/{big.pickups.last().pk}/").status_code == 200
    before = _queries(client, "/depot/pickups/")
    pickup_order(2, 4)
    assert _queries(client, "/depot/pickups/") == before
    with django_assert_max_num_queries(10):
        assert client.get("/depot/pickups/").status_code == 200
