"""Buyer pages of the orders app, part 1: add to cart, the cart page, checkout."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import PriceTier, Stock
from orders.models import CartLine, Checkout, Order
from tests.catalog.factories import ProductFactory
from tests.factories import BuyerFactory, DepotFactory
from tests.orders.factories import (
    AddressFactory,
    CarrierFactory,
    LicenceFactory,
    PriceListFactory,
    PriceTierFactory,
    StockFactory,
    sellable,
)

pytestmark = pytest.mark.django_db

D = Decimal


def html(response) -> str:
    return response.content.decode()


def cart_quantities(user) -> dict:
    return dict(CartLine.objects.filter(cart__user=user).values_list("product_id", "quantity"))


@pytest.fixture
def drum(subsidiary):
    """Sold by the 200 L drum: from 200 L in steps of 200 L, ¥12.50 per litre."""
    return sellable(seller=subsidiary, price="12.50", on_hand="2000", sales_unit="L",
                    min_order_quantity=D("200"), quantity_step=D("200"))


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


# --- Add to cart ------------------------------------------------------------------------------


def test_product_page_form_posts_to_the_cart_with_moq_and_step(client, drum):
    page = html(client.get(f"/products/{drum.pk}/"))
    assert 'action="/cart/add/"' in page
    assert 'min="200" step="200" value="200"' in page
    assert f'name="product" value="{drum.pk}"' in page


def test_guest_is_sent_to_login_and_back_to_the_product(client, drum):
    response = client.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/products/{drum.pk}/"
    assert not CartLine.objects.exists()


def test_add_to_cart_puts_the_quantity_in_the_cart(signed_in, buyer, drum):
    response = signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "400"},
                              follow=True)
    assert response.redirect_chain == [(f"/products/{drum.pk}/", 302)]
    assert cart_quantities(buyer) == {drum.pk: D("400")}
    assert "400 L in your cart" in html(response)
    # Adding again sets the quantity the buyer asks for (no silent doubling).
    signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "600"})
    assert cart_quantities(buyer) == {drum.pk: D("600")}


@pytest.mark.parametrize(("quantity", "message"), [
    ("0", "The quantity must be more than zero."),
    ("-200", "The quantity must be more than zero."),
    ("abc", "Enter the quantity as a number."),
    ("NaN", "The quantity must be more than zero."),
    ("1e400", "The quantity is too large; send an inquiry instead."),
    ("999999999999999", "The quantity is too large; send an inquiry instead."),
    ("100", "The minimum order is 200 L."),
    ("300", "Order in steps of 200 L from 200 L."),
    ("", "This field is required."),
])
def test_bad_quantity_answers_400_with_the_reason_and_keeps_the_input(
        signed_in, buyer, drum, quantity, message):
    response = signed_in.post("/cart/add/", {"product": drum.pk, "quantity": quantity})
    assert response.status_code == 400
    page = html(response)
    assert message in page
    assert "message error" in page
    if quantity:
        assert f'value="{quantity}"' in page  # what was typed, not the MOQ again
    assert not CartLine.objects.exists()


def test_zero_does_not_remove_a_line_already_in_the_cart(signed_in, buyer, drum):
    signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    assert signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "0"}).status_code == 400
    assert cart_quantities(buyer) == {drum.pk: D("200")}


def test_product_without_a_valid_price_cannot_go_in_the_cart(signed_in, subsidiary):
    product = ProductFactory(seller=subsidiary)
    StockFactory(product=product)
    response = signed_in.post("/cart/add/", {"product": product.pk, "quantity": "1"})
    assert response.status_code == 400
    assert "has no valid price" in html(response)
    assert not CartLine.objects.exists()


def test_staff_without_a_company_cannot_order(client, cco, drum):
    client.force_login(cco)
    response = client.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    assert response.status_code == 400
    assert "Only members of a buyer company can order." in html(response)
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("product", ["", "x", "0", "99999999", "99999999999999999999999"])
def test_unknown_product_is_404(signed_in, product):
    assert signed_in.post("/cart/add/", {"product": product, "quantity": "1"}).status_code == 404


def test_inactive_product_is_404(signed_in, drum):
    drum.is_active = False
    drum.save()
    response = signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    assert response.status_code == 404
    assert not CartLine.objects.exists()


def test_add_to_cart_is_post_only(signed_in):
    assert signed_in.get("/cart/add/").status_code == 405


# --- Cart page --------------------------------------------------------------------------------


def test_cart_groups_lines_by_seller_with_prices_totals_and_vat(
        signed_in, buyer, company, subsidiary, other_subsidiary):
    a = sellable(seller=subsidiary, price="12.35")
    b = sellable(seller=other_subsidiary, price="99.99")
    # A tier for larger quantities and a company price list: the cart shows what applies.
    PriceTierFactory(price_list=a.price_tiers.get().price_list, product=a,
                     min_quantity=D("10"), unit_price=D("11.00"))
    company_list = PriceListFactory(seller=other_subsidiary, company=company)
    PriceTierFactory(price_list=company_list, product=b, unit_price=D("90.00"))
    signed_in.post("/cart/add/", {"product": a.pk, "quantity": "10"})
    signed_in.post("/cart/add/", {"product": b.pk, "quantity": "2"})

    response = signed_in.get("/cart/")
    assert response.status_code == 200
    page = html(response)
    groups = response.context["groups"]
    assert [g.seller for g in groups] == sorted([subsidiary, other_subsidiary],
                                                key=lambda s: s.pk)
    assert page.count('class="cart-group"') == 2
    assert "one order per seller" in page
    assert "¥11.00 / kg" in page and "tier from 10 kg" in page  # the reached tier
    assert "¥110.00" in page  # 10 × 11.00
    assert "¥90.00 / kg" in page and "Your company's price" in page
    assert "¥180.00" in page
    # 290.00 incl. VAT; VAT 290 − 290 / 1.13 = 33.36; excl. 256.64
    assert (response.context["subtotal"], response.context["vat"],
            response.context["total"]) == (D("256.64"), D("33.36"), D("290.00"))
    assert "¥290.00" in page and "¥33.36" in page and "VAT 13%" in page
    assert 'href="/checkout/"' in page


def test_line_without_a_valid_price_is_flagged_and_blocks_checkout(signed_in, buyer, drum):
    signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    PriceTier.objects.filter(product=drum).delete()
    page = html(signed_in.get("/cart/"))
    assert 'class="unpriced"' in page and "No valid price" in page
    assert "remove them before checking out" in page
    assert 'href="/checkout/"' not in page


def test_update_quantity(signed_in, buyer, drum):
    signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    response = signed_in.post(f"/cart/{drum.pk}/", {"quantity": "800"})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert cart_quantities(buyer) == {drum.pk: D("800")}


@pytest.mark.parametrize(("quantity", "message"), [
    ("-200", "The quantity must be more than zero."),
    ("lots", "Enter the quantity as a number."),
    ("1e30", "The quantity is too large"),
    ("250", "Order in steps of 200 L from 200 L."),
])
def test_bad_update_answers_400_on_its_line_and_changes_nothing(signed_in, buyer, drum,
                                                                 quantity, message):
    signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    response = signed_in.post(f"/cart/{drum.pk}/", {"quantity": quantity})
    assert response.status_code == 400
    page = html(response)
    assert message in page
    assert f'id="quantity-{drum.pk}-error"' in page
    assert f'value="{quantity}"' in page
    assert cart_quantities(buyer) == {drum.pk: D("200")}


def test_update_to_zero_and_remove_take_the_line_out(signed_in, buyer, drum, subsidiary):
    other = sellable(seller=subsidiary)
    signed_in.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    signed_in.post("/cart/add/", {"product": other.pk, "quantity": "1"})
    signed_in.post(f"/cart/{drum.pk}/", {"quantity": "0"})
    assert cart_quantities(buyer) == {other.pk: D("1")}
    assert signed_in.post(f"/cart/{other.pk}/remove/").status_code == 302
    assert cart_quantities(buyer) == {}


def test_cart_lines_of_others_are_out_of_reach(client, buyer, outsider_buyer, drum):
    client.force_login(outsider_buyer)
    client.post("/cart/add/", {"product": drum.pk, "quantity": "200"})
    client.force_login(buyer)
    assert "Your cart is empty." in html(client.get("/cart/"))
    # Updating a line that is not in one's own cart is a 404, and removing touches nothing.
    assert client.post(f"/cart/{drum.pk}/", {"quantity": "400"}).status_code == 404
    client.post(f"/cart/{drum.pk}/remove/")
    assert cart_quantities(outsider_buyer) == {drum.pk: D("200")}
    assert cart_quantities(buyer) == {}


def test_cart_needs_sign_in(client):
    response = client.get("/cart/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("size", [1, 12])
def test_cart_query_count_is_constant(signed_in, buyer, subsidiary, other_subsidiary, size,
                                      django_assert_max_num_queries):
    for n in range(size):
        product = sellable(seller=subsidiary if n % 2 else other_subsidiary)
        signed_in.post("/cart/add/", {"product": product.pk, "quantity": "1"})
    with django_assert_max_num_queries(6):  # session, user, lines, company, tiers, nav
        assert signed_in.get("/cart/").status_code == 200


# --- Checkout ---------------------------------------------------------------------------------


def fill_cart(client, *items):
    for product, quantity in items:
        response = client.post("/cart/add/", {"product": product.pk, "quantity": quantity})
        assert response.status_code == 302, html(response)


def checkout_key(client) -> str:
    response = client.get("/checkout/")
    assert response.status_code == 200
    match = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html(response))
    assert match, "the checkout form carries a one-time key"
    return match.group(1)


def checkout_data(key, **overrides):
    data = {"idempotency_key": key, "fulfilment": "delivery", "payment_method": "prepayment",
            "po_number": "PO-4711", "requested_date": "", "notes": "Gate 3, mornings"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(signed_in):
    response = signed_in.get("/checkout/", follow=True)
    assert response.redirect_chain == [("/cart/", 302)]
    assert "Your cart is empty." in html(response)


def test_checkout_page_offers_addresses_carriers_depots_and_a_fresh_key(
        signed_in, buyer, address, subsidiary, drum):
    other_address = AddressFactory(company=address.company, label="Warehouse east")
    AddressFactory(label="Someone else's plant")  # another company's
    CarrierFactory(name="Safe Haul", hazmat_qualified=True)
    CarrierFactory(name="Parcel Fast")
    CarrierFactory(name="Retired Trucks", is_active=False)
    holding = drum.stocks.get().depot
    empty = DepotFactory(organization=subsidiary, name_en="Empty depot")
    StockFactory(product=drum, depot=empty, on_hand=D("0"))
    fill_cart(signed_in, (drum, "200"))

    first, second = checkout_key(signed_in), checkout_key(signed_in)
    assert first != second  # one key per page load
    page = html(signed_in.get("/checkout/"))
    assert f'<option value="{address.pk}" selected>' in page  # the default address
    assert f'<option value="{other_address.pk}">' in page
    assert "Someone else&#x27;s plant" not in page
    assert "Safe Haul (hazmat qualified)" in page and "Parcel Fast" in page
    assert "Retired Trucks" not in page
    assert f'<option value="{holding.pk}">' in page
    assert "Empty depot" not in page
    assert "¥2,500.00" in page  # 200 L × 12.50


def test_checkout_places_the_order_and_shows_it(signed_in, buyer, address, drum):
    fill_cart(signed_in, (drum, "400"))
    key = checkout_key(signed_in)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = signed_in.post("/checkout/", checkout_data(
        key, address=address.pk, requested_date=tomorrow.isoformat()), follow=True)
    order = Order.objects.get()
    assert response.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    assert (order.fulfilment, order.address, order.po_number, order.requested_date,
            order.notes, order.total) == ("delivery", address, "PO-4711", tomorrow,
                                          "Gate 3, mornings", D("5000.00"))
    assert order.checkout.idempotency_key == key
    assert f"Order {order.number} is placed" in html(response)
    assert cart_quantities(buyer) == {}
    assert Stock.objects.get(product=drum).reserved == D("400")


def test_the_same_key_posted_twice_places_one_order(signed_in, buyer, address, drum):
    fill_cart(signed_in, (drum, "200"))
    data = checkout_data(checkout_key(signed_in), address=address.pk)
    first = signed_in.post("/checkout/", data)
    second = signed_in.post("/checkout/", data)  # a double click, or the browser's retry
    order = Order.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/orders/{order.pk}/"
    assert Checkout.objects.count() == 1
    assert Stock.objects.get(product=drum).reserved == D("200")


def test_a_pickup_double_submit_is_a_replay_too(signed_in, buyer, drum):
    depot = drum.stocks.get().depot
    fill_cart(signed_in, (drum, "200"))
    data = checkout_data(checkout_key(signed_in), fulfilment="pickup", depot=depot.pk)
    assert signed_in.post("/checkout/", data).status_code == 302
    # The cart is empty now, and the depot is no longer "offered": still the first answer.
    second = signed_in.post("/checkout/", data)
    order = Order.objects.get()
    assert second.status_code == 302 and second["Location"] == f"/orders/{order.pk}/"


def test_several_sellers_give_several_orders_and_the_list(signed_in, buyer, address,
                                                          subsidiary, other_subsidiary):
    fill_cart(signed_in, (sellable(seller=subsidiary), "1"),
              (sellable(seller=other_subsidiary), "2"))
    page = html(signed_in.get("/checkout/"))
    assert "Your cart holds goods of several sellers" in page  # no single pickup depot
    response = signed_in.post("/checkout/", checkout_data(checkout_key(signed_in),
                                                          address=address.pk), follow=True)
    assert response.redirect_chain == [("/orders/", 302)]
    assert Order.objects.count() == 2
    assert "Orders " in html(response) and "one per seller" in html(response)


def test_pickup_order_gets_a_pickup_code(signed_in, buyer, drum):
    depot = drum.stocks.get().depot
    fill_cart(signed_in, (drum, "200"))
    response = signed_in.post("/checkout/", checkout_data(
        checkout_key(signed_in), fulfilment="pickup", depot=depot.pk), follow=True)
    order = Order.objects.get()
    assert (order.fulfilment, order.pickup_depot, order.address) == ("pickup", depot, None)
    assert len(order.pickup_code) == 10
    assert order.pickup_code[:5] in html(response) and "<svg" in html(response)


def assert_kept(page: str):
    """The checkout form came back with what the buyer typed."""
    assert 'value="PO-4711"' in page
    assert "Gate 3, mornings</textarea>" in page


def test_shortage_is_a_form_error_with_what_is_available(signed_in, buyer, address,
                                                         subsidiary):
    product = sellable(seller=subsidiary, on_hand="5")
    fill_cart(signed_in, (product, "5"))
    Stock.objects.filter(product=product).update(reserved=D("2"))  # someone was faster
    key = checkout_key(signed_in)
    response = signed_in.post("/checkout/", checkout_data(key, address=address.pk))
    assert response.status_code == 400
    page = html(response)
    assert "you ordered 5 kg, 3 kg are available in total" in page
    assert 'class="form-errors"' in page
    assert_kept(page)
    assert f'value="{key}"' in page  # the same key: the failed attempt placed nothing
    assert not Order.objects.exists() and not Checkout.objects.exists()
    # The buyer lowers the quantity and places with the same form.
    signed_in.post(f"/cart/{product.pk}/", {"quantity": "3"})
    assert signed_in.post("/checkout/", checkout_data(key, address=address.pk)).status_code == 302
    assert Order.objects.get().lines.get().quantity == D("3")


def test_controlled_chemical_without_licence_is_explained(signed_in, buyer, company, address,
                                                          subsidiary):
    product = sellable(seller=subsidiary, controlled=True)
    fill_cart(signed_in, (product, "1"))
    data = checkout_data(checkout_key(signed_in), address=address.pk)
    response = signed_in.post("/checkout/", data)
    assert response.status_code == 400
    assert "is a controlled chemical" in html(response)
    assert_kept(html(response))
    assert not Order.objects.exists()
    LicenceFactory(company=company)
    assert signed_in.post("/checkout/", data).status_code == 302


def test_hazardous_goods_need_a_hazmat_carrier(signed_in, buyer, address, subsidiary):
    product = sellable(seller=subsidiary, un_number="1170")
    plain, qualified = CarrierFactory(name="Parcel Fast"), CarrierFactory(hazmat_qualified=True)
    fill_cart(signed_in, (product, "1"))
    key = checkout_key(signed_in)
    assert "Your cart holds dangerous goods" in html(signed_in.get("/checkout/"))
    response = signed_in.post("/checkout/", checkout_data(key, address=address.pk,
                                                          carrier=plain.pk))
    assert response.status_code == 400
    assert 'id="id_carrier-error"' in html(response)
    assert "Parcel Fast is not qualified to carry dangerous goods" in html(response)
    assert f'<option value="{plain.pk}" selected>' in html(response)
    assert not Order.objects.exists()
    response = signed_in.post("/checkout/", checkout_data(key, address=address.pk,
                                                          carrier=qualified.pk))
    assert response.status_code == 302
    assert Order.objects.get().carrier == qualified


def test_credit_terms_not_agreed(signed_in, buyer, address, drum):
    fill_cart(signed_in, (drum, "200"))
    response = signed_in.post("/checkout/", checkout_data(
        checkout_key(signed_in), address=address.pk, payment_method="credit"))
    assert response.status_code == 400
    assert 'id="id_payment_method-error"' in html(response)
    assert "credit terms are not agreed" in html(response)
    assert not Order.objects.exists()


def test_credit_order_over_the_limit_waits_for_finance(signed_in, buyer, company, address,
                                                       drum):
    company.payment_terms_days, company.credit_limit = 30, D("1000.00")
    company.save()
    fill_cart(signed_in, (drum, "200"))
    page = html(signed_in.get("/checkout/"))
    assert re.search(r'name="payment_method" value="credit"[^>]*checked', page)  # their terms
    response = signed_in.post("/checkout/", checkout_data(
        checkout_key(signed_in), address=address.pk, payment_method="credit"), follow=True)
    order = Order.objects.get()
    assert order.status == Order.Status.AWAITING_CREDIT
    assert "waits for finance&#x27;s credit approval" in html(response)


def test_empty_cart_on_post_is_a_form_error(signed_in, buyer, address, drum):
    fill_cart(signed_in, (drum, "200"))
    key = checkout_key(signed_in)
    signed_in.post(f"/cart/{drum.pk}/remove/")
    response = signed_in.post("/checkout/", checkout_data(key, address=address.pk))
    assert response.status_code == 400
    assert "Your cart is empty." in html(response)
    assert not Checkout.objects.exists()


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"fulfilment": None}, "fulfilment", "This field is required."),
    ({"payment_method": None}, "payment_method", "This field is required."),
    ({"fulfilment": "teleport"}, "fulfilment", "Select a valid choice."),
    ({"payment_method": "barter"}, "payment_method", "Select a valid choice."),
    ({"address": None}, "address", "Choose a delivery address from your address book."),
    ({"address": "abc"}, "address", "Select a valid choice."),
    ({"fulfilment": "pickup"}, "depot", "Choose the depot where you will pick up."),
    ({"requested_date": "2001-01-01"}, "requested_date", "cannot be in the past"),
    ({"requested_date": "soon"}, "requested_date", "Enter a valid date."),
    ({"carrier": "999999"}, "carrier", "Select a valid choice."),
])
def test_bad_checkout_input_is_a_400_on_its_field(signed_in, buyer, address, drum, overrides,
                                                  field, message):
    fill_cart(signed_in, (drum, "200"))
    data = checkout_data(checkout_key(signed_in), address=address.pk)
    data.update(overrides)
    response = signed_in.post("/checkout/", {k: v for k, v in data.items() if v is not None})
    assert response.status_code == 400
    page = html(response)
    assert f'id="id_{field}-error"' in page
    assert message in page
    assert_kept(page)
    assert not Order.objects.exists() and not Checkout.objects.exists()


def test_another_companys_address_is_refused(signed_in, buyer, address, drum):
    foreign = AddressFactory()  # of another company
    fill_cart(signed_in, (drum, "200"))
    response = signed_in.post("/checkout/", checkout_data(checkout_key(signed_in),
                                                          address=foreign.pk))
    assert response.status_code == 400
    assert "Select a valid choice." in html(response)
    assert not Order.objects.exists()


def test_missing_or_overlong_key_is_refused(signed_in, buyer, address, drum):
    fill_cart(signed_in, (drum, "200"))
    for key in ("", "k" * 65):
        response = signed_in.post("/checkout/", checkout_data(key, address=address.pk))
        assert response.status_code == 400
        assert "This form is out of date" in html(response)
    assert not Order.objects.exists()


def test_empty_address_book_links_to_it_from_checkout(signed_in, buyer, drum):
    fill_cart(signed_in, (drum, "200"))
    page = html(signed_in.get("/checkout/"))
    assert "Your address book is empty." in page
    assert 'href="/addresses/?next=/checkout/"' in page


def test_checkout_is_for_company_members_only(client, cco, drum):
    assert client.get("/checkout/").status_code == 302  # guests sign in first
    client.force_login(cco)
    assert client.get("/checkout/").status_code == 404
    client.force_login(BuyerFactory())
    assert client.post("/checkout/", checkout_data("k" * 32)).status_code == 400  # own empty cart
