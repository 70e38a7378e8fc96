"""A real Celery worker over the real Redis broker runs the inquiries sweep against the test
database and escalates an inquiry whose deadline passed (the pattern of
tests/test_celery_worker.py, on a queue of its own so that no other worker takes the task)."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from chemmall.celery import app
from inquiries.models import Inquiry, InquiryEvent, ResponseMiss
from inquiries.tasks import inquiries_sweep_task
from tests.factories import HQFactory, SubsidiaryFactory
from tests.inquiries.test_routing import ask, cco
from tests.inquiries.test_sweep import overdue
from tests.orders.factories import sellable
from tests.orders.test_concurrency import _load_regions, _regions_back  # noqa: F401
from tests.test_celery_worker import BROKER, _database_url

QUEUE = f"inquiries-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker(_regions_back, transactional_db):  # noqa: F811
    _load_regions()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chemmall.settings_test",
           "DATABASE_URL": _database_url(), "REDIS_URL": BROKER}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "chemmall", "worker", "--pool", "solo",
         "--queues", QUEUE, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=Path(settings.BASE_DIR), env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_worker_runs_the_sweep_and_escalates_an_overdue_inquiry(worker):
    seller = SubsidiaryFactory(parent=HQFactory())
    ccos = [cco(seller), cco(seller)]
    inquiry = overdue(ask(sellable(seller=seller)))
    first_owner = inquiry.owner

    old_conf = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager, app.conf.broker_url = False, BROKER
    try:
        with app.connection_for_write() as conn:
            inquiries_sweep_task.apply_async(connection=conn, queue=QUEUE)
    finally:
        app.conf.task_always_eager, app.conf.broker_url = old_conf

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if Inquiry.objects.filter(pk=inquiry.pk, escalation_count=1).exists():
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.5)
    inquiry.refresh_from_db()
    assert inquiry.escalation_count == 1, "the worker did not escalate within 90 s"
    assert inquiry.owner in ccos and inquiry.owner != first_owner
    assert ResponseMiss.objects.get(inquiry=inquiry).owner == first_owner
    assert inquiry.events.filter(kind=InquiryEvent.Kind.ESCALATED).count() == 1
