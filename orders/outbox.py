"""The outbox: notifications written in the transaction of the change that causes them.

`outbox_enqueue` / `outbox_enqueue_many` insert rows (idempotent through their dedup keys)
and queue their sends after commit; `outbox_send` claims a due row with a conditional UPDATE,
sends it and records the outcome; a beat task sweeps due rows, so a broker or mail outage
only delays a message.
"""

import datetime
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from chemmall.db import insert_new

from .models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CLAIM_FOR = datetime.timedelta(minutes=5)  # a worker killed mid-send frees the row after this


def retry_delay(attempts: int) -> datetime.timedelta:
    """1, 2, 4 … minutes after each failure, at most six hours."""
    return datetime.timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def outbox_enqueue(*, kind: str, to_email: str, subject: str, body: str,
                   dedup_key: str = "") -> OutboxMessage | None:
    """Write a message to send after commit; None when `dedup_key` was written before."""
    written = outbox_enqueue_many([
        OutboxMessage(kind=kind, to_email=to_email, subject=subject, body=body,
                      dedup_key=dedup_key)])
    return written[0] if written else None


def outbox_enqueue_many(messages: list[OutboxMessage]) -> list[OutboxMessage]:
    """Write unsaved messages in one INSERT and queue their sends after commit; returns
    those written (a message whose `dedup_key` exists is left out, as is one without an
    address)."""
    messages = [m for m in messages if m.to_email]
    for message in messages:
        message.subject = message.subject.strip()[:200]
    if not messages:
        return []
    # One INSERT … ON CONFLICT DO NOTHING: a message whose dedup key exists is skipped.
    written = insert_new(messages, key="dedup_key")
    if written:
        ids = [m.pk for m in written]
        transaction.on_commit(lambda: _queue_sends(ids))
    return written


def notify_message(*, kind: str, context: dict, user=None, to_email: str = "",
                   language: str = "", dedup_key: str = "",
                   template_dir: str = "orders/email") -> OutboxMessage:
    """Render `templates/<template_dir>/<kind>.txt` (+ `_subject.txt`) in the recipient's
    language — a user's, or `language` for an address without an account (a guest) — as
    an unsaved message for `outbox_enqueue_many`."""
    if user is not None:
        to_email, language = user.email, user.language or language
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {"user": user, "site_url": settings.SITE_URL.rstrip("/"), **context}
        subject = render_to_string(f"{template_dir}/{kind}_subject.txt", context)
        body = render_to_string(f"{template_dir}/{kind}.txt", context)
    return OutboxMessage(kind=kind, to_email=to_email, subject=" ".join(subject.split()),
                         body=body, dedup_key=dedup_key)


def notify_user(*, user, kind: str, context: dict, dedup_key: str = "",
                template_dir: str = "orders/email") -> OutboxMessage | None:
    """Render the mail for one user and write it (None if its dedup key was written)."""
    written = outbox_enqueue_many([
        notify_message(user=user, kind=kind, context=context, dedup_key=dedup_key,
                       template_dir=template_dir)])
    return written[0] if written else None


def _queue_send(message_id: int) -> None:
    _queue_sends([message_id])


def _queue_sends(message_ids: list[int]) -> None:
    from .tasks import outbox_send_many_task, outbox_send_task

    try:
        if len(message_ids) == 1:
            outbox_send_task.delay(message_ids[0])
        else:
            outbox_send_many_task.delay(message_ids)  # one publish for the lot
    except Exception:  # broker down: the sweep sends them later; the request goes on
        logger.warning("outbox: could not queue messages %s; the sweep will send them",
                       message_ids, exc_info=True)


def outbox_due_ids(*, now: datetime.datetime, limit: int = 200) -> list[int]:
    return list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING,
                                     next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )


def outbox_send(*, message_id: int) -> bool:
    """Send one due message; True if this call sent it. Only the caller whose UPDATE
    claimed the row sends, so two workers never send the same message twice at once."""
    now = timezone.now()
    claimed = OutboxMessage.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=message_id, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now,
    ).update(claimed_until=now + CLAIM_FOR)
    if not claimed:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        send_mail(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to_email])
    except Exception as exc:  # SMTP refusals, timeouts, DNS: all mean "try again later"
        attempts = message.attempts + 1
        gave_up = attempts >= MAX_ATTEMPTS
        OutboxMessage.objects.filter(pk=message_id).update(
            attempts=attempts, claimed_until=None, last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=timezone.now() + retry_delay(attempts),
            status=OutboxMessage.Status.FAILED if gave_up else OutboxMessage.Status.PENDING,
        )
        log = logger.error if gave_up else logger.warning
        log("outbox: sending message %s failed (attempt %s): %s", message_id, attempts, exc)
        return False
    OutboxMessage.objects.filter(pk=message_id).update(
        status=OutboxMessage.Status.SENT, sent_at=timezone.now(), claimed_until=None,
        attempts=message.attempts + 1, last_error="",
    )
    return True


def outbox_retry(*, message_id: int) -> bool:
    """Staff give a message that was given up on another round of attempts."""
    return bool(OutboxMessage.objects.filter(
        pk=message_id, status=OutboxMessage.Status.FAILED,
    ).update(status=OutboxMessage.Status.PENDING, attempts=0, next_attempt_at=timezone.now()))
