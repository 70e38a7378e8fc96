"""/api/v1/ of orders: cart, checkout with Idempotency-Key, orders, address book, carriers,
depot pickups, and their place in the OpenAPI schema."""

import datetime
import io
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Role
from catalog.models import Stock
from orders import services
from orders.models import CartLine, Checkout, Order, OrderLine, Pickup
from tests.factories import BuyerFactory, DepotFactory, StaffFactory
from tests.orders.factories import AddressFactory, CarrierFactory, sellable

pytestmark = pytest.mark.django_db

D = Decimal


def as_user(client, user):
    client.force_authenticate(user)
    return client


def cart_lines(user) -> dict:
    return {line.product_id: line.quantity for line in CartLine.objects.filter(cart__user=user)}


def checkout(client, body=None, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/orders/", body or {}, format="json", **headers)


def state() -> tuple:
    """What a failed request must leave unchanged."""
    return (Order.objects.count(), Checkout.objects.count(), OrderLine.objects.count(),
            Pickup.objects.count(),
            sorted(Stock.objects.values_list("pk", "on_hand", "reserved")),
            sorted(CartLine.objects.values_list("pk", "quantity")),
            sorted(OrderLine.objects.values_list("pk", "picked_up")))


@pytest.fixture
def product(subsidiary):
    return sellable(seller=subsidiary, price="12.50", on_hand="100")


@pytest.fixture
def delivery_body(address):
    return {"fulfilment": "delivery", "address_id": address.pk, "payment_method": "prepayment"}


@pytest.fixture
def finance(subsidiary):
    return StaffFactory(organization=subsidiary, roles=[Role.FINANCE])


@pytest.fixture
def ready(cco, finance):
    """ready(order) → the order confirmed, paid and ready (pickup code valid from today)."""

    def _ready(order):
        services.order_confirm(order_id=order.pk, actor=cco)
        services.order_payment_confirm(order_id=order.pk, actor=finance)
        return services.order_mark_ready(order_id=order.pk, actor=cco)

    return _ready


@pytest.fixture
def pickup_world(place, buyer, subsidiary, ready):
    """A ready pickup order of 10 kg + 4 kg at a depot with its operator."""
    depot = DepotFactory(organization=subsidiary)
    a = sellable(seller=subsidiary, depots=[(depot, "50")])
    b = sellable(seller=subsidiary, depots=[(depot, "50")])
    (order,) = place(buyer, [(a, 10), (b, 4)], fulfilment="pickup", depot_id=depot.pk)
    order = ready(order)
    operator = StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR])
    depot.operators.add(operator)
    lines = list(order.lines.order_by("pk"))
    return {"order": order, "depot": depot, "operator": operator, "lines": lines,
            "products": (a, b)}


@pytest.fixture
def other_operator(subsidiary):
    """A depot operator of the same subsidiary, running another depot."""
    operator = StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR])
    DepotFactory(organization=subsidiary).operators.add(operator)
    return operator


def pickup_body(world, *quantities, **extra):
    lines = [{"line_id": line.pk, "quantity": q}
             for line, q in zip(world["lines"], quantities, strict=False) if q is not None]
    return {"order_id": world["order"].pk, "collected_by": "王师傅", "vehicle_plate": "苏E12345",
            "lines": lines, **extra}


# --- Guests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/api/v1/cart/"), ("put", "/api/v1/cart/lines/1/"),
    ("delete", "/api/v1/cart/lines/1/"), ("get", "/api/v1/orders/"),
    ("post", "/api/v1/orders/"), ("get", "/api/v1/orders/1/"),
    ("post", "/api/v1/orders/1/cancel/"), ("get", "/api/v1/addresses/"),
    ("get", "/api/v1/carriers/"), ("get", "/api/v1/pickups/"), ("post", "/api/v1/pickups/"),
    ("get", "/api/v1/pickups/lookup/?code=ABC"),
])
def test_guests_are_turned_away(api_client, method, url):
    assert getattr(api_client, method)(url).status_code in (401, 403)


# --- Cart -------------------------------------------------------------------------------------


def test_cart_set_show_and_remove_lines(api_client, buyer, product, other_subsidiary):
    other = sellable(seller=other_subsidiary, price="3.00")
    token, _created = Token.objects.get_or_create(user=buyer)  # token auth works as well
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = api_client.put(f"/api/v1/cart/lines/{product.pk}/", {"quantity": "3"},
                              format="json")
    assert response.status_code == 200, response.content
    api_client.put(f"/api/v1/cart/lines/{other.pk}/", {"quantity": 2}, format="json")
    body = api_client.get("/api/v1/cart/").json()
    first = next(line for line in body["lines"] if line["product"]["id"] == product.pk)
    assert first["product"]["sku"] == product.sku
    assert first["product"]["name"] == product.display_name
    assert first["seller"]["code"] == product.seller.code
    assert (first["quantity"], first["unit"]) == ("3.000", "kg")
    assert (first["unit_price"], first["tax_inclusive"], first["line_total"]) == (
        "12.50", True, "37.50")
    assert first["price_missing"] is False
    assert (body["total"], body["vat_rate"], body["has_unpriced"]) == ("43.50", "0.1300", False)

    api_client.put(f"/api/v1/cart/lines/{product.pk}/", {"quantity": 5}, format="json")
    assert cart_lines(buyer) == {product.pk: D("5"), other.pk: D("2")}
    api_client.put(f"/api/v1/cart/lines/{product.pk}/", {"quantity": 0}, format="json")
    assert cart_lines(buyer) == {other.pk: D("2")}
    assert api_client.delete(f"/api/v1/cart/lines/{other.pk}/").status_code == 204
    assert cart_lines(buyer) == {}
    assert api_client.get("/api/v1/cart/").json()["lines"] == []


def test_cart_flags_a_line_whose_price_lapsed(api_client, buyer, product):
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=2)
    product.price_tiers.all().delete()
    body = as_user(api_client, buyer).get("/api/v1/cart/").json()
    (line,) = body["lines"]
    assert line["price_missing"] is True
    assert line["unit_price"] is None and line["line_total"] is None
    assert body["has_unpriced"] is True and body["total"] == "0.00"


@pytest.mark.parametrize("quantity", ["-1", "abc", "1e30", 1e30, "NaN", "Infinity", "", None,
                                      "6", "4", "5.0001"])
def test_cart_rejects_bad_quantities_and_changes_nothing(api_client, buyer, subsidiary,
                                                         quantity):
    # From 5 kg in steps of 2.5 kg: 6 is off-step, 4 below the minimum.
    product = sellable(seller=subsidiary, min_order_quantity=D("5"), quantity_step=D("2.5"))
    services.cart_line_set(user=buyer, product_id=product.pk, quantity="7.5")
    before = state()
    response = as_user(api_client, buyer).put(f"/api/v1/cart/lines/{product.pk}/",
                                              {"quantity": quantity}, format="json")
    assert response.status_code == 400
    assert response.json()["quantity"]
    assert state() == before
    assert cart_lines(buyer) == {product.pk: D("7.5")}


def test_cart_step_message_names_the_step(api_client, buyer, subsidiary):
    product = sellable(seller=subsidiary, min_order_quantity=D("5"), quantity_step=D("2.5"))
    response = as_user(api_client, buyer).put(f"/api/v1/cart/lines/{product.pk}/",
                                              {"quantity": "6"}, format="json")
    assert response.json()["quantity"] == ["Order in steps of 2.5 kg from 5 kg."]


def test_cart_rejects_unknown_and_inactive_products(api_client, buyer, product):
    as_user(api_client, buyer)
    for product_id in (product.pk + 1000, 2**62):
        response = api_client.put(f"/api/v1/cart/lines/{product_id}/", {"quantity": 1},
                                  format="json")
        assert response.status_code == 400
        assert response.json()["product_id"] == ["This product is not available."]
    product.is_active = False
    product.save()
    response = api_client.put(f"/api/v1/cart/lines/{product.pk}/", {"quantity": 1},
                              format="json")
    assert response.status_code == 400 and cart_lines(buyer) == {}


def test_outsider_sees_and_touches_only_its_own_cart(api_client, buyer, outsider_buyer,
                                                     product):
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=2)
    as_user(api_client, outsider_buyer)
    assert api_client.get("/api/v1/cart/").json()["lines"] == []
    assert api_client.delete(f"/api/v1/cart/lines/{product.pk}/").status_code == 204
    api_client.put(f"/api/v1/cart/lines/{product.pk}/", {"quantity": 0}, format="json")
    assert cart_lines(buyer) == {product.pk: D("2")}


def test_staff_without_a_company_cannot_fill_a_cart(api_client, cco, product):
    response = as_user(api_client, cco).put(f"/api/v1/cart/lines/{product.pk}/",
                                            {"quantity": 1}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "no_company"


def test_cart_query_count_does_not_grow_with_lines(api_client, buyer, subsidiary,
                                                   other_subsidiary,
                                                   django_assert_max_num_queries):
    for seller in (subsidiary, other_subsidiary) * 4:
        services.cart_line_set(user=buyer, product_id=sellable(seller=seller).pk, quantity=1)
    with django_assert_max_num_queries(3):  # lines, company, prices
        assert len(as_user(api_client, buyer).get("/api/v1/cart/").json()["lines"]) == 8


# --- Checkout ---------------------------------------------------------------------------------


def test_checkout_places_one_order_per_seller(api_client, buyer, product, other_subsidiary,
                                              delivery_body):
    other = sellable(seller=other_subsidiary, price="99.99")
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=3)
    services.cart_line_set(user=buyer, product_id=other.pk, quantity=1)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = checkout(as_user(api_client, buyer), {
        **delivery_body, "po_number": "PO-778", "requested_date": tomorrow.isoformat(),
        "notes": "Gate 3",
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body) == 2 == Order.objects.count()
    assert {o["seller"]["code"] for o in body} == {product.seller.code, other.seller.code}
    first = next(o for o in body if o["seller"]["code"] == product.seller.code)
    assert first["status"] == "placed" and first["number"].startswith("CM")
    assert (first["po_number"], first["requested_date"], first["notes"]) == (
        "PO-778", tomorrow.isoformat(), "Gate 3")
    assert (first["total"], first["vat"], first["subtotal"]) == ("37.50", "4.31", "33.19")
    (line,) = first["lines"]
    assert (line["quantity"], line["unit"], line["picked_up"], line["remaining"]) == (
        "3.000", "kg", "0.000", "3.000")
    assert line["unit_price"] == "12.50" and line["line_total"] == "37.50"
    assert first["address"]["recipient"] == "张三"
    assert [e["status"] for e in first["events"]] == ["placed"]
    assert first["pickup_code"] is None and first["pickups"] == []
    assert cart_lines(buyer) == {}
    assert Stock.objects.get(product=product).reserved == 3


def test_pickup_checkout_shows_the_pickup_code(api_client, buyer, subsidiary):
    depot = DepotFactory(organization=subsidiary)
    product = sellable(seller=subsidiary, depots=[(depot, "20")])
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=2)
    response = checkout(as_user(api_client, buyer), {
        "fulfilment": "pickup", "depot_id": depot.pk, "payment_method": "prepayment"})
    assert response.status_code == 201, response.content
    (order,) = response.json()
    assert order["pickup_depot"]["code"] == depot.code and order["address"] is None
    assert order["pickup_code"] == Order.objects.get().pickup_code
    assert len(order["pickup_code"]) == 10


def test_checkout_without_idempotency_key_is_refused(api_client, buyer, product,
                                                     delivery_body):
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=1)
    before = state()
    as_user(api_client, buyer)
    for key in (None, "", "   "):
        response = checkout(api_client, delivery_body, key=key)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["idempotency_key"][0]
    response = checkout(api_client, delivery_body, key="k" * 65)
    assert response.status_code == 400 and response.json()["idempotency_key"]
    assert state() == before


def test_ten_replays_place_one_order_and_answer_the_same(api_client, buyer, product,
                                                         delivery_body):
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=2)
    as_user(api_client, buyer)
    first = checkout(api_client, delivery_body, key="replay-me")
    assert first.status_code == 201
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=4)  # a new cart
    for _ in range(10):
        again = checkout(api_client, delivery_body, key="replay-me")
        assert again.status_code == 200
        assert again.json() == first.json()
    assert Order.objects.count() == 1 and Checkout.objects.count() == 1
    assert Stock.objects.get(product=product).reserved == 2
    assert cart_lines(buyer) == {product.pk: D("4")}  # the replay left the new cart alone
    # a new key places the new cart
    assert checkout(api_client, delivery_body, key="next").status_code == 201
    assert Order.objects.count() == 2


def test_another_users_key_is_not_a_replay(api_client, buyer, company, product, address):
    other = BuyerFactory(company=company)  # a colleague: same company, own keys
    for user in (buyer, other):
        services.cart_line_set(user=user, product_id=product.pk, quantity=1)
        response = checkout(as_user(api_client, user), {
            "fulfilment": "delivery", "address_id": address.pk,
            "payment_method": "prepayment"}, key="shared-key")
        assert response.status_code == 201
    assert Order.objects.count() == 2


def test_a_failed_checkout_keeps_the_key_usable(api_client, buyer, product, delivery_body):
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=1)
    as_user(api_client, buyer)
    bad = checkout(api_client, {**delivery_body, "payment_method": "credit"}, key="k")
    assert bad.status_code == 400 and bad.json()["payment_method"]  # no credit terms agreed
    assert checkout(api_client, delivery_body, key="k").status_code == 201


@pytest.mark.parametrize(("change", "field"), [
    ({"address_id": "foreign"}, "address_id"),
    ({"address_id": None}, "address_id"),
    ({"address_id": "abc"}, "address_id"),
    ({"address_id": 2**70}, "address_id"),
    ({"fulfilment": "pickup", "depot_id": "foreign"}, "depot_id"),
    ({"fulfilment": "pickup", "depot_id": 999999}, "depot_id"),
    ({"fulfilment": "teleport"}, "fulfilment"),
    ({"payment_method": "bitcoin"}, "payment_method"),
    ({"payment_method": None}, "payment_method"),
    ({"requested_date": "yesterday"}, "requested_date"),
    ({"requested_date": "not-a-date"}, "requested_date"),
    ({"carrier_id": 999999}, "carrier_id"),
    ({"po_number": "P" * 65}, "po_number"),
])
def test_checkout_bad_input_is_a_field_error_and_changes_nothing(
        api_client, buyer, product, delivery_body, outsider_buyer, other_subsidiary,
        change, field):
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=1)
    foreign = {
        "foreign_address": AddressFactory(company=outsider_buyer.membership.company).pk,
        "foreign_depot": DepotFactory(organization=other_subsidiary).pk,
        "yesterday": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
    }
    body = {**delivery_body, **change}
    if body.get("address_id") == "foreign":
        body["address_id"] = foreign["foreign_address"]
    if body.get("depot_id") == "foreign":
        body["depot_id"] = foreign["foreign_depot"]
    if body.get("requested_date") == "yesterday":
        body["requested_date"] = foreign["yesterday"]
    before = state()
    response = checkout(as_user(api_client, buyer), body)
    assert response.status_code == 400, response.content
    assert response.json()[field], response.json()
    assert state() == before


def test_checkout_shortage_names_what_is_available(api_client, buyer, subsidiary,
                                                   delivery_body):
    product = sellable(seller=subsidiary, on_hand="5")
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=6)
    before = state()
    response = checkout(as_user(api_client, buyer), delivery_body)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "shortage"
    assert "you ordered 6 kg, 5 kg are available" in body["quantity"][0]
    assert state() == before


def test_checkout_of_an_empty_cart(api_client, buyer, delivery_body):
    response = checkout(as_user(api_client, buyer), delivery_body)
    assert response.status_code == 400 and response.json()["code"] == "empty_cart"
    assert not Checkout.objects.exists()


def test_hazardous_delivery_needs_a_hazmat_carrier(api_client, buyer, subsidiary,
                                                   delivery_body):
    product = sellable(seller=subsidiary, un_number="1170")
    plain, qualified = CarrierFactory(), CarrierFactory(hazmat_qualified=True)
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=1)
    as_user(api_client, buyer)
    refused = checkout(api_client, {**delivery_body, "carrier_id": plain.pk})
    assert refused.status_code == 400 and "UN 1170" in refused.json()["carrier_id"][0]
    placed = checkout(api_client, {**delivery_body, "carrier_id": qualified.pk}, key="k2")
    assert placed.status_code == 201
    assert placed.json()[0]["carrier"] == {"id": qualified.pk, "name": qualified.name,
                                           "hazmat_qualified": True}


# --- Orders: list, detail, cancel -------------------------------------------------------------


@pytest.fixture
def three_orders(place, buyer, subsidiary):
    product = sellable(seller=subsidiary)
    depot = product.stocks.get().depot
    (old,) = place(buyer, [(product, 1)], po_number="PO-OLD")
    (mid,) = place(buyer, [(product, 1)], fulfilment="pickup", depot_id=depot.pk)
    (new,) = place(buyer, [(product, 1)], po_number="PO-NEW-9")
    today = timezone.now()
    Order.objects.filter(pk=old.pk).update(placed_at=today - datetime.timedelta(days=20))
    Order.objects.filter(pk=mid.pk).update(placed_at=today - datetime.timedelta(days=10))
    services.order_cancel(order_id=new.pk, actor=buyer)
    return old, mid, new


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def test_order_list_filters(api_client, buyer, three_orders):
    old, mid, new = three_orders
    as_user(api_client, buyer)
    assert numbers(api_client.get("/api/v1/orders/")) == [new.number, mid.number, old.number]
    assert numbers(api_client.get("/api/v1/orders/", {"status": "cancelled"})) == [new.number]
    assert numbers(api_client.get("/api/v1/orders/", {"fulfilment": "pickup"})) == [mid.number]
    assert numbers(api_client.get("/api/v1/orders/", {"q": "po-new"})) == [new.number]
    assert numbers(api_client.get("/api/v1/orders/", {"q": old.number[-6:]})) == [old.number]
    day = timezone.localdate()
    assert numbers(api_client.get("/api/v1/orders/", {
        "placed_after": (day - datetime.timedelta(days=15)).isoformat(),
        "placed_before": (day - datetime.timedelta(days=5)).isoformat(),
    })) == [mid.number]
    assert numbers(api_client.get("/api/v1/orders/", {
        "placed_after": day.isoformat()})) == [new.number]
    row = api_client.get("/api/v1/orders/").json()["results"][0]
    assert row["status_label"] == "Cancelled"
    assert row["company"]["id"] == buyer.membership.company_id
    for bad in ({"status": "lost"}, {"placed_after": "soon"}, {"fulfilment": "x"}):
        assert api_client.get("/api/v1/orders/", bad).status_code == 400


def test_order_list_is_paginated_with_constant_queries(api_client, buyer, place, subsidiary,
                                                       other_subsidiary,
                                                       django_assert_max_num_queries):
    products = [sellable(seller=s) for s in (subsidiary, other_subsidiary)]
    place(buyer, [(products[0], 1)])
    as_user(api_client, buyer)
    with django_assert_max_num_queries(3):  # company id, count, page
        assert api_client.get("/api/v1/orders/").json()["count"] == 1
    for _ in range(6):
        place(buyer, [(products[0], 1), (products[1], 1)])
    with django_assert_max_num_queries(3):
        body = api_client.get("/api/v1/orders/").json()
    assert body["count"] == 13 and len(body["results"]) == 13
    assert body["next"] is None


def test_order_list_shows_only_visible_orders(api_client, buyer, outsider_buyer, cco,
                                              other_subsidiary, three_orders):
    assert numbers(as_user(api_client, outsider_buyer).get("/api/v1/orders/")) == []
    other_cco = StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    assert numbers(as_user(api_client, other_cco).get("/api/v1/orders/")) == []
    assert len(numbers(as_user(api_client, cco).get("/api/v1/orders/"))) == 3


def test_order_detail_with_lines_timeline_and_pickups(api_client, buyer, pickup_world):
    order, operator = pickup_world["order"], pickup_world["operator"]
    first, second = pickup_world["lines"]
    services.pickup_record(actor=operator, order_id=order.pk, collected_by="王师傅",
                           quantities={first.pk: "4"})
    body = as_user(api_client, buyer).get(f"/api/v1/orders/{order.pk}/").json()
    assert body["status"] == "partially_picked_up"
    assert [(line["quantity"], line["picked_up"], line["remaining"]) for line in body["lines"]
            ] == [("10.000", "4.000", "6.000"), ("4.000", "0.000", "4.000")]
    assert [e["status"] for e in body["events"]] == [
        "placed", "confirmed", "paid", "ready", "partially_picked_up"]
    assert body["events"][0]["from_status"] == "" and body["events"][1]["from_status"] == "placed"
    (pickup,) = body["pickups"]
    assert pickup["receipt_number"] == f"{order.number}-P1"
    assert pickup["lines"] == [{"line_id": first.pk, "quantity": "4.000"}]
    assert body["pickup_code"] == order.pickup_code
    assert body["pickup_code_expires_on"] == order.pickup_code_expires_on.isoformat()
    assert body["pickup_code_expired"] is False
    assert (body["subtotal"], body["vat"], body["total"], body["vat_rate"]) == (
        str(order.subtotal), str(order.vat), str(order.total), "0.1300")


def test_pickup_code_only_for_the_buyer_company_and_staff(api_client, pickup_world, company,
                                                          cco, subsidiary):
    order = pickup_world["order"]
    colleague = BuyerFactory(company=company)
    url = f"/api/v1/orders/{order.pk}/"
    for user in (colleague, cco, pickup_world["operator"]):
        assert as_user(api_client, user).get(url).json()["pickup_code"] == order.pickup_code
    # someone who sees the order through an organisation without a staff role (a dealer)
    dealer = StaffFactory(organization=subsidiary, roles=[Role.DEALER])
    response = as_user(api_client, dealer).get(url)
    assert response.status_code == 200 and response.json()["pickup_code"] is None


def test_order_detail_query_count_does_not_grow_with_pickups(api_client, buyer, pickup_world):
    order, operator = pickup_world["order"], pickup_world["operator"]
    first, second = pickup_world["lines"]
    url = f"/api/v1/orders/{order.pk}/"
    as_user(api_client, buyer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get(url).status_code == 200
        return len(captured)

    services.pickup_record(actor=operator, order_id=order.pk, collected_by="A",
                           quantities={first.pk: "1"})
    one = queries()
    for _ in range(3):
        services.pickup_record(actor=operator, order_id=order.pk, collected_by="B",
                               quantities={first.pk: "1", second.pk: "1"})
    assert queries() == one
    assert one <= 14


def test_buyer_cancels_a_placed_order_and_stock_is_released(api_client, buyer, place,
                                                            product):
    (order,) = place(buyer, [(product, 3)])
    assert Stock.objects.get(product=product).reserved == 3
    response = as_user(api_client, buyer).post(f"/api/v1/orders/{order.pk}/cancel/",
                                               {"reason": "ordered twice"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["events"][-1]["note"] == "ordered twice"
    assert Stock.objects.get(product=product).reserved == 0
    # cancelling again changes nothing
    again = api_client.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json")
    assert again.status_code == 200 and len(again.json()["events"]) == len(body["events"])


def test_buyer_cannot_cancel_a_confirmed_order(api_client, buyer, place, product, cco):
    (order,) = place(buyer, [(product, 3)])
    services.order_confirm(order_id=order.pk, actor=cco)
    response = as_user(api_client, buyer).post(f"/api/v1/orders/{order.pk}/cancel/",
                                               {}, format="json")
    assert response.status_code == 409 and "ask the seller" in response.json()["detail"]
    order.refresh_from_db()
    assert order.status == "confirmed"


def test_seller_cancels_with_a_reason_only(api_client, buyer, place, product, cco):
    (order,) = place(buyer, [(product, 3)])
    as_user(api_client, cco)
    response = api_client.post(f"/api/v1/orders/{order.pk}/cancel/", {"reason": "  "},
                               format="json")
    assert response.status_code == 400 and response.json()["reason"]
    order.refresh_from_db()
    assert order.status == "placed"
    response = api_client.post(f"/api/v1/orders/{order.pk}/cancel/",
                               {"reason": "Out of production"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_outsiders_get_404_on_order_detail_and_cancel(api_client, buyer, place, product,
                                                      outsider_buyer, other_subsidiary):
    (order,) = place(buyer, [(product, 3)])
    other_cco = StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    for user in (outsider_buyer, other_cco):
        as_user(api_client, user)
        assert api_client.get(f"/api/v1/orders/{order.pk}/").status_code == 404
        response = api_client.post(f"/api/v1/orders/{order.pk}/cancel/",
                                   {"reason": "not mine"}, format="json")
        assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == "placed" and Stock.objects.get(product=product).reserved == 3
    assert api_client.get("/api/v1/orders/999999/").status_code == 404


# --- Address book and carriers ----------------------------------------------------------------


def test_address_book_of_the_callers_company_only(api_client, buyer, company, address,
                                                  outsider_buyer):
    second = AddressFactory(company=company, label="East gate", region_id="310000")
    AddressFactory(company=company, label="Old", is_active=False)
    AddressFactory(company=outsider_buyer.membership.company, label="Theirs")
    body = as_user(api_client, buyer).get("/api/v1/addresses/").json()
    assert [a["id"] for a in body] == [address.pk, second.pk]  # default first
    assert body[0]["is_default"] is True
    assert (body[0]["city"], body[0]["city_name"], body[0]["province_name"]) == (
        "320500", "Suzhou", "Jiangsu")
    assert body[1]["province_name"] == body[1]["city_name"]  # a municipality: no city
    outsider = as_user(api_client, outsider_buyer).get("/api/v1/addresses/").json()
    assert [a["label"] for a in outsider] == ["Theirs"]
    assert as_user(api_client, StaffFactory()).get("/api/v1/addresses/").json() == []


def test_carriers_active_with_hazmat_flag(api_client, outsider_buyer):
    a = CarrierFactory(name="A Logistics", hazmat_qualified=True)
    b = CarrierFactory(name="B Express")
    CarrierFactory(name="C Gone", is_active=False)
    body = as_user(api_client, outsider_buyer).get("/api/v1/carriers/").json()
    assert body == [{"id": a.pk, "name": "A Logistics", "hazmat_qualified": True},
                    {"id": b.pk, "name": "B Express", "hazmat_qualified": False}]


# --- Pickups ----------------------------------------------------------------------------------


def test_lookup_finds_the_order_whatever_the_spelling(api_client, pickup_world):
    order = pickup_world["order"]
    spoken = "-".join([order.pickup_code[:5], order.pickup_code[5:]]).lower()
    response = as_user(api_client, pickup_world["operator"]).get(
        "/api/v1/pickups/lookup/", {"code": f" {spoken} "})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == order.pk and body["can_pick_up"] is True
    assert body["pickup_depot"]["id"] == pickup_world["depot"].pk
    assert [(line["id"], line["remaining"]) for line in body["lines"]] == [
        (pickup_world["lines"][0].pk, "10.000"), (pickup_world["lines"][1].pk, "4.000")]
    assert "pickup_code" not in body


def test_lookup_is_404_outside_the_callers_depots(api_client, pickup_world, other_operator,
                                                  buyer, outsider_buyer):
    code = pickup_world["order"].pickup_code
    for user in (other_operator, buyer, outsider_buyer):
        response = as_user(api_client, user).get("/api/v1/pickups/lookup/", {"code": code})
        assert response.status_code == 404
    as_user(api_client, pickup_world["operator"])
    assert api_client.get("/api/v1/pickups/lookup/", {"code": "ZZZZZZZZZZ"}).status_code == 404
    missing = api_client.get("/api/v1/pickups/lookup/")
    assert missing.status_code == 400 and missing.json()["code"]


def test_partial_pickups_to_completion(api_client, pickup_world):
    order, (first, second) = pickup_world["order"], pickup_world["lines"]
    as_user(api_client, pickup_world["operator"])
    response = api_client.post("/api/v1/pickups/", pickup_body(pickup_world, "4", "1.5"),
                               format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["receipt_number"] == f"{order.number}-P1"
    assert (body["order_id"], body["collected_by"], body["vehicle_plate"]) == (
        order.pk, "王师傅", "苏E12345")
    assert [(line["line_id"], line["quantity"], line["remaining"]) for line in body["lines"]
            ] == [(first.pk, "4.000", "6.000"), (second.pk, "1.500", "2.500")]
    order.refresh_from_db()
    assert order.status == "partially_picked_up"

    response = api_client.post("/api/v1/pickups/", pickup_body(pickup_world, "6", "2.5"),
                               format="json")
    assert response.status_code == 201 and response.json()["receipt_number"].endswith("-P2")
    order.refresh_from_db()
    assert order.status == "completed"
    a, b = pickup_world["products"]
    assert Stock.objects.get(product=a).on_hand == 40
    assert Stock.objects.get(product=b).on_hand == 46
    assert Stock.objects.get(product=a).reserved == 0


def test_pickup_of_more_than_remains_is_a_conflict(api_client, pickup_world):
    as_user(api_client, pickup_world["operator"])
    api_client.post("/api/v1/pickups/", pickup_body(pickup_world, "8"), format="json")
    before = state()
    response = api_client.post("/api/v1/pickups/", pickup_body(pickup_world, "2.001"),
                               format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "more_than_remains"
    assert "Only 2 kg" in response.json()["detail"]
    assert state() == before


@pytest.mark.parametrize(("quantities", "extra", "field"), [
    (("0", "0"), {}, "lines"),
    (("-1",), {}, "lines"),
    (("abc",), {}, "lines"),
    (("1e30",), {}, "lines"),
    (("1.0001",), {}, "lines"),
    ((), {}, "lines"),
    (("1",), {"collected_by": "  "}, "collected_by"),
    (("1",), {"order_id": "x"}, "order_id"),
])
def test_bad_pickups_are_field_errors_and_change_nothing(api_client, pickup_world,
                                                         quantities, extra, field):
    before = state()
    response = as_user(api_client, pickup_world["operator"]).post(
        "/api/v1/pickups/", pickup_body(pickup_world, *quantities, **extra), format="json")
    assert response.status_code == 400, response.content
    assert response.json()[field]
    assert state() == before


def test_pickup_lines_must_belong_to_the_order_and_appear_once(api_client, pickup_world,
                                                               place, buyer, product):
    (other,) = place(buyer, [(product, 1)])
    as_user(api_client, pickup_world["operator"])
    before = state()
    foreign = pickup_body(pickup_world)
    foreign["lines"] = [{"line_id": other.lines.get().pk, "quantity": "1"}]
    response = api_client.post("/api/v1/pickups/", foreign, format="json")
    assert response.status_code == 400 and "not part of order" in response.json()["lines"][0]
    twice = pickup_body(pickup_world, "1")
    twice["lines"] *= 2
    response = api_client.post("/api/v1/pickups/", twice, format="json")
    assert response.status_code == 400 and response.json()["lines"]
    assert state() == before


def test_pickup_of_an_order_not_ready_is_a_conflict(api_client, place, buyer, subsidiary):
    depot = DepotFactory(organization=subsidiary)
    product = sellable(seller=subsidiary, depots=[(depot, "5")])
    (order,) = place(buyer, [(product, 2)], fulfilment="pickup", depot_id=depot.pk)
    operator = StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR])
    depot.operators.add(operator)
    response = as_user(api_client, operator).post("/api/v1/pickups/", {
        "order_id": order.pk, "collected_by": "A",
        "lines": [{"line_id": order.lines.get().pk, "quantity": "1"}]}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "not_ready"


def test_outsiders_cannot_record_pickups(api_client, pickup_world, other_operator, buyer,
                                         outsider_buyer):
    before = state()
    for user in (other_operator, buyer, outsider_buyer):
        response = as_user(api_client, user).post(
            "/api/v1/pickups/", pickup_body(pickup_world, "1"), format="json")
        assert response.status_code == 404
    body = pickup_body(pickup_world, "1", order_id=999999)
    response = as_user(api_client, pickup_world["operator"]).post("/api/v1/pickups/", body,
                                                                  format="json")
    assert response.status_code == 404
    assert state() == before


def test_pickup_list_per_depot_and_buyer(api_client, pickup_world, other_operator, buyer,
                                         outsider_buyer, place, subsidiary,
                                         django_assert_max_num_queries):
    order, operator = pickup_world["order"], pickup_world["operator"]
    for quantity in ("1", "2"):
        services.pickup_record(actor=operator, order_id=order.pk, collected_by="A",
                               quantities={pickup_world["lines"][0].pk: quantity})

    def receipts(user, **params):
        response = as_user(api_client, user).get("/api/v1/pickups/", params)
        assert response.status_code == 200, response.content
        return [row["receipt_number"] for row in response.json()["results"]]

    expected = [f"{order.number}-P2", f"{order.number}-P1"]
    assert receipts(operator) == expected
    assert receipts(buyer) == expected
    assert receipts(buyer, order=order.pk) == expected
    assert receipts(buyer, order=order.pk + 1) == []
    assert receipts(other_operator) == []
    assert receipts(outsider_buyer) == []
    row = as_user(api_client, buyer).get("/api/v1/pickups/").json()["results"][0]
    assert row["depot"]["id"] == pickup_world["depot"].pk
    assert row["company"]["id"] == order.company_id
    assert row["recorded_by"] == operator.full_name
    assert row["lines"][0]["product"]["id"] == pickup_world["products"][0].pk
    for _ in range(3):
        services.pickup_record(actor=operator, order_id=order.pk, collected_by="B",
                               quantities={pickup_world["lines"][1].pk: "1"})
    with django_assert_max_num_queries(6):  # depots, count, page, lines, order lines, products…
        assert len(as_user(api_client, operator).get("/api/v1/pickups/").json()["results"]) == 5


# --- Schema -----------------------------------------------------------------------------------

ROUTES = {
    "/api/v1/cart/": {"get"},
    "/api/v1/cart/lines/{product_id}/": {"put", "delete"},
    "/api/v1/orders/": {"get", "post"},
    "/api/v1/orders/{id}/": {"get"},
    "/api/v1/orders/{id}/cancel/": {"post"},
    "/api/v1/addresses/": {"get"},
    "/api/v1/carriers/": {"get"},
    "/api/v1/pickups/": {"get", "post"},
    "/api/v1/pickups/lookup/": {"get"},
}


def test_schema_lists_the_order_routes_with_their_shapes(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    for route, methods in ROUTES.items():
        assert route in schema["paths"], route
        assert methods <= set(schema["paths"][route]), route
    place = schema["paths"]["/api/v1/orders/"]["post"]
    header = next(p for p in place["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["required"] is True
    assert {"200", "201", "400"} <= set(place["responses"])
    assert place["responses"]["201"]["content"]["application/json"]["schema"]["type"] == "array"
    listing = schema["paths"]["/api/v1/orders/"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PaginatedOrderListList")
    assert {"status", "fulfilment", "placed_after", "placed_before", "q", "page"} <= {
        p["name"] for p in listing["parameters"]}
    lookup = schema["paths"]["/api/v1/pickups/lookup/"]["get"]
    assert [p["name"] for p in lookup["parameters"]] == ["code"]
    components = schema["components"]["schemas"]
    assert {"pickup_code", "lines", "events", "pickups"} <= set(
        components["OrderDetail"]["properties"])
    assert {"price_missing", "unit_price", "line_total"} <= set(
        components["CartLine"]["properties"])
    assert set(components["PickupRecordRequest"]["properties"]) == {
        "order_id", "collected_by", "vehicle_plate", "lines"}


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    stderr = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out),
                 stderr=stderr)
    assert "Warning" not in stderr.getvalue()
    assert "/api/v1/pickups/lookup/:" in out.read_text()
