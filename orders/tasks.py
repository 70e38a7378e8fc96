"""Timed and queued work of the orders app: thin wrappers that take ids."""

from celery import shared_task
from django.utils import timezone

from . import outbox


@shared_task(acks_late=True, ignore_result=True)
def outbox_send_task(message_id: int) -> bool:
    return outbox.outbox_send(message_id=message_id)


@shared_task(acks_late=True, ignore_result=True)
def outbox_send_many_task(message_ids: list[int]) -> int:
    """The messages one change wrote (an order's mails to its buyer and CCOs): one publish
    instead of one per message. Each is claimed and sent on its own."""
    return sum(outbox.outbox_send(message_id=pk) for pk in message_ids)


@shared_task(acks_late=True, ignore_result=True)
def outbox_sweep_task() -> int:
    """Send what is due: failed attempts whose backoff is over, rows never queued."""
    return sum(outbox.outbox_send(message_id=pk)
               for pk in outbox.outbox_due_ids(now=timezone.now()))
