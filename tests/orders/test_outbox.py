"""The outbox: rows written with the change, sent after commit, retried by the sweep."""

import datetime
import smtplib
import time

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import Role
from chemmall.celery import app as celery_app
from orders import outbox, services
from orders.models import Order, OutboxMessage
from orders.tasks import outbox_sweep_task
from tests.factories import BuyerFactory, StaffFactory
from tests.orders.factories import AddressFactory, sellable
from tests.orders.test_concurrency import _load_regions, _regions_back  # noqa: F401 — fixture
from tests.test_celery_worker import BROKER, worker  # noqa: F401 — fixture

FAILING_BACKEND = f"{__name__}.FailingBackend"
LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CLOSED_BROKER = "redis://127.0.0.1:6390/0"  # nothing listens there


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("mail server down (test)")


def _rows(**filters):
    return list(OutboxMessage.objects.filter(**filters).order_by("pk"))


def _past(seconds: int = 1) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds)


@pytest.fixture
def ccos(subsidiary, other_subsidiary):
    """Two active CCOs of the seller; an inactive one and one of another subsidiary hear
    nothing."""
    StaffFactory(organization=subsidiary, roles=[Role.CCO], is_active=False)
    StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    return [StaffFactory(organization=subsidiary, roles=[Role.CCO]) for _i in range(2)]


@pytest.fixture
def product(subsidiary):
    return sellable(seller=subsidiary, on_hand="50")


@pytest.mark.django_db
def test_checkout_writes_one_row_for_the_buyer_and_one_per_cco(place, buyer, product, ccos):
    (order,) = place(buyer, [(product, 2)])
    placed = _rows(kind="order_placed")
    assert [(m.to_email, m.dedup_key) for m in placed] == [
        (buyer.email, f"order:{order.pk}:placed")]
    assert placed[0].subject == f"Order {order.number} placed"
    assert order.number in placed[0].body and buyer.full_name in placed[0].body
    assert "Please pay by bank transfer" in placed[0].body
    for_seller = _rows(kind="order_new_for_seller")
    assert sorted((m.to_email, m.dedup_key) for m in for_seller) == sorted(
        (c.email, f"order:{order.pk}:new:{c.pk}") for c in ccos)
    assert all(order.company.name in m.subject for m in for_seller)
    # Written in the checkout's transaction; sending waits for the commit.
    assert {m.status for m in placed + for_seller} == {OutboxMessage.Status.PENDING}
    assert all(m.attempts == 0 for m in placed + for_seller)


@pytest.mark.django_db
def test_rows_are_sent_after_commit(place, buyer, product, ccos,
                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (order,) = place(buyer, [(product, 2)])
    assert len(callbacks) == 1  # one after-commit callback queues the three sends
    assert sorted(m.to[0] for m in mail.outbox) == sorted([buyer.email, *(c.email for c in ccos)])
    rows = _rows()
    assert {m.status for m in rows} == {OutboxMessage.Status.SENT}
    assert all(m.attempts == 1 and m.sent_at and m.claimed_until is None for m in rows)
    assert outbox_sweep_task() == 0  # nothing left to send
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_a_pickup_order_mail_carries_the_pickup_code(place, buyer, product):
    depot = product.stocks.get().depot
    (order,) = place(buyer, [(product, 2)], fulfilment="pickup", depot_id=depot.pk)
    (row,) = _rows(kind="order_placed")
    assert order.pickup_code in row.body


@pytest.mark.django_db
def test_each_move_the_buyer_hears_about_writes_one_row(place, buyer, product, cco,
                                                        staff_by_role):
    (order,) = place(buyer, [(product, 2)])
    finance = staff_by_role[Role.FINANCE]
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)  # no mail for "paid"
    services.order_mark_ready(order_id=order.pk, actor=cco)
    services.order_ship(order_id=order.pk, actor=cco, tracking_number="SF777")
    services.order_complete(order_id=order.pk, actor=buyer)  # nor for delivered/completed
    to_buyer = [(m.kind, m.dedup_key) for m in _rows(to_email=buyer.email)]
    assert to_buyer == [
        ("order_placed", f"order:{order.pk}:placed"),
        ("order_confirmed", f"order:{order.pk}:confirmed"),
        ("order_ready", f"order:{order.pk}:ready"),
        ("order_shipped", f"order:{order.pk}:shipped"),
    ]
    (shipped,) = _rows(kind="order_shipped")
    assert shipped.subject == f"Order {order.number} shipped" and order.number in shipped.body


@pytest.mark.django_db
def test_a_cancellation_writes_one_row_with_the_reason(place, buyer, product, cco):
    (order,) = place(buyer, [(product, 2)])
    services.order_cancel(order_id=order.pk, actor=cco, reason="Out of season")
    services.order_cancel(order_id=order.pk, actor=cco, reason="Out of season")
    (row,) = _rows(kind="order_cancelled")
    assert row.to_email == buyer.email and row.dedup_key == f"order:{order.pk}:cancelled"
    assert "Out of season" in row.body


@pytest.mark.django_db
def test_a_repeated_move_writes_one_row(place, buyer, product, cco):
    (order,) = place(buyer, [(product, 2)])
    for _twice in range(2):
        services.order_confirm(order_id=order.pk, actor=cco)
    assert len(_rows(kind="order_confirmed")) == 1
    again = outbox.outbox_enqueue(kind="order_confirmed", to_email=buyer.email, subject="x",
                                  body="y", dedup_key=f"order:{order.pk}:confirmed")
    assert again is None and len(_rows(kind="order_confirmed")) == 1


@pytest.mark.django_db
def test_mails_are_in_the_recipients_language(place, buyer, product, cco):
    buyer.language = "zh-hans"
    buyer.save(update_fields=["language"])
    cco.language = "en"
    cco.save(update_fields=["language"])
    (order,) = place(buyer, [(product, 2)])
    with translation.override("zh-hans"):
        subject_zh = gettext("Order %(number)s placed") % {"number": order.number}
        hello_zh = gettext("Hello %(name)s,") % {"name": buyer.full_name}
    subject_en = f"Order {order.number} placed"
    (to_buyer,) = _rows(kind="order_placed")
    assert to_buyer.subject == subject_zh and to_buyer.body.startswith(hello_zh)
    assert to_buyer.dedup_key == f"order:{order.pk}:placed"
    if subject_zh != subject_en:  # once the Chinese catalog has it
        assert to_buyer.subject != subject_en
    (to_cco,) = _rows(kind="order_new_for_seller")
    assert to_cco.subject.startswith(f"New order {order.number} from")
    assert translation.get_language() == "en"  # rendering left the active language alone


@pytest.mark.django_db
def test_a_failed_send_is_retried_by_the_sweep_after_its_backoff(
        place, buyer, product, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place(buyer, [(product, 2)])  # the order is placed all the same
    assert Order.objects.filter(pk=order.pk).exists()
    (row,) = _rows()
    assert row.status == OutboxMessage.Status.PENDING and row.attempts == 1
    assert row.next_attempt_at >= before + outbox.retry_delay(1) - datetime.timedelta(seconds=1)
    assert "SMTPServerDisconnected" in row.last_error and "mail server down" in row.last_error
    assert row.claimed_until is None and row.sent_at is None
    assert mail.outbox == []

    settings.EMAIL_BACKEND = LOCMEM_BACKEND  # the mail server is back
    assert outbox_sweep_task() == 0  # the backoff is not over yet
    assert mail.outbox == []
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=_past())
    assert outbox_sweep_task() == 1
    assert [m.subject for m in mail.outbox] == [row.subject]
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.SENT and row.attempts == 2
    assert row.last_error == "" and row.sent_at is not None
    assert outbox_sweep_task() == 0  # sent once, never again
    assert outbox.outbox_send(message_id=row.pk) is False
    assert len(mail.outbox) == 1


def test_retry_delay_doubles_up_to_six_hours():
    minutes = [outbox.retry_delay(n) / datetime.timedelta(minutes=1) for n in range(1, 12)]
    assert minutes[:5] == [1, 2, 4, 8, 16]
    assert max(minutes) == 360 and minutes == sorted(minutes)


@pytest.mark.django_db
def test_after_max_attempts_the_row_is_failed_and_left_alone(place, buyer, product, settings):
    place(buyer, [(product, 2)])
    (row,) = _rows()
    settings.EMAIL_BACKEND = FAILING_BACKEND
    OutboxMessage.objects.filter(pk=row.pk).update(attempts=outbox.MAX_ATTEMPTS - 2)
    assert outbox_sweep_task() == 0
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.PENDING
    assert row.attempts == outbox.MAX_ATTEMPTS - 1
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=_past())
    assert outbox_sweep_task() == 0
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.FAILED and row.attempts == outbox.MAX_ATTEMPTS
    settings.EMAIL_BACKEND = LOCMEM_BACKEND
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=_past())
    assert outbox.outbox_due_ids(now=timezone.now()) == []
    assert outbox_sweep_task() == 0 and mail.outbox == []
    # Staff give it another round.
    assert outbox.outbox_retry(message_id=row.pk) is True
    assert outbox_sweep_task() == 1 and len(mail.outbox) == 1
    assert outbox.outbox_retry(message_id=row.pk) is False  # sent: nothing to retry


@pytest.mark.django_db
def test_a_claimed_row_is_not_sent_by_a_second_caller(place, buyer, product):
    place(buyer, [(product, 2)])
    (row,) = _rows()
    claimed_until = timezone.now() + outbox.CLAIM_FOR
    OutboxMessage.objects.filter(pk=row.pk).update(claimed_until=claimed_until)
    assert outbox.outbox_send(message_id=row.pk) is False
    assert outbox.outbox_due_ids(now=timezone.now()) == []
    assert outbox_sweep_task() == 0 and mail.outbox == []
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.PENDING and row.attempts == 0
    assert row.claimed_until == claimed_until
    # The claimer died: once the claim runs out, the sweep sends it.
    OutboxMessage.objects.filter(pk=row.pk).update(claimed_until=_past())
    assert outbox_sweep_task() == 1 and len(mail.outbox) == 1


@pytest.mark.django_db
def test_an_empty_address_writes_no_row():
    assert outbox.outbox_enqueue(kind="x", to_email="", subject="s", body="b") is None
    assert not OutboxMessage.objects.exists()


def _publish_for_real(broker_url: str):
    """Celery publishes to `broker_url` instead of running tasks inline; a generator for
    fixtures (the app's connection pools are dropped before and after)."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url)

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.task_always_eager, conf.broker_url = False, broker_url
    reset_pools()
    yield
    conf.task_always_eager, conf.broker_url = saved
    reset_pools()


@pytest.fixture
def broker_down():
    """Celery publishes for real, to a port nobody listens on."""
    yield from _publish_for_real(CLOSED_BROKER)


@pytest.mark.django_db
def test_with_the_broker_down_the_order_is_placed_and_the_sweep_sends_later(
        place, buyer, product, ccos, broker_down, django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (order,) = place(buyer, [(product, 2)])
    assert len(callbacks) == 1  # the queueing was tried, and failed
    assert "could not queue messages" in caplog.text
    assert caplog.text.count("could not queue") == 1  # gave up after the first of three
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED and order.lines.count() == 1
    rows = _rows()
    assert len(rows) == 3
    assert all(m.status == OutboxMessage.Status.PENDING and m.attempts == 0 for m in rows)
    assert mail.outbox == []
    assert outbox_sweep_task() == 3  # beat runs the sweep once the broker is back
    assert {m.status for m in _rows()} == {OutboxMessage.Status.SENT}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([buyer.email,
                                                           *(c.email for c in ccos)])
    assert outbox_sweep_task() == 0 and len(mail.outbox) == 3


@pytest.mark.django_db
def test_a_batch_with_a_written_dedup_key_writes_the_others(buyer):
    def message(key):
        return OutboxMessage(kind="k", to_email=buyer.email, subject=f" s {key} ", body="b",
                             dedup_key=key)

    outbox.outbox_enqueue_many([message("one")])
    written = outbox.outbox_enqueue_many([message("one"), message("two"), message(""),
                                          message("two")])
    assert [m.dedup_key for m in written] == ["two", ""]
    assert all(m.pk for m in written)
    assert sorted(OutboxMessage.objects.values_list("dedup_key", "subject")) == [
        ("", "s"), ("one", "s one"), ("two", "s two")]


# --- A real worker over the real broker: keep it last in the module (a transactional test
# empties the regions table, which `_regions_back` fills again when the module ends).


@pytest.fixture
def real_broker(_regions_back, worker):  # noqa: F811
    _load_regions()
    yield from _publish_for_real(BROKER)


def test_a_real_worker_sends_what_a_checkout_wrote(real_broker, worker, subsidiary):  # noqa: F811
    cco = StaffFactory(organization=subsidiary, roles=[Role.CCO])
    buyer = BuyerFactory()
    address = AddressFactory(company=buyer.membership.company)
    product = sellable(seller=subsidiary, on_hand="10")
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=2)
    (order,) = services.checkout_place(user=buyer, idempotency_key="w1", fulfilment="delivery",
                                       address_id=address.pk, payment_method="prepayment")
    # Committed: the after-commit hook published one task for both messages.
    rows = OutboxMessage.objects.filter(dedup_key__startswith=f"order:{order.pk}:")
    assert sorted(rows.values_list("to_email", flat=True)) == sorted([buyer.email, cco.email])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not rows.exclude(status=OutboxMessage.Status.SENT).exists():
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.5)
    assert set(rows.values_list("status", "attempts")) == {(OutboxMessage.Status.SENT, 1)}
