"""Writes of the inquiries app: intake, assignment, messages, quotes, deadlines, closing.

Locking order: the inquiry row, then (routing) the seller's CCO profiles, then quotes.
Every status move goes through `inquiry_move`, which writes the timeline event.
"""

import datetime
import logging
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.calendar import add_working_time
from accounts.models import Company, Organization, Region, Role
from accounts.selectors import calendar_rules, organizations_serving, user_company_id
from accounts.services import company_mark_served
from catalog.models import Chemical, Product, SalesUnit, normalize_cas, validate_cas
from catalog.pricing import MAX_QUANTITY, price_table
from chemmall.db import Prepared, insert, update_fields
from chemmall.errors import ConflictError, DomainError
from chemmall.uploads import document_problem
from orders.outbox import notify_message, outbox_enqueue_many
from orders.services import order_place_at_price

from . import bulk, routing, selectors
from .models import Channel, Incoterm, Inquiry, InquiryEvent, LostReason, Quote, ResponseMiss
from .selectors import UNANSWERED_STATUSES, inquiries_visible_to, staff_can_answer

logger = logging.getLogger(__name__)

REMIND_AT_SHARE = 0.75  # the reminder comes when 75 % of the working time is gone
MAX_MESSAGE_LENGTH = 5000
MAIL_DIR = "inquiries/email"
Kind = InquiryEvent.Kind


class QuoteNotAcceptable(ConflictError):
    default_code = "quote_not_acceptable"


# --- Status machine -----------------------------------------------------------------------------


def inquiry_move(*, inquiry: Inquiry, to: str, actor=None, note: str = "",
                 public: bool = True, events: list | None = None) -> Inquiry:
    """Move a locked inquiry to `to` if MOVES allows it; one event per real move.
    `events`: append the event there and leave saving to the caller, who writes the
    inquiry's fields and the events of the same step together (the intake)."""
    to = Inquiry.Status(to)
    if inquiry.status == to and not inquiry.can_move(to):
        return inquiry
    if not inquiry.can_move(to):
        raise ConflictError(
            _("Inquiry %(number)s cannot go from “%(from)s” to “%(to)s”.")
            % {"number": inquiry.number, "from": inquiry.get_status_display(),
               "to": to.label}, code="bad_move")
    if inquiry.status != to:
        event = InquiryEvent(inquiry=inquiry, kind=Kind.STATUS, actor=actor, body=note,
                             from_status=inquiry.status, to_status=to, is_public=public)
        if events is None:
            event.save()
        else:
            events.append(event)
    inquiry.status = to
    if to in (Inquiry.Status.WON, Inquiry.Status.LOST):
        inquiry.closed_at = timezone.now()
    if events is None:
        inquiry.save(update_fields=["status", "closed_at"])
    return inquiry


def _locked(inquiry_id: int, actor=None, *, staff: bool = False) -> Inquiry:
    """The inquiry row, locked; DoesNotExist for whoever may not see it."""
    if actor is not None and not inquiries_visible_to(actor).filter(pk=inquiry_id).exists():
        raise Inquiry.DoesNotExist
    if staff and not staff_can_answer(actor):
        raise ConflictError(_("Only the seller's CCOs and managers can do this."),
                            code="forbidden")
    return Inquiry.objects.select_for_update(of=("self",)).select_related(
        "seller", "product", "owner").get(pk=inquiry_id)


# --- Intake -------------------------------------------------------------------------------------


def _decimal(value, *, field: str, message: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(message, field=field) from None
    if not number.is_finite():
        raise DomainError(message, field=field)
    return number


def _check_quantity(raw) -> Decimal:
    quantity = _decimal(raw, field="quantity", message=_("Enter the quantity as a number."))
    if quantity is None:
        raise DomainError(_("Enter the quantity you need."), field="quantity")
    if quantity <= 0:
        raise DomainError(_("The quantity must be more than zero."), field="quantity")
    if quantity > MAX_QUANTITY:
        raise DomainError(_("The quantity is too large."), field="quantity")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise DomainError(_("Quantities have at most three decimals."), field="quantity")
    return quantity


def _guest_rate_limited(client_ip: str | None) -> bool:
    if not client_ip:
        return False
    since = timezone.now() - datetime.timedelta(hours=1)
    recent = Inquiry.objects.filter(client_ip=client_ip, buyer__isnull=True,
                                    logged_by__isnull=True, received_at__gte=since).count()
    return recent >= settings.GUEST_INQUIRIES_PER_HOUR


# The reads of every intake, compiled once (chemmall.db.Prepared; benchmarks/README.md).
_product_for_intake = Prepared(lambda product_id: Product.objects.select_related(
    "seller__calendar", "chemical").defer("search_document", "search_vector")
    .filter(pk=product_id, is_active=True, seller__is_active=True)[:1])
_region = Prepared(lambda code: Region.objects.filter(pk=code).select_related("parent")
                   .order_by()[:1])
_company_of_member = Prepared(lambda user_id: Company.objects.filter(memberships__user_id=user_id)
                              .order_by()[:1])


@transaction.atomic
def inquiry_submit(*, quantity, buyer=None, product_id: int | None = None,
                   requested_name: str = "", requested_cas: str = "", unit: str = "",
                   target_price=None, delivery_region_code: str | None = None,
                   needed_by: datetime.date | None = None, message: str = "",
                   wants_local_service: bool = False, channel: str = Channel.WEB,
                   contact_name: str = "", contact_company: str = "",
                   contact_email: str = "", contact_phone: str = "",
                   client_ip: str | None = None, logged_by=None,
                   company_id: int | None = None) -> Inquiry:
    """Take an inquiry from a buyer, a guest or a CCO logging a call, and route it at once:
    it leaves here with a seller, an owner (when anyone is free) and a response deadline."""
    buyer = buyer if (buyer is not None and buyer.is_authenticated) else None
    if logged_by is not None:
        if not staff_can_answer(logged_by):
            raise ConflictError(_("Only CCOs and managers log inquiries."), code="forbidden")
        if channel == Channel.WEB:
            raise DomainError(_("Say how the inquiry came in (phone, WeChat, fair …)."),
                              field="channel")
    if channel not in Channel.values:
        raise DomainError(_("Choose the channel."), field="channel")
    product = chemical = None
    requested_name = (requested_name or "").strip()[:200]
    requested_cas = (requested_cas or "").strip()
    if product_id not in (None, ""):
        try:
            product = _product_for_intake.first(product_id=int(product_id))
        except (TypeError, ValueError, OverflowError):
            product = None
        if product is None:
            raise DomainError(_("This product is not available."), field="product_id")
        chemical = product.chemical
    else:
        if requested_cas:
            normalized = normalize_cas(requested_cas)
            try:
                validate_cas(normalized)
            except Exception:  # ValidationError: one clear message
                raise DomainError(
                    _("Enter a valid CAS registry number: 2–7 digits, 2 digits and a check "
                      "digit, separated by dashes, e.g. 7664-93-9."), field="requested_cas"
                ) from None
            requested_cas = normalized
            chemical = Chemical.objects.filter(cas=requested_cas).first()
        if not requested_name and not requested_cas:
            raise DomainError(_("Name the chemical or give its CAS number."),
                              field="requested_name")
    quantity = _check_quantity(quantity)
    unit = product.sales_unit if product is not None else (unit or SalesUnit.KG)
    if unit not in SalesUnit.values:
        raise DomainError(_("Choose the unit."), field="unit")
    target_price = _decimal(target_price, field="target_price",
                            message=_("Enter the target price as a number."))
    if target_price is not None and (target_price <= 0 or target_price > Decimal("1e11")):
        raise DomainError(_("The target price must be a positive amount."), field="target_price")
    if target_price is not None:
        target_price = target_price.quantize(Decimal("0.01"))
    region = None
    if delivery_region_code:
        region = _region.first(code=str(delivery_region_code))
        if region is None:
            raise DomainError(_("Choose the delivery province or city."),
                              field="delivery_region")
    if needed_by is not None and needed_by < timezone.localdate():
        raise DomainError(_("The needed-by date cannot be in the past."), field="needed_by")
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE_LENGTH:
        raise DomainError(_("The message is longer than 5,000 characters."), field="message")

    company = None
    if buyer is not None and logged_by is None:
        company = _company_of_member.first(user_id=buyer.pk)
    elif company_id is not None:
        company = Company.objects.filter(pk=company_id).first()
    if buyer is None:
        contact_name = (contact_name or "").strip()[:100]
        contact_email = (contact_email or "").strip()[:254]
        contact_phone = (contact_phone or "").strip()[:32]
        if not contact_name:
            raise DomainError(_("Tell us your name."), field="contact_name")
        if not contact_email and not contact_phone:
            raise DomainError(_("Give an email address or a phone number so that we can "
                                "answer."), field="contact_email")
        if logged_by is None and _guest_rate_limited(client_ip):
            raise DomainError(_("Too many inquiries from your network in the last hour; "
                                "please try again later or call us."), code="rate_limited")

    is_unlisted = product is None and not Product.objects.filter(
        is_active=True, chemical__cas=requested_cas or "-").exists()
    (inquiry,) = insert([Inquiry(
        number=f"tmp-{uuid.uuid4().hex[:20]}", channel=channel, product=product,
        chemical=chemical, requested_name=requested_name, requested_cas=requested_cas,
        is_unlisted=is_unlisted, quantity=quantity, unit=unit, target_price=target_price,
        delivery_region=region, needed_by=needed_by, message=message, company=company,
        wants_local_service=bool(wants_local_service),
        buyer=buyer if logged_by is None else None,
        contact_name=contact_name if buyer is None else "",
        contact_company=(contact_company or "").strip()[:200] if buyer is None else "",
        contact_email=contact_email if buyer is None else "",
        contact_phone=contact_phone if buyer is None else "",
        client_ip=client_ip if logged_by is None else None, logged_by=logged_by,
        # Routing below decides the seller, in this transaction; this is its first guess.
        seller=product.seller if product is not None else routing.hq_pool(),
    )])
    inquiry.number = f"RFQ{timezone.localdate(inquiry.received_at):%Y%m%d}{inquiry.pk:06d}"
    received = InquiryEvent(inquiry=inquiry, kind=Kind.RECEIVED, actor=logged_by or buyer,
                            is_public=True, body=message, to_status=Inquiry.Status.NEW)
    if inquiry_assign(inquiry=inquiry, also_save=["number"], also_events=[received]).done:
        inquiry.save(update_fields=["number"])
        received.save()
    if buyer is None and contact_email and logged_by is None:
        outbox_enqueue_many([notify_message(
            to_email=contact_email, kind="inquiry_received_guest", context={"inquiry": inquiry},
            dedup_key=f"inquiry:{inquiry.pk}:received", template_dir=MAIL_DIR)])
    return inquiry


# --- Assignment ---------------------------------------------------------------------------------


def _deadlines(inquiry: Inquiry, *, start: datetime.datetime, rules=None) -> tuple:
    """(reminder, deadline): the seller's service level in working hours from `start` on
    its calendar (`rules`: its calendar_rules, when the caller has them), and 75 % of it."""
    org = inquiry.seller
    rules = rules or calendar_rules(org.calendar)
    hours = datetime.timedelta(hours=org.service_level_hours)
    return (add_working_time(rules, start=start, duration=hours * REMIND_AT_SHARE),
            add_working_time(rules, start=start, duration=hours))


def response_deadlines(inquiry: Inquiry, *, start: datetime.datetime) -> tuple:
    """(reminder, deadline) of an answer owed from `start` on (another app's owner: a dealer
    who accepted an inquiry owes the buyer an answer within the same service level)."""
    return _deadlines(inquiry, start=start)


def inquiry_assign(*, inquiry: Inquiry, exclude_user_ids=(), keep_seller: bool = False,
                   actor=None, restart_clock: bool = False, only_with_owner: bool = False,
                   now: datetime.datetime | None = None, also_save=(),
                   also_events=()) -> routing.Decision:
    """Route a (locked or new) inquiry and store the decision, its reason and deadline
    (`only_with_owner`: store nothing when nobody can take it). `also_save`, `also_events`:
    fields the caller changed and its unsaved events, written with the decision's (the
    intake); when a routing step takes the inquiry over (`done`), the caller writes them.

    Routing locks the seller's CCO profiles until the transaction ends, and every intake of
    that seller queues there: what can be done before it (the deadline and the customer
    link, when the seller is settled already) is, and the writes after it are few."""
    now = now or timezone.now()
    clock_starts = None
    if restart_clock or inquiry.response_due_at is None:
        clock_starts = now if restart_clock else inquiry.received_at
    settled = keep_seller or inquiry.product_id  # the seller cannot change in routing
    seller_id, deadlines, served = inquiry.seller_id, None, None
    if settled and clock_starts is not None:
        deadlines = _deadlines(inquiry, start=clock_starts)
    if settled and inquiry.company_id and not keep_seller:
        served = _mark_served(inquiry)
    decision = routing.route(inquiry, exclude_user_ids=exclude_user_ids, keep_seller=keep_seller)
    if decision.done:  # a step (dealers) took it over entirely and stored what it needs
        if decision.reasons:  # it decided now: the seller, holder and reason, on the timeline
            inquiry.seller, inquiry.owner = decision.seller, decision.owner
            inquiry.routing_reason = " ".join(decision.reasons)
            inquiry.remind_at = inquiry.response_due_at = None  # the step's own window runs
            if decision.delegated:
                inquiry.delegated_at = now
            inquiry.save(update_fields=["seller", "owner", "routing_reason", "remind_at",
                                        "response_due_at", "delegated_at"])
            InquiryEvent.objects.create(inquiry=inquiry, kind=Kind.ROUTED, actor=actor,
                                        body=inquiry.routing_reason)
        return decision
    if decision.owner is None and only_with_owner:
        return decision
    inquiry.seller = decision.seller
    if inquiry.company_id and not keep_seller and inquiry.seller_id != served:
        _mark_served(inquiry)
    inquiry.owner = decision.owner
    inquiry.routing_reason = " ".join(decision.reasons)
    fields = ["seller", "owner", "routing_reason", "assigned_at", "remind_at",
              "response_due_at", "reminded_at", *also_save]
    events = [*also_events, InquiryEvent(inquiry=inquiry, kind=Kind.ROUTED, actor=actor,
                                         body=inquiry.routing_reason)]
    if decision.owner is not None:
        inquiry.assigned_at = now
        if clock_starts is not None:
            if deadlines is None or inquiry.seller_id != seller_id:
                deadlines = _deadlines(inquiry, start=clock_starts)
            inquiry.remind_at, inquiry.response_due_at = deadlines
            inquiry.reminded_at = None
        events.append(InquiryEvent(inquiry=inquiry, kind=Kind.ASSIGNED, actor=actor,
                                   body=decision.owner.get_full_name()))
        if inquiry.status == Inquiry.Status.NEW:
            inquiry_move(inquiry=inquiry, to=Inquiry.Status.ASSIGNED, actor=actor, public=False,
                         events=events)
            fields += ["status", "closed_at"]
    update_fields(inquiry, fields)  # save(update_fields=…), without the ORM's compile
    insert(events)
    if decision.owner is not None:
        _notify(decision.owner, "inquiry_assigned", inquiry,
                dedup=f"inquiry:{inquiry.pk}:assigned:{decision.owner.pk}:{now.timestamp()}")
    return decision


def _mark_served(inquiry: Inquiry) -> int:
    """The seller's staff may now see the customer (customer 360). One look-up when it is
    served already, as most are (the orders' checkout does the same)."""
    link = {"company_id": inquiry.company_id, "organization_id": inquiry.seller_id}
    if not organizations_serving(company_id=inquiry.company_id,
                                 organization_ids=[inquiry.seller_id]):
        company_mark_served(**link)
    return inquiry.seller_id


@transaction.atomic
def inquiry_reassign(*, inquiry_id: int, actor, to_user_id: int, note: str = "") -> Inquiry:
    """Hand an inquiry to a colleague of the same subsidiary; the deadline keeps running."""
    inquiry = _locked(inquiry_id, actor, staff=True)
    if not inquiry.is_open:
        raise ConflictError(_("This inquiry is closed."), code="closed")
    from accounts.models import User

    target = (User.objects.filter(pk=to_user_id, is_active=True,
                                  organization__in=inquiry.seller.subtree())
              .filter(groups__name__in=[Role.CCO, Role.SUBSIDIARY_MANAGER]).first())
    if target is None:
        raise DomainError(_("Choose a CCO or manager of %(seller)s.")
                          % {"seller": inquiry.seller.name}, field="owner")
    if target.pk == inquiry.owner_id:
        return inquiry
    inquiry.owner = target
    inquiry.assigned_at = timezone.now()
    if inquiry.response_due_at is None and inquiry.first_response_at is None:
        inquiry.remind_at, inquiry.response_due_at = _deadlines(inquiry, start=timezone.now())
    inquiry.save(update_fields=["owner", "assigned_at", "remind_at", "response_due_at"])
    body = _("Reassigned to %(name)s by %(actor)s.") % {
        "name": target.get_full_name(), "actor": actor.get_full_name()}
    if note:
        body = f"{body} {note.strip()[:500]}"
    InquiryEvent.objects.create(inquiry=inquiry, kind=Kind.ASSIGNED, actor=actor, body=body)
    if inquiry.status == Inquiry.Status.NEW:
        inquiry_move(inquiry=inquiry, to=Inquiry.Status.ASSIGNED, actor=actor, public=False)
    _notify(target, "inquiry_assigned", inquiry,
            dedup=f"inquiry:{inquiry.pk}:assigned:{target.pk}:{inquiry.assigned_at.timestamp()}")
    return inquiry


# --- Messages -----------------------------------------------------------------------------------


def _check_attachment(attachment) -> None:
    if attachment is None:
        return
    problem = document_problem(attachment)
    if problem:
        raise DomainError(problem, field="attachment")


def _mark_answered(inquiry: Inquiry, actor) -> None:
    """The first message or quote of the seller's staff answers the inquiry in time or not;
    either way its deadline stops."""
    if inquiry.first_response_at is None and actor is not None and actor.organization_id:
        inquiry.first_response_at = timezone.now()
        inquiry.save(update_fields=["first_response_at"])


@transaction.atomic
def inquiry_message_post(*, inquiry_id: int, body: str, actor=None, token: str = "",
                         attachment=None, internal: bool = False,
                         authorized: bool = False) -> InquiryEvent:
    """A message on the inquiry: staff → buyer (or an internal note), buyer or guest (by
    the private link) → seller. `authorized`: the caller (the dealers app, for the dealer
    who accepted the inquiry) checked that `actor` answers it on the seller's side."""
    if authorized:
        inquiry = Inquiry.objects.select_for_update(of=("self",)).select_related(
            "seller", "product", "owner").get(pk=inquiry_id)
        is_staff = True
    elif actor is not None and actor.is_authenticated:
        inquiry = _locked(inquiry_id, actor)
        is_staff = bool(actor.organization_id)
    else:
        actor = None
        inquiry = Inquiry.objects.select_for_update().filter(pk=inquiry_id,
                                                             access_token=token or "-").first()
        if inquiry is None:
            raise Inquiry.DoesNotExist
        is_staff = False
    body = (body or "").strip()
    if not body:
        raise DomainError(_("Write a message."), field="body")
    if len(body) > MAX_MESSAGE_LENGTH:
        raise DomainError(_("The message is longer than 5,000 characters."), field="body")
    if internal and (authorized or not is_staff):
        raise DomainError(_("Only staff write internal notes."), field="internal")
    if is_staff and not authorized and not staff_can_answer(actor):
        raise ConflictError(_("Only the seller's CCOs and managers can do this."),
                            code="forbidden")
    _check_attachment(attachment)
    kind = Kind.NOTE if internal else (Kind.MESSAGE_OUT if is_staff else Kind.MESSAGE_IN)
    event = InquiryEvent(inquiry=inquiry, kind=kind, actor=actor, body=body,
                         is_public=not internal)
    if attachment is not None:
        import secrets

        extension = attachment.name.rsplit(".", 1)[-1].lower()[:5] if "." in attachment.name else ""
        attachment.name = f"attachment-{secrets.token_hex(6)}.{extension or 'bin'}"
        event.attachment = attachment
    event.save()
    if kind == Kind.MESSAGE_OUT:
        _mark_answered(inquiry, actor)
        _notify_buyer(inquiry, "inquiry_message", dedup=f"inquiry:{inquiry.pk}:msg:{event.pk}",
                      extra={"message": body})
    elif kind == Kind.MESSAGE_IN and inquiry.owner_id:
        _notify(inquiry.owner, "inquiry_buyer_message", inquiry,
                dedup=f"inquiry:{inquiry.pk}:msg:{event.pk}", extra={"message": body})
    return event


@transaction.atomic
def inquiry_claim(*, token: str, user) -> Inquiry:
    """A guest who registered attaches the inquiry of their private link to their company,
    so that they can accept its quote."""
    company_id = user_company_id(user)
    if company_id is None:
        raise DomainError(_("Register your company first, then open the link again."),
                          code="no_company")
    inquiry = Inquiry.objects.select_for_update().filter(access_token=token or "-").first()
    if inquiry is None:
        raise Inquiry.DoesNotExist
    if inquiry.company_id == company_id:
        return inquiry
    if inquiry.company_id is not None:
        raise Inquiry.DoesNotExist  # another company's: as if it did not exist
    inquiry.company_id, inquiry.buyer = company_id, user
    inquiry.save(update_fields=["company", "buyer"])
    InquiryEvent.objects.create(inquiry=inquiry, kind=Kind.NOTE, actor=user,
                                body=_("Linked to the buyer's company account."))
    return inquiry


# --- Quotes -------------------------------------------------------------------------------------


def _quote_valid_until_limit(product, quantity) -> datetime.date | None:
    """A quote may not outlive the price list in force for the product (price cycles)."""
    tiers = price_table(product_id=product.pk, company_id=None, on_date=timezone.localdate())
    return tiers[0].price_list.valid_until if tiers else None


FIELDS_COMPARED = [("unit_price", _("unit price")), ("quantity", _("quantity")),
                   ("valid_until", _("valid until")), ("lead_time_days", _("lead time")),
                   ("incoterm", _("Incoterm")), ("payment_terms", _("payment terms")),
                   ("product_id", _("product"))]


def _shown(quote: Quote, name: str) -> str:
    """A compared field as the buyer reads it: 500 kg, not 500.000 (stored) or 5E+2."""
    value = getattr(quote, name)
    if name == "quantity":
        return format(Decimal(value).normalize(), "f")
    if name == "product_id":
        return quote.product.display_name
    return str(value)


@transaction.atomic
def quote_send(*, inquiry_id: int, actor, product_id: int, quantity, unit_price,
               valid_until: datetime.date, lead_time_days: int, incoterm: str,
               payment_terms: str, tax_inclusive: bool = True, note: str = "",
               expected_version: int | None = None, authorized: bool = False) -> Quote:
    """Send the first quote or a revision (a new version; the previous one is superseded).
    `expected_version` is the version the quoting CCO saw: if a colleague quoted meanwhile,
    this one is refused instead of silently replacing theirs. `authorized`: the caller (the
    dealers app, for the dealer an inquiry was handed to) checked that `actor` may quote."""
    inquiry = _locked(inquiry_id, None if authorized else actor, staff=not authorized)
    if not inquiry.is_open:
        raise ConflictError(_("This inquiry is closed."), code="closed")
    latest = inquiry.quotes.aggregate(v=Max("version"))["v"] or 0
    if expected_version is not None and int(expected_version) != latest:
        raise ConflictError(
            _("A colleague sent version %(version)s of this quote meanwhile; read it before "
              "revising.") % {"version": latest}, code="stale_quote")
    product = Product.objects.filter(pk=product_id, is_active=True,
                                     seller__in=inquiry.seller.subtree()).first()
    if product is None:
        raise DomainError(_("Choose an active product of %(seller)s.")
                          % {"seller": inquiry.seller.name}, field="product")
    quantity = _check_quantity(quantity)
    unit_price = _decimal(unit_price, field="unit_price",
                          message=_("Enter the unit price as a number."))
    if unit_price is None or unit_price <= 0 or unit_price > Decimal("1e11"):
        raise DomainError(_("The unit price must be a positive amount."), field="unit_price")
    unit_price = unit_price.quantize(Decimal("0.01"))
    today = timezone.localdate()
    if valid_until is None or valid_until < today:
        raise DomainError(_("The quote must be valid at least until today."),
                          field="valid_until")
    limit = _quote_valid_until_limit(product, quantity)
    if limit is not None and valid_until > limit:
        raise DomainError(
            _("The price list in force ends on %(date)s: the quote cannot be valid longer.")
            % {"date": limit.isoformat()}, field="valid_until")
    try:
        lead_time_days = int(lead_time_days)
    except (TypeError, ValueError):
        raise DomainError(_("Enter the lead time in days."), field="lead_time_days") from None
    if not 0 <= lead_time_days <= 365:
        raise DomainError(_("The lead time is 0 to 365 days."), field="lead_time_days")
    if incoterm not in Incoterm.values:
        raise DomainError(_("Choose an Incoterm."), field="incoterm")
    payment_terms = (payment_terms or "").strip()
    if not payment_terms:
        raise DomainError(_("State the payment terms."), field="payment_terms")

    if inquiry.status == Inquiry.Status.NEW:  # nobody was free: whoever quotes takes it
        inquiry.owner, inquiry.assigned_at = actor, timezone.now()
        inquiry.save(update_fields=["owner", "assigned_at"])
        InquiryEvent.objects.create(inquiry=inquiry, kind=Kind.ASSIGNED, actor=actor,
                                    body=actor.get_full_name())
        inquiry_move(inquiry=inquiry, to=Inquiry.Status.ASSIGNED, actor=actor, public=False)
    previous = inquiry.quotes.filter(status=Quote.Status.SENT).first()
    if previous is not None:
        previous.status = Quote.Status.SUPERSEDED
        previous.save(update_fields=["status"])
    quote = Quote.objects.create(
        inquiry=inquiry, version=latest + 1, product=product, quantity=quantity,
        unit=product.sales_unit, unit_price=unit_price, tax_inclusive=bool(tax_inclusive),
        valid_until=valid_until, lead_time_days=lead_time_days, incoterm=incoterm,
        payment_terms=payment_terms[:200], note=(note or "").strip()[:MAX_MESSAGE_LENGTH],
        created_by=actor)
    if previous is not None:
        changes = [f"{label}: {_shown(previous, name)} → {_shown(quote, name)}"
                   for name, label in FIELDS_COMPARED
                   if getattr(previous, name) != getattr(quote, name)]
        body = _("Version %(version)s. Changed: %(changes)s.") % {
            "version": quote.version, "changes": "; ".join(changes) or _("nothing")}
        kind = Kind.QUOTE_REVISED
    else:
        body = _("Version 1: %(price)s CNY per %(unit)s for %(quantity)s %(unit)s, valid "
                 "until %(date)s.") % {"price": unit_price, "unit": quote.unit,
                                       "quantity": format(quantity.normalize(), "f"),
                                       "date": valid_until.isoformat()}
        kind = Kind.QUOTED
    InquiryEvent.objects.create(inquiry=inquiry, kind=kind, actor=actor, body=body,
                                is_public=True)
    _mark_answered(inquiry, actor)
    inquiry_move(inquiry=inquiry, to=Inquiry.Status.QUOTED, actor=actor)
    _notify_buyer(inquiry, "quote_sent", dedup=f"quote:{quote.pk}:sent",
                  extra={"quote": quote})
    return quote


def _quote_locked(quote_id: int, actor=None, *, token: str = "") -> Quote:
    """The quote and its inquiry (`quote.inquiry`), both locked — the inquiry first, as
    every writer of an inquiry's quotes locks them (quote_send, close as lost, the expiry),
    so that a buyer accepting while the CCO revises never deadlocks. DoesNotExist for whoever
    may not see it: `actor` by the visibility rules, a guest by the private link's token."""
    inquiry_id = Quote.objects.filter(pk=quote_id).values_list("inquiry_id", flat=True).first()
    if inquiry_id is None:
        raise Quote.DoesNotExist
    inquiries = Inquiry.objects.filter(pk=inquiry_id)
    if actor is not None:
        if not inquiries_visible_to(actor).filter(pk=inquiry_id).exists():
            raise Quote.DoesNotExist
    else:
        inquiries = inquiries.filter(access_token=token or "-")
    inquiry = inquiries.select_for_update().first()
    if inquiry is None:
        raise Quote.DoesNotExist
    quote = Quote.objects.select_for_update().select_related("product").get(pk=quote_id)
    quote.inquiry = inquiry
    return quote


@transaction.atomic
def quote_accept(*, quote_id: int, buyer, fulfilment: str, payment_method: str,
                 address_id=None, depot_id=None, carrier_id=None, po_number: str = ""):
    """The buyer accepts the current version: an order at the quoted price. Accepting again
    returns the same order."""
    quote = _quote_locked(quote_id, buyer)
    if buyer.organization_id or user_company_id(buyer) != quote.inquiry.company_id:
        raise Quote.DoesNotExist  # only the buyer company accepts
    if quote.status == Quote.Status.ACCEPTED:
        return quote.order
    if quote.status != Quote.Status.SENT:
        raise QuoteNotAcceptable(
            _("Version %(version)s is %(status)s and cannot be accepted; see the current "
              "quote.") % {"version": quote.version, "status": quote.get_status_display()})
    if quote.valid_until < timezone.localdate():
        raise QuoteNotAcceptable(_("This quote expired on %(date)s; ask for a new one.")
                                 % {"date": quote.valid_until.isoformat()})
    inquiry = quote.inquiry
    order = order_place_at_price(
        user=buyer, product_id=quote.product_id, quantity=quote.quantity,
        unit_price=quote.unit_price, tax_inclusive=quote.tax_inclusive, fulfilment=fulfilment,
        payment_method=payment_method, address_id=address_id, depot_id=depot_id,
        carrier_id=carrier_id, po_number=po_number,
        placed_note=_("From quote %(number)s v%(version)s.") % {
            "number": inquiry.number, "version": quote.version})
    quote.status, quote.decided_at, quote.order = Quote.Status.ACCEPTED, timezone.now(), order
    quote.save(update_fields=["status", "decided_at", "order"])
    InquiryEvent.objects.create(
        inquiry=inquiry, kind=Kind.QUOTE_ACCEPTED, actor=buyer, is_public=True,
        body=_("Version %(version)s accepted: order %(order)s.") % {
            "version": quote.version, "order": order.number})
    inquiry.order = order
    inquiry.save(update_fields=["order"])
    inquiry_move(inquiry=inquiry, to=Inquiry.Status.WON, actor=buyer)
    if inquiry.owner_id:
        _notify(inquiry.owner, "quote_accepted", inquiry, dedup=f"quote:{quote.pk}:accepted",
                extra={"quote": quote, "order": order})
    return order


@transaction.atomic
def quote_decline(*, quote_id: int, buyer=None, token: str = "", reason: str = "") -> Quote:
    if buyer is not None and buyer.is_authenticated:
        quote = _quote_locked(quote_id, buyer)
        if buyer.organization_id:
            raise Quote.DoesNotExist
    else:
        buyer = None
        quote = _quote_locked(quote_id, token=token)
    if quote.status == Quote.Status.DECLINED:
        return quote
    if quote.status != Quote.Status.SENT:
        raise QuoteNotAcceptable(_("Only the current quote can be declined."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Tell the seller why, so that they can do better."), field="reason")
    quote.status, quote.decided_at = Quote.Status.DECLINED, timezone.now()
    quote.decline_reason = reason[:MAX_MESSAGE_LENGTH]
    quote.save(update_fields=["status", "decided_at", "decline_reason"])
    inquiry = quote.inquiry
    InquiryEvent.objects.create(inquiry=inquiry, kind=Kind.QUOTE_DECLINED, actor=buyer,
                                is_public=True, body=quote.decline_reason)
    inquiry_move(inquiry=inquiry, to=Inquiry.Status.ASSIGNED, actor=buyer)
    if inquiry.owner_id:
        _notify(inquiry.owner, "quote_declined", inquiry, dedup=f"quote:{quote.pk}:declined",
                extra={"quote": quote})
    return quote


def quote_expire(*, quote_id: int, now: datetime.datetime | None = None) -> bool:
    """The sweep: a sent quote past its validity expires (once). The inquiry is locked
    before the quote is claimed, in the order quote_send locks them."""
    now = now or timezone.now()
    due = {"pk": quote_id, "status": Quote.Status.SENT,
           "valid_until__lt": timezone.localdate(now)}
    with transaction.atomic():
        inquiry_id = Quote.objects.filter(**due).values_list("inquiry_id", flat=True).first()
        if inquiry_id is None:
            return False
        inquiry = Inquiry.objects.select_for_update().get(pk=inquiry_id)
        claimed = Quote.objects.filter(**due).update(status=Quote.Status.EXPIRED,
                                                     decided_at=now)
        if not claimed:
            return False  # accepted, revised or expired by another worker meanwhile
        quote = Quote.objects.get(pk=quote_id)
        InquiryEvent.objects.create(
            inquiry=inquiry, kind=Kind.QUOTE_EXPIRED, is_public=True,
            body=_("Version %(version)s expired on %(date)s.") % {
                "version": quote.version, "date": quote.valid_until.isoformat()})
        if inquiry.status == Inquiry.Status.QUOTED:
            inquiry_move(inquiry=inquiry, to=Inquiry.Status.ASSIGNED)
        if inquiry.owner_id:
            _notify(inquiry.owner, "quote_expired", inquiry, dedup=f"quote:{quote.pk}:expired",
                    extra={"quote": quote})
    return True


# --- Closing ------------------------------------------------------------------------------------


@transaction.atomic
def inquiry_close_lost(*, inquiry_id: int, actor, reason: str, note: str = "") -> Inquiry:
    inquiry = _locked(inquiry_id, actor, staff=True)
    if inquiry.status == Inquiry.Status.LOST:
        return inquiry
    if reason not in LostReason.values:
        raise DomainError(_("Choose why the inquiry is lost."), field="reason")
    note = (note or "").strip()
    if reason == LostReason.OTHER and not note:
        raise DomainError(_("Say what the other reason is."), field="note")
    Quote.objects.filter(inquiry=inquiry, status=Quote.Status.SENT).update(
        status=Quote.Status.WITHDRAWN, decided_at=timezone.now())
    inquiry.lost_reason, inquiry.lost_note = reason, note[:MAX_MESSAGE_LENGTH]
    inquiry.save(update_fields=["lost_reason", "lost_note"])
    return inquiry_move(inquiry=inquiry, to=Inquiry.Status.LOST, actor=actor, public=False,
                        note=f"{LostReason(reason).label}{': ' + note if note else ''}")


# --- The deadline sweep -------------------------------------------------------------------------


def inquiry_remind(*, inquiry_id: int, now: datetime.datetime | None = None) -> bool:
    """At 75 % of the response time the owner is reminded, once. Not when the deadline has
    passed already (a worker was stopped): the escalation tells the owner instead."""
    return inquiries_remind(inquiry_ids=[inquiry_id], now=now or timezone.now()) == 1


@transaction.atomic
def inquiries_remind(*, inquiry_ids: list[int], now: datetime.datetime) -> int:
    """Remind the owners of these inquiries whose reminder is due: one conditional UPDATE
    claims them (the condition of `selectors.reminder_due`, read again by the database, so
    of two sweepers only one reminds), one INSERT writes the events, one the mails."""
    claimed = bulk.update_returning(
        Inquiry.objects.filter(selectors.reminder_due(now), pk__in=inquiry_ids),
        reminded_at=now)
    if not claimed:
        return 0
    inquiries = list(Inquiry.objects.select_related("owner", "seller", "product__chemical")
                     .filter(pk__in=claimed).order_by("remind_at", "pk"))
    InquiryEvent.objects.bulk_create([InquiryEvent(
        inquiry=inquiry, kind=Kind.REMINDER,
        body=_("Answer due at %(due)s.") % {
            "due": timezone.localtime(inquiry.response_due_at).strftime("%Y-%m-%d %H:%M")})
        for inquiry in inquiries])
    outbox_enqueue_many([m for m in (
        _notice(inquiry.owner, "inquiry_reminder", inquiry,
                dedup=f"inquiry:{inquiry.pk}:remind:{inquiry.response_due_at.timestamp()}")
        for inquiry in inquiries) if m is not None])
    return len(claimed)


def inquiry_escalate(*, inquiry_id: int, now: datetime.datetime | None = None) -> bool:
    """The deadline passed unanswered: record the miss, reassign (first miss) or hand it to
    the subsidiary manager (second), tell the managers. Exactly once per deadline: the row
    is locked and the condition read again, so a second sweeper finds nothing to do.
    The sweep escalates in batches (`inquiries_escalate`, the same outcome); it comes here
    when another app's routing step is configured, which only the full routing runs."""
    now = now or timezone.now()
    with transaction.atomic():
        inquiry = (Inquiry.objects.select_for_update(of=("self",))
                   .select_related("seller__calendar", "owner", "product__chemical")
                   .filter(pk=inquiry_id, response_due_at__lte=now,
                           first_response_at__isnull=True, status__in=UNANSWERED_STATUSES)
                   .first())
        if inquiry is None:
            return False
        missed_by, due = inquiry.owner, inquiry.response_due_at
        if missed_by is not None:  # once per deadline: a second one is not written
            ResponseMiss.objects.bulk_create(
                [ResponseMiss(inquiry=inquiry, owner=missed_by, due_at=due)],
                ignore_conflicts=True)
        inquiry.escalation_count += 1
        managers = routing.managers_of(inquiry.seller)
        stored = False  # the assignment saved the inquiry, escalation count included
        if inquiry.escalation_count == 1:
            exclude = {missed_by.pk} if missed_by else set()
            again = {"keep_seller": True, "restart_clock": True, "now": now,
                     "also_save": ["escalation_count"]}
            decision = inquiry_assign(inquiry=inquiry, exclude_user_ids=exclude,
                                      only_with_owner=bool(exclude), **again)
            if decision.owner is None and exclude:
                # Nobody else and no manager: the routing may give it back to the owner.
                decision = inquiry_assign(inquiry=inquiry, **again)
            stored = decision.owner is not None and not decision.done
            if decision.owner is None:
                # Nobody at all is free: no deadline (the next sweep would escalate it again
                # at once); it waits until the sweep finds someone.
                inquiry.remind_at = inquiry.response_due_at = None
                body = _("Not answered by %(due)s and nobody is free: it waits for the next "
                         "CCO who is.")
            elif decision.owner == missed_by:
                body = _("Not answered by %(due)s; nobody else is free: %(who)s keeps it "
                         "with a new deadline.")
            else:
                body = _("Not answered by %(due)s: reassigned to %(who)s.")
            who = decision.owner.get_full_name() if decision.owner else ""
        else:
            manager = managers[0] if managers else inquiry.owner
            inquiry.owner = manager
            inquiry.remind_at = inquiry.response_due_at = None  # the manager has it now
            who = manager.get_full_name() if manager else _("nobody yet")
            body = _("Not answered by %(due)s again: handed to the manager %(who)s.")
        if not stored:
            inquiry.save(update_fields=["escalation_count", "owner", "remind_at",
                                        "response_due_at"])
        due_text = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
        InquiryEvent.objects.create(inquiry=inquiry, kind=Kind.ESCALATED,
                                    body=body % {"due": due_text, "who": who})
        outbox_enqueue_many([  # every manager's mail in one INSERT
            notify_message(user=manager, kind="inquiry_escalated",
                           context={"inquiry": inquiry, "missed_by": missed_by, "due": due},
                           dedup_key=f"inquiry:{inquiry.pk}:escalated:{due.timestamp()}:"
                                     f"{manager.pk}"[:120], template_dir=MAIL_DIR)
            for manager in managers if manager.email])
    return True


def inquiry_assign_waiting(*, inquiry_id: int, now: datetime.datetime | None = None) -> bool:
    """An inquiry that arrived (or was escalated) when nobody was free gets an owner once
    someone is, with a fresh deadline. While nobody is, nothing is written: the sweep asks
    every minute, and the timeline must not grow a line each time."""
    with transaction.atomic():
        inquiry = (Inquiry.objects.select_for_update(of=("self",))
                   .select_related("seller__calendar")
                   .filter(pk=inquiry_id, owner__isnull=True, status__in=UNANSWERED_STATUSES)
                   .first())
        if inquiry is None:
            return False
        decision = inquiry_assign(inquiry=inquiry, keep_seller=True, restart_clock=True,
                                  only_with_owner=True, now=now)
        return decision.owner is not None


@transaction.atomic
def inquiries_escalate(*, inquiry_ids: list[int], now: datetime.datetime) -> int:
    """`inquiry_escalate` for a batch, with the same outcome, reasons and texts, in a few
    statements per seller instead of a dozen per inquiry: the overdue rows are locked
    (rows another worker holds are skipped: it escalates them, or the next sweep does),
    the misses written in one INSERT, each seller's CCO profiles locked and counted once
    (sellers in id order, so two sweepers never deadlock) and the round-robin run for the
    seller's whole group in memory (`routing.cco_choose`, the choice of `step_cco`); then
    one UPDATE for the inquiries, one INSERT for the events and one for the mails."""
    inquiries = list(Inquiry.objects.select_for_update(of=("self",), skip_locked=True)
                     .select_related("owner", "product__chemical")
                     .filter(selectors.response_overdue(now), pk__in=inquiry_ids)
                     .order_by("seller_id", "response_due_at", "pk"))
    if not inquiries:
        return 0
    sellers = Organization.objects.select_related("calendar").in_bulk(
        {i.seller_id for i in inquiries})  # once per seller, not once per row
    for inquiry in inquiries:
        inquiry.seller = sellers[inquiry.seller_id]
    ResponseMiss.objects.bulk_create(  # once per deadline: a second one is not written
        [ResponseMiss(inquiry=i, owner=i.owner, due_at=i.response_due_at)
         for i in inquiries if i.owner_id is not None], ignore_conflicts=True)
    managers = routing.managers_by_organization({i.seller_id for i in inquiries})
    by_seller: dict[int, list[Inquiry]] = {}
    for inquiry in inquiries:
        by_seller.setdefault(inquiry.seller_id, []).append(inquiry)
    events: list[InquiryEvent] = []
    mails: list = []
    rules: dict[int, object] = {}  # calendar id: its rules, read once per batch
    pools = routing.cco_pools_lock([group[0].seller for group in by_seller.values()
                                    if any(i.escalation_count == 0 for i in group)])
    moved: dict[int, object] = {}  # the profiles whose round-robin counter moved
    for seller_id in sorted(by_seller):
        _escalate_group(by_seller[seller_id], pool=pools.get(seller_id),
                        managers=managers[seller_id], now=now, rules=rules, events=events,
                        mails=mails, moved=moved)
    if moved:
        routing.cco_counters_store(sorted(moved.values(), key=lambda p: p.pk))
    bulk.rows_update(inquiries, ["owner", "routing_reason", "assigned_at", "remind_at",
                                 "response_due_at", "reminded_at", "escalation_count",
                                 "status"])  # (closed_at: an escalation never closes)
    InquiryEvent.objects.bulk_create(events)
    outbox_enqueue_many([m for m in mails if m is not None])
    return len(inquiries)


def _escalate_group(inquiries: list[Inquiry], *, pool, managers: list,
                    now: datetime.datetime, rules: dict, events: list, mails: list,
                    moved: dict) -> None:
    """One seller's overdue inquiries (locked), in deadline order, changed in memory as
    `inquiry_escalate` changes each; their events and mails appended to `events`/`mails`,
    the profiles whose counter moved to `moved`. `pool`: the seller's locked CCO pool,
    when any of them misses for the first time (and is re-routed)."""
    seller = inquiries[0].seller
    if pool is not None:
        pool.managers = managers
    deadlines = None
    for inquiry in inquiries:
        missed_by, due = inquiry.owner, inquiry.response_due_at
        inquiry.escalation_count += 1
        if inquiry.escalation_count == 1:
            exclude = {missed_by.pk} if missed_by else set()
            owner, reason, counted = routing.cco_choose(pool, exclude_user_ids=exclude)
            if owner is None and exclude:
                # Nobody else and no manager: the routing may give it back to the owner.
                owner, reason, counted = routing.cco_choose(pool)
            moved.update((p.pk, p) for p in counted)
            pool.moved(from_user_id=inquiry.owner_id, to_user_id=owner.pk if owner else None)
            inquiry.owner, inquiry.routing_reason = owner, reason
            events.append(InquiryEvent(inquiry=inquiry, kind=Kind.ROUTED, body=reason))
            if owner is None:
                # Nobody at all is free: no deadline (the next sweep would escalate it again
                # at once); it waits until the sweep finds someone.
                inquiry.remind_at = inquiry.response_due_at = None
                body = _("Not answered by %(due)s and nobody is free: it waits for the next "
                         "CCO who is.")
            else:
                if deadlines is None:
                    calendar_id = seller.calendar_id
                    if calendar_id not in rules:
                        rules[calendar_id] = calendar_rules(seller.calendar)
                    deadlines = _deadlines(inquiry, start=now, rules=rules[calendar_id])
                inquiry.assigned_at = now
                inquiry.remind_at, inquiry.response_due_at = deadlines
                inquiry.reminded_at = None
                events.append(InquiryEvent(inquiry=inquiry, kind=Kind.ASSIGNED,
                                           body=owner.get_full_name()))
                if inquiry.status == Inquiry.Status.NEW:
                    inquiry_move(inquiry=inquiry, to=Inquiry.Status.ASSIGNED, public=False,
                                 events=events)
                mails.append(_notice(owner, "inquiry_assigned", inquiry,
                                     dedup=f"inquiry:{inquiry.pk}:assigned:{owner.pk}:"
                                           f"{now.timestamp()}"))
                if owner == missed_by:
                    body = _("Not answered by %(due)s; nobody else is free: %(who)s keeps it "
                             "with a new deadline.")
                else:
                    body = _("Not answered by %(due)s: reassigned to %(who)s.")
            who = owner.get_full_name() if owner else ""
        else:
            manager = managers[0] if managers else inquiry.owner
            if pool is not None:
                pool.moved(from_user_id=inquiry.owner_id,
                           to_user_id=manager.pk if manager else None)
            inquiry.owner = manager
            inquiry.remind_at = inquiry.response_due_at = None  # the manager has it now
            who = manager.get_full_name() if manager else _("nobody yet")
            body = _("Not answered by %(due)s again: handed to the manager %(who)s.")
        due_text = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
        events.append(InquiryEvent(inquiry=inquiry, kind=Kind.ESCALATED,
                                   body=body % {"due": due_text, "who": who}))
        mails.extend(notify_message(
            user=manager, kind="inquiry_escalated",
            context={"inquiry": inquiry, "missed_by": missed_by, "due": due},
            dedup_key=f"inquiry:{inquiry.pk}:escalated:{due.timestamp()}:{manager.pk}"[:120],
            template_dir=MAIL_DIR) for manager in managers if manager.email)


SWEEP_BATCH = 500  # due inquiries per transaction of the sweep


def _batches(ids: list[int]):
    for start in range(0, len(ids), SWEEP_BATCH):
        yield ids[start:start + SWEEP_BATCH]


def inquiries_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """All timed work that is due. Safe to run as often and in as many workers as wanted.
    Reminders and escalations go in batches (a transaction each); when another app plugs a
    routing step in, escalations go one by one through the full routing instead."""
    now = now or timezone.now()
    done = {"reminded": 0, "escalated": 0, "assigned": 0, "expired": 0}
    for batch in _batches(selectors.inquiry_ids_to_remind(now=now)):
        done["reminded"] += inquiries_remind(inquiry_ids=batch, now=now)
    overdue = selectors.inquiries_overdue(now=now)
    if routing.only_own_steps():
        # A seller's inquiries together (in deadline order): its CCO pool is locked and
        # counted in one batch, not in every batch.
        by_seller = [pk for pk, _seller_id in sorted(overdue, key=lambda row: row[1])]
        for batch in _batches(by_seller):
            done["escalated"] += inquiries_escalate(inquiry_ids=batch, now=now)
    else:
        for pk, _seller_id in overdue:
            done["escalated"] += inquiry_escalate(inquiry_id=pk, now=now)
    nobody_free: set[int] = set()  # sellers whose waiting inquiry stayed waiting this run
    for pk, seller_id in selectors.inquiries_waiting():
        if seller_id in nobody_free:
            continue
        if inquiry_assign_waiting(inquiry_id=pk, now=now):
            done["assigned"] += 1
        else:
            nobody_free.add(seller_id)
    for batch in _batches(selectors.quote_ids_expired(today=timezone.localdate(now))):
        done["expired"] += quotes_expire(quote_ids=batch, now=now)
    return done


@transaction.atomic
def quotes_expire(*, quote_ids: list[int], now: datetime.datetime) -> int:
    """`quote_expire` for a batch: the inquiries locked first (as quote_send locks them;
    rows another transaction holds are skipped, for the next sweep), then the quotes
    claimed with one conditional UPDATE, the events, status moves and mails written
    together."""
    due = Q(status=Quote.Status.SENT, valid_until__lt=timezone.localdate(now))
    inquiry_ids = Quote.objects.filter(due, pk__in=quote_ids).values_list("inquiry_id",
                                                                          flat=True)
    inquiries = Inquiry.objects.select_for_update(of=("self",), skip_locked=True).select_related(
        "owner", "seller", "product__chemical").in_bulk(list(inquiry_ids))
    claimed = bulk.update_returning(
        Quote.objects.filter(due, pk__in=quote_ids, inquiry_id__in=list(inquiries)),
        status=Quote.Status.EXPIRED, decided_at=now)
    if not claimed:
        return 0
    events: list[InquiryEvent] = []
    mails, moved = [], []
    for quote in Quote.objects.filter(pk__in=claimed).order_by("inquiry_id", "pk"):
        inquiry = quote.inquiry = inquiries[quote.inquiry_id]
        events.append(InquiryEvent(
            inquiry=inquiry, kind=Kind.QUOTE_EXPIRED, is_public=True,
            body=_("Version %(version)s expired on %(date)s.") % {
                "version": quote.version, "date": quote.valid_until.isoformat()}))
        if inquiry.status == Inquiry.Status.QUOTED:
            inquiry_move(inquiry=inquiry, to=Inquiry.Status.ASSIGNED, events=events)
            moved.append(inquiry)
        mails.append(_notice(inquiry.owner, "quote_expired", inquiry,
                             dedup=f"quote:{quote.pk}:expired", extra={"quote": quote}))
    bulk.rows_update(moved, ["status", "closed_at"])
    InquiryEvent.objects.bulk_create(events)
    outbox_enqueue_many([m for m in mails if m is not None])
    return len(claimed)


# --- Notifications ------------------------------------------------------------------------------


def _notice(user, kind: str, inquiry: Inquiry, *, dedup: str, extra=None):
    """The unsaved mail `_notify` writes (None for nobody or no address), for a batch."""
    if user is None or not user.email:
        return None
    return notify_message(user=user, kind=kind, context={"inquiry": inquiry, **(extra or {})},
                          dedup_key=dedup[:120], template_dir=MAIL_DIR)


def _notify(user, kind: str, inquiry: Inquiry, *, dedup: str, extra=None) -> None:
    if (message := _notice(user, kind, inquiry, dedup=dedup, extra=extra)) is not None:
        outbox_enqueue_many([message])


def _notify_buyer(inquiry: Inquiry, kind: str, *, dedup: str, extra=None) -> None:
    """The buyer user, or the guest's contact address (with the private link)."""
    context = {"inquiry": inquiry, **(extra or {})}
    if inquiry.buyer_id:
        message = notify_message(user=inquiry.buyer, kind=kind, context=context,
                                 dedup_key=dedup[:120], template_dir=MAIL_DIR)
    elif inquiry.contact_email:
        message = notify_message(to_email=inquiry.contact_email, kind=kind, context=context,
                                 dedup_key=dedup[:120], template_dir=MAIL_DIR)
    else:
        return
    outbox_enqueue_many([message])
