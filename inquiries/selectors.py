"""Reads of the inquiries app, and the answer to "which inquiries may this user see"."""

import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import user_company_id
from catalog import pricing

from .models import CannedReply, Inquiry, InquiryEvent, Quote

# Answered means the owner wrote to the buyer or quoted; until then the deadline runs.
UNANSWERED_STATUSES = (Inquiry.Status.NEW, Inquiry.Status.ASSIGNED)


def _is_authenticated(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def inquiries_visible_to(user) -> QuerySet[Inquiry]:
    """HQ staff: every inquiry. Subsidiary staff: their subsidiary's (the seller subtree).
    A buyer: its company's. Anyone else: none (guests use their private link)."""
    qs = Inquiry.objects.select_related("seller", "owner", "company", "product__chemical",
                                        "chemical", "delivery_region")
    if not _is_authenticated(user):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.organization_id:
        return qs.filter(seller__in=user.organization.subtree())
    company_id = user_company_id(user)
    if company_id is None:
        return qs.none()
    return qs.filter(company_id=company_id)


def inquiry_for_token(token: str) -> Inquiry | None:
    """The inquiry behind a guest's private link."""
    if not token or len(token) > 64:
        return None
    return (Inquiry.objects.select_related("seller", "product", "chemical")
            .filter(access_token=token).first())


def is_staff_of(user, inquiry: Inquiry) -> bool:
    return bool(_is_authenticated(user) and user.organization_id
                and inquiries_visible_to(user).filter(pk=inquiry.pk).exists())


def inquiry_for_page(*, inquiry_id: int, user) -> Inquiry:
    """An inquiry with its timeline and quotes; staff see every event, buyers the public."""
    events = InquiryEvent.objects.select_related("actor").order_by("created_at", "pk")
    if not (user.is_authenticated and user.organization_id):
        events = events.filter(is_public=True)
    return (inquiries_visible_to(user)
            .prefetch_related(Prefetch("events", queryset=events),
                              Prefetch("quotes", queryset=Quote.objects.select_related(
                                  "product", "created_by").order_by("-version")))
            .get(pk=inquiry_id))


def public_events(inquiry: Inquiry) -> QuerySet[InquiryEvent]:
    return inquiry.events.filter(is_public=True).select_related("actor").order_by(
        "created_at", "pk")


def current_quote(inquiry: Inquiry) -> Quote | None:
    return inquiry.quotes.filter(status=Quote.Status.SENT).select_related("product").first()


def quote_price_floor(*, product, quantity, on_date: datetime.date | None = None):
    """The public list price for this quantity today (None without one): quoting below it
    is allowed, but the quote form warns."""
    try:
        return pricing.price_resolve(product=product, company_id=None, quantity=quantity,
                                     on_date=on_date or timezone.localdate())
    except pricing.NoValidPrice:
        return None


def canned_replies_for(user) -> QuerySet[CannedReply]:
    """The active standard answers of the user's organisation and those above it."""
    if not (_is_authenticated(user) and user.organization_id):
        return CannedReply.objects.none()
    org = user.organization
    orgs = [org.pk] + ([org.parent_id] if org.parent_id else [])
    return CannedReply.objects.filter(organization_id__in=orgs, is_active=True)


# --- Due work for the sweep ---------------------------------------------------------------------


def reminder_due(now: datetime.datetime) -> Q:
    """A reminder is due; not for a deadline already passed (the escalation handles those).
    The sweep's claim UPDATE repeats exactly this condition."""
    return Q(remind_at__lte=now, reminded_at__isnull=True, first_response_at__isnull=True,
             status__in=UNANSWERED_STATUSES, owner__isnull=False, response_due_at__gt=now)


def response_overdue(now: datetime.datetime) -> Q:
    """The response deadline passed unanswered (the escalation locks the rows on it)."""
    return Q(response_due_at__lte=now, first_response_at__isnull=True,
             status__in=UNANSWERED_STATUSES)


def inquiry_ids_to_remind(*, now: datetime.datetime, limit: int = 1000) -> list[int]:
    return list(Inquiry.objects.filter(reminder_due(now)).order_by("remind_at")
                .values_list("pk", flat=True)[:limit])


def inquiry_ids_overdue(*, now: datetime.datetime, limit: int = 1000) -> list[int]:
    return [pk for pk, _seller_id in inquiries_overdue(now=now, limit=limit)]


def inquiries_overdue(*, now: datetime.datetime, limit: int = 1000) -> list[tuple[int, int]]:
    """(id, seller id) of the overdue inquiries, the longest overdue first."""
    return list(Inquiry.objects.filter(response_overdue(now)).order_by("response_due_at")
                .values_list("pk", "seller_id")[:limit])


def inquiries_waiting(*, limit: int = 200) -> list[tuple[int, int]]:
    """(id, seller id) of unanswered inquiries nobody owns (nobody was free when they
    arrived or were escalated), the oldest first."""
    return list(Inquiry.objects.filter(owner__isnull=True, status__in=UNANSWERED_STATUSES,
                                       delegated_at__isnull=True)
                .order_by("received_at").values_list("pk", "seller_id")[:limit])


def quote_ids_expired(*, today: datetime.date, limit: int = 1000) -> list[int]:
    return list(Quote.objects.filter(status=Quote.Status.SENT, valid_until__lt=today)
                .order_by("valid_until").values_list("pk", flat=True)[:limit])


def staff_can_answer(user) -> bool:
    return bool(_is_authenticated(user) and user.organization_id and (
        user.has_role(Role.CCO) or user.has_role(Role.SUBSIDIARY_MANAGER)
        or user.has_role(Role.HQ_MANAGER) or user.is_superuser))

