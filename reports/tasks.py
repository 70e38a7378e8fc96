"""Timed work of the reports app (settings.CELERY_BEAT_SCHEDULE): the daily CCO report at
00:30 Asia/Shanghai, then the routing weights; the monthly flags on the 1st; the dashboards'
rollups of today and yesterday every few minutes, and of the recent weeks nightly; the
managers' digest at 08:00; the background exports (queued by the report pages) and their
sweep every minute.

Dates travel as ISO strings; every task replaces its rows whole, so a redelivered or
repeated run writes the same values."""

import datetime

from celery import shared_task
from django.utils import timezone

from . import export_jobs, services
from .scoring import report_tz


def _today() -> datetime.date:
    return timezone.localdate(timezone=report_tz())


@shared_task(acks_late=True, ignore_result=True)
def cco_daily_report_task(day: str | None = None) -> int:
    """The report of `day` (default: yesterday in Asia/Shanghai), then every CCO's routing
    weight from the last 30 days. Returns the report rows written."""
    target = (datetime.date.fromisoformat(day) if day
              else _today() - datetime.timedelta(days=1))
    rows = services.cco_daily_report_compute(day=target)
    services.cco_weights_update(today=_today())
    return rows


@shared_task(acks_late=True, ignore_result=True)
def monthly_flags_task(month: str | None = None) -> int:
    """The flags of `month` (an ISO date in it; default: last month in Asia/Shanghai).
    Returns the flags written."""
    if month:
        target = datetime.date.fromisoformat(month)
    else:
        target = _today().replace(day=1) - datetime.timedelta(days=1)
    return services.monthly_flags_compute(month=target.replace(day=1))


def _refresh(days: list[datetime.date]) -> int:
    return sum(sum(services.rollups_refresh(day=day).values()) for day in days)


@shared_task(acks_late=True, ignore_result=True)
def rollups_refresh_task() -> int:
    """The dashboards' rollups of today and yesterday (Asia/Shanghai): run every few minutes,
    so today's figures lag by that much and late changes to yesterday land. Returns the
    rows written."""
    today = _today()
    return _refresh([today, today - datetime.timedelta(days=1)])


@shared_task(acks_late=True, ignore_result=True)
def rollups_recent_task(days: int = 35) -> int:
    """Nightly: the rollups of the last `days` days before yesterday, where the inquiry funnel
    of a day (what its inquiries became) and late cancellations still change the figures.
    Returns the rows written."""
    today = _today()
    return _refresh([today - datetime.timedelta(days=n) for n in range(2, days + 2)])


@shared_task(acks_late=True, ignore_result=True)
def digest_task(day: str | None = None) -> int:
    """08:00: the managers' digest of `day` (default: yesterday in Asia/Shanghai) through the
    outbox; a second run writes nothing (dedup keys). Returns the messages written."""
    target = (datetime.date.fromisoformat(day) if day
              else _today() - datetime.timedelta(days=1))
    return services.digest_send(day=target)


@shared_task(acks_late=True, ignore_result=True)
def export_run_task(job_id: int) -> bool:
    """Write a background export's file; a job already done (or running) is left alone."""
    return export_jobs.export_run(job_id=job_id)


@shared_task(acks_late=True, ignore_result=True)
def export_jobs_sweep_task() -> int:
    """Every minute: queue again the exports a lost message or a dead worker left behind,
    and delete those finished more than a week ago. Returns the jobs queued again."""
    now = timezone.now()
    export_jobs.export_jobs_expire(now=now)
    return export_jobs.export_jobs_requeue(now=now)
