"""Timed work of the dealers app (settings.CELERY_BEAT_SCHEDULE). The windows, orders and
months live in the database: each task finds what is due, so running twice changes nothing
and a lost run only delays the work until the next."""

import datetime

from celery import shared_task

from . import services
from .models import Statement


@shared_task(acks_late=True, ignore_result=True)
def dealers_sweep_task() -> int:
    return services.assignments_sweep()


@shared_task(acks_late=True, ignore_result=True)
def commissions_sweep_task() -> dict:
    return services.commissions_sweep()


@shared_task(acks_late=True, ignore_result=True)
def statements_issue_task(month: str | None = None) -> int:
    """The previous month's statements (Asia/Shanghai), or those of `month` (YYYY-MM-DD).
    Beat runs it daily, so a 1st the worker missed is caught up; once a month has its
    statements, a run changes nothing."""
    when = (datetime.date.fromisoformat(month) if month else services.previous_month())
    if Statement.objects.filter(month=when.replace(day=1)).exists():
        return 0  # issued (a dealer added since gets its first statement next month)
    return len(services.statements_issue(month=when))


@shared_task(acks_late=True, ignore_result=True)
def dealer_flags_task() -> int:
    return services.dealer_flags_update()
