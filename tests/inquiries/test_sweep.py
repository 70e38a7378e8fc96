"""The deadline sweep: a reminder at 75 %, an escalation at the deadline (miss recorded,
reassigned with a fresh deadline, managers told; the second miss to the manager), quotes
expiring — each exactly once however often and in how many workers the sweep runs, and
all of it caught up by the next sweep after a worker stood still."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role
from inquiries import services
from inquiries.models import (
    CcoProfile,
    Inquiry,
    InquiryEvent,
    LostReason,
    Quote,
    ResponseMiss,
)
from orders.models import OutboxMessage
from tests.factories import HQFactory, StaffFactory, SubsidiaryFactory
from tests.inquiries.test_routing import ask, cco
from tests.orders.factories import sellable
from tests.orders.test_concurrency import _load_regions, _regions_back, _run_at_once  # noqa: F401

pytestmark = pytest.mark.django_db

Kind = InquiryEvent.Kind
MINUTE = dt.timedelta(minutes=1)


def sweep(at: dt.datetime | None = None) -> dict:
    return services.inquiries_sweep(now=at)


def events(inquiry, kind) -> int:
    return inquiry.events.filter(kind=kind).count()


def mails(kind: str, to=None) -> int:
    qs = OutboxMessage.objects.filter(kind=kind)
    return qs.filter(to_email=to.email).count() if to is not None else qs.count()


def overdue(inquiry, *, by=MINUTE) -> Inquiry:
    """The deadline passed `by` ago, unanswered (the reminder went out before)."""
    now = timezone.now()
    Inquiry.objects.filter(pk=inquiry.pk).update(
        remind_at=now - by - dt.timedelta(hours=1), reminded_at=now - by - dt.timedelta(hours=1),
        response_due_at=now - by)
    inquiry.refresh_from_db()
    return inquiry


def quote(inquiry, actor=None, **kwargs):
    fields = {"product_id": inquiry.product_id, "quantity": "10", "unit_price": "9.50",
              "valid_until": timezone.localdate() + dt.timedelta(days=10),
              "lead_time_days": 5, "incoterm": "DAP", "payment_terms": "30 days net"}
    fields.update(kwargs)
    return services.quote_send(inquiry_id=inquiry.pk, actor=actor or inquiry.owner, **fields)


@pytest.fixture
def team(subsidiary, manager):
    """Two CCOs of equal weight and the manager; a product of the subsidiary."""
    return [cco(subsidiary), cco(subsidiary)], manager, sellable(seller=subsidiary)


# --- Reminder -----------------------------------------------------------------------------------


def test_the_reminder_goes_out_once_at_75_percent(team):
    _ccos, _manager, product = team
    inquiry = ask(product)
    owner = inquiry.owner

    assert sweep(inquiry.remind_at - MINUTE)["reminded"] == 0
    assert sweep(inquiry.remind_at)["reminded"] == 1
    assert sweep(inquiry.remind_at + MINUTE) == {"reminded": 0, "escalated": 0, "assigned": 0,
                                                 "expired": 0}

    inquiry.refresh_from_db()
    assert inquiry.reminded_at == inquiry.remind_at
    assert events(inquiry, Kind.REMINDER) == 1
    due = timezone.localtime(inquiry.response_due_at).strftime("%Y-%m-%d %H:%M")
    assert inquiry.events.get(kind=Kind.REMINDER).body == f"Answer due at {due}."
    assert mails("inquiry_reminder") == 1 and mails("inquiry_reminder", to=owner) == 1
    assert inquiry.owner == owner and inquiry.escalation_count == 0


# --- Escalation ---------------------------------------------------------------------------------


def test_at_the_deadline_the_inquiry_is_escalated_to_a_colleague(team, subsidiary):
    ccos, manager, product = team
    second_manager = StaffFactory(organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER])
    inquiry = ask(product)
    first_owner, due = inquiry.owner, inquiry.response_due_at
    colleague = next(c for c in ccos if c != first_owner)

    assert sweep(due - MINUTE)["escalated"] == 0
    assert sweep(due)["escalated"] == 1

    inquiry.refresh_from_db()
    assert inquiry.owner == colleague and inquiry.escalation_count == 1
    assert inquiry.status == Inquiry.Status.ASSIGNED
    assert inquiry.response_due_at > due and inquiry.reminded_at is None
    miss = ResponseMiss.objects.get()
    assert (miss.inquiry, miss.owner, miss.due_at) == (inquiry, first_owner, due)
    escalated = inquiry.events.get(kind=Kind.ESCALATED)
    local_due = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
    assert escalated.body == f"Not answered by {local_due}: reassigned to {colleague.full_name}."
    assert mails("inquiry_escalated", to=manager) == 1
    assert mails("inquiry_escalated", to=second_manager) == 1
    assert mails("inquiry_assigned", to=colleague) == 1
    assert colleague.full_name in inquiry.routing_reason


def test_the_second_miss_hands_it_to_the_manager(team):
    _ccos, manager, product = team
    inquiry = ask(product)
    first_owner = inquiry.owner
    sweep(inquiry.response_due_at)
    inquiry.refresh_from_db()
    second_owner, second_due = inquiry.owner, inquiry.response_due_at

    assert sweep(second_due)["escalated"] == 1

    inquiry.refresh_from_db()
    assert inquiry.owner == manager and inquiry.escalation_count == 2
    assert inquiry.response_due_at is None and inquiry.remind_at is None
    assert set(ResponseMiss.objects.values_list("owner_id", flat=True)) == {
        first_owner.pk, second_owner.pk}
    last = inquiry.events.filter(kind=Kind.ESCALATED).last()
    assert last.body.endswith(f"again: handed to the manager {manager.full_name}.")
    assert mails("inquiry_escalated", to=manager) == 2
    # No deadline any more: nothing left to escalate, however late the sweep runs.
    assert sweep(second_due + dt.timedelta(days=30))["escalated"] == 0
    assert ResponseMiss.objects.count() == 2


def test_with_no_colleague_free_the_first_escalation_goes_to_the_manager(subsidiary, manager):
    only = cco(subsidiary)
    inquiry = ask(sellable(seller=subsidiary))

    assert sweep(inquiry.response_due_at)["escalated"] == 1

    inquiry.refresh_from_db()
    assert inquiry.owner == manager and inquiry.response_due_at is not None
    assert ResponseMiss.objects.get().owner == only


def test_with_nobody_else_and_no_manager_the_owner_keeps_it_with_a_new_deadline(subsidiary):
    only = cco(subsidiary)
    inquiry = ask(sellable(seller=subsidiary))
    due = inquiry.response_due_at

    assert sweep(due) == {"reminded": 0, "escalated": 1, "assigned": 0, "expired": 0}

    inquiry.refresh_from_db()
    assert inquiry.owner == only and inquiry.response_due_at > due
    assert ResponseMiss.objects.get().owner == only
    local_due = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
    assert inquiry.events.get(kind=Kind.ESCALATED).body == (
        f"Not answered by {local_due}; nobody else is free: {only.full_name} keeps it with "
        f"a new deadline.")
    assert sweep(inquiry.response_due_at)["escalated"] == 1  # the second miss: no manager
    inquiry.refresh_from_db()
    assert inquiry.owner == only and inquiry.response_due_at is None
    assert ResponseMiss.objects.count() == 2


def test_with_nobody_free_at_all_it_waits_without_escalating_again(subsidiary):
    only = cco(subsidiary)
    inquiry = ask(sellable(seller=subsidiary))
    due = inquiry.response_due_at
    CcoProfile.objects.filter(user=only).update(is_on_duty=False)  # went on leave

    assert sweep(due)["escalated"] == 1
    inquiry.refresh_from_db()
    assert inquiry.owner is None and inquiry.status == Inquiry.Status.ASSIGNED
    assert inquiry.response_due_at is None  # no deadline while nobody has it
    assert inquiry.events.get(kind=Kind.ESCALATED).body.endswith(
        "and nobody is free: it waits for the next CCO who is.")

    later = due + dt.timedelta(hours=3)
    assert sweep(later) == {"reminded": 0, "escalated": 0, "assigned": 0, "expired": 0}
    assert ResponseMiss.objects.count() == 1 and events(inquiry, Kind.ESCALATED) == 1
    assert ResponseMiss.objects.get().owner == only

    newcomer = cco(subsidiary)
    assert sweep(later)["assigned"] == 1
    inquiry.refresh_from_db()
    assert inquiry.owner == newcomer and inquiry.response_due_at > later
    assert sweep(later)["assigned"] == 0


@pytest.mark.parametrize("answer", ["message", "quote"])
def test_an_answered_inquiry_is_never_escalated(team, answer):
    _ccos, _manager, product = team
    inquiry = ask(product)
    if answer == "message":
        services.inquiry_message_post(inquiry_id=inquiry.pk, actor=inquiry.owner,
                                      body="We have it in stock; quote follows.")
    else:
        quote(inquiry)

    later = inquiry.response_due_at + dt.timedelta(days=3)
    assert sweep(later) == {"reminded": 0, "escalated": 0, "assigned": 0, "expired": 0}
    inquiry.refresh_from_db()
    assert inquiry.first_response_at is not None and inquiry.escalation_count == 0
    assert not ResponseMiss.objects.exists() and events(inquiry, Kind.REMINDER) == 0


@pytest.mark.parametrize("not_an_answer", ["internal note", "buyer message"])
def test_notes_and_buyer_messages_do_not_stop_the_clock(team, buyer, not_an_answer):
    _ccos, _manager, product = team
    inquiry = ask(product, buyer=buyer)
    if not_an_answer == "internal note":
        services.inquiry_message_post(inquiry_id=inquiry.pk, actor=inquiry.owner,
                                      body="Check the Nantong stock first.", internal=True)
    else:
        services.inquiry_message_post(inquiry_id=inquiry.pk, actor=buyer, body="Any news?")

    assert sweep(inquiry.response_due_at)["escalated"] == 1


def test_a_closed_inquiry_is_neither_reminded_nor_escalated(team):
    _ccos, _manager, product = team
    inquiry = ask(product)
    services.inquiry_close_lost(inquiry_id=inquiry.pk, actor=inquiry.owner,
                                reason=LostReason.DUPLICATE)

    assert sweep(inquiry.response_due_at + MINUTE) == {
        "reminded": 0, "escalated": 0, "assigned": 0, "expired": 0}


# --- Quote expiry -------------------------------------------------------------------------------


def test_a_quote_expires_after_its_validity_once(team):
    _ccos, _manager, product = team
    inquiry = ask(product)
    today = timezone.localdate()
    sent = quote(inquiry, valid_until=today)
    end_of_today = timezone.make_aware(dt.datetime.combine(today, dt.time(23, 59)))

    assert sweep(end_of_today)["expired"] == 0  # valid through its last day
    assert sweep(end_of_today + 2 * MINUTE)["expired"] == 1
    assert sweep(end_of_today + dt.timedelta(days=2))["expired"] == 0

    sent.refresh_from_db()
    inquiry.refresh_from_db()
    assert sent.status == Quote.Status.EXPIRED and sent.decided_at is not None
    assert inquiry.status == Inquiry.Status.ASSIGNED
    expired = inquiry.events.get(kind=Kind.QUOTE_EXPIRED)
    assert expired.is_public and expired.body == f"Version 1 expired on {today.isoformat()}."
    assert mails("quote_expired", to=inquiry.owner) == 1


# --- A stopped worker ---------------------------------------------------------------------------


def test_after_a_stopped_worker_the_next_sweep_does_everything_due_once(team, subsidiary):
    ccos, manager, product = team
    now = timezone.now()
    to_remind = ask(product)
    Inquiry.objects.filter(pk=to_remind.pk).update(remind_at=now - dt.timedelta(minutes=10),
                                                   response_due_at=now + dt.timedelta(hours=1))
    long_overdue = [overdue(ask(product), by=dt.timedelta(hours=5)) for _i in range(2)]
    # Overdue before its reminder ever went out: escalated, not reminded.
    never_reminded = ask(product)
    Inquiry.objects.filter(pk=never_reminded.pk).update(
        remind_at=now - dt.timedelta(hours=4), response_due_at=now - dt.timedelta(hours=3))
    quoted = ask(product)
    stale_quote = quote(quoted)
    Quote.objects.filter(pk=stale_quote.pk).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1))
    # Another subsidiary, whose only CCO was full; the slot freed while the worker was down.
    elsewhere = SubsidiaryFactory(parent=subsidiary.parent)
    busy = cco(elsewhere, cap=1)
    other_product = sellable(seller=elsewhere)
    blocking, waiting = ask(other_product), ask(other_product)
    services.inquiry_close_lost(inquiry_id=blocking.pk, actor=busy, reason=LostReason.PRICE)

    assert sweep() == {"reminded": 1, "escalated": 3, "assigned": 1, "expired": 1}
    assert sweep() == {"reminded": 0, "escalated": 0, "assigned": 0, "expired": 0}

    assert events(to_remind, Kind.REMINDER) == 1 and events(to_remind, Kind.ESCALATED) == 0
    for inquiry in [*long_overdue, never_reminded]:
        assert events(inquiry, Kind.ESCALATED) == 1
        assert ResponseMiss.objects.filter(inquiry=inquiry).count() == 1
    assert events(never_reminded, Kind.REMINDER) == 0
    stale_quote.refresh_from_db()
    assert stale_quote.status == Quote.Status.EXPIRED
    waiting.refresh_from_db()
    assert waiting.owner == busy and waiting.response_due_at > now
    assert mails("inquiry_escalated", to=manager) == 3


# --- Two workers at once ------------------------------------------------------------------------


@pytest.fixture
def overdue_inquiries(_regions_back, transactional_db):  # noqa: F811
    """Five overdue inquiries of a subsidiary with three CCOs and a manager, committed."""
    _load_regions()
    seller = SubsidiaryFactory(parent=HQFactory())
    for _i in range(3):
        cco(seller)
    manager = StaffFactory(organization=seller, roles=[Role.SUBSIDIARY_MANAGER])
    product = sellable(seller=seller)
    return [overdue(ask(product)) for _i in range(5)], manager


def test_two_sweeps_at_once_escalate_each_inquiry_once(overdue_inquiries):
    inquiries, manager = overdue_inquiries

    results = _run_at_once(services.inquiries_sweep, [(), ()])

    assert not [r for r in results.values() if isinstance(r, Exception)], results
    assert sum(r["escalated"] for r in results.values()) == 5
    assert ResponseMiss.objects.count() == 5
    for inquiry in inquiries:
        assert events(inquiry, Kind.ESCALATED) == 1
        inquiry.refresh_from_db()
        assert inquiry.escalation_count == 1 and inquiry.response_due_at > timezone.now()
    assert mails("inquiry_escalated", to=manager) == 5
    assert sum(services.inquiries_sweep().values()) == 0
