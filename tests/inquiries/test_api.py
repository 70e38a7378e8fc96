"""/api/v1/ of inquiries: intake (guests, buyers, staff logging a call), lists and details in
each caller's scope, messages, quote versions, acceptance into an order, closing, and their
place in the OpenAPI schema."""

import datetime
from decimal import Decimal

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from catalog.models import PriceList
from inquiries import services
from inquiries.models import Inquiry, InquiryEvent, Quote
from orders.models import Order
from tests.factories import BuyerFactory, StaffFactory
from tests.orders.factories import AddressFactory, sellable

pytestmark = pytest.mark.django_db

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def as_user(client, user):
    client.force_authenticate(user)
    return client


def today() -> datetime.date:
    return timezone.localdate()


def days(n: int) -> str:
    return (today() + datetime.timedelta(days=n)).isoformat()


def guest_body(**extra) -> dict:
    return {"requested_name": "Sulfuric acid 98%", "quantity": "20", "unit": "t",
            "contact_name": "Li Lei", "contact_email": "li.lei@example.com", **extra}


def state() -> tuple:
    """What a refused request must leave as it was."""
    return (sorted(Inquiry.objects.values_list("pk", "status", "owner_id", "lost_reason")),
            InquiryEvent.objects.count(),
            sorted(Quote.objects.values_list("pk", "status")), Order.objects.count())


def send_quote(inquiry, *, price="9.20", valid_days=7, expected_version=None):
    inquiry = Inquiry.objects.select_related("owner").get(pk=inquiry.pk)
    return services.quote_send(
        inquiry_id=inquiry.pk, actor=inquiry.owner, product_id=inquiry.product_id,
        quantity=inquiry.quantity, unit_price=price,
        valid_until=today() + datetime.timedelta(days=valid_days), lead_time_days=5,
        incoterm="DAP", payment_terms="30 days net", expected_version=expected_version)


@pytest.fixture
def product(subsidiary):
    return sellable(seller=subsidiary, price="10.00", on_hand="1000")


@pytest.fixture
def inquiry(buyer, product, ccos):
    """The buyer's inquiry for 500 kg of `product`, routed to one of `ccos`."""
    return services.inquiry_submit(buyer=buyer, product_id=product.pk, quantity="500",
                                   message="Please quote 500 kg.")


@pytest.fixture
def owner(inquiry):
    return Inquiry.objects.get(pk=inquiry.pk).owner


@pytest.fixture
def quote(inquiry):
    return send_quote(inquiry)


@pytest.fixture
def other_cco(other_subsidiary):
    return StaffFactory(organization=other_subsidiary, roles=[Role.CCO])


@pytest.fixture
def accept_body(company):
    address = AddressFactory(company=company)
    return {"fulfilment": "delivery", "address_id": address.pk, "payment_method": "prepayment"}


# --- Intake -------------------------------------------------------------------------------------


def test_a_guest_sends_an_inquiry_and_gets_the_private_link_once(api_client, product, ccos):
    response = api_client.post("/api/v1/inquiries/", guest_body(
        product_id=product.pk, quantity="250", requested_name="",
        delivery_region="320500", needed_by=days(10), target_price="9.50"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    inquiry = Inquiry.objects.get()
    assert body["number"] == inquiry.number
    assert body["access_token"] == inquiry.access_token
    assert body["tracking_url"].endswith(f"/inquiries/track/{inquiry.access_token}/")
    assert response["Cache-Control"] == "no-store"
    assert (body["channel"], body["status"], body["internal"]) == ("api", "assigned", None)
    assert (body["quantity"], body["unit"], body["target_price"]) == (
        "250.000", product.sales_unit, "9.50")
    assert body["delivery_region"]["code"] == "320500"
    assert inquiry.owner in ccos and inquiry.contact_email == "li.lei@example.com"
    assert inquiry.client_ip == "127.0.0.1"
    assert {e["kind"] for e in body["events"]} == {"received"}  # routing is not shown

    track = api_client.get(f"/api/v1/inquiries/track/{inquiry.access_token}/")
    assert track.status_code == 200
    assert track.json()["number"] == inquiry.number
    assert "access_token" not in track.json() and "tracking_url" not in track.json()
    assert track.json()["internal"] is None
    # The private link was in that answer only: the inquiry's other routes need a sign-in.
    assert api_client.get(f"/api/v1/inquiries/{inquiry.pk}/").status_code in (401, 403)


def test_a_buyer_asks_for_an_unlisted_chemical_by_cas(api_client, buyer, company, hq):
    response = as_user(api_client, buyer).post("/api/v1/inquiries/", {
        "requested_name": "Widgetol", "requested_cas": "50-00-0", "quantity": "2", "unit": "t",
        "channel": "web"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["requested_cas"] == body["cas"] == "50-00-0"
    assert body["is_unlisted"] is True
    assert body["company"]["id"] == company.pk
    assert body["seller"]["code"] == hq.code  # nobody sells it: the HQ pool
    assert (body["channel"], body["access_token"], body["tracking_url"]) == ("web", None, None)
    inquiry = Inquiry.objects.get()
    assert (inquiry.buyer, inquiry.company, inquiry.requested_cas) == (buyer, company, "50-00-0")


def test_a_cco_logs_a_phone_inquiry_for_a_company(api_client, product, ccos, company):
    cco = ccos[0]
    body = {"product_id": product.pk, "quantity": "40", "channel": "phone",
            "company_id": company.pk, "contact_name": "Wang Fang", "contact_phone": "13912345678"}
    response = as_user(api_client, cco).post("/api/v1/inquiries/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["channel"] == "phone" and data["company"]["id"] == company.pk
    assert data["internal"]["logged_by"]["id"] == cco.pk
    assert data["internal"]["contact_phone"] == "13912345678"
    assert data["access_token"] is None
    assert Inquiry.objects.get().logged_by == cco

    # Staff say how it came in: the web is the buyers' channel.
    response = api_client.post("/api/v1/inquiries/", {**body, "channel": "web"}, format="json")
    assert response.status_code == 400 and "channel" in response.json()
    assert Inquiry.objects.count() == 1


BAD_INTAKE = {
    "unknown product": ({"product_id": 999999, "requested_name": ""}, "product_id"),
    "invalid CAS": ({"requested_cas": "50-00-1"}, "requested_cas"),
    "CAS of letters": ({"requested_cas": "abc-de-f"}, "requested_cas"),
    "zero quantity": ({"quantity": "0"}, "quantity"),
    "negative quantity": ({"quantity": "-5"}, "quantity"),
    "non-numeric quantity": ({"quantity": "a lot"}, "quantity"),
    "huge quantity": ({"quantity": "1e15"}, "quantity"),
    "quantity over the maximum": ({"quantity": "99999999999.999"}, "quantity"),
    "not a number at all": ({"quantity": "NaN"}, "quantity"),
    "needed by yesterday": ({"needed_by": days(-1)}, "needed_by"),
    "nothing named": ({"requested_name": "", "requested_cas": ""}, "requested_name"),
    "unknown region": ({"delivery_region": "999999"}, "delivery_region"),
    "negative target price": ({"target_price": "-1"}, "target_price"),
    "guest without contact": ({"contact_name": "", "contact_email": ""}, "contact_name"),
    "guest without email or phone": ({"contact_email": ""}, "contact_email"),
    "guest with a bad email": ({"contact_email": "not-an-email"}, "contact_email"),
    "guest picking the phone channel": ({"channel": "phone"}, "channel"),
    "unknown company": ({"company_id": 999999}, "company_id"),
}


@pytest.mark.parametrize("change, field", BAD_INTAKE.values(), ids=BAD_INTAKE.keys())
def test_bad_intake_is_400_with_the_field_and_saves_nothing(api_client, ccos, change, field):
    before = state()
    response = api_client.post("/api/v1/inquiries/", guest_body(**change), format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()[field], response.json()
    assert state() == before


def test_only_staff_name_the_company(api_client, buyer, company, outsider_buyer):
    other_company = outsider_buyer.membership.company
    for client in (api_client, as_user(type(api_client)(), buyer)):
        response = client.post("/api/v1/inquiries/", guest_body(company_id=other_company.pk),
                               format="json")
        assert response.status_code == 400 and "company_id" in response.json()
    assert not Inquiry.objects.exists()


@pytest.mark.parametrize("channel", ["phone", "wechat", "exhibition"])
def test_a_buyer_cannot_pick_a_staff_channel(api_client, buyer, channel):
    response = as_user(api_client, buyer).post("/api/v1/inquiries/", {
        "requested_name": "Widgetol", "quantity": "2", "channel": channel}, format="json")
    assert response.status_code == 400 and "channel" in response.json()
    assert not Inquiry.objects.exists()


def test_finance_staff_do_not_log_inquiries(api_client, subsidiary, product):
    finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    response = as_user(api_client, finance).post("/api/v1/inquiries/", {
        "product_id": product.pk, "quantity": "1", "channel": "phone", "contact_name": "Li",
        "contact_phone": "1390000"}, format="json")
    assert response.status_code == 403
    assert not Inquiry.objects.exists()


def test_guests_over_the_hourly_limit_get_429(api_client, settings, hq):
    settings.GUEST_INQUIRIES_PER_HOUR = 2
    for _i in range(2):
        assert api_client.post("/api/v1/inquiries/", guest_body(), format="json",
                               REMOTE_ADDR="10.9.8.7").status_code == 201
    response = api_client.post("/api/v1/inquiries/", guest_body(), format="json",
                               REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited" and response.json()["detail"]
    assert response["Retry-After"] == "3600"
    assert Inquiry.objects.count() == 2
    # Another network is not limited by this one.
    assert api_client.post("/api/v1/inquiries/", guest_body(), format="json",
                           REMOTE_ADDR="10.9.8.8").status_code == 201


# --- Lists and details --------------------------------------------------------------------------


def test_lists_are_scoped_filtered_and_constant_in_queries(
        api_client, buyer, outsider_buyer, subsidiary, other_subsidiary, ccos, product,
        django_assert_max_num_queries):
    mine = services.inquiry_submit(buyer=buyer, product_id=product.pk, quantity="5")
    colleague = BuyerFactory(company=Inquiry.objects.get(pk=mine.pk).company)
    unlisted = services.inquiry_submit(buyer=colleague, requested_name="Unobtainium",
                                       requested_cas="7440-57-5", quantity="1")
    foreign = sellable(seller=other_subsidiary)
    StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    theirs = services.inquiry_submit(buyer=outsider_buyer, product_id=foreign.pk, quantity="5")
    for _i in range(4):
        send_quote(services.inquiry_submit(buyer=buyer, product_id=product.pk, quantity="7"))

    client = as_user(api_client, buyer)
    with django_assert_max_num_queries(3):  # company id, count, page
        response = client.get("/api/v1/inquiries/")
    numbers = {row["number"] for row in response.json()["results"]}
    assert response.json()["count"] == 6 and theirs.number not in numbers
    assert {mine.number, unlisted.number} <= numbers
    assert all(row["internal"] is None for row in response.json()["results"])

    def numbers_for(client, query):
        response = client.get("/api/v1/inquiries/", query)
        assert response.status_code == 200, response.content
        return {row["number"] for row in response.json()["results"]}

    assert numbers_for(client, {"unlisted": "true"}) == {unlisted.number}
    assert numbers_for(client, {"status": "quoted"}) == numbers - {mine.number, unlisted.number}
    assert numbers_for(client, {"q": "7440-57-5"}) == {unlisted.number}
    assert numbers_for(client, {"q": "7440575"}) == {unlisted.number}
    assert numbers_for(client, {"q": "unobtain"}) == {unlisted.number}
    assert numbers_for(client, {"q": mine.number}) == {mine.number}
    assert numbers_for(client, {"mine": "true"}) == numbers - {unlisted.number}
    assert numbers_for(client, {"channel": "phone"}) == set()
    assert client.get("/api/v1/inquiries/", {"status": "bogus"}).status_code == 400

    cco = Inquiry.objects.get(pk=mine.pk).owner
    staff = as_user(api_client, cco)
    with django_assert_max_num_queries(4):  # organisation, count, page (+ roles at most)
        response = staff.get("/api/v1/inquiries/")
    rows = response.json()["results"]
    assert {row["number"] for row in rows} == {
        i.number for i in Inquiry.objects.filter(seller=subsidiary)}
    assert theirs.number not in {row["number"] for row in rows}
    assert all(row["internal"]["routing_reason"] for row in rows)
    owned = set(Inquiry.objects.filter(owner=cco).values_list("number", flat=True))
    assert numbers_for(staff, {"mine": "true"}) == owned
    Inquiry.objects.filter(pk=mine.pk).update(
        response_due_at=timezone.now() - datetime.timedelta(minutes=1))
    assert numbers_for(staff, {"overdue": "true"}) == {mine.number}


def test_a_buyer_sees_the_public_part_and_staff_everything(api_client, buyer, inquiry, owner):
    services.inquiry_message_post(inquiry_id=inquiry.pk, actor=owner, internal=True,
                                  body="Price floor is 9.00; check stock first.")
    response = as_user(api_client, buyer).get(f"/api/v1/inquiries/{inquiry.pk}/")
    assert response.status_code == 200
    body = response.json()
    kinds = [event["kind"] for event in body["events"]]
    assert kinds == ["received"]
    assert all(event["is_public"] for event in body["events"])
    assert body["internal"] is None
    assert body["owner_name"] == owner.full_name
    text = response.content.decode()
    assert owner.email not in text and "Price floor" not in text
    assert "round-robin" not in text  # the routing reason stays inside

    staff = as_user(api_client, owner).get(f"/api/v1/inquiries/{inquiry.pk}/").json()
    kinds = [event["kind"] for event in staff["events"]]
    assert {"received", "routed", "assigned", "note"} <= set(kinds)
    assert "round-robin" in staff["internal"]["routing_reason"]
    assert staff["internal"]["owner"]["email"] == owner.email
    assert staff["internal"]["response_due_at"] and staff["internal"]["is_overdue"] is False


def test_a_guest_link_shows_quotes_but_no_internals(api_client, product, ccos):
    inquiry = services.inquiry_submit(product_id=product.pk, quantity="10",
                                      contact_name="Li", contact_email="li@example.com")
    send_quote(inquiry, price="9.50")
    services.inquiry_message_post(inquiry_id=inquiry.pk, internal=True, body="Call back",
                                  actor=Inquiry.objects.get(pk=inquiry.pk).owner)
    response = api_client.get(f"/api/v1/inquiries/track/{inquiry.access_token}/")
    body = response.json()
    assert [q["unit_price"] for q in body["quotes"]] == ["9.50"]
    assert body["quotes"][0]["can_accept"] is True
    assert "note" not in {event["kind"] for event in body["events"]}
    assert "quoted" in {event["kind"] for event in body["events"]}
    assert "li@example.com" not in response.content.decode()



def test_a_guest_writes_and_declines_through_the_private_link(api_client, product, ccos):
    inquiry = services.inquiry_submit(product_id=product.pk, quantity="10",
                                      contact_name="Li", contact_email="li@example.com")
    quote = send_quote(inquiry, price="9.50")
    base = f"/api/v1/inquiries/track/{inquiry.access_token}"
    response = api_client.post(f"{base}/messages/", {"body": "<b>Cheaper?</b>",
                                                     "internal": True}, format="json")
    assert response.status_code == 201, response.content
    event = InquiryEvent.objects.get(pk=response.json()["id"])
    assert (event.kind, event.is_public, event.body) == ("message_in", True, "<b>Cheaper?</b>")
    response = api_client.post(f"{base}/quotes/{quote.pk}/decline/", {"reason": "Too dear."},
                               format="json")
    assert response.status_code == 200 and response.json()["status"] == "declined"
    quote.refresh_from_db()
    assert (quote.status, quote.decline_reason) == (Quote.Status.DECLINED, "Too dear.")


def test_a_wrong_token_or_another_inquirys_quote_is_404(api_client, product, ccos, inquiry):
    guest = services.inquiry_submit(product_id=product.pk, quantity="10",
                                    contact_name="Li", contact_email="li@example.com")
    others = send_quote(inquiry)  # the signed-in buyer's inquiry
    before = state()
    wrong = api_client.post("/api/v1/inquiries/track/not-a-token/messages/", {"body": "hi"},
                            format="json")
    assert wrong.status_code == 404
    response = api_client.post(
        f"/api/v1/inquiries/track/{guest.access_token}/quotes/{others.pk}/decline/",
        {"reason": "x"}, format="json")
    assert response.status_code == 404
    assert state() == before

# --- Messages -----------------------------------------------------------------------------------


def test_messages_both_ways_with_internal_notes_for_staff_only(api_client, buyer, inquiry,
                                                                owner):
    buyer_client = as_user(api_client, buyer)
    response = buyer_client.post(f"/api/v1/inquiries/{inquiry.pk}/messages/",
                                 {"body": "Can you send a COA?"}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["kind"], response.json()["actor"]) == ("message_in", buyer.full_name)

    staff_client = as_user(type(api_client)(), owner)
    note = staff_client.post(f"/api/v1/inquiries/{inquiry.pk}/messages/",
                             {"body": "Ask QA for the COA", "internal": True}, format="json")
    assert note.status_code == 201 and note.json()["is_public"] is False
    reply = staff_client.post(f"/api/v1/inquiries/{inquiry.pk}/messages/",
                              {"body": "Attached."}, format="json")
    assert reply.json()["kind"] == "message_out"
    assert Inquiry.objects.get(pk=inquiry.pk).first_response_at is not None

    seen = buyer_client.get(f"/api/v1/inquiries/{inquiry.pk}/messages/").json()
    assert [m["body"] for m in seen["results"]] == ["Can you send a COA?", "Attached."]
    seen = staff_client.get(f"/api/v1/inquiries/{inquiry.pk}/messages/").json()
    assert [m["body"] for m in seen["results"]] == [
        "Can you send a COA?", "Ask QA for the COA", "Attached."]

    # A buyer cannot write internal notes; an empty message is refused.
    before = state()
    response = buyer_client.post(f"/api/v1/inquiries/{inquiry.pk}/messages/",
                                 {"body": "psst", "internal": True}, format="json")
    assert response.status_code == 400 and "internal" in response.json()
    response = buyer_client.post(f"/api/v1/inquiries/{inquiry.pk}/messages/", {"body": "  "},
                                 format="json")
    assert response.status_code == 400 and "body" in response.json()
    assert state() == before


def test_script_in_a_message_comes_back_as_plain_data(api_client, buyer, inquiry):
    text = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
    client = as_user(api_client, buyer)
    response = client.post(f"/api/v1/inquiries/{inquiry.pk}/messages/", {"body": text},
                           format="json")
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response.json()["body"] == text
    assert InquiryEvent.objects.get(pk=response.json()["id"]).body == text
    listed = client.get(f"/api/v1/inquiries/{inquiry.pk}/messages/")
    assert listed["Content-Type"] == "application/json"
    assert listed.json()["results"][-1]["body"] == text


def test_an_attachment_is_uploaded_and_downloaded_in_scope(api_client, buyer, inquiry, owner,
                                                           outsider_buyer, other_cco,
                                                           settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    client = as_user(api_client, buyer)
    response = client.post(f"/api/v1/inquiries/{inquiry.pk}/messages/", {
        "body": "Our spec sheet", "attachment": SimpleUploadedFile("spec.pdf", PDF)},
        format="multipart")
    assert response.status_code == 201, response.content
    url = response.json()["attachment_url"]
    assert url.endswith(f"/api/v1/inquiries/{inquiry.pk}/messages/{response.json()['id']}"
                        "/attachment/")
    download = as_user(api_client, owner).get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    for outsider in (outsider_buyer, other_cco):
        assert as_user(api_client, outsider).get(url).status_code == 404
    api_client.force_authenticate(None)
    assert api_client.get(url).status_code in (401, 403)

    bad = as_user(api_client, buyer).post(f"/api/v1/inquiries/{inquiry.pk}/messages/", {
        "body": "A program", "attachment": SimpleUploadedFile("x.pdf", b"MZ\x90\x00binary")},
        format="multipart")
    assert bad.status_code == 400 and "attachment" in bad.json()


def test_finance_staff_do_not_write_to_buyers(api_client, subsidiary, inquiry):
    finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    before = state()
    response = as_user(api_client, finance).post(f"/api/v1/inquiries/{inquiry.pk}/messages/",
                                                 {"body": "Hello"}, format="json")
    assert response.status_code == 403
    assert state() == before


# --- Quotes -------------------------------------------------------------------------------------


def quote_body(**extra) -> dict:
    return {"expected_version": 0, "quantity": "500", "unit_price": "9.20",
            "valid_until": days(7), "lead_time_days": 5, "incoterm": "FCA",
            "payment_terms": "30 days net", **extra}


def test_staff_quote_and_revise_with_versions_and_changes(api_client, buyer, inquiry, owner,
                                                          product):
    client = as_user(api_client, owner)
    url = f"/api/v1/inquiries/{inquiry.pk}/quotes/"
    response = client.post(url, quote_body(), format="json")
    assert response.status_code == 201, response.content
    first = response.json()
    assert (first["version"], first["status"], first["unit_price"]) == (1, "sent", "9.20")
    assert first["product"]["id"] == product.pk  # the inquiry's product by default
    assert (first["list_price"], first["below_list_price"]) == ("10.00", True)
    assert first["total"] == "4600.00" and first["changes"] == []

    response = client.post(url, quote_body(expected_version=1, unit_price="9.80",
                                           lead_time_days=3), format="json")
    assert response.status_code == 201, response.content
    second = response.json()
    assert second["version"] == 2 and second["below_list_price"] is True
    changed = {change["field"]: change for change in second["changes"]}
    assert set(changed) == {"unit_price", "lead_time_days"}
    assert (changed["unit_price"]["previous"], changed["unit_price"]["current"]) == (
        "9.20", "9.80")

    listed = as_user(api_client, buyer).get(url)
    assert listed.status_code == 200
    assert [(q["version"], q["status"], q["can_accept"]) for q in listed.json()] == [
        (2, "sent", True), (1, "superseded", False)]
    assert Inquiry.objects.get(pk=inquiry.pk).status == Inquiry.Status.QUOTED


def test_a_stale_revision_is_409_and_changes_nothing(api_client, inquiry, owner, quote):
    send_quote(inquiry, price="9.10", expected_version=1)  # a colleague revised meanwhile
    before = state()
    response = as_user(api_client, owner).post(f"/api/v1/inquiries/{inquiry.pk}/quotes/",
                                               quote_body(expected_version=1), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "stale_quote"
    assert state() == before


@pytest.mark.parametrize("change, field", [
    ({"valid_until": days(-1)}, "valid_until"),
    ({"unit_price": "0"}, "unit_price"),
    ({"quantity": "-1"}, "quantity"),
    ({"lead_time_days": 400}, "lead_time_days"),
    ({"incoterm": "XYZ"}, "incoterm"),
    ({"payment_terms": ""}, "payment_terms"),
    ({"product_id": 999999}, "product_id"),
], ids=["validity past", "zero price", "negative quantity", "lead time", "incoterm",
        "no payment terms", "unknown product"])
def test_bad_quotes_are_400_and_save_nothing(api_client, inquiry, owner, change, field):
    before = state()
    response = as_user(api_client, owner).post(f"/api/v1/inquiries/{inquiry.pk}/quotes/",
                                               quote_body(**change), format="json")
    assert response.status_code == 400, response.content
    assert response.json()[field]
    assert state() == before


def test_a_quote_cannot_outlive_the_price_list(api_client, inquiry, owner, product):
    PriceList.objects.filter(tiers__product=product).update(valid_until=today() + datetime.
                                                            timedelta(days=5))
    client = as_user(api_client, owner)
    url = f"/api/v1/inquiries/{inquiry.pk}/quotes/"
    response = client.post(url, quote_body(valid_until=days(6)), format="json")
    assert response.status_code == 400 and days(5) in response.json()["valid_until"][0]
    assert not Quote.objects.exists()
    assert client.post(url, quote_body(valid_until=days(5)), format="json").status_code == 201


def test_an_unlisted_chemical_is_quoted_with_a_product_named(api_client, buyer, hq_manager,
                                                           product):
    inquiry = services.inquiry_submit(buyer=buyer, requested_name="Widgetol",
                                      requested_cas="50-00-0", quantity="3")
    client = as_user(api_client, hq_manager)  # the HQ pool's inquiry
    url = f"/api/v1/inquiries/{inquiry.pk}/quotes/"
    response = client.post(url, quote_body(quantity="3"), format="json")
    assert response.status_code == 400 and "product_id" in response.json()
    assert not Quote.objects.exists()
    response = client.post(url, quote_body(quantity="3", product_id=product.pk), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["product"]["id"] == product.pk


def test_only_the_sellers_ccos_quote(api_client, buyer, subsidiary, inquiry):
    finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    for user in (buyer, finance):
        response = as_user(api_client, user).post(f"/api/v1/inquiries/{inquiry.pk}/quotes/",
                                                  quote_body(), format="json")
        assert response.status_code == 403
    assert not Quote.objects.exists()


def test_accepting_makes_an_order_at_the_quoted_price_once(api_client, buyer, company, inquiry,
                                                          quote, accept_body):
    client = as_user(api_client, buyer)
    response = client.post(f"/api/v1/quotes/{quote.pk}/accept/",
                           {**accept_body, "po_number": "PO-77"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert (body["order"]["id"], body["order"]["number"]) == (order.pk, order.number)
    assert body["quote"]["status"] == "accepted" and body["quote"]["order"]["id"] == order.pk
    line = order.lines.get()
    assert (line.unit_price, line.quantity) == (D("9.20"), D("500"))
    assert order.po_number == "PO-77" and order.company_id == company.pk
    assert Inquiry.objects.get(pk=inquiry.pk).status == Inquiry.Status.WON

    again = client.post(f"/api/v1/quotes/{quote.pk}/accept/", accept_body, format="json")
    assert again.status_code == 200
    assert again.json()["order"]["id"] == order.pk
    assert Order.objects.count() == 1


def test_a_superseded_or_expired_quote_cannot_be_accepted(api_client, buyer, inquiry, quote,
                                                         accept_body):
    revised = send_quote(inquiry, price="9.40", expected_version=1)
    client = as_user(api_client, buyer)
    response = client.post(f"/api/v1/quotes/{quote.pk}/accept/", accept_body, format="json")
    assert response.status_code == 409 and response.json()["code"] == "quote_not_acceptable"
    Quote.objects.filter(pk=revised.pk).update(valid_until=today() - datetime.timedelta(days=1))
    before = state()
    response = client.post(f"/api/v1/quotes/{revised.pk}/accept/", accept_body, format="json")
    assert response.status_code == 409
    assert state() == before
    assert not Order.objects.exists()


def test_accepting_needs_a_valid_fulfilment(api_client, buyer, quote):
    before = state()
    response = as_user(api_client, buyer).post(f"/api/v1/quotes/{quote.pk}/accept/", {
        "fulfilment": "delivery", "payment_method": "prepayment"}, format="json")
    assert response.status_code == 400
    assert state() == before


def test_a_buyer_declines_with_a_reason(api_client, buyer, inquiry, quote):
    client = as_user(api_client, buyer)
    response = client.post(f"/api/v1/quotes/{quote.pk}/decline/", {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = client.post(f"/api/v1/quotes/{quote.pk}/decline/",
                           {"reason": "Too expensive"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decline_reason"]) == (
        "declined", "Too expensive")
    quote.refresh_from_db()
    assert quote.status == Quote.Status.DECLINED
    assert Inquiry.objects.get(pk=inquiry.pk).status == Inquiry.Status.ASSIGNED


# --- Reassign and close -------------------------------------------------------------------------


def test_staff_reassign_within_the_subsidiary(api_client, inquiry, owner, ccos, other_cco):
    colleague = next(cco for cco in ccos if cco != owner)
    client = as_user(api_client, owner)
    url = f"/api/v1/inquiries/{inquiry.pk}/reassign/"
    response = client.post(url, {"to_user_id": colleague.pk, "note": "She knows them"},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["internal"]["owner"]["id"] == colleague.pk
    assert Inquiry.objects.get(pk=inquiry.pk).owner == colleague
    response = client.post(url, {"to_user_id": other_cco.pk}, format="json")
    assert response.status_code == 400 and "to_user_id" in response.json()
    assert Inquiry.objects.get(pk=inquiry.pk).owner == colleague


def test_closing_as_lost_needs_a_reason(api_client, inquiry, owner, quote):
    client = as_user(api_client, owner)
    url = f"/api/v1/inquiries/{inquiry.pk}/close/"
    before = state()
    for body, field in (({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "bored"}, "reason"),
                        ({"reason": "other"}, "note")):
        response = client.post(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()[field], body
    assert state() == before

    response = client.post(url, {"reason": "price", "note": "Competitor at 8.50"},
                           format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "lost" and body["closed_at"]
    assert (body["internal"]["lost_reason"], body["internal"]["lost_note"]) == (
        "price", "Competitor at 8.50")
    quote.refresh_from_db()
    assert quote.status == Quote.Status.WITHDRAWN


def test_a_won_inquiry_cannot_be_closed_as_lost(api_client, buyer, inquiry, owner, quote,
                                               accept_body):
    services.quote_accept(quote_id=quote.pk, buyer=buyer, **accept_body)
    before = state()
    response = as_user(api_client, owner).post(f"/api/v1/inquiries/{inquiry.pk}/close/",
                                               {"reason": "price"}, format="json")
    assert response.status_code == 409
    assert state() == before


# --- Nobody outside the scope ------------------------------------------------------------------


def _endpoints(inquiry, quote, event, accept_body, colleague):
    base = f"/api/v1/inquiries/{inquiry.pk}"
    return {
        "detail": ("get", f"{base}/", None),
        "messages": ("get", f"{base}/messages/", None),
        "post message": ("post", f"{base}/messages/", {"body": "hello"}),
        "attachment": ("get", f"{base}/messages/{event.pk}/attachment/", None),
        "quotes": ("get", f"{base}/quotes/", None),
        "send quote": ("post", f"{base}/quotes/", quote_body(expected_version=1)),
        "reassign": ("post", f"{base}/reassign/", {"to_user_id": colleague.pk}),
        "close": ("post", f"{base}/close/", {"reason": "price"}),
        "accept": ("post", f"/api/v1/quotes/{quote.pk}/accept/", accept_body),
        "decline": ("post", f"/api/v1/quotes/{quote.pk}/decline/", {"reason": "no"}),
    }


# For each endpoint: what another company's buyer and a CCO of another subsidiary get.
# 404 where they could otherwise learn that the id exists; 403 where their role may never do
# it, whatever the id (a buyer quoting, a CCO accepting).
OUTSIDERS = {
    "detail": (404, 404), "messages": (404, 404), "post message": (404, 404),
    "attachment": (404, 404), "quotes": (404, 404), "send quote": (403, 404),
    "reassign": (403, 404), "close": (403, 404), "accept": (404, 403), "decline": (404, 403),
}


@pytest.mark.parametrize("name", OUTSIDERS)
def test_outsiders_cannot_see_or_touch_it(api_client, name, buyer, inquiry, quote, ccos,
                                          owner, outsider_buyer, other_cco, accept_body,
                                          settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    event = services.inquiry_message_post(
        inquiry_id=inquiry.pk, actor=buyer, body="spec",
        attachment=SimpleUploadedFile("spec.pdf", PDF))
    colleague = next(cco for cco in ccos if cco != owner)
    method, url, body = _endpoints(inquiry, quote, event, accept_body, colleague)[name]

    def call(client, url):
        if method == "get":
            return client.get(url)
        return client.post(url, body, format="json")

    before = state()
    for user, expected in zip((outsider_buyer, other_cco), OUTSIDERS[name], strict=True):
        response = call(as_user(api_client, user), url)
        assert response.status_code == expected, (user, response.content)
    api_client.force_authenticate(None)
    for guest_url in (url, f"{url}?token={inquiry.access_token}"):  # the token opens nothing
        response = call(api_client, guest_url)
        assert response.status_code in (401, 403), response.content
    assert state() == before
    # The same request by the rightful side works (so the refusals above are about scope).
    rightful = buyer if name in ("detail", "messages", "post message", "attachment", "quotes",
                                 "accept", "decline") else owner
    response = call(as_user(api_client, rightful), url)
    assert response.status_code in (200, 201), response.content


def test_lists_show_outsiders_nothing(api_client, inquiry, outsider_buyer, other_cco):
    for user in (outsider_buyer, other_cco):
        response = as_user(api_client, user).get("/api/v1/inquiries/", {"q": inquiry.number})
        assert response.status_code == 200 and response.json()["count"] == 0
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/inquiries/").status_code in (401, 403)


@pytest.mark.parametrize("token", ["wrong-token", "x" * 65, "%20"])
def test_a_wrong_token_finds_nothing(api_client, inquiry, token):
    response = api_client.get(f"/api/v1/inquiries/track/{token}/")
    assert response.status_code == 404
    assert inquiry.number not in response.content.decode()


def test_an_unknown_or_huge_id_is_404(api_client, buyer, inquiry):
    client = as_user(api_client, buyer)
    for pk in (inquiry.pk + 1000, 2**70):
        assert client.get(f"/api/v1/inquiries/{pk}/").status_code == 404
        assert client.get(f"/api/v1/inquiries/{pk}/messages/").status_code == 404


# --- Schema -------------------------------------------------------------------------------------

ROUTES = {
    "/api/v1/inquiries/": {"get", "post"},
    "/api/v1/inquiries/{id}/": {"get"},
    "/api/v1/inquiries/track/{token}/": {"get"},
    "/api/v1/inquiries/{id}/messages/": {"get", "post"},
    "/api/v1/inquiries/{id}/messages/{message_id}/attachment/": {"get"},
    "/api/v1/inquiries/{id}/quotes/": {"get", "post"},
    "/api/v1/inquiries/{id}/reassign/": {"post"},
    "/api/v1/inquiries/{id}/close/": {"post"},
    "/api/v1/quotes/{id}/accept/": {"post"},
    "/api/v1/quotes/{id}/decline/": {"post"},
}


def test_schema_lists_the_inquiry_routes_with_their_shapes(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    for route, methods in ROUTES.items():
        assert route in schema["paths"], route
        assert methods <= set(schema["paths"][route]), route
    create = schema["paths"]["/api/v1/inquiries/"]["post"]
    assert {"201", "400", "429"} <= set(create["responses"])
    assert {} in create["security"]  # guests may send inquiries
    assert {} in schema["paths"]["/api/v1/inquiries/track/{token}/"]["get"]["security"]
    assert {} not in schema["paths"]["/api/v1/inquiries/{id}/"]["get"]["security"]
    listing = schema["paths"]["/api/v1/inquiries/"]["get"]
    assert {"status", "channel", "unlisted", "mine", "overdue", "q", "page"} <= {
        p["name"] for p in listing["parameters"]}
    accept = schema["paths"]["/api/v1/quotes/{id}/accept/"]["post"]
    assert {"200", "201", "409"} <= set(accept["responses"])
    components = schema["components"]["schemas"]
    assert {"access_token", "tracking_url", "events", "quotes", "internal"} <= set(
        components["InquiryCreated"]["properties"])
    assert components["InquiryDetail"]["properties"]["internal"]["nullable"] is True
    assert {"routing_reason", "response_due_at", "owner"} <= set(
        components["InquiryInternal"]["properties"])
    assert "routing_reason" not in components["InquiryDetail"]["properties"]
    assert components["QuoteStatus"]["enum"] == [s.value for s in Quote.Status]
    assert set(components["QuoteSendRequest"]["required"]) >= {
        "expected_version", "quantity", "unit_price", "valid_until"}
    assert "multipart/form-data" in (
        schema["paths"]["/api/v1/inquiries/{id}/messages/"]["post"]["requestBody"]["content"])
