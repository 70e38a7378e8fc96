"""A guest asks for a chemical we do not list; the HQ pool's CCO answers in the admin with a
canned reply and a quote; the guest registers a company, takes the inquiry into it and
accepts the quote; an order exists at the quoted price."""

import datetime
import re
from decimal import Decimal

from playwright.sync_api import expect

from accounts.models import Role, User
from inquiries.models import CannedReply, Inquiry, InquiryEvent, Quote
from orders.models import Order
from tests.factories import DepotFactory, StaffFactory, SubsidiaryFactory, valid_uscc
from tests.orders.factories import sellable

NEW_PASSWORD = "Rz7!silane-coupling"


def test_guest_inquiry_for_an_unlisted_chemical_becomes_an_order(page, browser, live_server,
                                                               hq, login, screenshot):
    seller = SubsidiaryFactory(parent=hq, name_en="Zhejiang New Materials")
    depot = DepotFactory(organization=seller, name_en="Ningbo Zhenhai depot")
    silane = sellable(seller=seller, price="48.00", depots=[(depot, "2000")],
                      name_en="Silane coupling agent KH-550 (custom grade)",
                      min_order_quantity=Decimal("25"), quantity_step=Decimal("25"))
    cco = StaffFactory(organization=hq, roles=[Role.CCO], full_name="Chen Xiaoyan")
    CannedReply.objects.create(
        organization=hq, title="Availability",
        body="Dear {buyer}, we can supply {quantity} of {product}. A quote follows. — {cco}")

    # 1. The guest asks, with contact details, for a chemical nobody lists.
    page.goto("/inquiries/new/")
    page.fill("input[name=requested_name]", "Custom-grade silane coupling agent")
    page.fill("input[name=quantity]", "500")
    page.select_option("select[name=unit]", "kg")
    page.fill("textarea[name=message]", "Need <b>COA</b> with each batch.")
    page.fill("input[name=contact_name]", "Wang Fang")
    page.fill("input[name=contact_company]", "Ningbo Bright Coatings")
    page.fill("input[name=contact_email]", "wang.fang@example.com")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the inquiry").click()
    inquiry = Inquiry.objects.get(contact_email="wang.fang@example.com")
    assert inquiry.is_unlisted and inquiry.seller == hq and inquiry.owner == cco
    track_url = page.locator(".private-link a").get_attribute("href")
    assert inquiry.access_token in track_url

    # 2. The CCO answers in the workbench: a canned reply, then a quote.
    staff = browser.new_context(base_url=live_server.url)
    staff_page = staff.new_page()
    try:
        login(staff_page, cco)
        staff_page.goto("/admin/inquiries/inquiry/")
        staff_page.get_by_role("link", name=inquiry.number).click()
        expect(staff_page.locator("body")).to_contain_text("Need <b>COA</b> with each batch.")
        staff_page.select_option("#wb-canned-picker", label="Availability")
        body = staff_page.locator("#id_message-body")
        expect(body).to_have_value(re.compile(r"^Dear Wang Fang, we can supply 500"))
        body.fill(body.input_value() + " COA attached on shipment.")
        with staff_page.expect_navigation():
            staff_page.locator("#wb-message-form input[type=submit]").click()
        expect(staff_page.locator("body")).to_contain_text("COA attached on shipment.")

        staff_page.select_option("#id_quote-product", str(silane.pk))
        staff_page.fill("#id_quote-quantity", "500")
        staff_page.fill("#id_quote-unit_price", "45.50")
        valid_until = inquiry.received_at.date() + datetime.timedelta(days=10)
        staff_page.fill("#id_quote-valid_until", valid_until.isoformat())
        staff_page.fill("#id_quote-lead_time_days", "7")
        staff_page.fill("#id_quote-payment_terms", "Prepayment by bank transfer")
        with staff_page.expect_navigation():
            staff_page.locator("#wb-quote-form input[type=submit]").click()
        screenshot(staff_page, "workbench-quoted")
    finally:
        staff.close()
    quote = Quote.objects.get(inquiry=inquiry)
    assert (quote.status, quote.unit_price) == (Quote.Status.SENT, Decimal("45.50"))
    assert inquiry.events.filter(kind=InquiryEvent.Kind.MESSAGE_OUT).exists()

    # 3. The guest reads the quote on the private link, registers and takes the inquiry in.
    page.goto(track_url)
    expect(page.locator("main")).to_contain_text("45.50")
    expect(page.locator("main")).to_contain_text("Dear Wang Fang")
    page.locator("main").get_by_role("link", name="register your company", exact=True).click()
    page.select_option("select[name=province]", "330000")
    page.fill("input[name=company_name]", "宁波明亮涂料有限公司")
    page.fill("input[name=uscc]", valid_uscc(4242))
    page.fill("input[name=full_name]", "Wang Fang")
    page.fill("input[name=email]", "wang.fang@example.com")
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    with page.expect_navigation():
        page.locator("form[data-region-select] button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(track_url) + "$"))
    with page.expect_navigation():
        page.get_by_role("button", name="Add this inquiry to my company").click()
    page.wait_for_url(re.compile(rf"/inquiries/{inquiry.pk}/$"))

    # 4. The buyer accepts: pickup at the seller's depot, prepayment.
    page.check("#accept input[name=fulfilment][value=pickup]")
    page.select_option("#accept select[name=depot]", str(depot.pk))
    page.check("#accept input[name=payment_method][value=prepayment]")
    with page.expect_navigation():
        page.get_by_role("button", name="Accept version 1").click()
    buyer = User.objects.get(email="wang.fang@example.com")
    order = Order.objects.get(company=buyer.membership.company)
    page.wait_for_url(re.compile(rf"/orders/{order.pk}/$"))
    screenshot(page, "order-from-quote")
    line = order.lines.get()
    assert (line.product, line.quantity, line.unit_price) == (silane, Decimal("500"),
                                                              Decimal("45.50"))
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.WON and inquiry.order == order
