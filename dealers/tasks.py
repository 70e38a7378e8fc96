"""Timed work of the dealers app (settings.CELERY_BEAT_SCHEDULE). The windows, orders and
months live in the database: each task finds what is due, so running twice changes nothing
and a lost run only delays the work until the next."""

import datetime

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def dealers_sweep_task() -> int:
    return services.assignments_sweep()


@shared_task(acks_late=True, ignore_result=True)
def commissions_sweep_task() -> dict:
    return services.commissions_sweep()


@shared_task(acks_late=True, ignore_result=True)
def statements_issue_task(month: str | None = None) -> int:
    """The previous month's statements (Asia/Shanghai), or those of `month` (YYYY-MM-DD)."""
    when = (datetime.date.fromisoformat(month) if month else services.previous_month())
    return len(services.statements_issue(month=when))


@shared_task(acks_late=True, ignore_result=True)
def dealer_flags_task() -> int:
    return services.dealer_flags_update()
