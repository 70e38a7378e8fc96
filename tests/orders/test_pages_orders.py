"""Buyer pages of the orders app, part 2: order list, detail, print, actions, balances."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from catalog.models import Stock
from orders import services
from orders.models import CartLine, Order
from orders.services import order_move
from tests.factories import DepotFactory, StaffFactory
from tests.orders.factories import AddressFactory, sellable

pytestmark = pytest.mark.django_db

D = Decimal
S = Order.Status


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture
def order(place, buyer, subsidiary):
    product = sellable(seller=subsidiary, price="12.35")
    (order,) = place(buyer, [(product, 3)], po_number="PO-2024-17", notes="Ring twice")
    return order


def ready(order, cco):
    order_move(order_id=order.pk, to=S.CONFIRMED, actor=cco)
    order_move(order_id=order.pk, to=S.PAID, actor=cco, note="Bank transfer received.")
    return services.order_mark_ready(order_id=order.pk, actor=cco)


@pytest.fixture
def pickup_order(place, buyer, subsidiary, cco):
    depot = DepotFactory(organization=subsidiary, name_en="Suzhou depot")
    a = sellable(seller=subsidiary, depots=[(depot, "50")])
    b = sellable(seller=subsidiary, depots=[(depot, "50")])
    (order,) = place(buyer, [(a, 5), (b, 2)], fulfilment="pickup", depot_id=depot.pk)
    return ready(order, cco)


def pick(order, cco, **by_product):
    lines = {line.product_id: line for line in order.lines.all()}
    return services.pickup_record(
        actor=cco, order_id=order.pk, collected_by="Driver Wang", vehicle_plate="苏E12345",
        quantities={lines[int(pid)].pk: q for pid, q in by_product.items()})


# --- Order list -------------------------------------------------------------------------------


def test_list_shows_the_company_orders_only(signed_in, order, place, outsider_buyer,
                                            subsidiary):
    outsider_address = AddressFactory(company=outsider_buyer.membership.company)
    (foreign,) = place(outsider_buyer, [(sellable(seller=subsidiary), 1)],
                       address_id=outsider_address.pk)
    page = html(signed_in.get("/orders/"))
    assert order.number in page and "PO-2024-17" in page and "¥37.05" in page
    assert foreign.number not in page
    assert "1 order" in page


def test_list_filters_by_status_date_and_text(signed_in, buyer, place, subsidiary, cco):
    product = sellable(seller=subsidiary)
    old, new, other = (place(buyer, [(product, 1)], po_number=po)[0]
                       for po in ("PO-OLD", "PO-NEW", "X-99"))
    Order.objects.filter(pk=old.pk).update(
        placed_at=timezone.now() - datetime.timedelta(days=40))
    order_move(order_id=other.pk, to=S.CONFIRMED, actor=cco)
    today = timezone.localdate()

    def listed(query):
        response = signed_in.get("/orders/", query)
        assert response.status_code == 200
        return {o.number for o in response.context["page"].object_list}

    assert listed({}) == {old.number, new.number, other.number}
    assert listed({"status": "confirmed"}) == {other.number}
    assert listed({"status": "placed"}) == {old.number, new.number}
    assert listed({"placed_from": (today - datetime.timedelta(days=7)).isoformat()}) == {
        new.number, other.number}
    assert listed({"placed_to": (today - datetime.timedelta(days=30)).isoformat()}) == {
        old.number}
    assert listed({"q": "po-new"}) == {new.number}
    assert listed({"q": other.number[-6:]}) == {other.number}
    assert listed({"q": "nothing-like-it"}) == set()
    assert "No orders match these filters." in html(signed_in.get("/orders/", {"q": "zzz"}))


@pytest.mark.parametrize("query", [
    {"status": "lost-in-space"}, {"placed_from": "yesterday"}, {"placed_to": "2024-13-45"},
    {"q": "x" * 500}, {"page": "last-but-one"}, {"page": "-3"},
])
def test_bad_filter_values_show_an_error_never_a_500(signed_in, order, query):
    response = signed_in.get("/orders/", query)
    assert response.status_code == 200
    if "page" not in query:
        assert 'class="error"' in response.content.decode()


def test_list_is_paginated(signed_in, buyer, place, subsidiary):
    product = sellable(seller=subsidiary, on_hand="1000")
    for _n in range(23):
        place(buyer, [(product, 1)])
    first = signed_in.get("/orders/")
    assert len(first.context["page"].object_list) == 20
    assert "Page 1 of 2" in html(first) and "?page=2" in html(first)
    assert len(signed_in.get("/orders/", {"page": 2}).context["page"].object_list) == 3


@pytest.mark.parametrize("size", [1, 20])
def test_list_query_count_is_constant(signed_in, buyer, place, subsidiary, other_subsidiary,
                                      size, django_assert_max_num_queries):
    a, b = sellable(seller=subsidiary, on_hand="1000"), sellable(seller=other_subsidiary,
                                                                 on_hand="1000")
    for n in range(size):
        place(buyer, [(a if n % 2 else b, 1)])
    # session, user, company, count, the page of orders (seller, company joined), nav
    with django_assert_max_num_queries(6):
        assert signed_in.get("/orders/", {"status": "placed", "q": "CM"}).status_code == 200


def test_list_needs_sign_in(client):
    response = client.get("/orders/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- Order detail -----------------------------------------------------------------------------


def test_detail_shows_parties_lines_totals_and_timeline(signed_in, order, buyer, company):
    page = html(signed_in.get(f"/orders/{order.pk}/"))
    assert order.number in page and "Placed" in page
    assert order.seller.name in page
    assert company.name in page and company.uscc in page
    assert order.address.recipient in page and order.address.line in page
    assert "PO-2024-17" in page and "Ring twice" in page
    assert "¥12.35" in page and "¥37.05" in page  # unit price, line and order total
    assert f"¥{order.vat}" in page and f"¥{order.subtotal}" in page and "VAT 13%" in page
    assert 'class="timeline"' in page and "Placed from the cart." in page
    assert buyer.full_name in page  # the actor of the placing event
    assert "Cancel the order" in page  # placed: the buyer may still cancel
    assert f'action="/orders/{order.pk}/reorder/"' in page
    assert f'href="/orders/{order.pk}/print/"' in page
    assert "Confirm receipt" not in page  # nothing shipped yet


def test_outsider_gets_404_for_every_order_page_and_action(client, order, outsider_buyer,
                                                           other_subsidiary):
    for user in (outsider_buyer, StaffFactory(organization=other_subsidiary)):
        client.force_login(user)
        assert client.get(f"/orders/{order.pk}/").status_code == 404
        assert client.get(f"/orders/{order.pk}/print/").status_code == 404
        assert client.post(f"/orders/{order.pk}/cancel/").status_code == 404
        assert client.post(f"/orders/{order.pk}/complete/").status_code == 404
        assert client.post(f"/orders/{order.pk}/reorder/").status_code == 404
    assert client.get("/orders/999999/").status_code == 404
    order.refresh_from_db()
    assert order.status == S.PLACED
    assert not CartLine.objects.exists()


def test_seller_staff_see_the_order_without_buyer_buttons(client, order, cco):
    client.force_login(cco)
    page = html(client.get(f"/orders/{order.pk}/"))
    assert order.number in page
    assert "Cancel the order" not in page and "Order again" not in page


def test_pickup_order_shows_code_qr_validity_and_what_remains(signed_in, pickup_order, cco):
    a, b = (line.product for line in pickup_order.lines.order_by("pk"))
    pick(pickup_order, cco, **{str(a.pk): "2"})
    pick(pickup_order, cco, **{str(a.pk): "1", str(b.pk): "2"})
    response = signed_in.get(f"/orders/{pickup_order.pk}/")
    page = html(response)
    code = pickup_order.pickup_code
    assert f"{code[:5]} {code[5:]}" in page
    assert '<svg' in page and 'class="pickup-qr"' in page
    until = timezone.localdate() + datetime.timedelta(days=settings.PICKUP_CODE_VALID_DAYS)
    assert f"Valid until {until:%Y-%m-%d}." in page
    assert "Suzhou depot" in page
    lines = {line.product_id: line for line in response.context["lines"]}
    assert (lines[a.pk].picked_up, lines[a.pk].remaining) == (D("3"), D("2"))
    assert (lines[b.pk].picked_up, lines[b.pk].remaining) == (D("2"), D("0"))
    assert "Bought" in page and "Picked up" in page and "Remaining" in page
    assert f"Pickup {pickup_order.number}-P1" in page and f"{pickup_order.number}-P2" in page
    assert "collected by Driver Wang" in page and "苏E12345" in page
    assert "Partially picked up" in page


def test_expired_pickup_code_is_flagged(signed_in, pickup_order):
    Order.objects.filter(pk=pickup_order.pk).update(
        pickup_code_expires_on=timezone.localdate() - datetime.timedelta(days=1))
    page = html(signed_in.get(f"/orders/{pickup_order.pk}/"))
    assert "Expired" in page and "extend it" in page


def test_qr_code_encodes_the_pickup_code():
    from orders.views import pickup_qr_svg

    svg = pickup_qr_svg("ABCDE23456")
    assert svg.startswith("<svg") and 'class="pickup-qr"' in svg and "<path" in svg
    assert pickup_qr_svg("ABCDE23456") == svg and pickup_qr_svg("ZZZZZ99999") != svg


@pytest.mark.parametrize("pickups", [1, 4])
def test_detail_query_count_is_constant(signed_in, pickup_order, cco, pickups,
                                        django_assert_max_num_queries):
    a = pickup_order.lines.order_by("pk").first().product
    for _n in range(pickups):
        pick(pickup_order, cco, **{str(a.pk): "1"})
    # session, user, company, order, lines (products, chemicals, depots), events (actors),
    # pickups (lines, their order lines and products, recorders), is-buyer, nav
    with django_assert_max_num_queries(17):
        assert signed_in.get(f"/orders/{pickup_order.pk}/").status_code == 200


# --- Actions ----------------------------------------------------------------------------------


def test_buyer_cancels_before_confirmation_and_the_stock_is_released(signed_in, order):
    stock = Stock.objects.get(product=order.lines.get().product)
    assert stock.reserved == D("3")
    response = signed_in.post(f"/orders/{order.pk}/cancel/", {"reason": "Ordered twice"},
                              follow=True)
    assert response.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    stock.refresh_from_db()
    assert stock.reserved == D("0")
    page = html(response)
    assert "is cancelled" in page and "Ordered twice" in page
    assert "Cancel the order" not in page


def test_cancel_after_confirmation_is_refused_with_the_reason(signed_in, order, cco):
    order_move(order_id=order.pk, to=S.CONFIRMED, actor=cco)
    page = html(signed_in.get(f"/orders/{order.pk}/"))
    assert "Cancel the order" not in page  # the button is gone …
    response = signed_in.post(f"/orders/{order.pk}/cancel/", follow=True)  # … and the URL says
    assert "already confirmed; ask the seller to cancel it" in html(response)
    order.refresh_from_db()
    assert order.status == S.CONFIRMED


def test_buyer_confirms_receipt_of_a_shipped_delivery(signed_in, order, cco):
    ready(order, cco)
    assert "Confirm receipt" not in html(signed_in.get(f"/orders/{order.pk}/"))
    services.order_ship(order_id=order.pk, actor=cco, tracking_number="SF123")
    page = html(signed_in.get(f"/orders/{order.pk}/"))
    assert "Confirm receipt" in page and "SF123" in page
    response = signed_in.post(f"/orders/{order.pk}/complete/", follow=True)
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert "received and completed" in html(response)
    assert list(order.events.values_list("to_status", flat=True))[-2:] == [S.DELIVERED,
                                                                          S.COMPLETED]


def test_complete_before_shipping_is_refused(signed_in, order):
    response = signed_in.post(f"/orders/{order.pk}/complete/", follow=True)
    assert "cannot go from" in html(response)
    order.refresh_from_db()
    assert order.status == S.PLACED


def test_reorder_fills_the_cart_and_lists_what_could_not_be_added(signed_in, buyer, place,
                                                                  subsidiary):
    kept = sellable(seller=subsidiary, price="5.00")
    gone = sellable(seller=subsidiary)
    (order,) = place(buyer, [(kept, 4), (gone, 1)])
    gone.is_active = False
    gone.save()
    response = signed_in.post(f"/orders/{order.pk}/reorder/", follow=True)
    assert response.redirect_chain == [("/cart/", 302)]
    assert dict(CartLine.objects.filter(cart__user=buyer).values_list(
        "product_id", "quantity")) == {kept.pk: D("4")}
    page = html(response)
    assert "1 line is back in your cart" in page
    assert f"Not added to the cart: {gone.display_name}: This product is not available." in page


def test_actions_are_post_only(signed_in, order):
    for action in ("cancel", "complete", "reorder"):
        assert signed_in.get(f"/orders/{order.pk}/{action}/").status_code == 405


# --- Print ------------------------------------------------------------------------------------


def test_print_view_is_a_document_with_everything_on_it(signed_in, pickup_order, company):
    Order.objects.filter(pk=pickup_order.pk).update(po_number="PO-PRINT-1")
    page = html(signed_in.get(f"/orders/{pickup_order.pk}/print/"))
    assert 'class="print-document"' in page
    assert pickup_order.number in page and "PO-PRINT-1" in page
    assert pickup_order.seller.name in page
    assert company.name in page and company.uscc in page
    assert f"¥{pickup_order.total:,}" in page and f"¥{pickup_order.vat}" in page
    assert pickup_order.pickup_code[:5] in page and 'class="pickup-qr"' in page
    assert "data-print" in page  # static/js/site.js prints (no inline handlers: CSP)
    assert "Cancel the order" not in page


def test_print_stylesheet_is_a4_without_site_chrome():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "chemmall.css").read_text()
    assert "@page { size: A4;" in css
    print_block = css[css.index("@media print"):]
    assert ".site-header" in print_block and ".site-footer" in print_block
    assert "display: none !important" in print_block


# --- Open pickup balances ---------------------------------------------------------------------


def test_balances_list_what_remains_by_depot(signed_in, buyer, place, subsidiary, cco,
                                             pickup_order, outsider_buyer):
    a, b = (line.product for line in pickup_order.lines.order_by("pk"))
    pick(pickup_order, cco, **{str(a.pk): "5"})  # a fully taken, b untouched
    north = DepotFactory(organization=subsidiary, name_en="Nanjing depot")
    c = sellable(seller=subsidiary, depots=[(north, "9")])
    (second,) = place(buyer, [(c, 4)], fulfilment="pickup", depot_id=north.pk)
    (cancelled,) = place(buyer, [(c, 1)], fulfilment="pickup", depot_id=north.pk)
    signed_in.post(f"/orders/{cancelled.pk}/cancel/")
    place(buyer, [(c, 1)])  # a delivery order has no pickup balance

    response = signed_in.get("/orders/balances/")
    page = html(response)
    groups = response.context["groups"]
    assert [g.depot.name for g in groups] == ["Suzhou depot", "Nanjing depot"]  # by depot
    by_depot = {g.depot.name: [(line.order_id, line.product_id, line.remaining)
                               for line in g.lines] for g in groups}
    assert by_depot == {
        "Suzhou depot": [(pickup_order.pk, b.pk, D("2"))],
        "Nanjing depot": [(second.pk, c.pk, D("4"))],
    }
    assert page.count('<section aria-labelledby="depot-') == 2

    signed_in.force_login(outsider_buyer)
    assert "Nothing waits to be picked up." in html(signed_in.get("/orders/balances/"))


@pytest.mark.parametrize("size", [1, 6])
def test_balances_query_count_is_constant(signed_in, buyer, place, subsidiary, size,
                                          django_assert_max_num_queries):
    for _n in range(size):
        depot = DepotFactory(organization=subsidiary)
        product = sellable(seller=subsidiary, depots=[(depot, "10")])
        place(buyer, [(product, 1)], fulfilment="pickup", depot_id=depot.pk)
    with django_assert_max_num_queries(6):  # session, user, company ×2, lines, nav
        assert signed_in.get("/orders/balances/").status_code == 200


def test_balances_are_for_company_members(client, cco):
    client.force_login(cco)
    assert client.get("/orders/balances/").status_code == 404
