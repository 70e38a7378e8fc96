"""A buyer in Suzhou asks for local service; the inquiry lands in the Suzhou dealer's portal
with its countdown; the dealer accepts and quotes; the buyer accepts the quote in the browser;
when the order is completed and paid its commission line appears in the portal, and the
month's settlement lists it, downloadable as Excel."""

import datetime
import re
from decimal import Decimal

from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from accounts.models import Region, Role
from dealers import services
from dealers.models import Assignment, CommissionLine, Dealer, RoutingRule, Territory
from inquiries.models import Inquiry
from orders.models import Order
from tests.dealers.conftest import complete_and_pay
from tests.factories import BuyerFactory, StaffFactory, SubsidiaryFactory, UserFactory
from tests.inquiries.test_routing import cco
from tests.orders.factories import AddressFactory, sellable


def test_a_routed_inquiry_becomes_a_dealer_deal_and_a_commission(page, browser, live_server,
                                                                 hq, login, screenshot):
    seller = SubsidiaryFactory(parent=hq, name_en="Jiangsu Fine Chemicals")
    RoutingRule.objects.create(organization=seller, direct_sale_threshold=Decimal("1000"))
    cco(seller)
    product = sellable(seller=seller, price="113.00", on_hand="5000",
                       name_en="Isopropyl alcohol, electronic grade")
    dealer = Dealer.objects.create(organization=seller, name="Suzhou Suxin Trading",
                                   base_rate=Decimal("2.00"), won_rate=Decimal("5.00"))
    Territory.objects.create(dealer=dealer, region=Region.objects.get(code="320500"))
    dealer.categories.add(product.category)
    dealer_person = UserFactory(roles=[Role.DEALER], full_name="Zheng Hai")
    dealer.users.add(dealer_person)
    buyer = BuyerFactory(full_name="Zhang Wei")
    AddressFactory(company=buyer.membership.company, is_default=True,
                   region=Region.objects.get(code="320500"))

    # 1. The buyer asks for 200 units with local service, delivered to Suzhou.
    login(page, buyer)
    page.goto(f"/inquiries/new/?product={product.pk}")
    page.fill("input[name=quantity]", "200")
    page.select_option("select[name=province]", "320000")
    page.select_option("select[name=city]", "320500")
    page.check("input[name=wants_local_service]")
    page.fill("textarea[name=message]", "Please deliver to our Suzhou warehouse.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the inquiry").click()
    inquiry = Inquiry.objects.get(buyer=buyer)
    assignment = Assignment.objects.get(inquiry=inquiry)
    assert assignment.dealer == dealer and inquiry.owner is None

    # 2. The dealer sees it with its countdown, accepts and quotes.
    context = browser.new_context(base_url=live_server.url)
    dealer_page = context.new_page()
    try:
        login(dealer_page, dealer_person)
        dealer_page.goto("/dealer/")
        row = dealer_page.locator("tr", has_text=inquiry.number)
        expect(row.locator("[data-countdown]")).to_contain_text(re.compile(r"\d+ h \d+ min"))
        row.get_by_role("link", name=inquiry.number).click()
        expect(dealer_page.locator("main")).to_contain_text("asked for local service")
        with dealer_page.expect_navigation():
            dealer_page.get_by_role("button", name="Accept and serve this buyer").click()
        expect(dealer_page.locator("main")).to_contain_text(buyer.email)
        dealer_page.fill("#quote input[name=unit_price]", "109.00")
        dealer_page.fill("#quote input[name=valid_until]",
                         (timezone.localdate() + datetime.timedelta(days=7)).isoformat())
        dealer_page.fill("#quote input[name=lead_time_days]", "2")
        dealer_page.fill("#quote input[name=payment_terms]", "Prepayment")
        with dealer_page.expect_navigation():
            dealer_page.get_by_role("button", name="Send the quote").click()
        expect(dealer_page.locator("#quotes")).to_contain_text("109.00")
        screenshot(dealer_page, "dealer-quoted")

        # 3. The buyer accepts the dealer's quote: delivery, prepayment.
        page.goto(f"/inquiries/{inquiry.pk}/")
        expect(page.locator(".quote-card")).to_contain_text(
            "Suzhou Suxin Trading, local dealer of Jiangsu Fine Chemicals")
        page.check("#accept input[name=fulfilment][value=delivery]")
        page.check("#accept input[name=payment_method][value=prepayment]")
        with page.expect_navigation():
            page.get_by_role("button", name="Accept version 1").click()
        order = Order.objects.get(company=buyer.membership.company)
        assert order.lines.get().unit_price == Decimal("109.00")

        # 4. The subsidiary completes it and finance records the payment; the sweep accrues.
        staff = StaffFactory(organization=seller, roles=[Role.SUBSIDIARY_MANAGER])
        finance = StaffFactory(organization=seller, roles=[Role.FINANCE])
        complete_and_pay(order, seller_staff=staff, finance=finance)
        services.commissions_sweep()
        line = CommissionLine.objects.get(order=order)
        # 200 × 109.00 = 21,800.00 incl. VAT → 19,292.04 net × 5 % (won from a routed inquiry)
        assert (line.basis, line.rate, line.amount) == ("routed_won", Decimal("5.00"),
                                                        Decimal("964.60"))
        dealer_page.goto("/dealer/commissions/")
        expect(dealer_page.locator(".commission-lines")).to_contain_text(order.number)
        expect(dealer_page.locator(".commission-lines")).to_contain_text("964.60")

        # 5. The month's settlement lists it; the dealer downloads the statement.
        month = timezone.localdate().replace(day=1)
        next_month = (month + datetime.timedelta(days=32)).replace(day=1)
        services.statements_issue(month=month, now=timezone.make_aware(
            datetime.datetime.combine(next_month, datetime.time(0, 20))))
        dealer_page.goto("/dealer/statements/")
        dealer_page.get_by_role("link", name=f"{month:%Y-%m}").click()
        expect(dealer_page.locator("main")).to_contain_text("Total 964.60 CNY")
        screenshot(dealer_page, "dealer-statement")
        with dealer_page.expect_download() as download:
            dealer_page.get_by_role("link", name="Download as Excel").click()
        with open(download.value.path(), "rb") as file:  # a temp file without a suffix
            sheet = load_workbook(file).active
        assert [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)][0] == order.number
    finally:
        context.close()
