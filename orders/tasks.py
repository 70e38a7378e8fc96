"""Timed and queued work of the orders app: thin wrappers that take ids."""

from celery import shared_task
from django.utils import timezone

from . import outbox


@shared_task(acks_late=True, ignore_result=True)
def outbox_send_task(message_id: int) -> bool:
    return outbox.outbox_send(message_id=message_id)


@shared_task(acks_late=True, ignore_result=True)
def outbox_sweep_task() -> int:
    """Send what is due: failed attempts whose backoff is over, rows never queued."""
    return sum(outbox.outbox_send(message_id=pk)
               for pk in outbox.outbox_due_ids(now=timezone.now()))
