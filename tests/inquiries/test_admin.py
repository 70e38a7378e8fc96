"""The CCO workbench in the admin: the inbox, the inquiry page and its forms, logging a
phone inquiry, the customer 360 page, and the scoping of every page."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from inquiries import services
from inquiries.admin import deadline_countdown
from inquiries.admin_forms import fill_placeholders
from inquiries.models import (
    CannedReply,
    CcoProfile,
    Inquiry,
    InquiryEvent,
    LostReason,
    Quote,
    ResponseMiss,
)
from tests.catalog.factories import valid_cas
from tests.factories import TEST_PASSWORD, BuyerFactory, CompanyFactory, StaffFactory
from tests.orders.factories import (
    AddressFactory,
    PriceListFactory,
    PriceTierFactory,
    sellable,
)

pytestmark = pytest.mark.django_db

INBOX = "/admin/inquiries/inquiry/"
PDF = b"%PDF-1.4\n% a certificate of analysis\n"


def _login(client, user):
    assert client.login(email=user.email, password=TEST_PASSWORD)


def _page(inquiry) -> str:
    return f"{INBOX}{inquiry.pk}/change/"


def _in_week() -> str:
    return (timezone.localdate() + datetime.timedelta(days=7)).isoformat()


@pytest.fixture
def product(subsidiary):
    return sellable(seller=subsidiary, price="10.00", on_hand="800")


@pytest.fixture
def outsider(other_subsidiary):
    """A CCO of another subsidiary: sees nothing of `subsidiary`."""
    return StaffFactory(organization=other_subsidiary, roles=[Role.CCO])


@pytest.fixture
def buyer_inquiry(ccos, buyer, product):
    return services.inquiry_submit(buyer=buyer, product_id=product.pk, quantity="500",
                                   message="Please quote 500 kg, delivered to Suzhou.")


def _guest_inquiry(product, **kwargs):
    fields = {"product_id": product.pk, "quantity": "20", "contact_name": "Li Lei",
              "contact_email": "li@example.com", **kwargs}
    return services.inquiry_submit(**fields)


def _quote_post(product, **overrides):
    data = {"quote-product": product.pk, "quote-quantity": "500", "quote-unit_price": "9.50",
            "quote-tax_inclusive": "on", "quote-valid_until": _in_week(),
            "quote-lead_time_days": "5", "quote-incoterm": "DAP",
            "quote-payment_terms": "30 days net", "quote-note": "",
            "quote-expected_version": "0"}
    data.update(overrides)
    return data


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- The inbox ----------------------------------------------------------------------------------


def test_the_inbox_of_a_cco_defaults_to_mine_and_open(client, ccos, product):
    inquiries = [_guest_inquiry(product) for _i in range(len(ccos) + 1)]
    me = inquiries[0].owner
    mine = [i for i in inquiries if i.owner == me]
    theirs = [i for i in inquiries if i.owner != me]
    assert len(mine) == 2 and theirs
    services.inquiry_close_lost(inquiry_id=mine[1].pk, actor=me, reason=LostReason.PRICE)
    _login(client, me)

    page = client.get(INBOX).content.decode()
    assert mine[0].number in page
    assert mine[1].number not in page  # closed
    assert not any(i.number in page for i in theirs)

    everyone = client.get(INBOX, {"owner": "all"}).content.decode()
    assert all(i.number in everyone for i in theirs)
    assert mine[1].number not in everyone
    closed = client.get(INBOX, {"owner": "mine", "state": "closed"}).content.decode()
    assert mine[1].number in closed and mine[0].number not in closed
    # Asking for one status means that status, open or not.
    lost = client.get(INBOX, {"status__exact": "lost"}).content.decode()
    assert mine[1].number in lost


def test_a_manager_sees_all_of_the_subsidiary_by_default(client, ccos, manager, product):
    inquiries = [_guest_inquiry(product) for _i in range(3)]
    assert len({i.owner_id for i in inquiries}) > 1
    _login(client, manager)
    page = client.get(INBOX).content.decode()
    assert all(i.number in page for i in inquiries)


def test_the_overdue_filter_finds_unanswered_inquiries_past_their_deadline(client, ccos,
                                                                          manager, product):
    late, answered_late, in_time = (_guest_inquiry(product) for _i in range(3))
    past = timezone.now() - datetime.timedelta(minutes=40)
    Inquiry.objects.filter(pk__in=[late.pk, answered_late.pk]).update(response_due_at=past)
    services.inquiry_message_post(inquiry_id=answered_late.pk, actor=answered_late.owner,
                                  body="We are checking the stock.")
    _login(client, manager)
    page = client.get(INBOX, {"overdue": "yes"}).content.decode()
    assert late.number in page
    assert answered_late.number not in page and in_time.number not in page
    # The countdown column: overdue in red, answered ones say so.
    page = client.get(INBOX).content.decode()
    row = re.search(rf"{late.number}.*?</tr>", page, re.S).group(0)
    assert "wb-due-overdue" in row and "overdue 40 min" in row
    row = re.search(rf"{answered_late.number}.*?</tr>", page, re.S).group(0)
    assert "answered" in row and "wb-due-overdue" not in row


def test_search_by_cas_number_with_or_without_dashes(client, ccos, manager, hq_manager,
                                                     subsidiary, product):
    wanted = _guest_inquiry(product)
    other = _guest_inquiry(sellable(seller=subsidiary))
    unlisted = services.inquiry_submit(requested_name="Widgetine", requested_cas=valid_cas(901),
                                       quantity="3", contact_name="Wang", contact_phone="138")
    _login(client, manager)
    cas = product.chemical.cas
    for term in (cas, cas.replace("-", "")):
        page = client.get(INBOX, {"q": term}).content.decode()
        assert wanted.number in page and other.number not in page, term
    # The admin ANDs the words of a search: a name with no digit in it (factory names end
    # in a sequence number, which other CAS numbers and SKUs contain too).
    type(product.chemical).objects.filter(pk=product.chemical_id).update(
        name_en="Zirconium acetylacetonate")
    page = client.get(INBOX, {"q": "Zirconium acetylacetonate"}).content.decode()
    assert wanted.number in page and other.number not in page
    # An unlisted chemical goes to the HQ pool: HQ finds it by the CAS number asked for.
    assert unlisted.number not in client.get(INBOX, {"q": valid_cas(901)}).content.decode()
    client.logout()
    _login(client, hq_manager)
    page = client.get(INBOX, {"q": valid_cas(901)}).content.decode()
    assert unlisted.number in page and wanted.number not in page


def test_the_countdown_says_how_long_is_left_or_how_late_it_is():
    now = timezone.now()
    inquiry = Inquiry(status=Inquiry.Status.ASSIGNED,
                      response_due_at=now + datetime.timedelta(hours=2, minutes=15, seconds=30))
    assert deadline_countdown(inquiry, now) == ("due", "in 2 h 15 min")
    inquiry.response_due_at = now - datetime.timedelta(minutes=40)
    assert deadline_countdown(inquiry, now) == ("overdue", "overdue 40 min")
    inquiry.response_due_at = now + datetime.timedelta(days=1, hours=3)
    assert deadline_countdown(inquiry, now) == ("due", "in 1 d 3 h")
    inquiry.first_response_at = now
    assert deadline_countdown(inquiry, now) == ("answered", "answered")
    assert deadline_countdown(Inquiry(status=Inquiry.Status.NEW), now) == (
        "none", "no deadline")


def test_the_inbox_runs_a_constant_number_of_queries(client, ccos, manager, subsidiary,
                                                     django_assert_max_num_queries):
    def add_rows(n):
        for i in range(n):
            product = sellable(seller=subsidiary)
            if i % 2:
                services.inquiry_submit(buyer=BuyerFactory(), product_id=product.pk,
                                        quantity="5")
            else:
                _guest_inquiry(product)
        services.inquiry_submit(requested_name="Unobtainium", quantity="1",
                                contact_name="Zhao", contact_phone="139")

    add_rows(2)
    _login(client, manager)
    with CaptureQueriesContext(connection) as few:
        assert client.get(INBOX, {"owner": "all"}).status_code == 200
    add_rows(12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(INBOX, {"owner": "all"})
    assert response.content.decode().count('class="wb-due ') >= 14


# --- Scoping ------------------------------------------------------------------------------------


def test_a_cco_of_another_subsidiary_finds_nothing(client, buyer_inquiry, outsider, buyer,
                                                   settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    event = services.inquiry_message_post(
        inquiry_id=buyer_inquiry.pk, actor=buyer, body="Our COA request",
        attachment=SimpleUploadedFile("coa.pdf", PDF, content_type="application/pdf"))
    attachment = f"{INBOX}{buyer_inquiry.pk}/attachment/{event.pk}/"
    customer = f"{INBOX}customer/{buyer_inquiry.company_id}/"
    # The owner sees all three …
    _login(client, buyer_inquiry.owner)
    assert client.get(_page(buyer_inquiry)).status_code == 200
    response = client.get(attachment)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert client.get(customer).status_code == 200
    # … a CCO of another subsidiary none of them.
    client.logout()
    _login(client, outsider)
    assert client.get(_page(buyer_inquiry)).status_code == 404
    assert client.get(f"{INBOX}{buyer_inquiry.pk}/history/").status_code == 404
    assert client.get(attachment).status_code == 404
    assert client.get(customer).status_code == 404
    assert client.post(f"{INBOX}{buyer_inquiry.pk}/message/",
                       {"message-body": "Hello"}).status_code == 404
    assert client.post(f"{INBOX}{buyer_inquiry.pk}/quote/", {}).status_code == 404
    page = client.get(INBOX, {"owner": "all", "state": "all"}).content.decode()
    assert buyer_inquiry.number not in page
    assert InquiryEvent.objects.filter(inquiry=buyer_inquiry, actor=outsider).count() == 0


# --- The inquiry page ---------------------------------------------------------------------------


def test_the_page_shows_buyer_prices_stock_and_the_timeline(client, buyer_inquiry, buyer,
                                                            company):
    _login(client, buyer_inquiry.owner)
    response = client.get(_page(buyer_inquiry))
    page = response.content.decode()
    assert company.name in page and buyer.email in page
    assert f"/admin/inquiries/inquiry/customer/{company.pk}/" in page
    assert "Please quote 500 kg, delivered to Suzhou." in page
    assert buyer_inquiry.routing_reason in page
    assert "10.00" in page and "800" in page  # the tier and the stock
    assert "Received" in page and "Routed" in page  # timeline events
    assert "List price for 500 kg: 10.00 CNY" in page  # the price floor
    assert 'name="quote-expected_version" value="0"' in page


def test_html_in_buyer_messages_is_escaped(client, ccos, product):
    inquiry = _guest_inquiry(product, message="<script>alert('x')</script><b>bold</b>")
    services.inquiry_message_post(inquiry_id=inquiry.pk, token=inquiry.access_token,
                                  body='<img src=x onerror="alert(1)">')
    _login(client, inquiry.owner)
    page = client.get(_page(inquiry)).content.decode()
    assert "<script>alert(" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_the_quote_form_sends_version_one_then_refuses_a_stale_revision(client, buyer_inquiry,
                                                                        product):
    owner = buyer_inquiry.owner
    _login(client, owner)
    url = f"{INBOX}{buyer_inquiry.pk}/quote/"
    response = client.post(url, _quote_post(product))
    assert response.status_code == 302 and response.url == _page(buyer_inquiry)
    quote = Quote.objects.get(inquiry=buyer_inquiry)
    assert (quote.version, quote.unit_price, quote.created_by) == (1, Decimal("9.50"), owner)
    buyer_inquiry.refresh_from_db()
    assert buyer_inquiry.status == Inquiry.Status.QUOTED
    assert buyer_inquiry.first_response_at is not None
    assert "9.50 CNY per kg for 500 kg" in buyer_inquiry.events.get(
        kind=InquiryEvent.Kind.QUOTED).body

    # A colleague's tab still thinks there is no quote (expected version 0).
    response = client.post(url, _quote_post(product, **{"quote-unit_price": "9.00"}))
    assert response.status_code == 400
    page = response.content.decode()
    assert "A colleague sent version 1 of this quote meanwhile" in page
    assert 'value="9.00"' in page  # what was typed is kept
    assert 'name="quote-expected_version" value="1"' in page  # resent knowingly, it goes
    assert Quote.objects.filter(inquiry=buyer_inquiry).count() == 1
    response = client.post(url, _quote_post(product, **{"quote-unit_price": "9.00",
                                                        "quote-expected_version": "1"}))
    assert response.status_code == 302
    assert list(buyer_inquiry.quotes.values_list("version", "status")) == [
        (2, Quote.Status.SENT), (1, Quote.Status.SUPERSEDED)]
    page = client.get(_page(buyer_inquiry)).content.decode()
    assert "Superseded" in page and "v2" in page


def test_a_quote_below_the_list_price_is_sent_with_a_warning(client, buyer_inquiry, product):
    _login(client, buyer_inquiry.owner)
    response = client.post(f"{INBOX}{buyer_inquiry.pk}/quote/",
                           _quote_post(product, **{"quote-unit_price": "8.00"}), follow=True)
    notes = _messages(response)
    assert any("Quote version 1 sent" in n for n in notes)
    assert any("below the list price of 10.00 CNY" in n for n in notes)
    assert buyer_inquiry.quotes.get().unit_price == Decimal("8.00")
    # At the list price: no warning.
    response = client.post(f"{INBOX}{buyer_inquiry.pk}/quote/",
                           _quote_post(product, **{"quote-unit_price": "10.00",
                                                   "quote-expected_version": "1"}),
                           follow=True)
    assert not any("below the list price" in n for n in _messages(response))
    # The page's hint asks the server for the floor of another quantity.
    floor = client.get(f"{INBOX}{buyer_inquiry.pk}/price-floor/",
                       {"product": product.pk, "quantity": "3"}).json()
    assert floor["floor"] == "10.00" and "3 kg" in floor["text"]


def test_a_quote_valid_beyond_the_price_list_is_refused(client, ccos, subsidiary, buyer):
    product = sellable(seller=subsidiary, price="10.00")
    # A newer list, ending in three days, is the one in force (the price cycle).
    ends = timezone.localdate() + datetime.timedelta(days=3)
    PriceTierFactory(product=product, unit_price=Decimal("11.00"), price_list=PriceListFactory(
        seller=subsidiary, valid_from=timezone.localdate(), valid_until=ends))
    inquiry = services.inquiry_submit(buyer=buyer, product_id=product.pk, quantity="50")
    _login(client, inquiry.owner)
    page = client.get(_page(inquiry)).content.decode()
    assert f"The price list in force ends on {ends.isoformat()}" in page
    response = client.post(f"{INBOX}{inquiry.pk}/quote/", _quote_post(
        product, **{"quote-quantity": "50", "quote-valid_until": _in_week(),
                    "quote-payment_terms": "Prepayment"}))
    assert response.status_code == 400
    page = response.content.decode()
    assert (f"The price list in force ends on {ends.isoformat()}: the quote cannot be valid "
            "longer.") in page
    assert 'value="Prepayment"' in page
    assert not Quote.objects.filter(inquiry=inquiry).exists()


def test_a_canned_reply_is_filled_in_and_sending_it_stops_the_deadline(client, buyer_inquiry,
                                                                       buyer, company,
                                                                       subsidiary, product):
    CannedReply.objects.create(
        organization=subsidiary, title="Thanks",
        body="Dear {buyer} of {company}, thank you for inquiry {number} about {product} "
             "({quantity}). Best regards, {cco}")
    owner = buyer_inquiry.owner
    _login(client, owner)
    page = client.get(_page(buyer_inquiry)).content.decode()
    canned = json.loads(re.search(r'<script id="wb-canned" type="application/json">(.*?)'
                                  r"</script>", page, re.S).group(1))
    text = canned[0]["text"]
    assert text == (f"Dear {buyer.full_name} of {company.name}, thank you for inquiry "
                    f"{buyer_inquiry.number} about {product.display_name} (500 kg). Best "
                    f"regards, {owner.full_name}")
    assert buyer_inquiry.first_response_at is None

    response = client.post(f"{INBOX}{buyer_inquiry.pk}/message/",
                           {"message-body": text + " The price follows today."})
    assert response.status_code == 302
    event = buyer_inquiry.events.get(kind=InquiryEvent.Kind.MESSAGE_OUT)
    assert event.is_public and event.actor == owner and event.body.endswith("follows today.")
    buyer_inquiry.refresh_from_db()
    assert buyer_inquiry.first_response_at is not None


def test_placeholders_are_filled_and_unknown_ones_left_alone():
    values = {"buyer": "Li Lei", "product": "Ethanol"}
    assert fill_placeholders("Dear {buyer}: {product} {price} {}", values) == (
        "Dear Li Lei: Ethanol {price} {}")


def test_an_internal_note_is_not_public_and_the_deadline_keeps_running(client, buyer_inquiry,
                                                                       settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    _login(client, buyer_inquiry.owner)
    response = client.post(f"{INBOX}{buyer_inquiry.pk}/message/", {
        "message-body": "Buyer is price sensitive", "message-internal": "on",
        "message-attachment": SimpleUploadedFile("calc.pdf", PDF)}, follow=True)
    assert any("Internal note saved" in n for n in _messages(response))
    note = buyer_inquiry.events.get(kind=InquiryEvent.Kind.NOTE)
    assert not note.is_public and note.attachment
    buyer_inquiry.refresh_from_db()
    assert buyer_inquiry.first_response_at is None
    assert f"/attachment/{note.pk}/" in response.content.decode()
    # A wrong file type is refused, the text typed is kept.
    response = client.post(f"{INBOX}{buyer_inquiry.pk}/message/", {
        "message-body": "Keep this text",
        "message-attachment": SimpleUploadedFile("x.exe", b"MZ\x90\x00")})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Attach a PDF, PNG or JPEG file." in page and "Keep this text" in page


def test_reassign_within_the_subsidiary(client, buyer_inquiry, ccos, outsider):
    owner = buyer_inquiry.owner
    colleague = next(c for c in ccos if c != owner)
    _login(client, owner)
    url = f"{INBOX}{buyer_inquiry.pk}/reassign/"
    response = client.post(url, {"reassign-to_user": outsider.pk})
    assert response.status_code == 400
    buyer_inquiry.refresh_from_db()
    assert buyer_inquiry.owner == owner
    response = client.post(url, {"reassign-to_user": colleague.pk,
                                 "reassign-note": "Knows this customer"})
    assert response.status_code == 302
    buyer_inquiry.refresh_from_db()
    assert buyer_inquiry.owner == colleague
    event = buyer_inquiry.events.filter(kind=InquiryEvent.Kind.ASSIGNED).last()
    assert event.actor == owner and "Knows this customer" in event.body


def test_close_as_lost_needs_a_reason_and_a_note_for_other(client, buyer_inquiry):
    _login(client, buyer_inquiry.owner)
    url = f"{INBOX}{buyer_inquiry.pk}/close-lost/"
    response = client.post(url, {"lost-reason": ""})
    assert response.status_code == 400
    assert "Choose why the inquiry is lost." in response.content.decode()
    response = client.post(url, {"lost-reason": LostReason.OTHER, "lost-note": ""})
    assert response.status_code == 400
    assert "Say what the other reason is." in response.content.decode()
    buyer_inquiry.refresh_from_db()
    assert buyer_inquiry.status == Inquiry.Status.ASSIGNED
    response = client.post(url, {"lost-reason": LostReason.OTHER,
                                 "lost-note": "Project cancelled"})
    assert response.status_code == 302
    buyer_inquiry.refresh_from_db()
    assert (buyer_inquiry.status, buyer_inquiry.lost_reason, buyer_inquiry.lost_note) == (
        Inquiry.Status.LOST, LostReason.OTHER, "Project cancelled")
    page = client.get(_page(buyer_inquiry)).content.decode()
    assert 'id="wb-quote-form"' not in page and "Project cancelled" in page


# --- Logging an inquiry -------------------------------------------------------------------------


def test_a_cco_logs_a_phone_inquiry(client, ccos, product, company, subsidiary):
    company.served_by.add(subsidiary)
    cco = ccos[0]
    _login(client, cco)
    page = client.get(f"{INBOX}add/").content.decode()
    assert 'name="channel"' in page and 'name="company"' in page
    # The company picker offers the companies the subsidiary serves, no others.
    stranger = CompanyFactory(name="Stranger Chemicals")
    found = client.get("/admin/autocomplete/", {
        "app_label": "inquiries", "model_name": "inquiry", "field_name": "company",
        "term": ""}).json()["results"]
    assert [r["id"] for r in found] == [str(company.pk)] and str(stranger.pk) not in str(found)
    response = client.post(f"{INBOX}add/", {"channel": "", "contact_name": "Zhang",
                                            "product": product.pk, "quantity": "2",
                                            "unit": "kg"})
    assert response.status_code == 400
    assert "Choose the channel." in response.content.decode()
    assert not Inquiry.objects.exists()

    response = client.post(f"{INBOX}add/", {
        "channel": "phone", "company": company.pk, "contact_name": "Zhang San",
        "contact_phone": "13800000000", "product": product.pk, "quantity": "2000",
        "unit": "kg", "message": "Called about a tanker load."})
    inquiry = Inquiry.objects.get()
    assert response.status_code == 302 and response.url == _page(inquiry)
    assert (inquiry.channel, inquiry.logged_by, inquiry.company, inquiry.seller) == (
        "phone", cco, company, subsidiary)
    assert inquiry.owner in ccos and inquiry.response_due_at is not None
    assert inquiry.events.get(kind=InquiryEvent.Kind.RECEIVED).actor == cco


def test_logging_refuses_a_company_the_cco_may_not_see(client, ccos, product):
    stranger = CompanyFactory()
    _login(client, ccos[0])
    response = client.post(f"{INBOX}add/", {
        "channel": "wechat", "company": stranger.pk, "contact_name": "Zhang",
        "contact_phone": "138", "product": product.pk, "quantity": "1", "unit": "kg"})
    assert response.status_code == 400
    assert not Inquiry.objects.exists()


# --- Customer 360 -------------------------------------------------------------------------------


def test_customer_360_shows_inquiries_quotes_orders_and_events(client, buyer_inquiry, buyer,
                                                               company, product, ccos):
    owner = buyer_inquiry.owner
    quote = services.quote_send(
        inquiry_id=buyer_inquiry.pk, actor=owner, product_id=product.pk, quantity="500",
        unit_price="9.20", valid_until=timezone.localdate() + datetime.timedelta(days=5),
        lead_time_days=3, incoterm="DAP", payment_terms="Prepayment")
    order = services.quote_accept(quote_id=quote.pk, buyer=buyer, fulfilment="delivery",
                                  address_id=AddressFactory(company=company).pk,
                                  payment_method="prepayment")
    phone = services.inquiry_submit(logged_by=owner, channel="phone", company_id=company.pk,
                                    contact_name="Zhang", contact_phone="138",
                                    product_id=product.pk, quantity="10")
    colleague = next(c for c in ccos if c != owner)  # customers belong to the company
    _login(client, colleague)
    page = client.get(f"{INBOX}customer/{company.pk}/").content.decode()
    assert company.name in page and buyer.email in page
    assert buyer_inquiry.number in page and phone.number in page
    assert "Phone" in page and "v1" in page and "Accepted" in page
    assert order.number in page
    assert "Quote accepted" in page  # an event of the timeline


# --- Canned replies, CCO profiles, missed deadlines ---------------------------------------------


def test_canned_replies_are_scoped_and_managed_by_managers(client, subsidiary,
                                                           other_subsidiary, manager, ccos):
    ours = CannedReply.objects.create(organization=subsidiary, title="Ours", body="Hi {buyer}")
    theirs = CannedReply.objects.create(organization=other_subsidiary, title="Theirs",
                                        body="Hello")
    url = "/admin/inquiries/cannedreply/"
    _login(client, ccos[0])
    page = client.get(url).content.decode()
    assert "Ours" in page and "Theirs" not in page
    assert client.get(f"{url}{theirs.pk}/change/").status_code == 404
    assert client.get(f"{url}add/").status_code == 403  # CCOs only read them
    client.logout()

    _login(client, manager)
    response = client.post(f"{url}add/", {"organization": other_subsidiary.pk,
                                          "title": "Sneaky", "body": "x", "is_active": "on"})
    assert response.status_code == 200 and not CannedReply.objects.filter(title="Sneaky")
    response = client.post(f"{url}add/", {"organization": subsidiary.pk, "title": "Price",
                                          "body": "Dear {buyer}, {prize}", "is_active": "on"})
    assert response.status_code == 200 and "Unknown placeholder: {prize}" in (
        response.content.decode())
    response = client.post(f"{url}add/", {"organization": subsidiary.pk, "title": "Price",
                                          "body": "Dear {buyer}, the price of {product}",
                                          "is_active": "on"})
    assert response.status_code == 302
    assert CannedReply.objects.filter(organization=subsidiary, title="Price").exists()
    response = client.post(f"{url}{ours.pk}/change/", {
        "organization": subsidiary.pk, "title": "Ours", "body": "Hello {buyer}",
        "is_active": "on"})
    assert response.status_code == 302
    ours.refresh_from_db()
    assert ours.body == "Hello {buyer}"


def test_managers_set_duty_and_cap_but_not_the_routing_weight(client, ccos, manager, product,
                                                              other_subsidiary):
    _guest_inquiry(product)  # routing creates the profiles
    StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    _guest_inquiry(sellable(seller=other_subsidiary))
    profile = CcoProfile.objects.get(user=ccos[0])
    foreign = CcoProfile.objects.exclude(organization=profile.organization).get()
    url = "/admin/inquiries/ccoprofile/"
    _login(client, manager)
    page = client.get(url).content.decode()
    assert ccos[0].full_name in page and foreign.user.full_name not in page
    assert client.get(f"{url}{foreign.pk}/change/").status_code == 404
    page = client.get(f"{url}{profile.pk}/change/").content.decode()
    assert 'name="open_cap"' in page and 'name="performance_weight"' not in page
    assert 'name="current_weight"' not in page
    response = client.post(f"{url}{profile.pk}/change/", {
        "open_cap": "12", "performance_weight": "9.000"})  # on duty unticked
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.is_on_duty, profile.open_cap, profile.performance_weight) == (
        False, 12, Decimal("1.000"))
    client.logout()
    _login(client, ccos[1])
    assert client.get(url).status_code == 200  # colleagues may look
    response = client.post(f"{url}{profile.pk}/change/", {"open_cap": "99", "is_on_duty": "on"})
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.open_cap == 12


def test_missed_deadlines_are_listed_for_the_subsidiary_only(client, ccos, manager, product,
                                                             other_subsidiary):
    ours = _guest_inquiry(product)
    StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    theirs = _guest_inquiry(sellable(seller=other_subsidiary))
    now = timezone.now()
    ResponseMiss.objects.create(inquiry=ours, owner=ours.owner, due_at=now)
    ResponseMiss.objects.create(inquiry=theirs, owner=theirs.owner, due_at=now)
    _login(client, manager)
    page = client.get("/admin/inquiries/responsemiss/").content.decode()
    assert ours.number in page and theirs.number not in page
