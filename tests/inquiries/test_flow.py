"""The main path through the service layer: intake → routing → quote → accepted order."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inquiries import services
from inquiries.models import Inquiry, InquiryEvent, Quote
from orders.models import Order
from tests.orders.factories import AddressFactory, sellable

pytestmark = pytest.mark.django_db


def test_a_buyer_inquiry_is_routed_quoted_and_accepted(subsidiary, ccos, buyer, company):
    product = sellable(seller=subsidiary, price="10.00")
    inquiry = services.inquiry_submit(buyer=buyer, product_id=product.pk, quantity="500",
                                      message="Please quote 500 kg.")
    assert inquiry.seller == subsidiary
    assert inquiry.owner in ccos
    assert inquiry.status == Inquiry.Status.ASSIGNED
    assert inquiry.response_due_at > inquiry.received_at
    assert inquiry.remind_at < inquiry.response_due_at
    assert "round-robin" in inquiry.routing_reason
    kinds = list(inquiry.events.values_list("kind", flat=True))
    assert kinds[:3] == [InquiryEvent.Kind.RECEIVED, InquiryEvent.Kind.ROUTED,
                         InquiryEvent.Kind.ASSIGNED]

    quote = services.quote_send(
        inquiry_id=inquiry.pk, actor=inquiry.owner, product_id=product.pk, quantity="500",
        unit_price="9.20", valid_until=timezone.localdate() + datetime.timedelta(days=7),
        lead_time_days=5, incoterm="DAP", payment_terms="30 days net")
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.QUOTED and inquiry.first_response_at is not None
    revised = services.quote_send(
        inquiry_id=inquiry.pk, actor=inquiry.owner, product_id=product.pk, quantity="500",
        unit_price="9.00", valid_until=timezone.localdate() + datetime.timedelta(days=7),
        lead_time_days=5, incoterm="DAP", payment_terms="30 days net", expected_version=1)
    quote.refresh_from_db()
    assert (quote.status, revised.version) == (Quote.Status.SUPERSEDED, 2)

    address = AddressFactory(company=company)
    order = services.quote_accept(quote_id=revised.pk, buyer=buyer, fulfilment="delivery",
                                  address_id=address.pk, payment_method="prepayment")
    assert order.lines.get().unit_price == Decimal("9.00")
    assert order.status == Order.Status.PLACED
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.WON and inquiry.order == order
    assert services.quote_accept(quote_id=revised.pk, buyer=buyer, fulfilment="delivery",
                                 address_id=address.pk, payment_method="prepayment") == order


def test_a_guest_asks_for_an_unlisted_chemical_and_the_hq_pool_gets_it(hq, subsidiary):
    inquiry = services.inquiry_submit(requested_name="Tetrakis widget", requested_cas="7664939",
                                      quantity="2", unit="t", contact_name="Li Lei",
                                      contact_email="li@example.com", client_ip="10.0.0.1")
    assert inquiry.requested_cas == "7664-93-9"
    assert inquiry.is_unlisted
    assert inquiry.seller == hq
    assert inquiry.owner is None  # nobody at HQ yet: it waits
    assert inquiry.status == Inquiry.Status.NEW
