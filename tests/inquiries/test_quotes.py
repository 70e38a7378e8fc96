"""Quotes: versions and what changed, validity limits, acceptance into an order at the
quoted price (once), declining, closing as lost, the races of two CCOs quoting and of a
buyer accepting while the CCO revises — and scoping: to whoever may not see an inquiry,
every service answers DoesNotExist."""

import datetime as dt
import threading
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import Role
from catalog.models import Stock
from chemmall.errors import ConflictError, DomainError
from inquiries import selectors, services
from inquiries.models import Inquiry, InquiryEvent, LostReason, Quote
from orders.models import Order, OutboxMessage
from tests.factories import BuyerFactory, HQFactory, StaffFactory, SubsidiaryFactory
from tests.inquiries.test_routing import ask, cco
from tests.orders.factories import AddressFactory, PriceListFactory, PriceTierFactory, sellable
from tests.orders.test_concurrency import _load_regions, _regions_back, _run_at_once  # noqa: F401

pytestmark = pytest.mark.django_db

Kind = InquiryEvent.Kind
TODAY = timezone.localdate


def terms(**overrides) -> dict:
    fields = {"quantity": "100", "unit_price": "9.50",
              "valid_until": TODAY() + dt.timedelta(days=10), "lead_time_days": 7,
              "incoterm": "DAP", "payment_terms": "30 days net"}
    fields.update(overrides)
    return fields


def send(inquiry, actor=None, product=None, **overrides) -> Quote:
    return services.quote_send(inquiry_id=inquiry.pk, actor=actor or inquiry.owner,
                               product_id=(product or inquiry.product).pk, **terms(**overrides))


def accept(quote, buyer, address):
    return services.quote_accept(quote_id=quote.pk, buyer=buyer, fulfilment="delivery",
                                 address_id=address.pk, payment_method="prepayment")


@pytest.fixture
def setup(subsidiary, buyer, company):
    """A CCO, the buyer's inquiry for 100 kg of a product (10 CNY list price, 1,000 kg in
    stock) and the buyer's address."""
    owner = cco(subsidiary)
    product = sellable(seller=subsidiary, price="10.00", on_hand="1000")
    inquiry = ask(product, buyer=buyer, quantity="100")
    assert inquiry.owner == owner
    return inquiry, product, AddressFactory(company=company)


# --- Versions -----------------------------------------------------------------------------------


def test_revisions_are_new_versions_that_say_what_changed(setup, buyer):
    inquiry, product, _address = setup
    first = send(inquiry)
    new_date = TODAY() + dt.timedelta(days=5)

    second = send(inquiry, unit_price="9.20", quantity="250", valid_until=new_date,
                  expected_version=1)
    third = send(inquiry, unit_price="9.20", quantity="250", valid_until=new_date,
                 expected_version=2)

    first.refresh_from_db()
    second.refresh_from_db()
    assert [q.version for q in inquiry.quotes.all()] == [3, 2, 1]
    assert (first.status, second.status, third.status) == (
        Quote.Status.SUPERSEDED, Quote.Status.SUPERSEDED, Quote.Status.SENT)
    assert first.unit_price == Decimal("9.50") and second.unit_price == Decimal("9.20")
    assert selectors.current_quote(inquiry) == third
    quoted = inquiry.events.get(kind=Kind.QUOTED)
    assert quoted.is_public and quoted.body == (
        f"Version 1: 9.50 CNY per kg for 100 kg, valid until {terms()['valid_until']}.")
    revised = list(inquiry.events.filter(kind=Kind.QUOTE_REVISED).values_list("body", flat=True))
    assert revised == [
        f"Version 2. Changed: unit price: 9.50 → 9.20; quantity: 100 → 250; valid until: "
        f"{terms()['valid_until']} → {new_date}.",
        "Version 3. Changed: nothing.",
    ]
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.QUOTED
    assert OutboxMessage.objects.filter(kind="quote_sent", to_email=buyer.email).count() == 3


def test_validity_in_the_past_is_refused_and_nothing_is_saved(setup):
    inquiry, _product, _address = setup

    with pytest.raises(DomainError) as refused:
        send(inquiry, valid_until=TODAY() - dt.timedelta(days=1))

    assert refused.value.field == "valid_until"
    assert not Quote.objects.exists()
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ASSIGNED and inquiry.first_response_at is None


def test_validity_may_not_outlive_the_price_list_in_force(setup, subsidiary):
    inquiry, product, _address = setup
    Quote.objects.all().delete()
    ends = TODAY() + dt.timedelta(days=8)
    product.price_tiers.all().delete()
    PriceTierFactory(product=product, price_list=PriceListFactory(
        seller=subsidiary, valid_from=TODAY() - dt.timedelta(days=2), valid_until=ends))

    with pytest.raises(DomainError) as refused:
        send(inquiry, valid_until=ends + dt.timedelta(days=1))
    assert refused.value.field == "valid_until"
    assert ends.isoformat() in refused.value.message
    assert not Quote.objects.exists()

    assert send(inquiry, valid_until=ends).valid_until == ends


@pytest.mark.parametrize(("overrides", "field"), [
    ({"unit_price": "0"}, "unit_price"),
    ({"unit_price": "-3"}, "unit_price"),
    ({"unit_price": "abc"}, "unit_price"),
    ({"quantity": "0"}, "quantity"),
    ({"lead_time_days": 400}, "lead_time_days"),
    ({"incoterm": "XYZ"}, "incoterm"),
    ({"payment_terms": "  "}, "payment_terms"),
])
def test_bad_quotes_are_refused_with_the_field_named(setup, overrides, field):
    inquiry, _product, _address = setup

    with pytest.raises(DomainError) as refused:
        send(inquiry, **overrides)

    assert refused.value.field == field
    assert not Quote.objects.exists()


def test_a_product_of_another_subsidiary_cannot_be_quoted(setup, other_subsidiary):
    inquiry, _product, _address = setup

    with pytest.raises(DomainError) as refused:
        send(inquiry, product=sellable(seller=other_subsidiary))

    assert refused.value.field == "product" and not Quote.objects.exists()


def test_the_price_floor_is_the_public_list_price_and_quoting_below_it_is_allowed(setup):
    inquiry, product, _address = setup

    floor = selectors.quote_price_floor(product=product, quantity=Decimal(100))

    assert floor.unit_price == Decimal("10.00")
    assert send(inquiry, unit_price="8.00").unit_price == Decimal("8.00")


# --- Acceptance ---------------------------------------------------------------------------------


def test_accepting_makes_an_order_at_the_quoted_price(setup, buyer, subsidiary):
    inquiry, product, address = setup
    quote = send(inquiry, unit_price="9.30", quantity="100")

    order = accept(quote, buyer, address)

    line = order.lines.get()
    assert (line.product, line.quantity, line.unit_price) == (product, 100, Decimal("9.30"))
    assert line.line_total == Decimal("930.00") and line.depot is not None
    assert order.seller == subsidiary and order.placed_by == buyer
    assert Stock.objects.get(product=product).reserved == 100
    quote.refresh_from_db()
    inquiry.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED and quote.order == order
    assert inquiry.status == Inquiry.Status.WON and inquiry.order == order
    assert inquiry.closed_at is not None
    assert inquiry.events.get(kind=Kind.QUOTE_ACCEPTED).body == (
        f"Version 1 accepted: order {order.number}.")
    assert OutboxMessage.objects.filter(kind="quote_accepted",
                                        to_email=inquiry.owner.email).count() == 1


def test_accepting_more_than_is_in_stock_makes_it_to_order(setup, buyer):
    inquiry, product, address = setup
    quote = send(inquiry, quantity="5000")

    order = accept(quote, buyer, address)

    line = order.lines.get()
    assert line.quantity == 5000 and line.depot is None  # made to order
    assert Stock.objects.get(product=product).reserved == 0


def test_accepting_twice_gives_the_same_order(setup, buyer, company):
    inquiry, _product, address = setup
    quote = send(inquiry)
    colleague = BuyerFactory(company=company)

    order = accept(quote, buyer, address)

    assert accept(quote, buyer, address) == order
    assert accept(quote, colleague, address) == order
    assert Order.objects.count() == 1
    assert inquiry.events.filter(kind=Kind.QUOTE_ACCEPTED).count() == 1


def test_a_superseded_version_cannot_be_accepted(setup, buyer):
    inquiry, _product, address = setup
    old = send(inquiry)
    send(inquiry, unit_price="9.80")

    with pytest.raises(services.QuoteNotAcceptable) as refused:
        accept(old, buyer, address)

    assert refused.value.code == "quote_not_acceptable"
    assert not Order.objects.exists()


def test_an_expired_quote_cannot_be_accepted_before_or_after_the_sweep(setup, buyer):
    inquiry, _product, address = setup
    quote = send(inquiry)
    Quote.objects.filter(pk=quote.pk).update(valid_until=TODAY() - dt.timedelta(days=1))

    with pytest.raises(services.QuoteNotAcceptable):
        accept(quote, buyer, address)  # the sweep has not run yet
    assert services.inquiries_sweep()["expired"] == 1
    with pytest.raises(services.QuoteNotAcceptable):
        accept(quote, buyer, address)

    assert not Order.objects.exists()
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ASSIGNED


def test_staff_cannot_accept_for_the_buyer(setup):
    inquiry, _product, address = setup
    quote = send(inquiry)

    with pytest.raises(Quote.DoesNotExist):
        accept(quote, inquiry.owner, address)


# --- Declining and closing ----------------------------------------------------------------------


def test_declining_sends_the_inquiry_back_to_its_owner(setup, buyer):
    inquiry, _product, address = setup
    quote = send(inquiry)

    with pytest.raises(DomainError) as refused:
        services.quote_decline(quote_id=quote.pk, buyer=buyer, reason=" ")
    assert refused.value.field == "reason"

    declined = services.quote_decline(quote_id=quote.pk, buyer=buyer, reason="Too expensive")

    assert declined.status == Quote.Status.DECLINED
    assert declined.decline_reason == "Too expensive"
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ASSIGNED
    event = inquiry.events.get(kind=Kind.QUOTE_DECLINED)
    assert event.is_public and event.body == "Too expensive" and event.actor == buyer
    assert OutboxMessage.objects.filter(kind="quote_declined",
                                        to_email=inquiry.owner.email).count() == 1
    assert services.quote_decline(quote_id=quote.pk, buyer=buyer, reason="again") == declined
    with pytest.raises(services.QuoteNotAcceptable):
        accept(quote, buyer, address)
    assert send(inquiry, unit_price="9.00").version == 2  # the owner may quote again


def test_a_guest_declines_by_the_private_link(subsidiary):
    cco(subsidiary)
    inquiry = ask(sellable(seller=subsidiary))
    quote = send(inquiry)

    with pytest.raises(Quote.DoesNotExist):
        services.quote_decline(quote_id=quote.pk, token="not-the-token", reason="No")
    services.quote_decline(quote_id=quote.pk, token=inquiry.access_token, reason="Found one")

    quote.refresh_from_db()
    assert quote.status == Quote.Status.DECLINED


def test_closing_as_lost_requires_a_reason_and_a_note_for_other(setup):
    inquiry, _product, _address = setup
    quote = send(inquiry)
    owner = inquiry.owner

    for reason, note in (("", ""), ("cheaper", ""), (LostReason.OTHER, "  ")):
        with pytest.raises(DomainError):
            services.inquiry_close_lost(inquiry_id=inquiry.pk, actor=owner, reason=reason,
                                        note=note)
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.QUOTED

    services.inquiry_close_lost(inquiry_id=inquiry.pk, actor=owner, reason=LostReason.OTHER,
                                note="Project cancelled")

    inquiry.refresh_from_db()
    quote.refresh_from_db()
    assert inquiry.status == Inquiry.Status.LOST and inquiry.closed_at is not None
    assert (inquiry.lost_reason, inquiry.lost_note) == ("other", "Project cancelled")
    assert quote.status == Quote.Status.WITHDRAWN
    move = inquiry.events.filter(kind=Kind.STATUS).last()
    assert (move.from_status, move.to_status, move.body) == (
        "quoted", "lost", "Other: Project cancelled")


@pytest.mark.parametrize("reason", LostReason.values)
def test_every_lost_reason_is_recorded(setup, reason):
    inquiry, _product, _address = setup
    services.inquiry_close_lost(inquiry_id=inquiry.pk, actor=inquiry.owner, reason=reason,
                                note="details")
    inquiry.refresh_from_db()
    assert inquiry.lost_reason == reason


def test_a_won_inquiry_cannot_be_closed_as_lost(setup, buyer):
    inquiry, _product, address = setup
    accept(send(inquiry), buyer, address)

    with pytest.raises(ConflictError) as refused:
        services.inquiry_close_lost(inquiry_id=inquiry.pk, actor=inquiry.owner,
                                    reason=LostReason.PRICE)

    assert refused.value.code == "bad_move"
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.WON and inquiry.lost_reason == ""


# --- Scoping ------------------------------------------------------------------------------------


def test_a_cco_of_another_subsidiary_gets_does_not_exist_everywhere(setup, other_subsidiary,
                                                                     buyer):
    inquiry, product, address = setup
    quote = send(inquiry)
    stranger = cco(other_subsidiary)
    events_before = inquiry.events.count()

    calls = [
        lambda: send(inquiry, actor=stranger),
        lambda: services.inquiry_message_post(inquiry_id=inquiry.pk, actor=stranger,
                                              body="Hello"),
        lambda: services.inquiry_reassign(inquiry_id=inquiry.pk, actor=stranger,
                                          to_user_id=stranger.pk),
        lambda: services.inquiry_close_lost(inquiry_id=inquiry.pk, actor=stranger,
                                            reason=LostReason.PRICE),
    ]
    for call in calls:
        with pytest.raises(Inquiry.DoesNotExist):
            call()
    with pytest.raises(Quote.DoesNotExist):
        accept(quote, stranger, address)
    with pytest.raises(Quote.DoesNotExist):
        services.quote_decline(quote_id=quote.pk, buyer=stranger, reason="No")

    assert inquiry.events.count() == events_before
    inquiry.refresh_from_db()
    quote.refresh_from_db()
    assert inquiry.status == Inquiry.Status.QUOTED and quote.status == Quote.Status.SENT
    assert inquiry.owner != stranger and quote.version == 1


def test_a_buyer_of_another_company_gets_does_not_exist_everywhere(setup, outsider_buyer):
    inquiry, _product, address = setup
    quote = send(inquiry)
    outsider_address = AddressFactory(company=outsider_buyer.membership.company)
    events_before = inquiry.events.count()

    with pytest.raises(Inquiry.DoesNotExist):
        services.inquiry_message_post(inquiry_id=inquiry.pk, actor=outsider_buyer, body="Hi")
    with pytest.raises(Inquiry.DoesNotExist):
        send(inquiry, actor=outsider_buyer)
    with pytest.raises(Quote.DoesNotExist):
        accept(quote, outsider_buyer, outsider_address)
    with pytest.raises(Quote.DoesNotExist):
        services.quote_decline(quote_id=quote.pk, buyer=outsider_buyer, reason="No")

    assert inquiry.events.count() == events_before
    quote.refresh_from_db()
    assert quote.status == Quote.Status.SENT and not Order.objects.exists()


def test_a_buyer_of_the_company_cannot_quote(setup, buyer):
    inquiry, _product, _address = setup

    with pytest.raises(ConflictError) as refused:
        send(inquiry, actor=buyer)

    assert refused.value.code == "forbidden" and not Quote.objects.exists()


# --- Races --------------------------------------------------------------------------------------


@pytest.fixture
def quoting_race(_regions_back, transactional_db):  # noqa: F811
    """Committed: a subsidiary with two CCOs, a buyer's inquiry, the buyer's address."""
    _load_regions()
    seller = SubsidiaryFactory(parent=HQFactory())
    ccos = [cco(seller), cco(seller)]
    buyer = BuyerFactory()
    product = sellable(seller=seller, on_hand="1000")
    inquiry = ask(product, buyer=buyer)
    return inquiry, ccos, buyer, AddressFactory(company=buyer.membership.company)


def test_two_ccos_quoting_at_once_one_wins_the_other_is_told(quoting_race):
    inquiry, ccos, _buyer, _address = quoting_race

    results = _run_at_once(
        lambda actor, price: send(inquiry, actor=actor, unit_price=price, expected_version=0),
        [(ccos[0], "9.10"), (ccos[1], "9.40")])

    quotes = [r for r in results.values() if isinstance(r, Quote)]
    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert len(quotes) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], ConflictError) and errors[0].code == "stale_quote"
    assert "version 1" in errors[0].message
    stored = Quote.objects.get()
    assert (stored.version, stored.status, stored.unit_price) == (
        1, Quote.Status.SENT, quotes[0].unit_price)
    assert Inquiry.objects.get(pk=inquiry.pk).events.filter(kind=Kind.QUOTED).count() == 1


def test_accepting_while_the_owner_revises_never_deadlocks(quoting_race):
    """The reviser holds the inquiry and is about to supersede v1 when the buyer accepts v1:
    the buyer waits for the inquiry (it is locked before the quote), then finds v1
    superseded. Had accept locked the quote first, the two would deadlock."""
    inquiry, ccos, buyer, address = quoting_race
    first = send(inquiry, actor=inquiry.owner)
    inside = threading.Event()
    limit = services._quote_valid_until_limit

    def slow_limit(product, quantity):  # called by quote_send while it holds the inquiry
        if threading.current_thread().name == "reviser":
            inside.set()
            time.sleep(1.0)  # the buyer's accept runs into its locks meanwhile
        return limit(product, quantity)

    results = {}

    def revise():
        try:
            results["revise"] = send(inquiry, actor=inquiry.owner, unit_price="9.90",
                                     expected_version=1)
        except Exception as exc:  # noqa: BLE001 — asserted below
            results["revise"] = exc
        finally:
            from django.db import connection
            connection.close()

    def accept_v1():
        inside.wait(timeout=10)
        try:
            results["accept"] = accept(first, buyer, address)
        except Exception as exc:  # noqa: BLE001 — asserted below
            results["accept"] = exc
        finally:
            from django.db import connection
            connection.close()

    with mock.patch.object(services, "_quote_valid_until_limit", slow_limit):
        threads = [threading.Thread(target=revise, name="reviser"),
                   threading.Thread(target=accept_v1, name="buyer")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)

    assert isinstance(results["revise"], Quote) and results["revise"].version == 2, results
    assert isinstance(results["accept"], services.QuoteNotAcceptable), results
    first.refresh_from_db()
    assert first.status == Quote.Status.SUPERSEDED and not Order.objects.exists()


def test_a_manager_quoting_a_waiting_inquiry_takes_it(subsidiary):
    cco(subsidiary, cap=0)  # the only CCO takes nothing: no manager at intake either
    product = sellable(seller=subsidiary)
    waiting = ask(product)
    assert waiting.owner is None and waiting.status == Inquiry.Status.NEW
    manager = StaffFactory(organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER])

    quote = send(waiting, actor=manager, product=product)

    waiting.refresh_from_db()
    assert quote.version == 1 and waiting.owner == manager
    assert waiting.status == Inquiry.Status.QUOTED and waiting.first_response_at is not None
    moves = list(waiting.events.filter(kind=Kind.STATUS).values_list("from_status", "to_status"))
    assert moves == [("new", "assigned"), ("assigned", "quoted")]
    assert waiting.events.filter(kind=Kind.ASSIGNED, actor=manager).count() == 1
