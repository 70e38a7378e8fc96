"""Finance pages: payments, credit approvals, licence reviews, pickup code extensions."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Role
from orders import services, staff_views
from orders.models import CompanyLicence, Order
from tests.factories import TEST_PASSWORD, BuyerFactory, DepotFactory, StaffFactory
from tests.orders.factories import AddressFactory, LicenceFactory, sellable

pytestmark = pytest.mark.django_db

D = Decimal
S = Order.Status
HOME = "/finance/"


def _login(client, user):
    assert client.login(email=user.email, password=TEST_PASSWORD)


@pytest.fixture
def finance(staff_by_role):
    return staff_by_role[Role.FINANCE]


@pytest.fixture
def other_finance(other_subsidiary):
    return StaffFactory(organization=other_subsidiary, roles=[Role.FINANCE])


@pytest.fixture
def product(subsidiary):
    return sellable(seller=subsidiary, price="100.00", name_en="Toluene drum")


@pytest.fixture
def prepaid(place, buyer, product):
    (order,) = place(buyer, [(product, 2)])
    return order


@pytest.fixture
def over_limit(place, buyer, company, product):
    """A credit order over the company's limit: 600 + 500 > 1000."""
    company.credit_limit, company.payment_terms_days = D("1000"), 30
    company.save()
    place(buyer, [(product, 6)], payment_method="credit")
    (order,) = place(buyer, [(product, 5)], payment_method="credit")
    assert order.status == S.AWAITING_CREDIT
    return order


@pytest.fixture
def pending_licence(company, subsidiary, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    company.served_by.add(subsidiary)
    return LicenceFactory(company=company, status=CompanyLicence.Status.PENDING,
                          number="LIC-PENDING-1",
                          document=SimpleUploadedFile("scan.pdf", b"%PDF-1.4 licence scan"))


def _ready_pickup(place, buyer, subsidiary, *, cco, finance, expires_in_days):
    depot = DepotFactory(organization=subsidiary)
    (order,) = place(buyer, [(sellable(seller=subsidiary, depots=[(depot, "10")]), 1)],
                     fulfilment="pickup", depot_id=depot.pk)
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    services.order_mark_ready(order_id=order.pk, actor=cco)
    Order.objects.filter(pk=order.pk).update(
        pickup_code_expires_on=timezone.localdate() + datetime.timedelta(days=expires_in_days))
    order.refresh_from_db()
    return order


# --- Payments ---------------------------------------------------------------------------------


def test_finance_confirms_a_prepayment(client, prepaid, finance):
    _login(client, finance)
    page = client.get(HOME).content.decode()
    assert prepaid.number in page
    assert f'action="/finance/orders/{prepaid.pk}/payment/"' in page
    response = client.post(f"/finance/orders/{prepaid.pk}/payment/")
    assert response.status_code == 302 and response["Location"] == HOME
    prepaid.refresh_from_db()
    assert prepaid.status == S.PAID
    assert prepaid.events.get(to_status=S.PAID).actor == finance
    page = client.get(HOME).content.decode()
    assert f"Payment of order {prepaid.number} recorded." in page
    assert f'/finance/orders/{prepaid.pk}/payment/"' not in page  # off the list
    # A second click changes nothing and does not fail.
    assert client.post(f"/finance/orders/{prepaid.pk}/payment/").status_code == 302
    assert prepaid.events.filter(to_status=S.PAID).count() == 1


def test_finance_records_a_credit_invoice_paid(client, place, buyer, company, product, cco,
                                               finance, other_finance):
    company.credit_limit, company.payment_terms_days = Decimal("100000"), 30
    company.save()
    (order,) = place(buyer, [(product, 1)], payment_method="credit")
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_mark_ready(order_id=order.pk, actor=cco)
    services.order_ship(order_id=order.pk, actor=cco, tracking_number="SF7")
    _login(client, other_finance)
    assert order.number not in client.get(HOME).content.decode()
    assert client.post(f"/finance/orders/{order.pk}/invoice-paid/").status_code == 404
    client.logout()
    _login(client, finance)
    page = client.get(HOME).content.decode()
    assert f'action="/finance/orders/{order.pk}/invoice-paid/"' in page
    response = client.post(f"/finance/orders/{order.pk}/invoice-paid/")
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.paid_at is not None and order.status == S.SHIPPED
    page = client.get(HOME).content.decode()
    assert f"Invoice of order {order.number} recorded as paid." in page
    assert f'/finance/orders/{order.pk}/invoice-paid/"' not in page


def test_payment_of_a_cancelled_order_is_a_conflict(client, prepaid, finance, buyer):
    services.order_cancel(order_id=prepaid.pk, actor=buyer)
    _login(client, finance)
    response = client.post(f"/finance/orders/{prepaid.pk}/payment/")
    assert response.status_code == 409
    assert f"Order {prepaid.number} cannot go from" in response.content.decode()
    prepaid.refresh_from_db()
    assert prepaid.status == S.CANCELLED


def test_payments_need_get_not_allowed(client, prepaid, finance):
    _login(client, finance)
    assert client.get(f"/finance/orders/{prepaid.pk}/payment/").status_code == 405
    prepaid.refresh_from_db()
    assert prepaid.status == S.PLACED


# --- Credit -----------------------------------------------------------------------------------


def test_finance_sees_why_credit_waits_and_approves_it(client, over_limit, finance):
    _login(client, finance)
    page = client.get(HOME).content.decode()
    assert over_limit.number in page
    assert "exceeds the credit limit 1000.00 CNY" in page
    response = client.post(f"/finance/orders/{over_limit.pk}/credit/", {"note": "CFO ok"})
    assert response.status_code == 302
    over_limit.refresh_from_db()
    assert over_limit.status == S.CREDIT_APPROVED
    event = over_limit.events.get(to_status=S.CREDIT_APPROVED)
    assert (event.actor, event.note) == (finance, "CFO ok")


def test_finance_cancels_a_credit_order_with_a_reason(client, over_limit, finance):
    _login(client, finance)
    url = f"/finance/orders/{over_limit.pk}/cancel/"
    page = client.get(url).content.decode()
    assert "exceeds the credit limit" in page and 'name="reason"' in page
    response = client.post(url, {"reason": "  "})
    assert response.status_code == 400
    over_limit.refresh_from_db()
    assert over_limit.status == S.AWAITING_CREDIT
    response = client.post(url, {"reason": "Overdue invoices first"})
    assert response.status_code == 302
    over_limit.refresh_from_db()
    assert over_limit.status == S.CANCELLED
    assert over_limit.events.get(to_status=S.CANCELLED).note == "Overdue invoices first"
    # Cancelled already: the credit button has nothing left to approve.
    response = client.post(f"/finance/orders/{over_limit.pk}/credit/")
    assert response.status_code == 409
    assert "cannot go from" in response.content.decode()


# --- Licences ---------------------------------------------------------------------------------


def test_finance_reviews_licences(client, pending_licence, company, finance):
    other = LicenceFactory(company=company, status=CompanyLicence.Status.PENDING,
                           number="LIC-PENDING-2")
    _login(client, finance)
    page = client.get(HOME).content.decode()
    assert "LIC-PENDING-1" in page and "LIC-PENDING-2" in page
    document_url = _document_url(pending_licence)
    if document_url:  # the buyer pages' download view (guarded while it is being built)
        assert f'href="{document_url}"' in page
        response = client.get(document_url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"%PDF-1.4 licence scan"
    response = client.post(f"/finance/licences/{pending_licence.pk}/review/",
                           {"decision": "approve"})
    assert response.status_code == 302
    client.post(f"/finance/licences/{other.pk}/review/", {"decision": "reject"})
    pending_licence.refresh_from_db()
    other.refresh_from_db()
    assert pending_licence.status == CompanyLicence.Status.APPROVED
    assert pending_licence.reviewed_by == finance and pending_licence.reviewed_at
    assert other.status == CompanyLicence.Status.REJECTED
    page = client.get(HOME).content.decode()
    assert "LIC-PENDING-1" not in page.split("Licences to review")[1].split("<section")[0]


def test_licence_review_needs_a_decision(client, pending_licence, finance):
    _login(client, finance)
    response = client.post(f"/finance/licences/{pending_licence.pk}/review/",
                           {"decision": "maybe"})
    assert response.status_code == 400
    pending_licence.refresh_from_db()
    assert pending_licence.status == CompanyLicence.Status.PENDING


def _document_url(licence) -> str | None:
    for name in ("orders:licence_document", "orders:licence-document"):
        try:
            return reverse(name, args=[licence.pk])
        except NoReverseMatch:
            continue
    return None


# --- Pickup codes -----------------------------------------------------------------------------


def test_finance_extends_an_expiring_pickup_code(client, place, buyer, subsidiary, cco,
                                                 finance):
    due = _ready_pickup(place, buyer, subsidiary, cco=cco, finance=finance, expires_in_days=1)
    expired = _ready_pickup(place, buyer, subsidiary, cco=cco, finance=finance,
                            expires_in_days=-2)
    later = _ready_pickup(place, buyer, subsidiary, cco=cco, finance=finance,
                          expires_in_days=10)
    _login(client, finance)
    assert "2 open pickup orders have expired or soon-expiring codes." in client.get(
        HOME).content.decode()
    listing = client.get("/finance/pickup-codes/").content.decode()
    assert due.number in listing and expired.number in listing
    assert later.number not in listing
    url = f"/finance/orders/{expired.pk}/pickup-code/"
    assert url in listing

    default = timezone.localdate() + datetime.timedelta(days=14)
    assert f'value="{default.isoformat()}"' in client.get(url).content.decode()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = client.post(url, {"until": yesterday.isoformat()})
    assert response.status_code == 400
    assert "Choose a date from today on." in response.content.decode()
    assert f'value="{yesterday.isoformat()}"' in response.content.decode()
    response = client.post(url, {"until": "not a date"})
    assert response.status_code == 400

    until = timezone.localdate() + datetime.timedelta(days=7)
    response = client.post(url, {"until": until.isoformat()})
    assert response.status_code == 302 and response["Location"] == "/finance/pickup-codes/"
    expired.refresh_from_db()
    assert expired.pickup_code_expires_on == until
    assert expired.events.filter(note__startswith=f"Pickup code valid until {until}").exists()
    listing = client.get("/finance/pickup-codes/").content.decode()
    assert f"The pickup code of order {expired.number} is valid until {until}." in listing
    assert url not in listing and due.number in listing


def test_extending_the_code_of_a_completed_order_is_a_conflict(
        client, place, buyer, subsidiary, cco, finance):
    order = _ready_pickup(place, buyer, subsidiary, cco=cco, finance=finance,
                          expires_in_days=1)
    operator = StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR])
    order.pickup_depot.operators.add(operator)
    services.pickup_record(actor=operator, order_id=order.pk,
                           quantities={order.lines.get().pk: "1"}, collected_by="李师傅")
    _login(client, finance)
    until = timezone.localdate() + datetime.timedelta(days=7)
    response = client.post(f"/finance/orders/{order.pk}/pickup-code/",
                           {"until": until.isoformat()})
    assert response.status_code == 409
    assert "Only open pickup orders" in response.content.decode()


# --- Scope ------------------------------------------------------------------------------------


def test_finance_of_another_subsidiary_sees_and_does_nothing(
        client, prepaid, over_limit, pending_licence, other_finance, place, buyer,
        subsidiary, cco, finance):
    pickup = _ready_pickup(place, buyer, subsidiary, cco=cco, finance=finance,
                           expires_in_days=1)
    _login(client, other_finance)
    page = client.get(HOME).content.decode()
    assert prepaid.number not in page and over_limit.number not in page
    assert pending_licence.number not in page
    assert pickup.number not in client.get("/finance/pickup-codes/").content.decode()
    until = (timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    assert client.post(f"/finance/orders/{prepaid.pk}/payment/").status_code == 404
    assert client.post(f"/finance/orders/{over_limit.pk}/credit/").status_code == 404
    assert client.get(f"/finance/orders/{over_limit.pk}/cancel/").status_code == 404
    assert client.post(f"/finance/orders/{over_limit.pk}/cancel/",
                       {"reason": "x"}).status_code == 404
    assert client.post(f"/finance/licences/{pending_licence.pk}/review/",
                       {"decision": "approve"}).status_code == 404
    document_url = _document_url(pending_licence)
    if document_url:
        assert client.get(document_url).status_code == 404
    assert client.get(f"/finance/orders/{pickup.pk}/pickup-code/").status_code == 404
    assert client.post(f"/finance/orders/{pickup.pk}/pickup-code/",
                       {"until": until}).status_code == 404
    for order in (prepaid, over_limit, pickup):
        before = order.status, order.pickup_code_expires_on
        order.refresh_from_db()
        assert (order.status, order.pickup_code_expires_on) == before
    pending_licence.refresh_from_db()
    assert pending_licence.status == CompanyLicence.Status.PENDING


@pytest.mark.parametrize("role", [Role.CCO, Role.SUBSIDIARY_MANAGER, Role.DEPOT_OPERATOR,
                                  Role.HQ_MANAGER])
def test_staff_without_the_finance_permission_get_404(client, prepaid, staff_by_role, role):
    _login(client, staff_by_role[role])
    assert client.get(HOME).status_code == 404
    assert client.post(f"/finance/orders/{prepaid.pk}/payment/").status_code == 404
    prepaid.refresh_from_db()
    assert prepaid.status == S.PLACED


def test_buyers_get_404_and_anonymous_users_sign_in(client, prepaid, buyer):
    response = client.get(HOME)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    _login(client, buyer)
    assert client.get(HOME).status_code == 404
    assert client.post(f"/finance/orders/{prepaid.pk}/payment/").status_code == 404


def test_hq_finance_sees_every_subsidiary(client, prepaid, hq):
    _login(client, StaffFactory(organization=hq, roles=[Role.FINANCE]))
    assert prepaid.number in client.get(HOME).content.decode()


def test_each_list_pages_on_its_own(client, place, buyer, product, finance, monkeypatch):
    monkeypatch.setattr(staff_views, "PAGE_SIZE", 2)
    orders = [place(buyer, [(product, 1)])[0] for _i in range(4)]
    _login(client, finance)
    page = client.get(HOME).content.decode()
    assert orders[0].number in page and orders[1].number in page
    assert orders[2].number not in page
    assert 'href="/finance/?payments=2"' in page
    page = client.get(HOME, {"payments": 2, "licences": 1}).content.decode()
    assert orders[2].number in page and orders[0].number not in page
    assert 'href="/finance/?payments=1&amp;licences=1"' in page  # the other list's page kept
    # The error page of a button keeps links to the overview, not to the button's URL.
    services.order_cancel(order_id=orders[0].pk, actor=buyer)
    response = client.post(f"/finance/orders/{orders[0].pk}/payment/")
    assert response.status_code == 409
    assert 'href="/finance/?payments=2"' in response.content.decode()


# --- Query counts -----------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


def _fill(place, subsidiary, cco, finance, n):
    """n prepayment orders, n credit orders over the limit, n pending licences and n
    expiring pickup codes, each of another company."""
    for _i in range(n):
        buyer = BuyerFactory()
        company = buyer.membership.company
        company.credit_limit, company.payment_terms_days = D("1"), 30
        company.save()
        company.served_by.add(subsidiary)
        address = AddressFactory(company=company)
        product = sellable(seller=subsidiary)
        place(buyer, [(product, 1)], address_id=address.pk)
        place(buyer, [(product, 1)], address_id=address.pk, payment_method="credit")
        LicenceFactory(company=company, status=CompanyLicence.Status.PENDING)
        _ready_pickup(place, buyer, subsidiary, cco=cco, finance=finance, expires_in_days=1)


def test_finance_pages_take_a_constant_number_of_queries(
        client, place, subsidiary, cco, finance, django_assert_max_num_queries):
    _fill(place, subsidiary, cco, finance, 1)
    _login(client, finance)
    few = {url: _queries(client, url) for url in (HOME, "/finance/pickup-codes/")}
    _fill(place, subsidiary, cco, finance, 4)
    many = {url: _queries(client, url) for url in (HOME, "/finance/pickup-codes/")}
    assert few == many
    page = client.get(HOME).content.decode()
    assert page.count("Payment received") == 5 and page.count("Approve credit") == 5
    with django_assert_max_num_queries(16):  # each list: its count and its page
        client.get(HOME)
    with django_assert_max_num_queries(8):
        client.get("/finance/pickup-codes/")
