"""The dealers' routing step: by city, province, category and threshold, or because local
service was asked for; overlaps resolved by priority, track record and recency; the window
on the seller's calendar; and the way back to the CCOs (decline, time-out — exactly once)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from chemmall.errors import ConflictError, DomainError
from dealers import services
from dealers.models import Assignment, Dealer
from inquiries import services as inquiry_services
from inquiries.models import Inquiry, InquiryEvent
from orders.models import OutboxMessage
from tests.dealers.conftest import HANGZHOU, JIANGSU, NANJING, SUZHOU, dealer_user, make_dealer
from tests.inquiries.test_routing import ask
from tests.orders.factories import sellable

pytestmark = pytest.mark.django_db
Kind = InquiryEvent.Kind


def routed(w, *, region=SUZHOU, quantity="10", product=None, **kwargs) -> Inquiry:
    inquiry = ask(product or w.product, buyer=w.buyer, quantity=quantity,
                  delivery_region_code=region, **kwargs)
    inquiry.refresh_from_db()
    return inquiry


def test_a_small_inquiry_into_a_dealer_city_goes_to_the_dealer(world):
    inquiry = routed(world)
    assignment = Assignment.objects.get(inquiry=inquiry)
    assert assignment.dealer == world.dealer and assignment.status == "routed"
    assert inquiry.owner is None and inquiry.delegated_at is not None
    assert inquiry.response_due_at is None  # the dealer's window runs instead
    assert "苏州" in inquiry.routing_reason or "Suzhou" in inquiry.routing_reason
    assert "under the direct-sale threshold" in inquiry.routing_reason
    assert inquiry.events.filter(kind=Kind.ROUTED).count() == 1
    # The dealer's window: 8 working hours on the seller's calendar, after routing.
    assert assignment.due_at > assignment.routed_at + dt.timedelta(hours=7, minutes=59)
    assert OutboxMessage.objects.filter(kind="inquiry_routed",
                                        to_email=world.user.email).count() == 1
    world.dealer.refresh_from_db()
    assert world.dealer.last_routed_at == assignment.routed_at


def test_a_province_territory_covers_its_cities(world):
    world.dealer.territories.all().delete()
    world.dealer.territories.create(region_id=JIANGSU)
    assert Assignment.objects.get(inquiry=routed(world, region=NANJING)).dealer == world.dealer


@pytest.mark.parametrize("change", ["other_city", "no_region", "big", "other_category",
                                    "rule_off", "inactive"])
def test_what_stays_with_the_ccos(world, change):
    kwargs = {"region": SUZHOU, "quantity": "10"}
    if change == "other_city":
        kwargs["region"] = HANGZHOU
    elif change == "no_region":
        kwargs["region"] = None
    elif change == "big":
        kwargs["quantity"] = "1000"  # the threshold itself is a direct sale
    elif change == "other_category":
        kwargs["product"] = sellable(seller=world.seller)  # a category the dealer does not serve
    elif change == "rule_off":
        world.rule.is_enabled = False
        world.rule.save()
    elif change == "inactive":
        Dealer.objects.filter(pk=world.dealer.pk).update(is_active=False)
    inquiry = routed(world, **kwargs)
    assert not Assignment.objects.filter(inquiry=inquiry).exists()
    assert inquiry.owner in world.ccos and inquiry.delegated_at is None
    assert inquiry.response_due_at is not None


def test_local_service_asked_goes_to_the_dealer_even_over_the_threshold(world):
    inquiry = routed(world, quantity="5000", wants_local_service=True)
    assignment = Assignment.objects.get(inquiry=inquiry)
    assert assignment.dealer == world.dealer
    assert "asked for local service" in assignment.reason


def test_local_service_for_a_chemical_asked_by_cas(world):
    """No product, so no category: any dealer of the seller covering the city."""
    inquiry = ask(buyer=world.buyer, requested_cas=world.product.chemical.cas, quantity="3",
                  delivery_region_code=SUZHOU, wants_local_service=True)
    assert Assignment.objects.get(inquiry=inquiry).dealer == world.dealer


def test_local_service_nobody_covers_says_so_and_goes_to_a_cco(world):
    inquiry = routed(world, region=HANGZHOU, wants_local_service=True)
    assert inquiry.owner in world.ccos
    assert "no dealer" in inquiry.routing_reason


def test_overlap_higher_priority_wins(world):
    better = make_dealer(world.seller, regions=[JIANGSU], categories=[world.category],
                         priority=20, name="江苏经销")
    assert Assignment.objects.get(inquiry=routed(world)).dealer == better
    assert "2 dealers" in Assignment.objects.get(dealer=better).reason


def test_overlap_equal_priority_track_record_then_least_recently_routed(world):
    other = make_dealer(world.seller, categories=[world.category], name="第二经销")
    # Equal records (none): the least recently routed — never routed first, by pk, then
    # alternating.
    first = [Assignment.objects.get(inquiry=routed(world)).dealer for _i in range(4)]
    assert first == [world.dealer, other, world.dealer, other]
    # A better record wins over recency: `other` accepted and won; world.dealer declined.
    for a in Assignment.objects.filter(dealer=world.dealer):
        services.assignment_decline(assignment_id=a.pk, user=world.user, reason="busy")
    for a in Assignment.objects.filter(dealer=other):
        services.assignment_accept(assignment_id=a.pk, user=dealer_user(other))
    assert Assignment.objects.get(inquiry=routed(world)).dealer == other
    assert Assignment.objects.get(inquiry=routed(world)).dealer == other


def test_accept_hands_the_inquiry_to_the_dealer_user(world):
    inquiry = routed(world)
    assignment = services.assignment_accept(assignment_id=inquiry.dealer_assignment.pk,
                                            user=world.user)
    inquiry.refresh_from_db()
    assert assignment.status == "accepted" and assignment.decided_by == world.user
    assert inquiry.owner == world.user and inquiry.status == "assigned"
    # Accepting twice changes nothing.
    again = services.assignment_accept(assignment_id=assignment.pk, user=world.user)
    assert again.decided_at == assignment.decided_at
    assert inquiry.events.filter(kind=Kind.ASSIGNED).count() == 1
    # It owes the buyer an answer within the seller's service level.
    assert inquiry.response_due_at > assignment.decided_at and inquiry.delegated_at is None
    inquiry_services.inquiries_sweep(now=inquiry.response_due_at - dt.timedelta(minutes=1))
    inquiry.refresh_from_db()
    assert inquiry.owner == world.user and inquiry.escalation_count == 0


def test_an_accepted_inquiry_the_dealer_never_answers_goes_to_a_cco(world):
    inquiry = routed(world)
    services.assignment_accept(assignment_id=inquiry.dealer_assignment.pk, user=world.user)
    inquiry.refresh_from_db()
    inquiry_services.inquiries_sweep(now=inquiry.response_due_at + dt.timedelta(minutes=1))
    inquiry.refresh_from_db()
    assert inquiry.owner in world.ccos and inquiry.escalation_count == 1
    assert inquiry.misses.get().owner == world.user
    assert inquiry.events.filter(kind=Kind.ESCALATED).count() == 1


def test_a_quote_from_the_dealer_stops_its_deadline(world):
    inquiry = routed(world)
    pk = inquiry.dealer_assignment.pk
    services.assignment_accept(assignment_id=pk, user=world.user)
    services.dealer_quote_send(
        assignment_id=pk, user=world.user, product_id=world.product.pk, quantity="10",
        unit_price="110.00", valid_until=timezone.localdate() + dt.timedelta(days=5),
        lead_time_days=3, incoterm="DAP", payment_terms="Prepayment")
    inquiry.refresh_from_db()
    inquiry_services.inquiries_sweep(now=inquiry.response_due_at + dt.timedelta(minutes=1))
    inquiry.refresh_from_db()
    assert inquiry.owner == world.user and not inquiry.misses.exists()


def test_decline_needs_a_reason_and_sends_it_to_a_cco(world):
    inquiry = routed(world)
    pk = inquiry.dealer_assignment.pk
    with pytest.raises(DomainError) as error:
        services.assignment_decline(assignment_id=pk, user=world.user, reason="  ")
    assert error.value.field == "reason"
    services.assignment_decline(assignment_id=pk, user=world.user, reason="Out of stock here")
    inquiry.refresh_from_db()
    assert inquiry.owner in world.ccos and inquiry.delegated_at is None
    assert inquiry.response_due_at is not None
    assert inquiry.events.filter(kind=Kind.NOTE, body__contains="Out of stock here").exists()
    assert Assignment.objects.get(pk=pk).decline_reason == "Out of stock here"
    with pytest.raises(ConflictError):
        services.assignment_accept(assignment_id=pk, user=world.user)


def test_another_dealer_cannot_touch_it(world):
    inquiry = routed(world)
    stranger = make_dealer(world.seller, regions=[HANGZHOU], name="杭州经销")
    for call in (lambda: services.assignment_accept(assignment_id=inquiry.dealer_assignment.pk,
                                                    user=dealer_user(stranger)),
                 lambda: services.assignment_decline(
                     assignment_id=inquiry.dealer_assignment.pk, user=dealer_user(stranger),
                     reason="x"),
                 lambda: services.assignment_accept(assignment_id=inquiry.dealer_assignment.pk,
                                                    user=world.ccos[0])):
        with pytest.raises(Assignment.DoesNotExist):
            call()
    assert Assignment.objects.get(inquiry=inquiry).status == "routed"


def test_the_window_closed_refuses_accepting_and_the_sweep_gives_it_back_once(world):
    inquiry = routed(world)
    assignment = inquiry.dealer_assignment
    Assignment.objects.filter(pk=assignment.pk).update(
        due_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(ConflictError) as error:
        services.assignment_accept(assignment_id=assignment.pk, user=world.user)
    assert error.value.code == "window_closed"
    assert services.assignments_sweep() == 1
    assert services.assignments_sweep() == 0  # exactly once
    assert services.assignment_time_out(assignment_id=assignment.pk) is False
    inquiry.refresh_from_db()
    assert Assignment.objects.get(pk=assignment.pk).status == "timed_out"
    assert inquiry.owner in world.ccos and inquiry.response_due_at is not None
    notes = inquiry.events.filter(kind=Kind.NOTE, body__contains="did not answer")
    assert notes.count() == 1
    # Given back, it never goes to a dealer again, and its escalation stays in-house.
    assert Assignment.objects.filter(inquiry=inquiry).count() == 1
    inquiry_services.inquiries_sweep(now=inquiry.response_due_at + dt.timedelta(minutes=1))
    inquiry.refresh_from_db()
    assert inquiry.escalation_count == 1 and inquiry.owner in world.ccos


def test_a_routed_inquiry_waits_for_the_dealer_not_for_a_cco(world):
    """The waiting-for-a-CCO sweep leaves a routed inquiry alone."""
    inquiry = routed(world)
    inquiry_services.inquiries_sweep(now=timezone.now() + dt.timedelta(hours=1))
    inquiry.refresh_from_db()
    assert inquiry.owner is None and inquiry.status == "new"


def test_dealer_quotes_name_the_dealer_and_answer_the_buyer(world):
    inquiry = routed(world)
    pk = inquiry.dealer_assignment.pk
    quote = {"product_id": world.product.pk, "quantity": "10", "unit_price": "110.00",
             "valid_until": timezone.localdate() + dt.timedelta(days=5), "lead_time_days": 3,
             "incoterm": "DAP", "payment_terms": "Prepayment"}
    with pytest.raises(ConflictError):
        services.dealer_quote_send(assignment_id=pk, user=world.user, **quote)
    services.assignment_accept(assignment_id=pk, user=world.user)
    sent = services.dealer_quote_send(assignment_id=pk, user=world.user, **quote)
    inquiry.refresh_from_db()
    assert sent.dealer == world.dealer and sent.quote.unit_price == Decimal("110.00")
    assert inquiry.status == "quoted" and inquiry.first_response_at is not None


def test_escalations_still_run_in_batches_with_the_dealer_step_configured():
    from inquiries import routing
    assert routing.only_own_steps()
