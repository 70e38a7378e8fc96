"""Buyer and guest pages of the inquiries app: the inquiry form, the company's list, an
inquiry's page (quote, accept, decline, messages, attachments) and the guest's private link."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.html import escape

from inquiries import services
from inquiries.models import Inquiry, InquiryEvent, Quote
from orders.models import Order, OutboxMessage
from tests.factories import BuyerFactory, DepotFactory
from tests.orders.factories import AddressFactory, sellable

pytestmark = pytest.mark.django_db

D = Decimal
SCRIPT = "<script>alert('x')</script>"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def html(response) -> str:
    return response.content.decode()


def field_error(page: str, field: str) -> str:
    """The text of the error shown under a form field ('' when there is none)."""
    found = re.search(rf'<p class="error" id="id_{field}-error">(.*?)</p>', page, re.S)
    return found.group(1) if found else ""


def today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def product(subsidiary, ccos):
    """Sold by the 25 kg bag from 25 kg; its seller has three CCOs to route to."""
    return sellable(seller=subsidiary, price="10.00", min_order_quantity=D("25"),
                    quantity_step=D("25"))


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture
def address(company):
    return AddressFactory(company=company, is_default=True)


def buyer_inquiry(buyer, product, **kwargs):
    kwargs.setdefault("quantity", "500")
    return services.inquiry_submit(buyer=buyer, product_id=product.pk, **kwargs)


def guest_inquiry(product, **kwargs):
    kwargs.setdefault("quantity", "500")
    kwargs.setdefault("contact_name", "Li Lei")
    kwargs.setdefault("contact_email", "li.lei@example.com")
    return services.inquiry_submit(product_id=product.pk, client_ip="10.9.9.9", **kwargs)


def quote(inquiry, product, *, price="9.20", days=7, **kwargs):
    """A quote (or a revision: pass expected_version) by the inquiry's owner."""
    kwargs.setdefault("payment_terms", "30 days net")
    return services.quote_send(
        inquiry_id=inquiry.pk, actor=inquiry.owner, product_id=product.pk,
        quantity=kwargs.pop("quantity", "500"), unit_price=price,
        valid_until=today() + datetime.timedelta(days=days), lead_time_days=5,
        incoterm="DAP", **kwargs)


def guest_data(**overrides):
    data = {"quantity": "50", "province": "320000", "city": "320500", "needed_by": "",
            "message": "Please quote incl. delivery.", "contact_name": "Li Lei",
            "contact_company": "Suzhou Paints Co.", "contact_email": "li.lei@example.com",
            "contact_phone": "13900001111", "website": ""}
    data.update(overrides)
    return data


# --- The inquiry form ---------------------------------------------------------------------------


def test_form_for_a_product_shows_it_with_its_moq_and_unit(client, product):
    page = html(client.get(f"/inquiries/new/?product={product.pk}"))
    assert product.display_name in page and product.seller.name in page
    assert 'name="quantity" value="25"' in page
    assert "Quantity (kg)" in page
    assert 'name="unit"' not in page and 'name="requested_name"' not in page
    assert f'name="product" value="{product.pk}"' in page
    # A guest leaves contact details; the honeypot is in the page, hidden by CSS.
    assert 'name="contact_email"' in page
    assert 'class="hp-field"' in page and 'name="website"' in page
    assert "data-region-select" in page and "region-select.js" in page


def test_form_for_a_product_not_for_sale_is_404(client, product):
    product.is_active = False
    product.save()
    assert client.get(f"/inquiries/new/?product={product.pk}").status_code == 404
    assert client.get("/inquiries/new/?product=abc").status_code == 404


def test_unlisted_form_takes_the_catalog_search(client):
    page = html(client.get("/inquiries/new/?q=7664939"))
    assert "Request a chemical we don't list" in page
    assert re.search(r'name="requested_cas"[^>]*value="7664-93-9"', page)
    page = html(client.get("/inquiries/new/?q=Tetrakis+widget"))
    assert re.search(r'name="requested_name"[^>]*value="Tetrakis widget"', page)
    assert re.search(r'<select name="unit"', page)


def test_guest_sends_an_inquiry_for_a_product_and_gets_the_private_link(client, product):
    response = client.post("/inquiries/new/", guest_data(product=product.pk), follow=True)
    assert response.redirect_chain == [("/inquiries/thanks/", 302)]
    inquiry = Inquiry.objects.get()
    assert (inquiry.product, inquiry.quantity, inquiry.unit) == (product, D("50"), "kg")
    assert inquiry.channel == "web" and inquiry.client_ip == "127.0.0.1"
    assert inquiry.delivery_region_id == "320500"  # the city, as chosen
    assert (inquiry.contact_name, inquiry.contact_company, inquiry.contact_email,
            inquiry.contact_phone) == ("Li Lei", "Suzhou Paints Co.", "li.lei@example.com",
                                       "13900001111")
    assert inquiry.buyer is None and inquiry.company is None
    page = html(response)
    assert f"http://testserver/inquiries/track/{inquiry.access_token}/" in page
    assert "We have also mailed the link to li.lei@example.com." in page
    mail = OutboxMessage.objects.get(kind="inquiry_received_guest")
    assert mail.to_email == "li.lei@example.com" and inquiry.access_token in mail.body


def test_guest_asks_for_an_unlisted_chemical_by_cas(client, hq):
    response = client.post("/inquiries/new/", guest_data(
        requested_name="", requested_cas="7664939", quantity="2", unit="t", city="",
        needed_by=(today() + datetime.timedelta(days=30)).isoformat()))
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert (inquiry.requested_cas, inquiry.unit, inquiry.quantity) == ("7664-93-9", "t", D("2"))
    assert inquiry.is_unlisted and inquiry.product is None
    assert inquiry.delivery_region_id == "320000"  # no city chosen: the province
    assert inquiry.needed_by == today() + datetime.timedelta(days=30)


def test_buyer_sends_an_inquiry_and_lands_on_its_page(signed_in, buyer, company, product):
    page = html(signed_in.get(f"/inquiries/new/?product={product.pk}"))
    assert 'name="contact_email"' not in page and 'name="website"' not in page
    response = signed_in.post("/inquiries/new/", {
        "product": product.pk, "quantity": "100", "target_price": "9.50", "province": "320000",
        "city": "", "needed_by": "", "message": "Monthly need."}, follow=True)
    inquiry = Inquiry.objects.get()
    assert response.redirect_chain == [(f"/inquiries/{inquiry.pk}/", 302)]
    assert (inquiry.buyer, inquiry.company, inquiry.target_price) == (buyer, company, D("9.50"))
    assert inquiry.contact_email == "" and inquiry.owner is not None
    page = html(response)
    assert f"Inquiry {inquiry.number} is sent to {product.seller.name}" in page
    assert "Monthly need." in page


def test_buyer_asks_for_an_unlisted_chemical_by_name(signed_in, company, hq):
    response = signed_in.post("/inquiries/new/", {
        "requested_name": "Tetrakis widget", "requested_cas": "", "quantity": "3", "unit": "t",
        "province": "", "city": "", "needed_by": "", "message": ""})
    inquiry = Inquiry.objects.get()
    assert response["Location"] == f"/inquiries/{inquiry.pk}/"
    assert (inquiry.requested_name, inquiry.unit, inquiry.company) == ("Tetrakis widget", "t",
                                                                       company)
    assert inquiry.is_unlisted and inquiry.seller == hq
    page = html(signed_in.get(response["Location"]))
    assert "Tetrakis widget" in page and "Not in our catalog" in page


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"contact_name": "", "contact_email": "", "contact_phone": ""}, "contact_name",
     "Tell us your name."),
    ({"contact_email": "", "contact_phone": ""}, "contact_email",
     "Give an email address or a phone number so that we can answer."),
    ({"contact_email": "not-an-email"}, "contact_email", "Enter a valid email address."),
    ({"requested_cas": "7664-93-8"}, "requested_cas", "Enter a valid CAS registry number"),
    ({"requested_name": "", "requested_cas": ""}, "requested_name",
     "Name the chemical or give its CAS number."),
    ({"quantity": "0"}, "quantity", "The quantity must be more than zero."),
    ({"quantity": "-5"}, "quantity", "The quantity must be more than zero."),
    ({"quantity": "lots"}, "quantity", "Enter the quantity as a number."),
    ({"quantity": ""}, "quantity", "Enter the quantity you need."),
    ({"needed_by": "2020-01-01"}, "needed_by", "The needed-by date cannot be in the past."),
    ({"target_price": "-1"}, "target_price", "The target price must be a positive amount."),
    ({"province": "110000"}, "city", "The city is not in the chosen province."),
])
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(client, hq, overrides, field,
                                                                 message):
    data = guest_data(requested_name="Tetrakis widget", requested_cas="", unit="kg")
    data.update(overrides)
    response = client.post("/inquiries/new/", data)
    assert response.status_code == 400
    page = html(response)
    assert field_error(page, field).startswith(escape(message))
    assert not Inquiry.objects.exists()
    # What was typed is still there.
    assert 'value="Suzhou Paints Co."' in page
    if overrides.get("quantity") not in (None, ""):
        assert f'value="{overrides["quantity"]}"' in page


def test_an_unknown_product_is_refused_and_nothing_is_saved(client, product):
    response = client.post("/inquiries/new/", guest_data(product="999999"))
    assert response.status_code == 400
    assert field_error(html(response), "product") == "This product is not available."
    assert not Inquiry.objects.exists()


def test_yesterday_is_in_the_past_for_a_buyer_too(signed_in, product):
    yesterday = (today() - datetime.timedelta(days=1)).isoformat()
    response = signed_in.post("/inquiries/new/", {"product": product.pk, "quantity": "25",
                                                  "needed_by": yesterday})
    assert response.status_code == 400
    assert field_error(html(response), "needed_by") == "The needed-by date cannot be in the past."
    assert not Inquiry.objects.exists()


def test_the_honeypot_pretends_success_and_saves_nothing(client, product):
    response = client.post("/inquiries/new/", guest_data(product=product.pk,
                                                         website="http://spam.example"),
                           follow=True)
    assert response.redirect_chain == [("/inquiries/thanks/", 302)]
    assert "We have received your inquiry" in html(response)
    assert "/inquiries/track/" not in html(response)
    assert not Inquiry.objects.exists() and not OutboxMessage.objects.exists()


def test_too_many_guest_inquiries_from_one_address_answer_429(client, product, settings):
    settings.GUEST_INQUIRIES_PER_HOUR = 2
    for _i in range(2):
        assert client.post("/inquiries/new/", guest_data(product=product.pk)).status_code == 302
    response = client.post("/inquiries/new/", guest_data(product=product.pk, message="third"))
    assert response.status_code == 429
    assert "Too many inquiries from your network in the last hour" in html(response)
    assert 'value="Suzhou Paints Co."' in html(response)
    assert Inquiry.objects.count() == 2
    # Another address is not limited.
    other = client.post("/inquiries/new/", guest_data(product=product.pk),
                        REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 302 and Inquiry.objects.count() == 3


def test_catalog_and_home_link_to_the_unlisted_form(client, product):
    assert 'href="/inquiries/new/"' in html(client.get("/"))
    page = html(client.get("/products/?q=nothing-like-this-zz"))
    assert "/inquiries/new/?q=nothing-like-this-zz" in page
    page = html(client.get("/products/", {"q": product.chemical.cas}))  # one hit: few
    assert f"/inquiries/new/?q={product.chemical.cas}" in page


# --- The company's inquiries --------------------------------------------------------------------


def test_list_shows_the_company_inquiries_with_their_quotes(signed_in, buyer, company, product,
                                                          outsider_buyer):
    quoted = buyer_inquiry(buyer, product)
    quote(quoted, product, price="9.20", days=10)
    colleague = BuyerFactory(company=company)
    waiting = buyer_inquiry(colleague, product, quantity="75")
    foreign = buyer_inquiry(outsider_buyer, product)
    page = html(signed_in.get("/inquiries/"))
    assert quoted.number in page and waiting.number in page  # a colleague's too
    assert foreign.number not in page
    assert "¥9.20" in page
    valid_until = (today() + datetime.timedelta(days=10)).isoformat()
    assert f"Valid until {valid_until}" in page
    assert "2 inquiries" in page
    assert 'href="/inquiries/"' in page  # the nav link for company members

    page = html(signed_in.get("/inquiries/?status=quoted"))
    assert quoted.number in page and waiting.number not in page
    page = html(signed_in.get("/inquiries/?status=open"))
    assert quoted.number in page and waiting.number in page
    page = html(signed_in.get("/inquiries/?status=won"))
    assert quoted.number not in page and "No inquiries match this filter." in page


def test_list_is_for_company_members(client, cco):
    assert client.get("/inquiries/")["Location"] == "/accounts/login/?next=/inquiries/"
    client.force_login(cco)
    assert client.get("/inquiries/").status_code == 404


def test_staff_get_404_on_the_buyer_pages(client, cco, buyer, product):
    inquiry = buyer_inquiry(buyer, product)
    client.force_login(cco)  # staff answer in the admin
    assert client.get(f"/inquiries/{inquiry.pk}/").status_code == 404
    assert client.post(f"/inquiries/{inquiry.pk}/messages/", {"body": "x"}).status_code == 404


def test_list_query_count_does_not_grow_with_the_page(signed_in, buyer, product,
                                                    django_assert_max_num_queries):
    """Session, user, membership ×2 (decorator, selector), count, nav membership, one page of
    inquiries with their product and seller, their quotes: 8 for 2 rows or a full page."""

    def add(count):
        for _i in range(count):
            inquiry = buyer_inquiry(buyer, product)
            quote(inquiry, product)

    add(2)
    with django_assert_max_num_queries(8):
        assert signed_in.get("/inquiries/").status_code == 200
    add(25)  # more than a page
    with django_assert_max_num_queries(8):
        response = signed_in.get("/inquiries/")
    assert len(response.context["page"].object_list) == 20
    assert html(response).count("¥9.20") == 20
    assert "Page 1 of 2" in html(response)
    second = signed_in.get("/inquiries/?page=2")
    assert len(second.context["page"].object_list) == 7


# --- An inquiry's page --------------------------------------------------------------------------


def test_page_shows_the_request_the_public_timeline_and_the_quote(signed_in, buyer, product):
    inquiry = buyer_inquiry(buyer, product, message="Need COA.", target_price="9.00",
                            delivery_region_code="320500")
    services.inquiry_message_post(inquiry_id=inquiry.pk, actor=inquiry.owner,
                                  body="Internal: margin is thin", internal=True)
    services.inquiry_message_post(inquiry_id=inquiry.pk, actor=inquiry.owner,
                                  body="COA attached tomorrow.")
    first = quote(inquiry, product, price="9.20", note="Price ex works Suzhou.")
    second = quote(inquiry, product, price="8.90", days=14, expected_version=1)
    page = html(signed_in.get(f"/inquiries/{inquiry.pk}/"))
    assert inquiry.number in page and product.seller.name in page and "Quoted" in page
    assert "Need COA." in page and "¥9.00" in page and "Suzhou" in page
    assert "COA attached tomorrow." in page and inquiry.owner.full_name in page
    # Never internal notes or routing internals.
    assert "margin is thin" not in page
    assert inquiry.routing_reason not in page and "round-robin" not in page
    # The current version with its terms; the history with what changed.
    assert "Version 2 of" in page and "¥8.90" in page and "30 days net" in page
    assert "DAP – Delivered at Place" in page
    valid_v1 = first.valid_until.isoformat()
    valid_v2 = (today() + datetime.timedelta(days=14)).isoformat()
    assert "Unit price: ¥9.20 → ¥8.90" in page
    assert f"Valid until: {valid_v1} → {valid_v2}" in page
    assert "Superseded" in page and "First version" in page
    assert f'action="/inquiries/{inquiry.pk}/quotes/{second.pk}/accept/"' in page
    assert f'action="/inquiries/{inquiry.pk}/quotes/{first.pk}/accept/"' not in page


@pytest.fixture
def quoted(buyer, product):
    """A buyer's inquiry with version 1 of a quote: (inquiry, quote)."""
    inquiry = buyer_inquiry(buyer, product)
    return inquiry, quote(inquiry, product, price="9.20")


def test_accepting_places_an_order_at_the_quoted_price(signed_in, quoted, address):
    inquiry, current = quoted
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{current.pk}/accept/", {
        "fulfilment": "delivery", "address": address.pk, "carrier": "",
        "payment_method": "prepayment", "po_number": "PO-4711"}, follow=True)
    order = Order.objects.get()
    assert response.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    line = order.lines.get()
    assert (line.unit_price, line.quantity) == (D("9.20"), D("500"))
    assert order.po_number == "PO-4711" and order.address == address
    assert f"You accepted version 1 of the quote: order {order.number} is placed." in html(
        response)
    inquiry.refresh_from_db()
    current.refresh_from_db()
    assert inquiry.status == Inquiry.Status.WON and current.status == Quote.Status.ACCEPTED
    page = html(signed_in.get(f"/inquiries/{inquiry.pk}/"))
    assert f'href="/orders/{order.pk}/"' in page and "Quote accepted" in page
    assert "/accept/" not in page


def test_accepting_for_pickup_at_a_depot_of_the_seller(signed_in, quoted, product):
    inquiry, current = quoted
    depot = product.stocks.get().depot
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{current.pk}/accept/", {
        "fulfilment": "pickup", "depot": depot.pk, "payment_method": "prepayment"})
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.pickup_depot == depot and order.pickup_code


def test_accepting_needs_the_fulfilment_details(signed_in, quoted):
    inquiry, current = quoted
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{current.pk}/accept/", {
        "fulfilment": "delivery", "payment_method": "prepayment", "po_number": "PO-1"})
    assert response.status_code == 400
    assert field_error(html(response), "address")
    assert 'value="PO-1"' in html(response)
    # A depot of another seller is not offered, and refused.
    foreign = DepotFactory()
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{current.pk}/accept/", {
        "fulfilment": "pickup", "depot": foreign.pk, "payment_method": "prepayment"})
    assert response.status_code == 400 and field_error(html(response), "depot")
    assert not Order.objects.exists()


def test_accepting_a_superseded_version_is_a_clear_409(signed_in, quoted, product, address):
    inquiry, first = quoted
    second = quote(inquiry, product, price="9.00", expected_version=1)
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{first.pk}/accept/", {
        "fulfilment": "delivery", "address": address.pk, "payment_method": "prepayment",
        "po_number": "PO-7"})
    assert response.status_code == 409
    page = html(response)
    assert "Version 1 is Superseded and cannot be accepted; see the current quote." in page
    assert 'value="PO-7"' in page  # what was typed is kept …
    # … and the form now offers the current version.
    assert f'action="/inquiries/{inquiry.pk}/quotes/{second.pk}/accept/"' in page
    assert not Order.objects.exists()


def test_accepting_an_expired_quote_is_a_clear_409(signed_in, quoted, address):
    inquiry, current = quoted
    yesterday = today() - datetime.timedelta(days=1)
    Quote.objects.filter(pk=current.pk).update(valid_until=yesterday)  # the sweep is late
    page = html(signed_in.get(f"/inquiries/{inquiry.pk}/"))
    assert f"This quote expired on {yesterday.isoformat()}" in page and "/accept/" not in page
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{current.pk}/accept/", {
        "fulfilment": "delivery", "address": address.pk, "payment_method": "prepayment"})
    assert response.status_code == 409
    assert f"This quote expired on {yesterday.isoformat()}; ask for a new one." in html(response)
    assert not Order.objects.exists()


def test_declining_with_a_reason(signed_in, quoted):
    inquiry, current = quoted
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{current.pk}/decline/",
                              {"reason": ""})
    assert response.status_code == 400
    assert field_error(html(response), "reason") == escape(
        "Tell the seller why, so that they can do better.")
    current.refresh_from_db()
    assert current.status == Quote.Status.SENT

    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{current.pk}/decline/",
                              {"reason": "Too expensive for us."}, follow=True)
    assert response.redirect_chain == [(f"/inquiries/{inquiry.pk}/", 302)]
    current.refresh_from_db()
    inquiry.refresh_from_db()
    assert (current.status, current.decline_reason) == (Quote.Status.DECLINED,
                                                        "Too expensive for us.")
    assert inquiry.status == Inquiry.Status.ASSIGNED
    assert "Too expensive for us." in html(response) and "Quote declined" in html(response)


def test_declining_a_superseded_version_is_409(signed_in, quoted, product):
    inquiry, first = quoted
    quote(inquiry, product, price="9.00", expected_version=1)
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{first.pk}/decline/",
                              {"reason": "Late"})
    assert response.status_code == 409
    assert "Only the current quote can be declined." in html(response)


def test_a_message_with_an_attachment_and_its_download(signed_in, buyer, quoted, media):
    inquiry, _quote = quoted
    response = signed_in.post(f"/inquiries/{inquiry.pk}/messages/", {
        "body": "Please send the COA.",
        "attachment": SimpleUploadedFile("spec.pdf", PDF, content_type="application/pdf")})
    assert response["Location"] == f"/inquiries/{inquiry.pk}/#timeline"
    event = InquiryEvent.objects.get(kind=InquiryEvent.Kind.MESSAGE_IN)
    assert (event.actor, event.body, event.is_public) == (buyer, "Please send the COA.", True)
    page = html(signed_in.get(f"/inquiries/{inquiry.pk}/"))
    url = f"/inquiries/{inquiry.pk}/attachments/{event.pk}/"
    assert f'href="{url}"' in page and "/media/" not in page
    download = signed_in.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Cache-Control"] == "private, no-store"


def test_a_bad_message_is_refused(signed_in, quoted):
    inquiry, _quote = quoted
    response = signed_in.post(f"/inquiries/{inquiry.pk}/messages/", {
        "body": "See file", "attachment": SimpleUploadedFile("x.txt", b"hello")})
    assert response.status_code == 400
    assert field_error(html(response), "attachment") == "Attach a PDF, PNG or JPEG file."
    assert "See file</textarea>" in html(response)
    response = signed_in.post(f"/inquiries/{inquiry.pk}/messages/", {"body": "  "})
    assert response.status_code == 400 and field_error(html(response), "body") == "Write a message."
    assert not InquiryEvent.objects.filter(kind=InquiryEvent.Kind.MESSAGE_IN).exists()


def test_internal_attachments_are_not_downloadable_by_the_buyer(signed_in, quoted):
    inquiry, _quote = quoted
    note = services.inquiry_message_post(
        inquiry_id=inquiry.pk, actor=inquiry.owner, body="Our cost sheet", internal=True,
        attachment=SimpleUploadedFile("cost.pdf", PDF))
    assert signed_in.get(f"/inquiries/{inquiry.pk}/attachments/{note.pk}/").status_code == 404


def test_another_company_gets_404_everywhere_and_changes_nothing(client, quoted, outsider_buyer,
                                                                 address):
    inquiry, current = quoted
    event = services.inquiry_message_post(
        inquiry_id=inquiry.pk, actor=inquiry.owner, body="COA",
        attachment=SimpleUploadedFile("coa.pdf", PDF))
    AddressFactory(company=outsider_buyer.membership.company)
    client.force_login(outsider_buyer)
    base = f"/inquiries/{inquiry.pk}"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/quotes/{current.pk}/accept/", {
        "fulfilment": "delivery", "address": address.pk,
        "payment_method": "prepayment"}).status_code == 404
    assert client.post(f"{base}/quotes/{current.pk}/decline/",
                       {"reason": "x"}).status_code == 404
    assert client.post(f"{base}/messages/", {"body": "hi"}).status_code == 404
    assert client.get(f"{base}/attachments/{event.pk}/").status_code == 404
    current.refresh_from_db()
    assert current.status == Quote.Status.SENT and not Order.objects.exists()
    assert not InquiryEvent.objects.filter(kind=InquiryEvent.Kind.MESSAGE_IN).exists()


def test_a_quote_of_another_inquiry_is_404(signed_in, buyer, quoted, product, address):
    inquiry, _current = quoted
    other = buyer_inquiry(buyer, product)
    other_quote = quote(other, product)
    response = signed_in.post(f"/inquiries/{inquiry.pk}/quotes/{other_quote.pk}/accept/", {
        "fulfilment": "delivery", "address": address.pk, "payment_method": "prepayment"})
    assert response.status_code == 404 and not Order.objects.exists()


# --- The guest's private link -------------------------------------------------------------------


def test_a_wrong_token_is_404(client, product):
    inquiry = guest_inquiry(product)
    quote_ = quote(inquiry, product)
    wrong = "x" + inquiry.access_token[1:]
    assert client.get(f"/inquiries/track/{wrong}/").status_code == 404
    assert client.post(f"/inquiries/track/{wrong}/messages/", {"body": "hi"}).status_code == 404
    assert client.post(f"/inquiries/track/{wrong}/quotes/{quote_.pk}/decline/",
                       {"reason": "x"}).status_code == 404
    assert client.post(f"/inquiries/track/{wrong}/claim/").status_code == 404
    assert not InquiryEvent.objects.filter(kind=InquiryEvent.Kind.MESSAGE_IN).exists()


def test_the_guest_follows_writes_and_declines_by_the_link(client, product):
    inquiry = guest_inquiry(product, message="For our plant in Suzhou.")
    current = quote(inquiry, product, price="9.20")
    track = f"/inquiries/track/{inquiry.access_token}/"
    response = client.get(track)
    page = html(response)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert '<meta name="robots" content="noindex">' in page
    assert inquiry.number in page and "¥9.20" in page and "For our plant in Suzhou." in page
    assert "/accept/" not in page  # accepting needs a company account:
    assert f"/accounts/login/?next=%2Finquiries%2Ftrack%2F{inquiry.access_token}%2F" in page
    assert "/accounts/register/?next=" in page

    response = client.post(f"{track}messages/", {
        "body": "Can you do 9.00?", "attachment": SimpleUploadedFile("po.png", b"\x89PNG\r\n"
                                                                     b"\x1a\n" + b"\0" * 16)})
    assert response["Location"] == f"{track}#timeline"
    event = InquiryEvent.objects.get(kind=InquiryEvent.Kind.MESSAGE_IN)
    assert event.actor is None and event.body == "Can you do 9.00?"
    page = html(client.get(track))
    assert "Can you do 9.00?" in page and "Li Lei" in page
    assert f'href="{track}attachments/{event.pk}/"' in page
    assert client.get(f"{track}attachments/{event.pk}/").status_code == 200
    # The same attachment is not reachable with another inquiry's link.
    other = guest_inquiry(product)
    assert client.get(
        f"/inquiries/track/{other.access_token}/attachments/{event.pk}/").status_code == 404

    response = client.post(f"{track}quotes/{current.pk}/decline/", {"reason": ""})
    assert response.status_code == 400 and field_error(html(response), "reason")
    response = client.post(f"{track}quotes/{current.pk}/decline/", {"reason": "Price"})
    assert response["Location"] == track
    current.refresh_from_db()
    assert current.status == Quote.Status.DECLINED


def test_a_registered_guest_adds_the_inquiry_to_the_company_and_accepts(client, buyer, company,
                                                                       product, address):
    inquiry = guest_inquiry(product)
    current = quote(inquiry, product, price="9.20")
    track = f"/inquiries/track/{inquiry.access_token}/"
    assert client.post(f"{track}claim/")["Location"].startswith("/accounts/login/?next=")

    client.force_login(buyer)
    page = html(client.get(track))
    assert f'action="{track}claim/"' in page and "Add this inquiry to my company" in page
    response = client.post(f"{track}claim/", follow=True)
    assert response.redirect_chain == [(f"/inquiries/{inquiry.pk}/", 302)]
    inquiry.refresh_from_db()
    assert (inquiry.company, inquiry.buyer) == (company, buyer)
    assert f'action="/inquiries/{inquiry.pk}/quotes/{current.pk}/accept/"' in html(response)
    # Back on the link, the page points to the company's page.
    assert f'href="/inquiries/{inquiry.pk}/#quote"' in html(client.get(track))

    response = client.post(f"/inquiries/{inquiry.pk}/quotes/{current.pk}/accept/", {
        "fulfilment": "delivery", "address": address.pk, "payment_method": "prepayment"})
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.lines.get().unit_price == D("9.20") and order.company == company


def test_a_user_without_a_company_cannot_claim(client, cco, product):
    inquiry = guest_inquiry(product)
    quote(inquiry, product)
    track = f"/inquiries/track/{inquiry.access_token}/"
    client.force_login(cco)
    assert "needs a buyer company account" in html(client.get(track))
    response = client.post(f"{track}claim/")
    assert response.status_code == 400
    assert "Register your company first, then open the link again." in html(response)
    inquiry.refresh_from_db()
    assert inquiry.company is None


def test_an_inquiry_of_another_company_cannot_be_claimed(client, buyer, outsider_buyer,
                                                        product):
    inquiry = buyer_inquiry(outsider_buyer, product)
    quote(inquiry, product)
    track = f"/inquiries/track/{inquiry.access_token}/"
    client.force_login(buyer)
    page = html(client.get(track))
    assert "belongs to another company" in page and "claim/" not in page
    assert client.post(f"{track}claim/").status_code == 404
    inquiry.refresh_from_db()
    assert inquiry.company == outsider_buyer.membership.company


# --- Escaping -----------------------------------------------------------------------------------


def test_script_in_messages_is_escaped_on_every_page(client, buyer, product, hq):
    # A guest asks for an "unlisted chemical" named with a script, and writes scripts.
    client.post("/inquiries/new/", guest_data(requested_name=SCRIPT, requested_cas="",
                                              unit="kg", message=SCRIPT,
                                              contact_name=SCRIPT))
    guest = Inquiry.objects.get()
    thanks = html(client.get("/inquiries/thanks/"))
    services.inquiry_message_post(inquiry_id=guest.pk, token=guest.access_token, body=SCRIPT)
    # A buyer's inquiry with scripts from both sides, in a quote note and a decline.
    inquiry = buyer_inquiry(buyer, product, message=SCRIPT)
    services.inquiry_message_post(inquiry_id=inquiry.pk, actor=buyer, body=SCRIPT)
    services.inquiry_message_post(inquiry_id=inquiry.pk, actor=inquiry.owner, body=SCRIPT)
    first = quote(inquiry, product, note=SCRIPT, payment_terms=SCRIPT)
    services.quote_decline(quote_id=first.pk, buyer=buyer, reason=SCRIPT)
    quote(inquiry, product, price="9.00", note=SCRIPT, payment_terms="60 days",
          expected_version=1)
    services.inquiry_submit(buyer=buyer, requested_name=SCRIPT, quantity="1")  # the list

    pages = {"thanks": thanks, "track": html(client.get(f"/inquiries/track/{guest.access_token}/"))}
    client.force_login(buyer)
    pages["detail"] = html(client.get(f"/inquiries/{inquiry.pk}/"))
    pages["list"] = html(client.get("/inquiries/"))
    pages["form"] = html(client.post("/inquiries/new/", {"requested_name": SCRIPT,
                                                         "message": SCRIPT, "quantity": "0"}))
    escaped = escape(SCRIPT)
    for name, page in pages.items():
        assert SCRIPT not in page, name
        assert "<script>alert" not in page, name
    assert pages["track"].count(escaped) >= 3  # message, timeline, subject …
    assert pages["detail"].count(escaped) >= 5  # request, both messages, note, terms, reason
    assert escaped in pages["form"]
