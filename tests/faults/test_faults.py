"""Faults, really done on the real services: a Redis broker stopped and started again, a
Celery worker killed with SIGKILL in the middle of a sweep, PostgreSQL refusing a statement
in the middle of a checkout and of an inquiry, a mail server refusing mail.

The broker here is a private redis-server on a free port (so that stopping it disturbs no
other test or developer), the worker a real `celery worker` process on a queue of its own.
"""

import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection

from accounts.models import Role
from catalog.models import Stock
from chemmall.celery import app as celery_app
from inquiries import services as inquiry_services
from inquiries.models import Inquiry, InquiryEvent, ResponseMiss
from inquiries.tasks import inquiries_sweep_task
from orders import outbox
from orders import services as order_services
from orders.models import CartLine, Order, OutboxMessage
from orders.tasks import outbox_sweep_task
from tests.factories import BuyerFactory, HQFactory, StaffFactory, SubsidiaryFactory
from tests.inquiries.test_routing import ask, cco
from tests.inquiries.test_sweep import overdue
from tests.orders.factories import AddressFactory, sellable
from tests.orders.test_concurrency import _load_regions, _regions_back  # noqa: F401
from tests.test_celery_worker import _database_url

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs the redis-server binary")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test alone, stopped and started at will on one port."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _i in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def queue_length(self, queue: str) -> int:
        out = subprocess.run(["redis-cli", "-p", str(self.port), "LLEN", queue],
                             capture_output=True, text=True, check=True).stdout
        return int(out.strip() or 0)


def _reset_pools():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_redis():
    """Celery publishes for real to a private Redis (running at the start)."""
    redis = PrivateRedis()
    redis.start()
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url)
    conf.task_always_eager, conf.broker_url = False, redis.url
    _reset_pools()
    yield redis
    conf.task_always_eager, conf.broker_url = saved
    _reset_pools()
    redis.stop()


def _worker(broker_url: str, queue: str, *, database_url: str = "") -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chemmall.settings_test",
           "DATABASE_URL": database_url or _database_url(), "REDIS_URL": broker_url}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "chemmall", "worker", "--pool", "solo",
         "--queues", queue, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=Path(settings.BASE_DIR), env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for(predicate, *, seconds: float, proc=None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the worker died: {proc.stdout.read()}")
        time.sleep(0.2)
    return predicate()


@pytest.fixture
def shop(_regions_back, transactional_db):  # noqa: F811
    """A subsidiary with two CCOs and a product; a buyer with an address (committed)."""
    _load_regions()
    seller = SubsidiaryFactory(parent=HQFactory())
    ccos = [cco(seller), cco(seller)]
    product = sellable(seller=seller, on_hand="100")
    buyer = BuyerFactory()
    address = AddressFactory(company=buyer.membership.company, is_default=True)
    return {"seller": seller, "ccos": ccos, "product": product, "buyer": buyer,
            "address": address}


def _checkout(shop, quantity="2"):
    order_services.cart_line_set(user=shop["buyer"], product_id=shop["product"].pk,
                                 quantity=quantity)
    return order_services.checkout_place(
        user=shop["buyer"], fulfilment="delivery", address_id=shop["address"].pk,
        payment_method="prepayment", idempotency_key=uuid.uuid4().hex)


def _guest_form(product):
    return {"product": product.pk, "quantity": "50", "province": "320000", "city": "320500",
            "needed_by": "", "message": "Please quote.", "contact_name": "Li Lei",
            "contact_company": "Suzhou Paints Co.", "contact_email": "li.lei@example.com",
            "contact_phone": "13900001111", "website": ""}


# --- Redis stopped ------------------------------------------------------------------------------


def test_with_redis_stopped_the_web_takes_orders_and_inquiries_and_catches_up_after(
        shop, private_redis, client, caplog):
    private_redis.stop()  # the broker goes away

    (order,) = _checkout(shop)  # a buyer checks out
    response = client.post("/inquiries/new/", _guest_form(shop["product"]))  # a guest asks
    assert response.status_code == 302 and response.url == "/inquiries/thanks/"

    assert Order.objects.filter(pk=order.pk, status=Order.Status.PLACED).exists()
    inquiry = Inquiry.objects.get()
    assert inquiry.owner in shop["ccos"] and inquiry.response_due_at is not None
    pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
    assert pending.count() >= 3  # buyer + CCOs for the order, the guest, the inquiry's owner
    assert "could not queue messages" in caplog.text  # logged, not shown

    private_redis.start()  # the broker is back; beat's next outbox sweep goes through it
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    worker = _worker(private_redis.url, queue)
    try:
        with celery_app.connection_for_write() as conn:
            outbox_sweep_task.apply_async(connection=conn, queue=queue)
        assert _wait_for(lambda: not OutboxMessage.objects.filter(
            status=OutboxMessage.Status.PENDING).exists(), seconds=90, proc=worker), \
            "the outbox did not catch up"
    finally:
        _stop(worker)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {
        OutboxMessage.Status.SENT}
    assert outbox_sweep_task() == 0  # nothing left, nothing sent twice


# --- A worker killed mid-sweep ------------------------------------------------------------------


OVERDUE = 60
WORKER_APP = "chemmall-fault-worker"


def _worker_backends(cursor) -> list[int]:
    cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                   [WORKER_APP])
    return [row[0] for row in cursor.fetchall()]


def test_a_worker_killed_mid_sweep_leaves_the_work_to_the_next_sweep_once(shop,
                                                                          private_redis):
    """The sweep's worker is caught in the middle — it has begun the escalations and waits
    for the CCO profiles, which the test holds locked — and is killed with SIGKILL. Its
    transaction dies with it; the next sweep does every escalation, each once."""
    import psycopg

    seller, product = shop["seller"], shop["product"]
    StaffFactory(organization=seller, roles=[Role.SUBSIDIARY_MANAGER])
    inquiries = [overdue(ask(product)) for _i in range(OVERDUE)]
    first_owners = {inquiry.pk: inquiry.owner for inquiry in inquiries}
    locker = psycopg.connect(_database_url())  # another session holds the routing lock
    locker.execute("SELECT id FROM inquiries_ccoprofile WHERE organization_id = %s "
                   "FOR UPDATE", [seller.pk])
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    worker = _worker(f"{private_redis.url}", queue,
                     database_url=f"{_database_url()}?application_name={WORKER_APP}")
    try:
        with celery_app.connection_for_write() as conn:
            inquiries_sweep_task.apply_async(connection=conn, queue=queue)

        def waiting_for_the_lock():
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                               "application_name = %s AND wait_event_type = 'Lock'",
                               [WORKER_APP])
                return cursor.fetchone()[0] == 1

        assert _wait_for(waiting_for_the_lock, seconds=90, proc=worker), \
            "the worker never reached the routing lock"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        _stop(worker)
        locker.rollback()  # the lock goes; the dead worker's session notices and ends
        locker.close()
    with connection.cursor() as cursor:
        assert _wait_for(lambda: not _worker_backends(cursor), seconds=30)
    assert not Inquiry.objects.filter(escalation_count__gt=0).exists()  # all rolled back
    assert not ResponseMiss.objects.exists()

    result = inquiry_services.inquiries_sweep()  # the next beat's sweep

    assert result["escalated"] == OVERDUE
    for inquiry in inquiries:
        inquiry.refresh_from_db()
        missed_by = first_owners[inquiry.pk]
        assert inquiry.escalation_count == 1 and inquiry.owner != missed_by
        assert inquiry.events.filter(kind=InquiryEvent.Kind.ESCALATED).count() == 1
        assert ResponseMiss.objects.get(inquiry=inquiry).owner == missed_by
    assert inquiry_services.inquiries_sweep()["escalated"] == 0  # and a third finds nothing


# --- PostgreSQL refusing a statement ------------------------------------------------------------


@pytest.fixture
def refusing_table(transactional_db):
    """A trigger makes PostgreSQL refuse every INSERT into one table, as a full disk or a
    lost connection would in the middle of a transaction."""
    made = []

    def refuse(model):
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("""
                CREATE OR REPLACE FUNCTION chemmall_fault() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql""")
            cursor.execute(f'CREATE TRIGGER chemmall_fault BEFORE INSERT ON "{table}" '
                           "FOR EACH ROW EXECUTE FUNCTION chemmall_fault()")
        made.append(table)

    yield refuse
    with connection.cursor() as cursor:
        for table in made:
            cursor.execute(f'DROP TRIGGER IF EXISTS chemmall_fault ON "{table}"')
        cursor.execute("DROP FUNCTION IF EXISTS chemmall_fault()")


def test_a_database_error_mid_checkout_leaves_no_order_and_no_reservation(shop,
                                                                          refusing_table):
    from orders.models import OrderLine

    refusing_table(OrderLine)  # the order row is written, then its lines are refused
    with pytest.raises(DatabaseError):
        _checkout(shop, quantity="5")
    assert not Order.objects.exists()
    stock = Stock.objects.get(product=shop["product"])
    assert stock.reserved == Decimal("0")
    assert not OutboxMessage.objects.exists()
    assert CartLine.objects.filter(cart__user=shop["buyer"]).count() == 1  # nothing lost


def test_a_database_error_mid_inquiry_is_a_503_and_saves_nothing(shop, refusing_table,
                                                                 client):
    refusing_table(InquiryEvent)  # the inquiry row is written, then its events are refused
    response = client.post("/inquiries/new/", _guest_form(shop["product"]))
    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    assert not Inquiry.objects.exists() and not OutboxMessage.objects.exists()


def test_a_database_error_in_the_api_is_a_json_503(shop, refusing_table, api_client):
    refusing_table(InquiryEvent)
    response = api_client.post("/api/v1/inquiries/", {
        "product_id": shop["product"].pk, "quantity": "5", "contact_name": "Li Lei",
        "contact_email": "li.lei@example.com"}, format="json")
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    assert not Inquiry.objects.exists()


# --- A mail server refusing ---------------------------------------------------------------------


class SmtpServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP: refuses every message while `refusing`, else accepts and keeps it."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        self.refusing = True
        self.received: list[str] = []
        super().__init__(("127.0.0.1", 0), SmtpHandler)


class SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self):
        server = self.server
        self.wfile.write(b"220 faults.example ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.wfile.write(b"250 faults.example\r\n")
            elif command.startswith("MAIL FROM"):
                self.wfile.write(b"554 5.7.1 refused: try later\r\n" if server.refusing
                                 else b"250 OK\r\n")
            elif command.startswith("RCPT TO"):
                self.wfile.write(b"250 OK\r\n")
            elif command == "DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode(errors="replace"))
                server.received.append("".join(body))
                self.wfile.write(b"250 queued\r\n")
            elif command in ("RSET", "NOOP"):
                self.wfile.write(b"250 OK\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not here\r\n")


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.server_address[1]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_a_refusing_mail_server_means_retries_with_backoff_and_nothing_lost(smtp, buyer):
    from django.utils import timezone

    message = outbox.outbox_enqueue(kind="test", to_email=buyer.email, subject="Your order",
                                    body="Thank you for your order.")

    assert outbox.outbox_send(message_id=message.pk) is False  # 554: refused
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 1)
    assert "554" in message.last_error
    assert message.next_attempt_at > timezone.now() + outbox.retry_delay(1) * 0.9
    assert outbox.outbox_due_ids(now=timezone.now()) == []  # the backoff is respected
    assert outbox_sweep_task() == 0  # not due: not even tried
    message.refresh_from_db()
    assert message.attempts == 1

    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_sweep_task() == 0  # due again, still refused: attempt 2, a longer wait
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at > timezone.now() + outbox.retry_delay(2) * 0.9
    assert outbox.retry_delay(2) > outbox.retry_delay(1)

    smtp.refusing = False  # the mail server takes mail again
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_sweep_task() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 3)
    assert len(smtp.received) == 1 and "Thank you for your order." in smtp.received[0]
    assert outbox_sweep_task() == 0  # sent once
