"""Timed work of the inquiries app: one sweep, every minute (settings.CELERY_BEAT_SCHEDULE).

The deadlines live in the database; the sweep finds what is due, so a lost message or a
stopped worker only delays a reminder or an escalation until the next run."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def inquiries_sweep_task() -> dict:
    return services.inquiries_sweep()
