"""The sweep's batch path (services.inquiries_remind / inquiries_escalate): the same outcome
as one inquiry at a time — owners, reasons, deadlines, timeline, misses, mails, round-robin
counters — for a batch spanning sellers, with first and second misses mixed and CCOs at
their cap; exactly once with two sweepers; a number of statements that does not grow with
the number of due inquiries; and expired quotes (services.quotes_expire)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from inquiries import routing, services
from inquiries.models import CcoProfile, Inquiry, InquiryEvent, Quote, ResponseMiss
from orders.models import OutboxMessage
from tests.factories import HQFactory, StaffFactory, SubsidiaryFactory
from tests.inquiries.test_routing import ask, cco
from tests.inquiries.test_sweep import events, mails, overdue, quote
from tests.orders.factories import sellable
from tests.orders.test_concurrency import _load_regions, _regions_back, _run_at_once  # noqa: F401

pytestmark = pytest.mark.django_db

Kind = InquiryEvent.Kind


def team(seller, *, weights=("1", "2", "1"), cap=1000):
    """CCOs of `seller` with these weights, its manager, a product."""
    ccos = [cco(seller, weight=w, cap=cap) for w in weights]
    manager = StaffFactory(organization=seller, roles=[Role.SUBSIDIARY_MANAGER])
    return ccos, manager, sellable(seller=seller)


def scenario(seller):
    """Six routed inquiries of `seller`, all overdue by 1–6 minutes (oldest first); the
    third already missed once (its second miss now), the first CCO off duty since intake;
    caps of 2 open inquiries, so the re-routing meets them."""
    ccos, manager, product = team(seller, cap=2)
    inquiries = [ask(product) for _i in range(6)]
    for n, inquiry in enumerate(inquiries):
        overdue(inquiry, by=dt.timedelta(minutes=6 - n))
    Inquiry.objects.filter(pk=inquiries[2].pk).update(escalation_count=1)
    CcoProfile.objects.filter(user=ccos[0]).update(is_on_duty=False)
    return inquiries, ccos, manager


def outcome(seller, inquiries, ccos, manager, since) -> dict:
    """What the escalations left, with the seller's and people's names as labels, so that
    two sellers' outcomes compare."""
    names = {seller.name: "SELLER", manager.full_name: "MANAGER",
             **{c.full_name: f"CCO{i}" for i, c in enumerate(ccos)}}
    labels = {manager.pk: "MANAGER", **{c.pk: f"CCO{i}" for i, c in enumerate(ccos)}}

    def named(text: str) -> str:
        for name, label in sorted(names.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(name, label)
        return text

    rows = []
    for inquiry in Inquiry.objects.filter(pk__in=[i.pk for i in inquiries]).order_by("pk"):
        rows.append((
            labels.get(inquiry.owner_id), inquiry.status, inquiry.escalation_count,
            inquiry.remind_at, inquiry.response_due_at, inquiry.reminded_at is None,
            named(inquiry.routing_reason),
            [(e.kind, named(e.body), e.from_status, e.to_status, e.is_public)
             for e in inquiry.events.filter(pk__gt=since).order_by("created_at", "pk")],
            sorted(labels[m.owner_id] for m in inquiry.misses.all()),
        ))
    by_email = {u.email: labels[u.pk] for u in [manager, *ccos]}
    sent = sorted((m.kind, by_email[m.to_email], named(m.subject), named(m.body))
                  for m in OutboxMessage.objects.filter(to_email__in=by_email, pk__gt=since))
    counters = [str(p.current_weight) for p in CcoProfile.objects.filter(
        user__in=ccos).order_by("pk")]
    return {"inquiries": rows, "mails": sent, "counters": counters}


def _last_ids() -> int:
    last_event = InquiryEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    last_mail = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
    return max(last_event or 0, last_mail or 0)


def test_a_batch_escalates_exactly_as_one_by_one(hq):
    one_seller, batch_seller = SubsidiaryFactory(parent=hq), SubsidiaryFactory(parent=hq)
    one = scenario(one_seller)
    batch = scenario(batch_seller)
    now = timezone.now()
    since = _last_ids()

    for inquiry in sorted(one[0], key=lambda i: i.response_due_at):
        assert services.inquiry_escalate(inquiry_id=inquiry.pk, now=now)
    assert services.inquiries_escalate(inquiry_ids=[i.pk for i in batch[0]], now=now) == 6

    expected = outcome(one_seller, *one, since=since)
    assert outcome(batch_seller, *batch, since=since) == expected
    # The scenario does what it says: a second miss to the manager, re-routing around the
    # CCO off duty and the one who missed, fresh deadlines.
    owners = [row[0] for row in expected["inquiries"]]
    assert owners[2] == "MANAGER" and "CCO0" not in owners
    assert all(row[4] > now for n, row in enumerate(expected["inquiries"]) if n != 2)


def test_one_batch_spans_two_sellers(subsidiary, other_subsidiary):
    here_ccos, here_manager, here_product = team(subsidiary)
    there_ccos, there_manager, there_product = team(other_subsidiary)
    here = [overdue(ask(here_product)) for _i in range(2)]
    there = [overdue(ask(there_product)) for _i in range(3)]
    before = {p.pk: p.current_weight for p in CcoProfile.objects.all()}

    assert services.inquiries_sweep()["escalated"] == 5

    for inquiries, ccos, manager in ((here, here_ccos, here_manager),
                                     (there, there_ccos, there_manager)):
        for inquiry in inquiries:
            missed_by = inquiry.owner
            inquiry.refresh_from_db()
            assert inquiry.owner in ccos and inquiry.owner != missed_by
            assert inquiry.escalation_count == 1 and inquiry.response_due_at > timezone.now()
            assert inquiry.owner.full_name in inquiry.routing_reason
            assert [e.kind for e in inquiry.events.filter(kind__in=[
                Kind.ROUTED, Kind.ASSIGNED, Kind.ESCALATED]).order_by("pk")][-3:] == [
                Kind.ROUTED, Kind.ASSIGNED, Kind.ESCALATED]
        assert mails("inquiry_escalated", to=manager) == len(inquiries)
    assert ResponseMiss.objects.count() == 5
    moved = {p.organization_id for p in CcoProfile.objects.all()
             if p.current_weight != before[p.pk]}
    assert moved == {subsidiary.pk, other_subsidiary.pk}  # both sellers' counters stored


def test_caps_hold_within_a_batch(subsidiary):
    ccos, manager, product = team(subsidiary, weights=("1", "1"), cap=2)
    inquiries = [overdue(ask(product)) for _i in range(4)]  # each CCO at its cap of 2

    assert services.inquiries_sweep()["escalated"] == 4

    owned = {user.pk: Inquiry.objects.filter(owner=user, status__in=Inquiry.OPEN_STATUSES)
             .count() for user in [*ccos, manager]}
    assert all(owned[c.pk] <= 2 for c in ccos)
    # The first could go to nobody but the manager (the colleague was full); that freed a
    # slot, and each later one went to the colleague of the one who missed it.
    first = Inquiry.objects.get(pk=inquiries[0].pk)
    assert first.owner == manager
    assert first.routing_reason.startswith(f"No CCO of {subsidiary.name} is on duty under "
                                           "the cap")
    for inquiry in inquiries[1:]:
        missed_by = inquiry.owner
        inquiry.refresh_from_db()
        assert inquiry.owner in ccos and inquiry.owner != missed_by
    assert owned[manager.pk] == 1


def test_first_and_second_misses_in_one_batch(subsidiary):
    ccos, manager, product = team(subsidiary, weights=("1", "1"))
    first, second = overdue(ask(product)), overdue(ask(product))
    Inquiry.objects.filter(pk=second.pk).update(escalation_count=1)

    assert services.inquiries_sweep()["escalated"] == 2

    first_owner, second_owner = first.owner, second.owner
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.owner in ccos and first.owner != first_owner
    assert first.escalation_count == 1 and first.response_due_at > timezone.now()
    assert second.owner == manager and second.escalation_count == 2
    assert second.response_due_at is None and second.remind_at is None
    assert events(second, Kind.ROUTED) == 1  # only the intake's: no re-routing
    assert second.events.filter(kind=Kind.ESCALATED).get().body.endswith(
        f"again: handed to the manager {manager.full_name}.")
    assert set(ResponseMiss.objects.values_list("owner_id", flat=True)) == {
        first_owner.pk, second_owner.pk}
    assert mails("inquiry_escalated", to=manager) == 2
    assert mails("inquiry_assigned", to=manager) == 0  # the manager takes it without one


def test_reminders_in_one_batch_each_once(subsidiary):
    ccos, _manager, product = team(subsidiary, weights=("1", "1"))
    inquiries = [ask(product) for _i in range(3)]
    at = max(i.remind_at for i in inquiries)

    assert services.inquiries_remind(inquiry_ids=[i.pk for i in inquiries], now=at) == 3
    assert services.inquiries_remind(inquiry_ids=[i.pk for i in inquiries], now=at) == 0

    for inquiry in inquiries:
        assert events(inquiry, Kind.REMINDER) == 1
        inquiry.refresh_from_db()
        assert inquiry.reminded_at == at
    assert mails("inquiry_reminder") == 3


def test_the_statements_of_a_sweep_do_not_grow_with_the_due_inquiries(subsidiary,
                                                                      other_subsidiary):
    for seller in (subsidiary, other_subsidiary):
        team(seller)
    products = [sellable(seller=subsidiary), sellable(seller=other_subsidiary)]

    def statements(n: int) -> int:
        for k in range(n):
            overdue(ask(products[k % 2]))
        with CaptureQueriesContext(connection) as sweep:
            assert services.inquiries_sweep()["escalated"] == n
        return len(sweep.captured_queries)

    assert statements(2) == statements(20)


def step_nothing(decision) -> None:
    """Another app's routing step (as the dealers app plugs one in)."""


def test_with_another_apps_routing_step_escalations_go_one_by_one(subsidiary, settings,
                                                                  monkeypatch):
    _ccos, _manager, product = team(subsidiary, weights=("1", "1"))
    inquiry = overdue(ask(product))
    settings.INQUIRY_ROUTING_STEPS = [*routing.OWN_STEPS,
                                      "tests.inquiries.test_sweep_batch.step_nothing"]
    called = []
    monkeypatch.setattr(services, "inquiries_escalate",
                        lambda **kwargs: called.append(kwargs) or 0)

    assert services.inquiries_sweep()["escalated"] == 1  # through inquiry_escalate

    assert not called and events(inquiry, Kind.ESCALATED) == 1


# --- Two sweepers at once -----------------------------------------------------------------------


@pytest.fixture
def overdue_in_two_sellers(_regions_back, transactional_db):  # noqa: F811
    """Eight overdue inquiries of two subsidiaries, two of them on their second miss,
    committed."""
    _load_regions()
    hq = HQFactory()
    found = []
    for _s in range(2):
        seller = SubsidiaryFactory(parent=hq)
        _ccos, manager, product = team(seller)
        inquiries = [overdue(ask(product)) for _i in range(4)]
        Inquiry.objects.filter(pk=inquiries[-1].pk).update(escalation_count=1)
        found.append((inquiries, manager))
    return found


def test_two_sweeps_at_once_escalate_each_of_two_sellers_once(overdue_in_two_sellers):
    results = _run_at_once(services.inquiries_sweep, [(), ()])

    assert not [r for r in results.values() if isinstance(r, Exception)], results
    assert sum(r["escalated"] for r in results.values()) == 8
    assert ResponseMiss.objects.count() == 8
    for inquiries, manager in overdue_in_two_sellers:
        for inquiry in inquiries:
            assert events(inquiry, Kind.ESCALATED) == 1
        assert mails("inquiry_escalated", to=manager) == 4
    assert sum(services.inquiries_sweep().values()) == 0


# --- Quotes expiring ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["batch", "one_by_one"])
def test_expired_quotes_in_one_batch_each_once(subsidiary, how):
    _ccos, _manager, product = team(subsidiary, weights=("1", "1"))
    inquiries = [ask(product) for _i in range(3)]
    quotes = [quote(inquiry) for inquiry in inquiries]
    Quote.objects.filter(pk__in=[q.pk for q in quotes]).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1))

    if how == "batch":
        assert services.inquiries_sweep()["expired"] == 3
    else:
        assert all(services.quote_expire(quote_id=q.pk) for q in quotes)
    assert services.inquiries_sweep()["expired"] == 0

    for inquiry, sent in zip(inquiries, quotes, strict=True):
        sent.refresh_from_db()
        inquiry.refresh_from_db()
        assert sent.status == Quote.Status.EXPIRED and sent.decided_at is not None
        assert inquiry.status == Inquiry.Status.ASSIGNED
        assert inquiry.events.get(kind=Kind.QUOTE_EXPIRED).body == (
            f"Version 1 expired on {sent.valid_until.isoformat()}.")
        moved = inquiry.events.filter(kind=Kind.STATUS).order_by("pk").last()
        assert (moved.from_status, moved.to_status, moved.is_public) == (
            Inquiry.Status.QUOTED, Inquiry.Status.ASSIGNED, True)
        assert mails("quote_expired", to=inquiry.owner) >= 1
    assert mails("quote_expired") == 3
