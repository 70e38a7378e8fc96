"""A real Celery worker over the real Redis broker runs a task against the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import CalendarDay
from accounts.tasks import calendars_sync_holidays_task
from chemmall.celery import app
from tests.factories import WorkingCalendarFactory

# A Redis database of its own, so a developer's running `make run` never takes the message.
BROKER = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + "/14"


@pytest.fixture
def worker(transactional_db):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chemmall.settings_test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": BROKER,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "chemmall", "worker", "--pool", "solo",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=Path(settings.BASE_DIR), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def test_worker_runs_the_holiday_sync(worker):
    calendar = WorkingCalendarFactory()
    old_conf = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = BROKER
    try:
        with app.connection_for_write() as conn:
            calendars_sync_holidays_task.apply_async(connection=conn)
    finally:
        app.conf.task_always_eager, app.conf.broker_url = old_conf
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if CalendarDay.objects.filter(calendar=calendar).exists():
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.5)
    assert CalendarDay.objects.filter(calendar=calendar, source=CalendarDay.Source.PACKAGE
                                      ).exists()
