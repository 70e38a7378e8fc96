"""A buyer orders two products for pickup at a depot and collects them in two visits:
cart → checkout → pickup code; the depot operator records two partial pickups; the buyer
sees what remains, then that everything is collected."""

import re
from decimal import Decimal

from playwright.sync_api import expect

from accounts.models import Role
from catalog.models import Stock
from orders import services
from orders.models import Order
from tests.factories import BuyerFactory, DepotFactory, StaffFactory, SubsidiaryFactory
from tests.orders.factories import sellable


def _add_to_cart(page, product, quantity: str) -> None:
    page.goto(f"/products/{product.pk}/")
    page.fill("input[name=quantity]", quantity)
    with page.expect_navigation():
        page.get_by_role("button", name="Add to cart").click()


def _record_pickup(page, order, code: str, quantities: dict, collector: str) -> None:
    page.goto("/depot/")
    page.fill("input[name=code]", code.lower())  # as typed at the gate: case does not matter
    with page.expect_navigation():
        page.get_by_role("button", name="Find the order").click()
    expect(page.locator("h1")).to_contain_text(order.number)
    for line, quantity in quantities.items():
        page.fill(f"input[name=line_{line.pk}]", quantity)
    page.fill("input[name=collected_by]", collector)
    with page.expect_navigation():
        page.locator("form[method=post] button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/depot/receipts/\d+/$"))


def test_buyer_picks_up_an_order_in_two_visits(page, live_server, login, screenshot):
    seller = SubsidiaryFactory(name_en="Jiangsu Fine Chemicals", name_zh="江苏精细化工")
    depot = DepotFactory(organization=seller, code="SZ-01",
                         name_en="Suzhou Industrial Park depot")
    acetone = sellable(seller=seller, price="8.50", depots=[(depot, "500")],
                       name_en="Acetone 99.5%", min_order_quantity=Decimal("25"),
                       quantity_step=Decimal("25"))
    salt = sellable(seller=seller, price="2.10", depots=[(depot, "1000")],
                    name_en="Sodium chloride", min_order_quantity=Decimal("50"),
                    quantity_step=Decimal("50"))
    buyer = BuyerFactory(is_company_admin=True)
    cco = StaffFactory(organization=seller, roles=[Role.CCO])
    finance = StaffFactory(organization=seller, roles=[Role.FINANCE])
    operator = StaffFactory(organization=seller, roles=[Role.DEPOT_OPERATOR])
    depot.operators.add(operator)

    # The buyer fills the cart from two product pages and checks out for pickup.
    login(page, buyer)
    _add_to_cart(page, acetone, "100")
    _add_to_cart(page, salt, "200")
    page.goto("/cart/")
    expect(page.locator("main")).to_contain_text(acetone.display_name)
    expect(page.locator("main")).to_contain_text(salt.display_name)
    page.get_by_role("link", name="Proceed to checkout").click()
    page.check("input[name=fulfilment][value=pickup]")
    page.select_option("select[name=depot]", str(depot.pk))
    page.check("input[name=payment_method][value=prepayment]")
    page.fill("input[name=po_number]", "PO-2026-0042")
    with page.expect_navigation():
        page.get_by_role("button", name="Place the order").click()

    order = Order.objects.get(company=buyer.membership.company)
    page.wait_for_url(re.compile(rf"/orders/{order.pk}/$"))
    assert order.fulfilment == Order.Fulfilment.PICKUP and order.pickup_depot == depot
    code_shown = page.locator(".pickup-code .code").inner_text()
    assert code_shown.replace(" ", "") == order.pickup_code
    expect(page.locator(".pickup-code svg")).to_be_visible()  # the QR code
    screenshot(page, "order-with-pickup-code")
    reserved = Stock.objects.get(product=acetone, depot=depot).reserved
    assert reserved == Decimal("100")

    # The seller confirms, finance sees the transfer, the goods are made ready.
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    services.order_mark_ready(order_id=order.pk, actor=cco)
    acetone_line = order.lines.get(product=acetone)
    salt_line = order.lines.get(product=salt)

    # First visit: some of the acetone and all the salt; second visit: the rest.
    operator_page = page.context.browser.new_context(base_url=live_server.url)
    depot_page = operator_page.new_page()
    try:
        login(depot_page, operator)
        _record_pickup(depot_page, order, order.pickup_code,
                       {acetone_line: "40", salt_line: "200"}, "王师傅")
        expect(depot_page.locator("main")).to_contain_text("60")  # acetone still to collect

        page.goto(f"/orders/{order.pk}/")
        acetone_row = page.locator("tr", has_text=acetone.display_name).first
        expect(acetone_row).to_contain_text("60")  # remaining of 100
        expect(page.locator("main")).to_contain_text("Partially picked up")
        page.goto("/orders/balances/")
        expect(page.locator("main")).to_contain_text(acetone.display_name)
        expect(page.locator("main")).not_to_contain_text(salt.display_name)
        screenshot(page, "pickup-balances")

        _record_pickup(depot_page, order, order.pickup_code, {acetone_line: "60"}, "王师傅")
    finally:
        operator_page.close()

    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED
    assert order.pickups.count() == 2
    stock = Stock.objects.get(product=acetone, depot=depot)
    assert (stock.on_hand, stock.reserved) == (Decimal("400"), Decimal("0"))
    page.goto(f"/orders/{order.pk}/")
    expect(page.locator("main")).to_contain_text("Completed")
    page.goto("/orders/balances/")
    expect(page.locator("main")).not_to_contain_text(acetone.display_name)
