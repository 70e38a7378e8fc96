"""Writes of the dealers app: answering routed inquiries, quoting, commissions, settlement.

Locking order, as in the inquiries app: the inquiry row first, then the assignment. An
assignment moves once (`Assignment.MOVES`) by a conditional UPDATE, so an accept racing the
window's end or a second sweeper finds nothing left to do. Commission lines are unique per
(order, category, kind) and statements per (dealer, month): a second run writes nothing.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from chemmall.errors import ConflictError, DomainError
from chemmall.money import commission_amount, money_round, vat_part
from inquiries import bulk
from inquiries import services as inquiry_services
from inquiries.models import Inquiry, InquiryEvent
from orders.models import Order, OrderLine
from orders.outbox import notify_message, outbox_enqueue_many

from . import selectors
from .models import Assignment, CommissionLine, Dealer, DealerQuote, Statement

Status = Assignment.Status
Kind = InquiryEvent.Kind
MAIL_DIR = "dealers/email"
MAX_REASON = 1000
SWEEP_BATCH = 200


# --- Answering a routed inquiry -----------------------------------------------------------------


def _dealer_or_404(user):
    dealer = selectors.dealer_of(user)
    if dealer is None:
        raise Assignment.DoesNotExist
    return dealer


def _inquiry_locked(assignment_id: int, dealer) -> Inquiry:
    """The routed inquiry, locked; DoesNotExist unless it was routed to `dealer`."""
    inquiry_id = (Assignment.objects.filter(pk=assignment_id, dealer=dealer)
                  .values_list("inquiry_id", flat=True).first())
    if inquiry_id is None:
        raise Assignment.DoesNotExist
    return (Inquiry.objects.select_for_update(of=("self",))
            .select_related("seller__calendar", "product__category").get(pk=inquiry_id))


def _claim(assignment_id: int, *, now: datetime.datetime, to: str, **values) -> bool:
    """Move a waiting assignment whose window is still open (or, for a time-out, closed)."""
    if to not in Assignment.MOVES[Status.ROUTED]:
        raise ValueError(f"An assignment cannot move from routed to {to}.")
    window = Q(due_at__lte=now) if to == Status.TIMED_OUT else Q(due_at__gt=now)
    return bool(bulk.update_returning(
        Assignment.objects.filter(window, pk=assignment_id, status=Status.ROUTED),
        status=to, decided_at=now, **values))


def _refuse_closed(assignment: Assignment) -> None:
    if assignment.status != Status.ROUTED:
        raise ConflictError(_("You answered this inquiry already (%(status)s).")
                            % {"status": assignment.get_status_display()}, code="answered")
    raise ConflictError(_("The answer window closed at %(due)s: the inquiry went back to the "
                          "subsidiary's sales officers.")
                        % {"due": timezone.localtime(assignment.due_at)
                           .strftime("%Y-%m-%d %H:%M")}, code="window_closed")


@transaction.atomic
def assignment_accept(*, assignment_id: int, user) -> Assignment:
    """The dealer takes the inquiry: the accepting user owns it and answers the buyer."""
    dealer = _dealer_or_404(user)
    inquiry = _inquiry_locked(assignment_id, dealer)
    now = timezone.now()
    if not _claim(assignment_id, now=now, to=Status.ACCEPTED, decided_by_id=user.pk):
        assignment = Assignment.objects.get(pk=assignment_id)
        if assignment.status == Status.ACCEPTED:
            return assignment  # a repeated click
        _refuse_closed(assignment)
    # The dealer owns it now like a CCO would, and owes the buyer an answer within the
    # seller's service level: if it never quotes or writes, the deadline sweep escalates it
    # to the CCOs (no reminder mail: those link to the workbench, which dealers do not use).
    _remind, due = inquiry_services.response_deadlines(inquiry, start=now)
    inquiry.owner, inquiry.assigned_at, inquiry.delegated_at = user, now, None
    inquiry.response_due_at, inquiry.remind_at = due, None
    inquiry.save(update_fields=["owner", "assigned_at", "delegated_at", "response_due_at",
                                "remind_at"])
    InquiryEvent.objects.create(
        inquiry=inquiry, kind=Kind.ASSIGNED, actor=user,
        body=_("The dealer %(dealer)s accepted: %(name)s answers.")
        % {"dealer": dealer.name, "name": user.get_full_name()})
    if inquiry.status == Inquiry.Status.NEW:
        inquiry_services.inquiry_move(inquiry=inquiry, to=Inquiry.Status.ASSIGNED, actor=user,
                                      public=False)
    return Assignment.objects.get(pk=assignment_id)


def _give_back(inquiry: Inquiry, *, note: str, actor=None, now: datetime.datetime) -> None:
    """The dealer will not serve it: CCO routing within the seller, with a fresh deadline."""
    InquiryEvent.objects.create(inquiry=inquiry, kind=Kind.NOTE, actor=actor, body=note)
    inquiry.delegated_at = None
    inquiry.owner = None
    inquiry_services.inquiry_assign(inquiry=inquiry, keep_seller=True, restart_clock=True,
                                    now=now, also_save=["delegated_at"])


@transaction.atomic
def assignment_decline(*, assignment_id: int, user, reason: str) -> Assignment:
    dealer = _dealer_or_404(user)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why you decline: the subsidiary reads it."), field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(_("The reason is longer than 1,000 characters."), field="reason")
    inquiry = _inquiry_locked(assignment_id, dealer)
    now = timezone.now()
    if not _claim(assignment_id, now=now, to=Status.DECLINED, decided_by_id=user.pk,
                  decline_reason=reason):
        assignment = Assignment.objects.get(pk=assignment_id)
        if assignment.status == Status.DECLINED:
            return assignment
        _refuse_closed(assignment)
    _give_back(inquiry, actor=user, now=now,
               note=_("The dealer %(dealer)s declined: %(reason)s") % {
                   "dealer": dealer.name, "reason": reason})
    return Assignment.objects.get(pk=assignment_id)


def assignment_time_out(*, assignment_id: int, now: datetime.datetime | None = None) -> bool:
    """The window closed unanswered: back to CCO routing. Exactly once (conditional UPDATE
    under the inquiry's lock), however many sweepers run."""
    now = now or timezone.now()
    with transaction.atomic():
        inquiry_id = (Assignment.objects.filter(pk=assignment_id, status=Status.ROUTED)
                      .values_list("inquiry_id", flat=True).first())
        if inquiry_id is None:
            return False
        inquiry = (Inquiry.objects.select_for_update(of=("self",))
                   .select_related("seller__calendar").get(pk=inquiry_id))
        if not _claim(assignment_id, now=now, to=Status.TIMED_OUT):
            return False
        assignment = Assignment.objects.select_related("dealer").get(pk=assignment_id)
        _give_back(inquiry, now=now, note=_(
            "The dealer %(dealer)s did not answer by %(due)s: back to the sales officers.")
            % {"dealer": assignment.dealer.name,
               "due": timezone.localtime(assignment.due_at).strftime("%Y-%m-%d %H:%M")})
        return True


def assignments_sweep(*, now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    return sum(assignment_time_out(assignment_id=pk, now=now)
               for pk in selectors.assignment_ids_timed_out(now=now))


@transaction.atomic
def dealer_quote_send(*, assignment_id: int, user, **quote) -> DealerQuote:
    """An accepted dealer quotes through the inquiries' quote mechanism; the quote names it."""
    dealer = _dealer_or_404(user)
    assignment = Assignment.objects.filter(pk=assignment_id, dealer=dealer).first()
    if assignment is None:
        raise Assignment.DoesNotExist
    if assignment.status != Status.ACCEPTED:
        raise ConflictError(_("Accept the inquiry before quoting."), code="not_accepted")
    sent = inquiry_services.quote_send(inquiry_id=assignment.inquiry_id, actor=user,
                                       authorized=True, **quote)
    Inquiry.objects.filter(pk=assignment.inquiry_id, first_response_at__isnull=True).update(
        first_response_at=sent.created_at)  # the dealer's quote answers the buyer
    return DealerQuote.objects.create(quote=sent, dealer=dealer)


@transaction.atomic
def dealer_message_post(*, assignment_id: int, user, body: str, attachment=None):
    """The accepted dealer writes to the buyer (the first message answers the inquiry)."""
    dealer = _dealer_or_404(user)
    assignment = Assignment.objects.filter(pk=assignment_id, dealer=dealer).first()
    if assignment is None:
        raise Assignment.DoesNotExist
    if assignment.status != Status.ACCEPTED:
        raise ConflictError(_("Accept the inquiry before writing to the buyer."),
                            code="not_accepted")
    event = inquiry_services.inquiry_message_post(
        inquiry_id=assignment.inquiry_id, actor=user, body=body, attachment=attachment,
        authorized=True)
    Inquiry.objects.filter(pk=assignment.inquiry_id, first_response_at__isnull=True).update(
        first_response_at=event.created_at)
    return event


# --- Commissions --------------------------------------------------------------------------------


def _net(line: OrderLine, vat_rate) -> Decimal:
    """A line's goods value without VAT: commissions are on what the group earns."""
    if line.tax_inclusive:
        return line.line_total - vat_part(line.line_total, vat_rate)
    return line.line_total


def _rates(dealer) -> dict[int, tuple[Decimal, Decimal]]:
    return {r.category_id: (r.base_rate, r.won_rate) for r in dealer.category_rates.all()}


def _commission_lines(order: Order, *, routed_dealer=None) -> list[CommissionLine]:
    """The accrual lines of a completed, paid order: one per category, for the dealer that
    won it from a routed inquiry (won-deal rate) or else the dealer whose territory holds the
    delivery address or the pickup depot (base rate), category rates applied."""
    by_category: dict[int, Decimal] = defaultdict(Decimal)
    for line in order.lines.all():
        by_category[line.product.category_id] += _net(line, order.vat_rate)
    region = order.address.region if order.address_id else (
        order.pickup_depot.region if order.pickup_depot_id else None)
    lines = []
    for category_id, base in sorted(by_category.items()):
        if routed_dealer is not None:
            dealer, basis = routed_dealer, CommissionLine.Basis.ROUTED_WON
        elif region is not None:
            dealer = (selectors.dealers_covering(seller_id=order.seller_id, region=region,
                                                 category_id=category_id)
                      .order_by("-priority", "pk").first())
            basis = CommissionLine.Basis.TERRITORY
        else:
            dealer = None
        if dealer is None:
            continue
        base_rate, won_rate = _rates(dealer).get(category_id,
                                                 (dealer.base_rate, dealer.won_rate))
        rate = won_rate if basis == CommissionLine.Basis.ROUTED_WON else base_rate
        base = money_round(base)
        lines.append(CommissionLine(
            dealer=dealer, order=order, category_id=category_id,
            kind=CommissionLine.Kind.ACCRUAL, basis=basis, base_amount=base, rate=rate,
            amount=commission_amount(base, rate)))
    return lines


def _routed_dealers(order_ids) -> dict[int, object]:
    """order id: the dealer whose accepted routed inquiry became that order."""
    rows = (Assignment.objects.filter(status=Status.ACCEPTED, inquiry__order_id__in=order_ids)
            .select_related("dealer").order_by("pk"))
    return {a.inquiry.order_id: a.dealer for a in rows.select_related("inquiry")}


@transaction.atomic
def commissions_accrue(*, order_ids: list[int]) -> int:
    """Accrue the completed, paid orders among `order_ids` not accrued yet. Exactly once:
    the lines are unique per (order, category, kind) and the orders locked while writing."""
    orders = list(Order.objects.select_for_update(of=("self",)).select_related(
        "address__region", "pickup_depot__region").prefetch_related("lines__product")
        .filter(pk__in=order_ids, status=Order.Status.COMPLETED, paid_at__isnull=False)
        .exclude(commission_lines__kind=CommissionLine.Kind.ACCRUAL).order_by("pk"))
    routed = _routed_dealers([o.pk for o in orders])
    lines = [line for order in orders
             for line in _commission_lines(order, routed_dealer=routed.get(order.pk))]
    written = CommissionLine.objects.bulk_create(lines, ignore_conflicts=True)
    return len(written)


def _clawback_of(accrual: CommissionLine, order: Order, now) -> CommissionLine:
    return CommissionLine(
        dealer_id=accrual.dealer_id, order=order, category_id=accrual.category_id,
        kind=CommissionLine.Kind.CLAWBACK, basis=accrual.basis,
        base_amount=-accrual.base_amount, rate=accrual.rate, amount=-accrual.amount,
        created_at=now, note=_("Order %(number)s %(status)s: reverses the accrual of "
                               "%(date)s.") % {
            "number": order.number, "status": order.get_status_display().lower(),
            "date": timezone.localdate(accrual.created_at).isoformat()})


@transaction.atomic
def commission_clawback(*, order_id: int) -> list[CommissionLine]:
    """Reverse the accrued lines of a returned (or cancelled) order; none twice."""
    order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
    if order.status not in (Order.Status.RETURNED, Order.Status.CANCELLED):
        raise ConflictError(_("Order %(number)s was not returned or cancelled: there is "
                              "nothing to claw back.") % {"number": order.number},
                            code="not_returned")
    accruals = list(order.commission_lines.filter(kind=CommissionLine.Kind.ACCRUAL))
    if not accruals:
        raise ConflictError(_("No commission was accrued on order %(number)s.")
                            % {"number": order.number}, code="never_accrued")
    now = timezone.now()
    return CommissionLine.objects.bulk_create(
        [_clawback_of(a, order, now) for a in accruals], ignore_conflicts=True)


def commissions_sweep() -> dict[str, int]:
    """Accrue what completed and was paid; claw back what came back. Safe to rerun."""
    accrued = (CommissionLine.objects.filter(order=OuterRef("pk"),
                                             kind=CommissionLine.Kind.ACCRUAL))
    clawed = (CommissionLine.objects.filter(order=OuterRef("pk"),
                                            kind=CommissionLine.Kind.CLAWBACK))
    due = list(Order.objects.filter(status=Order.Status.COMPLETED, paid_at__isnull=False)
               .exclude(Exists(accrued)).order_by("pk").values_list("pk", flat=True)[:5000])
    done = {"accrued": 0, "clawed_back": 0}
    for start in range(0, len(due), SWEEP_BATCH):
        done["accrued"] += commissions_accrue(order_ids=due[start:start + SWEEP_BATCH])
    back = (Order.objects.filter(Exists(accrued), ~Exists(clawed),
                                 status__in=[Order.Status.RETURNED, Order.Status.CANCELLED])
            .values_list("pk", flat=True)[:5000])
    for pk in back:
        done["clawed_back"] += len(commission_clawback(order_id=pk))
    return done


# --- Monthly settlement -------------------------------------------------------------------------


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The first and the next month's first moment of `month` in the platform's time zone
    (Asia/Shanghai): a line at 23:59 on the 31st is of that month, one at 00:00 of the next."""
    month = month.replace(day=1)
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (datetime.datetime.combine(month, datetime.time.min, tzinfo=tz),
            datetime.datetime.combine(following, datetime.time.min, tzinfo=tz))


def previous_month(now: datetime.datetime | None = None) -> datetime.date:
    first = timezone.localdate(now or timezone.now()).replace(day=1)
    return (first - datetime.timedelta(days=1)).replace(day=1)


@transaction.atomic
def statements_issue(*, month: datetime.date,
                     now: datetime.datetime | None = None) -> list[Statement]:
    """One statement per dealer for `month`: its unsettled lines of that month and before
    (late lines of earlier months that were not on a statement yet). Issued once: the
    dealers are locked, and a dealer with its statement for the month gets nothing new —
    lines written after the month go to the next one."""
    month = month.replace(day=1)
    _start, end = month_bounds(month)
    if end > (now or timezone.now()):
        raise DomainError(_("%(month)s is not over yet.") % {"month": f"{month:%Y-%m}"},
                          field="month")
    unsettled = CommissionLine.objects.filter(dealer=OuterRef("pk"), statement__isnull=True,
                                              created_at__lt=end)
    dealers = list(Dealer.objects.select_for_update().filter(Q(is_active=True)
                                                             | Exists(unsettled))
                   .order_by("pk"))
    have = set(Statement.objects.filter(month=month, dealer__in=dealers)
               .values_list("dealer_id", flat=True))
    issued = []
    for dealer in dealers:
        if dealer.pk in have:
            continue
        statement = Statement.objects.create(dealer=dealer, month=month)
        CommissionLine.objects.filter(dealer=dealer, statement__isnull=True,
                                      created_at__lt=end).update(statement=statement)
        statement.total = money_round(statement.lines.aggregate(s=Sum("amount"))["s"] or 0)
        statement.save(update_fields=["total"])
        issued.append(statement)
    mails = [notify_message(user=user, kind="statement_issued", template_dir=MAIL_DIR,
                            context={"statement": s}, dedup_key=f"statement:{s.pk}:{user.pk}")
             for s in issued for user in s.dealer.users.filter(is_active=True) if user.email]
    outbox_enqueue_many(mails)
    return issued


@transaction.atomic
def statement_mark_paid(*, statement_id: int, actor) -> Statement:
    statement = (selectors.statements_visible_to(actor).select_for_update(of=("self",))
                 .get(pk=statement_id))
    if not (actor.is_superuser or actor.has_role(Role.FINANCE)):
        raise ConflictError(_("Only finance marks statements paid."), code="forbidden")
    if statement.status == Statement.Status.PAID:
        return statement
    statement.status, statement.paid_at, statement.paid_by = (
        Statement.Status.PAID, timezone.now(), actor)
    statement.save(update_fields=["status", "paid_at", "paid_by"])
    return statement


# --- Review flags -------------------------------------------------------------------------------


@transaction.atomic
def dealer_flags_update(*, now: datetime.datetime | None = None) -> int:
    """Flag (and unflag) dealers by the conversion rule of `selectors.dealer_performance`,
    per subsidiary (peers are the subsidiary's other dealers)."""
    now = now or timezone.now()
    changed = 0
    by_org: dict[int, list] = defaultdict(list)
    for dealer in Dealer.objects.filter(is_active=True).order_by("pk"):
        by_org[dealer.organization_id].append(dealer)
    for dealers in by_org.values():
        for row in selectors.dealer_performance(dealers):
            dealer = row["dealer"]
            if row["flagged"] and dealer.flagged_at is None:
                dealer.flagged_at = now
                dealer.flag_note = _(
                    "Conversion %(conversion)s%% over %(routed)s routed inquiries, under half "
                    "of its peers' median %(median)s%%.") % {
                    "conversion": round(row["conversion"] * 100), "routed": row["routed"],
                    "median": round(row["peer_median"] * 100)}
            elif not row["flagged"] and dealer.flagged_at is not None:
                dealer.flagged_at, dealer.flag_note = None, ""
            else:
                continue
            dealer.save(update_fields=["flagged_at", "flag_note"])
            changed += 1
    return changed
