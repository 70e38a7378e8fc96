"""Writes of the reports app: the nightly CCO snapshot, the CCO routing weights it feeds, and
the monthly award and warning flags. Each replaces its rows whole, so running it again on
the same data writes the same values."""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Case, Count, Exists, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models import DecimalField as DecimalOutput
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.calendar import working_time_between
from accounts.models import Role, User, WorkingCalendar
from accounts.selectors import calendar_rules
from inquiries.models import CcoProfile, Inquiry, InquiryEvent, Quote, ResponseMiss
from orders.models import Order, OrderLine, OutboxMessage
from orders.outbox import notify_message, outbox_enqueue_many

from . import scoring
from . import selectors as reports_selectors
from .models import (
    CcoDailyReport,
    DailyCategorySales,
    DailyInquiries,
    DailyLostInquiries,
    DailySales,
    DailySellerSales,
    MonthlyFlag,
    ScoreWeights,
)

Kind = InquiryEvent.Kind
MESSAGE_KINDS = (Kind.MESSAGE_OUT, Kind.NOTE)
DAY_LOCK = 7_302_001  # pg_advisory_xact_lock namespace: one computation of a day at a time
ROLLUP_LOCK = 7_302_002  # the same for the dashboards' rollups of a day


def _rule(name: str, default):
    """A tunable rule: settings.REPORTS_<name> when set, else the default here."""
    return getattr(settings, f"REPORTS_{name}", default)


def weights_window_days() -> int:
    return int(_rule("WEIGHT_WINDOW_DAYS", 30))


def weight_bounds() -> tuple[Decimal, Decimal]:
    low, high = _rule("WEIGHT_BOUNDS", ("0.2", "3.0"))
    return Decimal(str(low)), Decimal(str(high))


def award_top_share() -> Decimal:
    return Decimal(str(_rule("AWARD_TOP_SHARE", "0.10")))


def warning_misses_per_week() -> int:
    return int(_rule("WARNING_MISSES_PER_WEEK", 3))


# --- The daily CCO report ------------------------------------------------------------------------


@dataclass
class _Figures:
    received: int = 0
    answered: int = 0
    answered_on_time: int = 0
    response_minutes: list[int] = field(default_factory=list)
    quotes_sent: int = 0
    orders_won: int = 0
    sales_amount: Decimal = Decimal("0.00")
    messages: int = 0
    workload: int = 0
    deadline_misses: int = 0

    @property
    def any_activity(self) -> bool:
        return bool(self.received or self.answered or self.quotes_sent or self.orders_won
                    or self.workload or self.deadline_misses)


def _lock_day(key: int, namespace: int = DAY_LOCK) -> None:
    """Concurrent runs for the same day (the nightly task and a backfill) queue here instead
    of failing on the unique constraint. SQLite (the embedded dev setup) locks the whole
    database for a write anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, key])


def _by(rows, figures: dict[int, _Figures], **names: str) -> None:
    """Copy GROUP BY rows (dicts with "user") into the figures: attribute=row key."""
    for row in rows:
        target = figures[row["user"]]
        for attribute, key in names.items():
            setattr(target, attribute, row[key] or getattr(target, attribute))


def _response_times(start: datetime.datetime, end: datetime.datetime,
                    figures: dict[int, _Figures]) -> None:
    """Inquiries first answered in the day: answered, on time, working minutes to answer."""
    missed_by_owner = ResponseMiss.objects.filter(
        inquiry=OuterRef("pk"), owner=OuterRef("owner_id"),
        due_at__lt=OuterRef("first_response_at"))
    rows = list(
        Inquiry.objects.filter(owner__isnull=False, first_response_at__gte=start,
                               first_response_at__lt=end)
        .annotate(missed=Exists(missed_by_owner))
        .values_list("owner_id", "received_at", "first_response_at", "response_due_at",
                     "seller__calendar_id", "missed")
        .order_by())
    calendars = WorkingCalendar.objects.in_bulk({row[4] for row in rows})
    rules = {pk: calendar_rules(calendar) for pk, calendar in calendars.items()}
    for owner_id, received_at, answered_at, due_at, calendar_id, missed in rows:
        target = figures[owner_id]
        target.answered += 1
        if not missed and (due_at is None or answered_at <= due_at):
            target.answered_on_time += 1
        worked = working_time_between(rules[calendar_id], start=received_at, end=answered_at)
        target.response_minutes.append(int(worked.total_seconds() // 60))


def _day_figures(start: datetime.datetime, end: datetime.datetime) -> dict[int, _Figures]:
    """Every figure of every user with activity in [start, end), by user id: one GROUP BY
    query per figure (plus one query per working calendar for the response times)."""
    figures: dict[int, _Figures] = defaultdict(_Figures)
    in_day = {"gte": start, "lt": end}

    def window(name: str) -> dict:
        return {f"{name}__{op}": moment for op, moment in in_day.items()}

    _by(Inquiry.objects.filter(owner__isnull=False, **window("received_at"))
        .values(user=F("owner_id")).annotate(n=Count("pk")).order_by(),
        figures, received="n")
    _response_times(start, end, figures)
    _by(Quote.objects.filter(**window("created_at"))
        .values(user=F("created_by_id")).annotate(n=Count("pk")).order_by(),
        figures, quotes_sent="n")
    _by(InquiryEvent.objects.filter(actor__isnull=False, **window("created_at"))
        .values(user=F("actor_id"))
        .annotate(n=Count("pk"), messages=Count("pk", filter=Q(kind__in=MESSAGE_KINDS)))
        .order_by(),
        figures, workload="n", messages="messages")
    _by(Inquiry.objects.filter(owner__isnull=False, status=Inquiry.Status.WON,
                               **window("order__placed_at"))
        .exclude(order__status=Order.Status.CANCELLED)
        .values(user=F("owner_id"))
        .annotate(n=Count("order_id", distinct=True), amount=Sum("order__total")).order_by(),
        figures, orders_won="n", sales_amount="amount")
    _by(ResponseMiss.objects.filter(**window("due_at"))
        .values(user=F("owner_id")).annotate(n=Count("pk")).order_by(),
        figures, deadline_misses="n")
    return figures


def _weights_of(organization_ids) -> dict[int, dict[str, Decimal]]:
    stored = {w.organization_id: w for w in
              ScoreWeights.objects.filter(organization_id__in=list(organization_ids))
              .order_by()}
    return {pk: ({name: getattr(stored[pk], name) for name in ScoreWeights.DEFAULTS}
                 if pk in stored else dict(ScoreWeights.DEFAULTS))
            for pk in organization_ids}


@transaction.atomic
def cco_daily_report_compute(*, day: datetime.date) -> int:
    """Replace the day's `CcoDailyReport` rows; returns how many were written.

    The day is the calendar day in settings.TIME_ZONE (Asia/Shanghai), [00:00, 24:00) as
    aware datetimes. Rows: every user with a `CcoProfile`, under the profile's organisation
    (the subsidiary), also with no activity at all — except users who are inactive or whose
    profile starts after the day and who did nothing that day. Figures, per CCO:

    - received: inquiries the CCO owns whose `received_at` is in the day;
    - answered: inquiries the CCO owns whose `first_response_at` (the first staff message or
      quote) is in the day, whenever they arrived;
    - answered_on_time: of those, the ones answered by their `response_due_at` (none: on
      time) and with no `ResponseMiss` of this owner due before the answer — a CCO who gets
      an inquiry another one let pass is judged by the fresh deadline;
    - median_first_response_minutes: the median over the answered inquiries of the working
      minutes from `received_at` to `first_response_at` on the seller's working calendar
      (whole minutes, the median to 0.1); empty when nothing was answered;
    - quotes_sent: `Quote` versions the CCO created in the day (a revision is one more);
    - orders_won, sales_amount: inquiries the CCO owns in status won whose order was placed
      in the day and is not cancelled (at the time of the computation), and the orders'
      totals incl. VAT in CNY;
    - messages: the CCO's messages to buyers and internal notes; workload: every timeline
      entry (`InquiryEvent`) the CCO made in the day — messages, notes, quotes, status
      changes, assignments;
    - deadline_misses: `ResponseMiss` rows of the CCO whose deadline (`due_at`) is in the day.

    Score: sales weight × sales/top + volume weight × answered/top + workload weight ×
    workload/top − penalty × misses, each top being the subsidiary's highest value that day
    (a component is 0 when the top is 0); weights from the subsidiary's `ScoreWeights`, else
    the defaults (0.5, 0.3, 0.2, penalty 0.1); rounded half up to 4 places. Inquiry volume is
    the inquiries answered, not received: routing hands out what is received, by the very
    weight this score sets. Ranks: standard competition ranking ("1224") by score, within
    the subsidiary and within the group (every row of the day).

    A fixed number of queries whatever the number of CCOs: one GROUP BY per figure over
    the day, one for the profiles, one for the weights, one DELETE, one INSERT (plus one
    query per working calendar the day's answered inquiries use)."""
    _lock_day(day.toordinal())
    start, end = scoring.day_bounds(day)
    profiles = list(CcoProfile.objects.values_list("user_id", "organization_id",
                                                   "user__is_active", "started_on").order_by())
    figures = _day_figures(start, end)
    ccos = [(user_id, org_id, figures[user_id]) for user_id, org_id, active, started in profiles
            if (active and started <= day) or figures[user_id].any_activity]
    weights = _weights_of({org_id for _user, org_id, _f in ccos})

    by_org: dict[int, list] = defaultdict(list)
    for row in ccos:
        by_org[row[1]].append(row)
    scores: dict[int, Decimal] = {}
    sub_ranks: dict[int, int] = {}
    for org_id, rows in by_org.items():
        tops = {"sales": max(f.sales_amount for _u, _o, f in rows),
                "volume": max(f.answered for _u, _o, f in rows),
                "workload": max(f.workload for _u, _o, f in rows)}
        org_scores = {
            user_id: scoring.composite_score(sales=f.sales_amount, volume=f.answered,
                                             workload=f.workload, misses=f.deadline_misses,
                                             tops=tops, weights=weights[org_id])
            for user_id, _o, f in rows}
        scores.update(org_scores)
        sub_ranks.update(scoring.standard_ranks(org_scores))
    group_ranks = scoring.standard_ranks(scores)

    CcoDailyReport.objects.filter(day=day).delete()
    CcoDailyReport.objects.bulk_create([
        CcoDailyReport(
            day=day, cco_id=user_id, subsidiary_id=org_id, received=f.received,
            answered=f.answered, answered_on_time=f.answered_on_time,
            median_first_response_minutes=scoring.median(f.response_minutes),
            quotes_sent=f.quotes_sent, orders_won=f.orders_won,
            sales_amount=f.sales_amount, messages=f.messages, workload=f.workload,
            deadline_misses=f.deadline_misses, score=scores[user_id],
            rank_in_subsidiary=sub_ranks[user_id], rank_in_group=group_ranks[user_id])
        for user_id, org_id, f in sorted(ccos, key=lambda row: (group_ranks[row[0]], row[0]))])
    return len(ccos)


# --- Routing weights -----------------------------------------------------------------------------


@transaction.atomic
def cco_weights_update(*, today: datetime.date) -> int:
    """Set each CCO's routing weight (`CcoProfile.performance_weight`) from their average
    score over the last 30 days before `today`: the average divided by the group mean (the
    mean of the CCOs' averages), kept within [0.2, 3.0] and rounded to 0.001 — so nobody
    drops to zero (the routing needs a weight > 0) nor takes everything. When the group mean
    is not positive, everyone with reports gets 1. CCOs without reports in the window keep
    their weight. Two queries: the averages, and one UPDATE. Returns the profiles updated."""
    since = today - datetime.timedelta(days=weights_window_days())
    averages = {
        pk: Decimal(str(avg)) for pk, avg in
        CcoDailyReport.objects.filter(day__gte=since, day__lt=today)
        .values("cco_id").annotate(avg=Avg("score")).values_list("cco_id", "avg").order_by()}
    if not averages:
        return 0
    mean = sum(averages.values()) / len(averages)
    low, high = weight_bounds()
    new = {pk: scoring.bounded_weight(avg, mean, low=low, high=high)
           for pk, avg in averages.items()}
    return CcoProfile.objects.filter(user_id__in=list(new)).update(performance_weight=Case(
        *[When(user_id=pk, then=Value(weight)) for pk, weight in sorted(new.items())],
        output_field=DecimalOutput(max_digits=6, decimal_places=3)))


# --- Monthly flags -------------------------------------------------------------------------------


def _month_weeks(month: datetime.date) -> list[datetime.date]:
    """The Mondays of the ISO weeks that belong to the month: those whose Thursday is in it
    (the ISO rule for years), so every week belongs to exactly one month."""
    thursday = month + datetime.timedelta(days=(3 - month.weekday()) % 7)
    mondays = []
    while thursday.month == month.month:
        mondays.append(thursday - datetime.timedelta(days=3))
        thursday += datetime.timedelta(days=7)
    return mondays


def _next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


@transaction.atomic
def monthly_flags_compute(*, month: datetime.date) -> int:
    """Replace the month's `MonthlyFlag` rows from the daily reports; returns how many.

    - award: the top 10 % of the group (rounded up: 11 of 104) by average daily score over
      the month's reports, ranked as the daily ranks are (ties at the cut all get it), with
      an average above zero;
    - warning: 3 or more missed deadlines in one ISO week that belongs to the month — a
      week belongs to the month of its Thursday, so a week spanning two months counts once,
      whole.
    A flag's subsidiary is the one of the CCO's latest report of the period. The share and
    the count are settings.REPORTS_AWARD_TOP_SHARE and REPORTS_WARNING_MISSES_PER_WEEK."""
    month = month.replace(day=1)
    end = _next_month(month)
    mondays = _month_weeks(month)
    first = min(month, mondays[0])
    last = max(end, mondays[-1] + datetime.timedelta(days=7))
    rows = (CcoDailyReport.objects.filter(day__gte=first, day__lt=last)
            .values_list("cco_id", "subsidiary_id", "day", "score", "deadline_misses")
            .order_by("day", "cco_id"))
    scores: dict[int, list[Decimal]] = defaultdict(list)
    week_misses: dict[int, dict[datetime.date, int]] = defaultdict(lambda: defaultdict(int))
    subsidiary: dict[int, int] = {}
    week_of = {monday + datetime.timedelta(days=n): monday for monday in mondays
               for n in range(7)}
    for cco_id, org_id, day, score, misses in rows:
        subsidiary[cco_id] = org_id  # ordered by day: the latest wins
        if month <= day < end:
            scores[cco_id].append(score)
        if day in week_of and misses:
            week_misses[cco_id][week_of[day]] += misses

    flags: list[MonthlyFlag] = []
    averages = {pk: sum(values) / len(values) for pk, values in scores.items()}
    ranks = scoring.standard_ranks(averages)
    share = award_top_share()
    places = math.ceil(len(averages) * share)
    for cco_id in sorted(averages, key=lambda pk: (ranks[pk], pk)):
        if ranks[cco_id] <= places and averages[cco_id] > 0:
            flags.append(MonthlyFlag(
                cco_id=cco_id, subsidiary_id=subsidiary[cco_id], month=month,
                kind=MonthlyFlag.Kind.AWARD,
                reason=_("Top %(share)s%% of the group in %(month)s: rank %(rank)s of "
                         "%(count)s, average daily score %(score)s.") % {
                    "share": format((share * 100).normalize(), "f"), "month": f"{month:%Y-%m}",
                    "rank": ranks[cco_id], "count": len(averages),
                    "score": averages[cco_id].quantize(scoring.SCORE_PLACES)}))
    threshold = warning_misses_per_week()
    for cco_id in sorted(week_misses):
        bad = [(monday, n) for monday, n in sorted(week_misses[cco_id].items())
               if n >= threshold]
        if bad:
            weeks = "; ".join(
                _("%(misses)s in week %(week)s (%(monday)s to %(sunday)s)") % {
                    "misses": n, "week": f"{monday:%G-W%V}", "monday": monday.isoformat(),
                    "sunday": (monday + datetime.timedelta(days=6)).isoformat()}
                for monday, n in bad)
            flags.append(MonthlyFlag(
                cco_id=cco_id, subsidiary_id=subsidiary[cco_id], month=month,
                kind=MonthlyFlag.Kind.WARNING,
                reason=_("Missed response deadlines: %(weeks)s.") % {"weeks": weeks}))
    MonthlyFlag.objects.filter(month=month).delete()
    MonthlyFlag.objects.bulk_create(flags)
    return len(flags)


# --- Rollups of the dashboards -------------------------------------------------------------------

# Each order's total incl. VAT shared out over the categories of its lines, in proportion to
# the lines' gross values (a line priced excl. VAT counts with the order's VAT rate). The
# share of the k-th category (by id) is round(total × gross up to k / gross) minus the same
# up to k − 1, so the shares add up to the total exactly. Orders without lines: no category.
_CATEGORY_SALES_SQL = """
WITH placed AS (
    SELECT o.id, o.seller_id, o.total, o.vat_rate FROM {order} o
    WHERE o.placed_at >= %(start)s AND o.placed_at < %(end)s AND o.status <> %(cancelled)s
), by_category AS (
    SELECT p.id AS order_id, p.seller_id, p.total, pr.category_id,
           SUM(CASE WHEN l.tax_inclusive THEN l.line_total
                    ELSE l.line_total * (1 + p.vat_rate) END) AS gross
    FROM placed p JOIN {line} l ON l.order_id = p.id JOIN {product} pr ON pr.id = l.product_id
    GROUP BY p.id, p.seller_id, p.total, pr.category_id
), running AS (
    SELECT seller_id, category_id, total, gross,
           SUM(gross) OVER w AS upto, SUM(gross) OVER (PARTITION BY order_id) AS whole,
           ROW_NUMBER() OVER w AS k, COUNT(*) OVER (PARTITION BY order_id) AS n
    FROM by_category
    WINDOW w AS (PARTITION BY order_id ORDER BY category_id ROWS UNBOUNDED PRECEDING)
)
INSERT INTO {target} (day, seller_id, category_id, orders, amount)
SELECT %(day)s, seller_id, category_id, COUNT(*), SUM(share) FROM (
    SELECT seller_id, category_id,
           CASE WHEN whole > 0 THEN ROUND(total * upto / whole, 2)
                                    - ROUND(total * (upto - gross) / whole, 2)
                ELSE ROUND(total * k / n, 2) - ROUND(total * (k - 1) / n, 2) END AS share
    FROM running
    UNION ALL
    SELECT p.seller_id, NULL, p.total FROM placed p
    WHERE NOT EXISTS (SELECT 1 FROM {line} l WHERE l.order_id = p.id)
) AS shares
GROUP BY seller_id, category_id
"""


def _sales_rows(day: datetime.date, start, end) -> list[DailySales]:
    channel_of = (Inquiry.objects.filter(order=OuterRef("pk")).order_by("pk")
                  .values("channel")[:1])
    rows = (Order.objects.filter(placed_at__gte=start, placed_at__lt=end)
            .exclude(status=Order.Status.CANCELLED)
            .annotate(province=Coalesce("address__region__parent_id", "address__region_id",
                                        "pickup_depot__region__parent_id",
                                        "pickup_depot__region_id"),
                      quote_channel=Subquery(channel_of))
            .values("seller_id", "province", "quote_channel")
            .annotate(n=Count("pk"), amount=Sum("total")).order_by())
    web = Inquiry._meta.get_field("channel").default  # a checkout order counts as "web"
    return [DailySales(day=day, seller_id=row["seller_id"], province_id=row["province"],
                       channel=row["quote_channel"] or web,
                       from_inquiry=row["quote_channel"] is not None, orders=row["n"],
                       amount=row["amount"]) for row in rows]


def _inquiry_rows(day: datetime.date, start, end) -> tuple[list, list]:
    received = Inquiry.objects.filter(received_at__gte=start, received_at__lt=end).order_by()
    Status = Inquiry.Status
    quoted = Q(Exists(Quote.objects.filter(inquiry=OuterRef("pk")))) | Q(
        status__in=[Status.QUOTED, Status.WON])
    funnel = (received.values("seller_id", "channel")
              .annotate(received=Count("pk"), quoted=Count("pk", filter=quoted),
                        won=Count("pk", filter=Q(status=Status.WON)),
                        lost=Count("pk", filter=Q(status=Status.LOST))))
    losses = (received.filter(status=Status.LOST).values("seller_id", "lost_reason")
              .annotate(n=Count("pk")))
    return ([DailyInquiries(day=day, **row) for row in funnel],
            [DailyLostInquiries(day=day, seller_id=row["seller_id"], reason=row["lost_reason"],
                                lost=row["n"]) for row in losses])


@transaction.atomic
def rollups_refresh(*, day: datetime.date) -> dict[str, int]:
    """Replace the day's rows of the rollups (`DailySales` and its per-seller sums
    `DailySellerSales`, `DailyCategorySales`,
    `DailyInquiries`, `DailyLostInquiries`; their docstrings define the figures) from the raw
    rows: one DELETE per table and one GROUP BY over the day per table, whatever the
    volume. Running it again on the same data writes the same rows. Returns the rows
    written: {"sales", "categories", "inquiries", "lost"}."""
    _lock_day(day.toordinal(), ROLLUP_LOCK)
    start, end = scoring.day_bounds(day)
    tables = (DailySales, DailySellerSales, DailyCategorySales, DailyInquiries,
              DailyLostInquiries)
    for model in tables:
        model.objects.filter(day=day).delete()
    sales = _sales_rows(day, start, end)
    written = {"sales": len(DailySales.objects.bulk_create(sales))}
    per_seller: dict[int, DailySellerSales] = {}
    for row in sales:
        total = per_seller.setdefault(row.seller_id, DailySellerSales(
            day=day, seller_id=row.seller_id, orders=0, amount=Decimal("0.00")))
        total.orders += row.orders
        total.amount += row.amount
    DailySellerSales.objects.bulk_create(per_seller.values())
    funnel, losses = _inquiry_rows(day, start, end)
    written["inquiries"] = len(DailyInquiries.objects.bulk_create(funnel))
    written["lost"] = len(DailyLostInquiries.objects.bulk_create(losses))
    with connection.cursor() as cursor:
        cursor.execute(_CATEGORY_SALES_SQL.format(
            order=Order._meta.db_table, line=OrderLine._meta.db_table,
            product=OrderLine._meta.get_field("product").related_model._meta.db_table,
            target=DailyCategorySales._meta.db_table),
            {"start": start, "end": end, "day": day, "cancelled": Order.Status.CANCELLED})
        written["categories"] = cursor.rowcount
    return written


# --- The managers' morning digest ----------------------------------------------------------------

DIGEST_BOARD = 5  # the leaderboard's top and bottom five


def digest_recipients():
    """Active subsidiary and HQ managers with an organisation and an address."""
    return (User.objects.filter(is_active=True, organization__isnull=False,
                                groups__name__in=[Role.SUBSIDIARY_MANAGER, Role.HQ_MANAGER])
            .exclude(email="").select_related("organization").distinct().order_by("pk"))


def digest_figures(user, *, day: datetime.date) -> dict:
    """What one manager's digest says about `day`, scoped to what the manager sees: sales,
    inquiries received (the funnel's), inquiries won and deadline misses (the CCO snapshots
    of the day), and the day's leaderboard top and bottom five by score (the bottom five
    without those already in the top five)."""
    period = reports_selectors.Period(day, day)
    sales = reports_selectors.sales_series(user, end=day, days=1)[0]
    funnel = reports_selectors.inquiry_funnel(user, period)
    snapshot = reports_selectors.cco_daily(user, day=day).aggregate(
        won=Coalesce(Sum("orders_won"), 0), misses=Coalesce(Sum("deadline_misses"), 0))
    board = reports_selectors.cco_leaderboard(user, period)
    top = board[:DIGEST_BOARD]
    bottom = board[max(DIGEST_BOARD, len(board) - DIGEST_BOARD):]
    return {"day": day, "orders": sales["orders"], "amount": sales["amount"],
            "received": funnel["received"], "won": snapshot["won"],
            "misses": snapshot["misses"], "top": top, "bottom": bottom,
            "scope": (_("the whole group") if reports_selectors.report_sellers(user) is None
                      else str(user.organization))}


@transaction.atomic
def digest_send(*, day: datetime.date) -> int:
    """Write the morning digest of `day` (normally yesterday) to every manager through the
    outbox: subsidiary managers get their subsidiary's figures, HQ managers the group's,
    each in their language. The dedup key `digest:{day}:{user}` makes a second run write
    nothing; returns the messages written."""
    recipients = list(digest_recipients())
    keys = {user.pk: f"digest:{day.isoformat()}:{user.pk}" for user in recipients}
    sent = set(OutboxMessage.objects.filter(dedup_key__in=list(keys.values()))
               .values_list("dedup_key", flat=True))
    messages = []
    for user in recipients:
        if keys[user.pk] in sent or not reports_selectors.may_read_reports(user):
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            figures = digest_figures(user, day=day)
        messages.append(notify_message(user=user, kind="digest", context=figures,
                                       dedup_key=keys[user.pk], template_dir="reports/email"))
    return len(outbox_enqueue_many(messages))
