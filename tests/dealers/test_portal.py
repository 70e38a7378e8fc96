"""The dealer portal pages: scoped to the user's own dealer (everything else 404), accept,
decline with a reason, quote after accepting, commissions and statements with the Excel
download; bad input is a form error that keeps what was typed."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from dealers import services
from dealers.models import Assignment, CommissionLine
from tests.dealers.conftest import HANGZHOU, dealer_user, make_dealer
from tests.dealers.test_commissions import SHANGHAI, bought, line_at
from tests.factories import TEST_PASSWORD
from tests.inquiries.test_routing import ask

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    assert client.login(email=user.email, password=TEST_PASSWORD)
    return client


@pytest.fixture
def routed(world):
    inquiry = ask(world.product, buyer=world.buyer, quantity="10",
                  delivery_region_code=world.address.region_id, message="Need COA")
    return inquiry.dealer_assignment


def test_the_list_shows_the_dealers_inquiries_with_their_countdown(client, world, routed,
                                                                   django_assert_max_num_queries):
    signed_in(client, world.user)
    for _i in range(5):
        ask(world.product, buyer=world.buyer, quantity="10",
            delivery_region_code=world.address.region_id)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("dealers:home"))
    body = page.content.decode()
    assert page.status_code == 200
    assert routed.inquiry.number in body and "data-countdown" in body
    assert "6 inquiries wait for your answer" in body
    assert page.headers["Cache-Control"] == "private, no-store"


def test_other_dealers_buyers_and_staff_get_404(client, world, routed):
    stranger = make_dealer(world.seller, regions=[HANGZHOU], name="杭州经销")
    line = line_at(world, dt.datetime(2026, 10, 5, 12, tzinfo=SHANGHAI))
    [statement] = [s for s in services.statements_issue(month=dt.date(2026, 10, 1))
                   if s.dealer == world.dealer]
    urls = [reverse("dealers:assignment", args=[routed.pk]),
            reverse("dealers:statement", args=[statement.pk]),
            reverse("dealers:statement-xlsx", args=[statement.pk])]
    posts = [reverse("dealers:accept", args=[routed.pk]),
             reverse("dealers:decline", args=[routed.pk]),
             reverse("dealers:quote", args=[routed.pk])]
    for user in (dealer_user(stranger), world.buyer, world.staff):
        client.logout()
        signed_in(client, user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        for url in posts:
            assert client.post(url, {"reason": "x"}).status_code == 404, (user, url)
    client.logout()
    signed_in(client, dealer_user(stranger))
    assert routed.inquiry.number not in client.get(reverse("dealers:home")).content.decode()
    assert line.order.number not in client.get(
        reverse("dealers:commissions")).content.decode()
    assert Assignment.objects.get(pk=routed.pk).status == "routed"
    # Signed out: the sign-in page.
    client.logout()
    assert client.get(reverse("dealers:home")).status_code == 302


def test_accept_then_quote(client, world, routed):
    signed_in(client, world.user)
    detail = reverse("dealers:assignment", args=[routed.pk])
    page = client.get(detail).content.decode()
    assert "Need COA" in page and world.buyer.email not in page  # contact after accepting
    assert client.post(reverse("dealers:accept", args=[routed.pk])).status_code == 302
    page = client.get(detail).content.decode()
    assert world.buyer.email in page and 'id="quote"' in page
    form = {"product": world.product.pk, "quantity": "10", "unit_price": "109.00",
            "tax_inclusive": "on", "valid_until": (timezone.localdate()
                                                   + dt.timedelta(days=7)).isoformat(),
            "lead_time_days": "3", "incoterm": "DAP", "payment_terms": "Prepayment",
            "note": "", "expected_version": "0"}
    bad = client.post(reverse("dealers:quote", args=[routed.pk]), {**form, "unit_price": "-1"})
    assert bad.status_code == 400 and "positive amount" in bad.content.decode()
    assert 'value="Prepayment"' in bad.content.decode()  # what was typed stays
    assert client.post(reverse("dealers:quote", args=[routed.pk]), form).status_code == 302
    routed.inquiry.refresh_from_db()
    assert routed.inquiry.status == "quoted"
    assert routed.inquiry.quotes.get().dealer_quote.dealer == world.dealer


def test_decline_needs_a_reason(client, world, routed):
    signed_in(client, world.user)
    page = client.post(reverse("dealers:decline", args=[routed.pk]), {"reason": ""})
    assert page.status_code == 400 and "This field is required" in page.content.decode()
    assert Assignment.objects.get(pk=routed.pk).status == "routed"
    done = client.post(reverse("dealers:decline", args=[routed.pk]), {"reason": "Too far"})
    assert done.status_code == 302
    assert Assignment.objects.get(pk=routed.pk).status == "declined"


def test_accepting_after_the_window_is_a_clear_409(client, world, routed):
    Assignment.objects.filter(pk=routed.pk).update(due_at=timezone.now() - dt.timedelta(1))
    signed_in(client, world.user)
    page = client.post(reverse("dealers:accept", args=[routed.pk]))
    assert page.status_code == 409 and "answer window closed" in page.content.decode()


def test_commissions_and_statements_with_the_excel_download(client, world):
    line_at(world, dt.datetime(2026, 10, 5, 12, tzinfo=SHANGHAI), "12.34")
    [statement] = services.statements_issue(month=dt.date(2026, 10, 1))
    CommissionLine.objects.create(
        dealer=world.dealer, order=bought(world), category=world.category, kind="accrual",
        basis="territory", base_amount=Decimal("100.00"), rate=Decimal("2.00"),
        amount=Decimal("2.00"))
    signed_in(client, world.user)
    page = client.get(reverse("dealers:commissions")).content.decode()
    assert "12.34" in page and "Not on a statement yet: 2.00 CNY" in page
    page = client.get(reverse("dealers:statements")).content.decode()
    assert "2026-10" in page and "12.34" in page
    download = client.get(reverse("dealers:statement-xlsx", args=[statement.pk]))
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[3][7] == Decimal("12.34") or float(rows[3][7]) == 12.34
    assert rows[-1][0] == "Total" and float(rows[-1][7]) == 12.34


def test_the_accepted_dealer_writes_to_the_buyer(client, world, routed):
    signed_in(client, world.user)
    url = reverse("dealers:message", args=[routed.pk])
    assert client.post(url, {"body": "Hello"}).status_code == 409  # not accepted yet
    services.assignment_accept(assignment_id=routed.pk, user=world.user)
    bad = client.post(url, {"body": "  "})
    assert bad.status_code == 400 and "Write a message." in bad.content.decode()
    assert client.post(url, {"body": "We deliver on Friday."}).status_code == 302
    inquiry = routed.inquiry
    inquiry.refresh_from_db()
    event = inquiry.events.get(kind="message_out")
    assert (event.actor, event.is_public) == (world.user, True)
    assert inquiry.first_response_at is not None
    page = client.get(reverse("dealers:assignment", args=[routed.pk])).content.decode()
    assert "We deliver on Friday." in page
    # The buyer's answer reaches the dealer, with a link to the portal (not the admin).
    from inquiries import services as inquiry_services
    from orders.models import OutboxMessage
    inquiry_services.inquiry_message_post(inquiry_id=inquiry.pk, actor=world.buyer,
                                          body="Friday is fine.")
    mail = OutboxMessage.objects.get(kind="inquiry_buyer_message", to_email=world.user.email)
    assert "/dealer/" in mail.body and "/admin/" not in mail.body
    assert "Friday is fine." in client.get(
        reverse("dealers:assignment", args=[routed.pk])).content.decode()


def test_the_header_links_each_role_to_its_pages(client, world):
    from accounts.services import roles_sync

    roles_sync()
    signed_in(client, world.user)
    home = client.get("/").content.decode()
    assert 'href="/dealer/"' in home and 'href="/reports/"' not in home
    client.logout()
    signed_in(client, world.staff)  # a subsidiary manager
    home = client.get("/").content.decode()
    assert 'href="/reports/"' in home and 'href="/dealer/"' not in home
    client.logout()
    signed_in(client, world.buyer)
    home = client.get("/").content.decode()
    assert 'href="/reports/"' not in home and 'href="/dealer/"' not in home


def test_the_portal_lists_take_as_many_queries_for_one_row_as_for_many(client, world):
    """Inquiries (products named only by their chemical), commission lines on statements,
    statements: the count of queries does not grow with the rows shown."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Product

    def fill(n: int, month: dt.date):
        for _i in range(n):
            ask(world.product, buyer=world.buyer, quantity="10",
                delivery_region_code=world.address.region_id)
            line_at(world, dt.datetime.combine(month, dt.time(12), tzinfo=SHANGHAI))
        services.statements_issue(month=month)

    def counts() -> list[int]:
        found = []
        for name in ("dealers:home", "dealers:commissions", "dealers:statements"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse(name)).status_code == 200
            found.append(len(queries.captured_queries))
        return found

    Product.objects.filter(pk=world.product.pk).update(name_en="", name_zh="")
    signed_in(client, world.user)
    fill(1, dt.date(2026, 9, 1))
    few = counts()
    fill(5, dt.date(2026, 10, 1))
    assert counts() == few
