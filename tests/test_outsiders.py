"""The outsider sweep: every page and API route that takes an object's id, requested by
someone of another company, subsidiary or depot with a real object's id, answers 404 —
and a route added later cannot slip through: `test_every_route_with_an_id_is_swept` fails
until it is listed here (as swept, or as public with the reason)."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Role
from dealers.models import RoutingRule, Statement
from inquiries import services as inquiry_services
from orders import services as order_services
from reports.export_jobs import export_run
from reports.models import ExportJob
from tests.dealers.conftest import HANGZHOU, SUZHOU, dealer_user, make_dealer
from tests.factories import TEST_PASSWORD, DepotFactory, StaffFactory
from tests.orders.factories import AddressFactory, LicenceFactory, sellable

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"

# Routes whose id is public by design: the catalog, and the buyer's own cart keyed by a
# (public) product id. The private-link routes are keyed by a secret token, swept below for
# ids of other inquiries.
PUBLIC = {
    "catalog:product": "product pages are the public catalog",
    "catalog:product-sds": "safety data sheets are public (a legal duty of the seller)",
    "catalog:category": "categories are the public catalog",
    "orders:cart_line": "the id is a public product's; the cart is always the caller's own",
    "orders:cart_remove": "the id is a public product's; the cart is always the caller's own",
    "api-cart-line": "the id is a public product's; the cart is always the caller's own",
    "api-chemical": "chemicals are the public catalog",
    "api-product": "products are the public catalog",
    "accounts:password_reset_confirm": "signed token, no object id",
    "accounts:invitation_accept": "signed token, no object id",
    "inquiries:track": "the private link's token is the secret",
    "inquiries:track_message": "the private link's token is the secret",
    "inquiries:track_claim": "the private link's token is the secret",
    "api-inquiry-track": "the private link's token is the secret",
    "api-inquiry-track-messages": "the private link's token is the secret",
    "depot:pickup": "swept by test_a_pickup_code_of_another_depot_is_not_found",
}


@pytest.fixture
def world(subsidiary, other_subsidiary, company, buyer, outsider_buyer, settings, tmp_path):
    """What belongs to subsidiary A, its depot and buyer company A; and one person of each
    kind on the other side (subsidiary B, its depot, buyer company B)."""
    settings.MEDIA_ROOT = tmp_path
    depot_a = DepotFactory(organization=subsidiary)
    depot_b = DepotFactory(organization=other_subsidiary)
    a = {role: StaffFactory(organization=subsidiary, roles=[role]) for role in
         (Role.CCO, Role.SUBSIDIARY_MANAGER, Role.FINANCE, Role.DEPOT_OPERATOR)}
    b = {role: StaffFactory(organization=other_subsidiary, roles=[role]) for role in
         (Role.CCO, Role.SUBSIDIARY_MANAGER, Role.FINANCE, Role.DEPOT_OPERATOR)}
    depot_a.operators.add(a[Role.DEPOT_OPERATOR])
    depot_b.operators.add(b[Role.DEPOT_OPERATOR])
    product = sellable(seller=subsidiary, depots=[(depot_a, "100")])
    address = AddressFactory(company=company, is_default=True)

    order_services.cart_line_set(user=buyer, product_id=product.pk, quantity=Decimal("2"))
    (order,) = order_services.checkout_place(
        user=buyer, fulfilment="pickup", depot_id=depot_a.pk, payment_method="prepayment",
        idempotency_key="outsiders-1")
    order_services.order_confirm(order_id=order.pk, actor=a[Role.CCO])
    order_services.order_payment_confirm(order_id=order.pk, actor=a[Role.FINANCE])
    order_services.order_mark_ready(order_id=order.pk, actor=a[Role.CCO])
    order.refresh_from_db()
    pickup = order_services.pickup_record(
        actor=a[Role.DEPOT_OPERATOR], order_id=order.pk,
        quantities={order.lines.get().pk: "1"}, collected_by="李师傅")
    company.served_by.add(subsidiary)
    licence = LicenceFactory(company=company, document=SimpleUploadedFile("l.pdf", PDF))

    inquiry = inquiry_services.inquiry_submit(buyer=buyer, product_id=product.pk,
                                              quantity="10")
    inquiry.refresh_from_db()
    message = inquiry_services.inquiry_message_post(
        inquiry_id=inquiry.pk, actor=inquiry.owner, body="The COA, attached.",
        attachment=SimpleUploadedFile("coa.pdf", PDF))
    quote = inquiry_services.quote_send(
        inquiry_id=inquiry.pk, actor=inquiry.owner, product_id=product.pk, quantity="10",
        unit_price="9.50", valid_until=timezone.localdate() + datetime.timedelta(days=5),
        lead_time_days=3, incoterm="DAP", payment_terms="prepayment")
    guest_inquiry = inquiry_services.inquiry_submit(
        product_id=product.pk, quantity="5", contact_name="Outsider",
        contact_email="outsider@example.com")
    # Dealer A of subsidiary A has an inquiry routed to it and a statement; the outsiders
    # are dealer B's user (same subsidiary, other territory) and B's staff.
    RoutingRule.objects.create(organization=subsidiary)
    dealer_a = make_dealer(subsidiary, regions=[SUZHOU], categories=[product.category])
    dealer_b = make_dealer(subsidiary, regions=[HANGZHOU], categories=[product.category],
                           name="杭州经销")
    routed = inquiry_services.inquiry_submit(buyer=buyer, product_id=product.pk, quantity="3",
                                             delivery_region_code=SUZHOU)
    statement = Statement.objects.create(dealer=dealer_a, month=datetime.date(2026, 10, 1))
    export = ExportJob.objects.create(
        user=a[Role.SUBSIDIARY_MANAGER], table="summary", start=datetime.date(2026, 10, 1),
        end=datetime.date(2026, 10, 31), today=datetime.date(2026, 10, 31), format="csv")
    export_run(job_id=export.pk)
    return {
        "ids": {"order": order.pk, "address": address.pk, "licence": licence.pk,
                "pickup": pickup.pk, "inquiry": inquiry.pk, "event": message.pk,
                "quote": quote.pk, "company": company.pk,
                "assignment": routed.dealer_assignment.pk, "statement": statement.pk,
                "export": export.pk},
        "dealer_b": dealer_user(dealer_b), "dealer_a": dealer_user(dealer_a),
        "guest_token": guest_inquiry.access_token,
        "outsider_buyer": outsider_buyer, "b": b, "a": a, "order": order,
        "depot_a": depot_a.pk,
    }


def _pages(world):
    """(route name, url, outsiders) for every page with an id, A's object in each."""
    ids, b = world["ids"], world["b"]
    buyer_side = [world["outsider_buyer"], b[Role.CCO]]
    o, i, q, e = ids["order"], ids["inquiry"], ids["quote"], ids["event"]
    admin = "/admin/inquiries/inquiry"
    dealer_side = [world["dealer_b"], world["outsider_buyer"], b[Role.SUBSIDIARY_MANAGER]]
    return [
        ("orders:detail", f"/orders/{o}/", buyer_side),
        ("orders:print", f"/orders/{o}/print/", buyer_side),
        ("orders:cancel", f"/orders/{o}/cancel/", buyer_side),
        ("orders:complete", f"/orders/{o}/complete/", buyer_side),
        ("orders:reorder", f"/orders/{o}/reorder/", buyer_side),
        ("orders:address_default", f"/addresses/{ids['address']}/default/", buyer_side),
        ("orders:address_remove", f"/addresses/{ids['address']}/remove/", buyer_side),
        ("orders:licence_document", f"/company/licences/{ids['licence']}/document/",
         buyer_side),
        ("depot:receipt", f"/depot/receipts/{ids['pickup']}/",
         [b[Role.DEPOT_OPERATOR], world["outsider_buyer"]]),
        ("inquiries:detail", f"/inquiries/{i}/", buyer_side),
        ("inquiries:message", f"/inquiries/{i}/messages/", buyer_side),
        ("inquiries:attachment", f"/inquiries/{i}/attachments/{e}/", buyer_side),
        ("inquiries:accept", f"/inquiries/{i}/quotes/{q}/accept/", buyer_side),
        ("inquiries:decline", f"/inquiries/{i}/quotes/{q}/decline/", buyer_side),
        ("inquiries:track_attachment",
         f"/inquiries/track/{world['guest_token']}/attachments/{e}/", [None]),
        ("api-inquiry-track-decline",
         f"/api/v1/inquiries/track/{world['guest_token']}/quotes/{q}/decline/", [None]),
        ("inquiries:track_decline",
         f"/inquiries/track/{world['guest_token']}/quotes/{q}/decline/", [None]),
        ("finance:payment", f"/finance/orders/{o}/payment/", [b[Role.FINANCE]]),
        ("finance:credit-approve", f"/finance/orders/{o}/credit/", [b[Role.FINANCE]]),
        ("finance:invoice-paid", f"/finance/orders/{o}/invoice-paid/", [b[Role.FINANCE]]),
        ("finance:cancel", f"/finance/orders/{o}/cancel/", [b[Role.FINANCE]]),
        ("finance:pickup-code-extend", f"/finance/orders/{o}/pickup-code/",
         [b[Role.FINANCE]]),
        ("finance:licence-review", f"/finance/licences/{ids['licence']}/review/",
         [b[Role.FINANCE]]),
        ("admin:inquiries_inquiry_quote", f"{admin}/{i}/quote/", [b[Role.CCO]]),
        ("admin:inquiries_inquiry_message", f"{admin}/{i}/message/", [b[Role.CCO]]),
        ("admin:inquiries_inquiry_reassign", f"{admin}/{i}/reassign/", [b[Role.CCO]]),
        ("admin:inquiries_inquiry_close_lost", f"{admin}/{i}/close-lost/", [b[Role.CCO]]),
        ("admin:inquiries_inquiry_price_floor", f"{admin}/{i}/price-floor/", [b[Role.CCO]]),
        ("admin:inquiries_inquiry_attachment", f"{admin}/{i}/attachment/{e}/",
         [b[Role.CCO]]),
        ("admin:inquiries_customer", f"{admin}/customer/{ids['company']}/",
         [b[Role.CCO], b[Role.SUBSIDIARY_MANAGER]]),
        *[(f"dealers:{name}", f"/dealer/inquiries/{ids['assignment']}/{tail}", dealer_side)
          for name, tail in (("assignment", ""), ("accept", "accept/"),
                             ("decline", "decline/"), ("quote", "quote/"),
                             ("message", "messages/"))],
        ("dealers:statement", f"/dealer/statements/{ids['statement']}/", dealer_side),
        *[(f"reports:{name}", f"/reports/exports/{ids['export']}/{tail}",
           [b[Role.SUBSIDIARY_MANAGER], world["a"][Role.CCO], world["outsider_buyer"]])
          for name, tail in (("export_job", ""), ("export_download", "download/"))],
        ("dealers:statement-xlsx", f"/dealer/statements/{ids['statement']}/xlsx/",
         dealer_side),
    ]


def _api(world):
    ids, b = world["ids"], world["b"]
    buyer_side = [world["outsider_buyer"], b[Role.CCO]]
    o, i, q, e = ids["order"], ids["inquiry"], ids["quote"], ids["event"]
    dealer_side = [world["dealer_b"], world["outsider_buyer"], b[Role.SUBSIDIARY_MANAGER]]
    v1 = "/api/v1"
    return [
        ("api-company", f"{v1}/companies/{ids['company']}/", [world["outsider_buyer"]]),
        ("api-company-members", f"{v1}/companies/{ids['company']}/members/",
         [world["outsider_buyer"]]),
        ("api-order", f"{v1}/orders/{o}/", buyer_side),
        ("api-order-cancel", f"{v1}/orders/{o}/cancel/", buyer_side),
        ("api-inquiry", f"{v1}/inquiries/{i}/", buyer_side),
        ("api-inquiry-messages", f"{v1}/inquiries/{i}/messages/", buyer_side),
        ("api-inquiry-message-attachment", f"{v1}/inquiries/{i}/messages/{e}/attachment/",
         buyer_side),
        ("api-inquiry-quotes", f"{v1}/inquiries/{i}/quotes/", buyer_side),
        ("api-inquiry-reassign", f"{v1}/inquiries/{i}/reassign/", [b[Role.CCO]]),
        ("api-inquiry-close", f"{v1}/inquiries/{i}/close/", [b[Role.CCO]]),
        ("api-quote-accept", f"{v1}/quotes/{q}/accept/", buyer_side),
        ("api-quote-decline", f"{v1}/quotes/{q}/decline/", buyer_side),
        *[(f"api-dealer-assignment{suffix}", f"{v1}/dealer/assignments/{ids['assignment']}/"
           f"{tail}", dealer_side)
          for suffix, tail in (("", ""), ("-accept", "accept/"), ("-decline", "decline/"),
                               ("-quote", "quote/"), ("-messages", "messages/"))],
        *[(f"api-dealer-statement{suffix}", f"{v1}/dealer/statements/{ids['statement']}/"
           f"{tail}", dealer_side + [b[Role.FINANCE]])
          for suffix, tail in (("", ""), ("-xlsx", "xlsx/"), ("-paid", "paid/"))],
    ]


def _api_body(name, world):
    """A body the route would accept from its own people: the refusal is about the object,
    not a validation error that would hide whether it is reached."""
    return {
        "api-inquiry-reassign": {"to_user_id": world["b"][Role.CCO].pk},
        "api-inquiry-close": {"reason": "price"},
        "api-quote-accept": {"fulfilment": "pickup", "payment_method": "prepayment",
                             "depot_id": world["depot_a"]},
        "api-quote-decline": {"reason": "Too dear."},
        "api-inquiry-messages": {"body": "Hello?"},
        "api-inquiry-quotes": {"unit_price": "1.00"},
        "api-dealer-assignment-decline": {"reason": "Too far."},
        "api-dealer-assignment-messages": {"body": "Hello?"},
    }.get(name, {})


def _request(client, url: str, *, json=False, body=None):
    """GET; for a POST-only route, a POST (which must not reach the object)."""
    response = client.get(url)
    if response.status_code == 405:
        response = (client.post(url, body or {}, format="json") if json
                    else client.post(url, body or {}))
    return response


def _as(client, user):
    client.logout()
    if user is not None:
        assert client.login(email=user.email, password=TEST_PASSWORD)
    return client


def test_every_page_with_an_id_is_404_for_outsiders(client, world):
    world["order"].refresh_from_db()
    order_status = world["order"].status
    wrong = []
    for name, url, outsiders in _pages(world):
        for outsider in outsiders:
            status = _request(_as(client, outsider), url,
                              body={"reason": "Too dear.", "body": "Hello?"}).status_code
            if status != 404:
                wrong.append(f"{name} {url} as {getattr(outsider, 'email', 'guest')}: {status}")
    assert not wrong, "\n".join(wrong)
    world["order"].refresh_from_db()
    assert world["order"].status == order_status  # no POST reached it


def test_every_api_route_with_an_id_is_404_for_outsiders(api_client, world):
    wrong = []
    for name, url, outsiders in _api(world):
        for outsider in outsiders:
            token, _created = Token.objects.get_or_create(user=outsider)
            api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            body = _api_body(name, world)
            status = _request(api_client, url, json=True, body=body).status_code
            if status == 403:
                # A role that may never do this (a CCO accepting a quote) is refused before
                # any look-up — the same answer for an id that does not exist: no leak.
                nowhere = re.sub(r"/\d+/", "/999999/", url)
                if _request(api_client, nowhere, json=True, body=body).status_code == 403:
                    continue
            if status != 404:
                wrong.append(f"{name} {url} as {outsider.email}: {status}")
    assert not wrong, "\n".join(wrong)


def test_the_owners_do_reach_them(client, api_client, world, buyer):
    """The sweep is not vacuous: the same urls answer their own people."""
    assert _as(client, buyer).get(f"/orders/{world['ids']['order']}/").status_code == 200
    assert client.get(f"/inquiries/{world['ids']['inquiry']}/").status_code == 200
    owner = world["a"][Role.FINANCE]
    assert _as(client, owner).get("/finance/").status_code == 200
    token, _created = Token.objects.get_or_create(user=buyer)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get(f"/api/v1/orders/{world['ids']['order']}/").status_code == 200
    ids = world["ids"]
    assert _as(client, world["dealer_a"]).get(
        f"/dealer/inquiries/{ids['assignment']}/").status_code == 200
    assert client.get(f"/dealer/statements/{ids['statement']}/xlsx/").status_code == 200


def test_a_pickup_code_of_another_depot_is_not_found(client, world):
    code = world["order"].pickup_code
    assert code
    _as(client, world["b"][Role.DEPOT_OPERATOR])
    assert client.get(f"/depot/pickup/{code}/").status_code == 404


def test_admin_change_pages_of_another_subsidiary_are_not_found(client, world):
    """The admin answers a change page outside the user's queryset with a redirect to the
    index saying it does not exist (Django's way), never the object."""
    from inquiries.models import Inquiry

    inquiry = Inquiry.objects.get(pk=world["ids"]["inquiry"])
    for outsider in (world["b"][Role.CCO], world["b"][Role.SUBSIDIARY_MANAGER]):
        _as(client, outsider)
        response = client.get(f"/admin/inquiries/inquiry/{inquiry.pk}/change/", follow=True)
        page = response.content.decode()
        assert inquiry.number not in page
        assert response.status_code == 404 or "doesn’t exist" in page or "不存在" in page


def _routes_with_ids():
    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield prefix + str(pattern.pattern), namespace + pattern.name

    for route, name in walk(get_resolver().url_patterns):
        if not re.search(r"<(int|str|slug|uuid):", route):
            continue
        if name.startswith("admin:") and not re.search(r"admin/inquiries/inquiry/(?!<path)",
                                                       route):
            continue  # the admin's own change pages: test_admin_change_pages_…
        yield name, route


def test_every_route_with_an_id_is_swept(world):
    swept = {name for name, _url, _who in _pages(world) + _api(world)}
    missing = sorted(f"{name}  ({route})" for name, route in _routes_with_ids()
                     if name not in swept and name not in PUBLIC)
    assert not missing, "routes with an id that nobody sweeps:\n" + "\n".join(missing)
