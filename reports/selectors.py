"""Reads of the reports app: who may read the reports and whose figures, and every figure of
the dashboards — from the rollups (`DailySales` …) and the CCO snapshots, never from the
raw rows per request; unmet demand alone reads `Inquiry` (the unlisted ones in a period).

Scope: HQ staff (and superusers) see the group; a subsidiary manager their subsidiary's
subtree; everybody else nothing. Every selector takes the user and starts from that scope.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Avg, Case, Count, F, Max, Q, QuerySet, Sum, When
from django.db.models.functions import Coalesce, Lower
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Organization, Region, Role
from dealers import selectors as dealers
from inquiries.models import Channel, Inquiry, LostReason

from . import scoring
from .models import (
    CcoDailyReport,
    ChannelSpend,
    DailyCategorySales,
    DailyInquiries,
    DailyLostInquiries,
    DailySales,
    DailySellerSales,
    ExportJob,
    MonthlyFlag,
    SalesTarget,
)

ZERO = Decimal("0.00")
CENTS = Decimal("0.01")
PERCENT_PLACES = Decimal("0.1")
RATE_PLACES = Decimal("0.0001")
UNMET_DEMAND_ROWS = 20


# --- Who sees what -------------------------------------------------------------------------------


def may_read_reports(user) -> bool:
    """Subsidiary and HQ managers, and superusers."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or bool(
        user.organization_id and (user.has_role(Role.SUBSIDIARY_MANAGER)
                                  or user.has_role(Role.HQ_MANAGER)))


def report_sellers(user) -> QuerySet[Organization] | None:
    """The organisations whose figures `user` sees: None for the whole group (HQ staff,
    superusers), a subtree for a subsidiary manager, none for anybody else."""
    if not may_read_reports(user):
        return Organization.objects.none()
    if user.is_hq_staff:
        return None
    return user.organization.subtree()


def _scoped(queryset: QuerySet, user, field: str = "seller") -> QuerySet:
    sellers = report_sellers(user)
    return queryset if sellers is None else queryset.filter(**{f"{field}__in": sellers})


# --- Periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar days in Asia/Shanghai, both ends included."""

    start: datetime.date
    end: datetime.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def filter(self, field: str = "day") -> dict:
        return {f"{field}__gte": self.start, f"{field}__lte": self.end}


def months_back(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` earlier (the month's last day when it has fewer days)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = datetime.date(year + (month == 12), month % 12 + 1, 1)
    return datetime.date(year, month, min(day.day, (following - datetime.timedelta(days=1)).day))


def _rate(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def change_rate(now, before) -> Decimal | None:
    """now / before − 1; None when there was nothing before."""
    if not before:
        return None
    return (Decimal(now) / Decimal(before) - 1).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _bilingual(zh: str, en: str) -> str:
    return zh if (get_language() or "").startswith("zh") else (en or zh)


# --- Sales ---------------------------------------------------------------------------------------


def _sales_in(since: datetime.date, until: datetime.date) -> dict:
    return {"orders": Coalesce(Sum("orders", filter=Q(day__gte=since, day__lte=until)), 0),
            "amount": Coalesce(Sum("amount", filter=Q(day__gte=since, day__lte=until)), ZERO)}


def sales_summary(user, *, today: datetime.date) -> dict:
    """Orders and sales of today, yesterday and the month to date: one query."""
    yesterday = today - datetime.timedelta(days=1)
    month = today.replace(day=1)
    parts = {"today": (today, today), "yesterday": (yesterday, yesterday),
             "month_to_date": (month, today)}
    aggregates = {}
    for name, (since, until) in parts.items():
        for figure, expression in _sales_in(since, until).items():
            aggregates[f"{name}__{figure}"] = expression
    row = _scoped(DailySellerSales.objects.filter(day__gte=min(month, yesterday),
                                                  day__lte=today), user).aggregate(**aggregates)
    return {name: {"orders": row[f"{name}__orders"], "amount": row[f"{name}__amount"]}
            for name in parts}


def sales_comparison(user, *, today: datetime.date) -> dict:
    """The month to date against the same days of the previous month (month on month) and
    of the same month a year before (year on year): one query."""
    month = today.replace(day=1)
    periods = {"current": Period(month, today),
               "previous_month": Period(months_back(month, 1), months_back(today, 1)),
               "previous_year": Period(months_back(month, 12), months_back(today, 12))}
    aggregates = {}
    for name, period in periods.items():
        for figure, expression in _sales_in(period.start, period.end).items():
            aggregates[f"{name}__{figure}"] = expression
    days = Q()
    for period in periods.values():
        days |= Q(**period.filter())
    row = _scoped(DailySellerSales.objects.filter(days), user).aggregate(**aggregates)
    result = {name: {"start": period.start, "end": period.end,
                     "orders": row[f"{name}__orders"], "amount": row[f"{name}__amount"]}
              for name, period in periods.items()}
    now = result["current"]["amount"]
    result["month_on_month"] = change_rate(now, result["previous_month"]["amount"])
    result["year_on_year"] = change_rate(now, result["previous_year"]["amount"])
    return result


def sales_series(user, *, end: datetime.date, days: int) -> list[dict]:
    """Orders and sales per day for the `days` days up to `end`, days without sales too."""
    start = end - datetime.timedelta(days=days - 1)
    rows = {row["day"]: row for row in
            _scoped(DailySellerSales.objects.filter(day__gte=start, day__lte=end), user)
            .values("day").annotate(orders=Sum("orders"), amount=Sum("amount")).order_by()}
    series = []
    for n in range(days):
        day = start + datetime.timedelta(days=n)
        row = rows.get(day, {})
        series.append({"day": day, "orders": row.get("orders", 0),
                       "amount": row.get("amount", ZERO)})
    return series


def _with_shares(rows: list[dict]) -> list[dict]:
    total = sum((row["amount"] for row in rows), ZERO)
    for row in rows:
        row["share"] = _rate(row["amount"], total)
    return rows


def sales_by_subsidiary(user, period: Period) -> list[dict]:
    rows = (_scoped(DailySellerSales.objects.filter(**period.filter()), user)
            .values("seller_id", "seller__code", "seller__name_zh", "seller__name_en")
            .annotate(orders=Sum("orders"), amount=Sum("amount")).order_by("-amount", "seller_id"))
    return _with_shares([
        {"key": row["seller__code"], "label": _bilingual(row["seller__name_zh"],
                                                         row["seller__name_en"]),
         "orders": row["orders"], "amount": row["amount"]} for row in rows])


def sales_by_category(user, period: Period) -> list[dict]:
    """By the category of the order lines: an order in two categories counts in both, its
    total shared out between them (see `DailyCategorySales`)."""
    rows = (_scoped(DailyCategorySales.objects.filter(**period.filter()), user)
            .values("category_id", "category__key", "category__name_zh", "category__name_en")
            .annotate(orders=Sum("orders"), amount=Sum("amount"))
            .order_by("-amount", "category_id"))
    return _with_shares([
        {"key": row["category__key"] or "",
         "label": (_bilingual(row["category__name_zh"], row["category__name_en"])
                   if row["category_id"] else _("No category")),
         "orders": row["orders"], "amount": row["amount"]} for row in rows])


def sales_by_province(user, period: Period) -> list[dict]:
    rows = (_scoped(DailySales.objects.filter(**period.filter()), user)
            .values("province_id", "province__name_zh", "province__name_en")
            .annotate(orders=Sum("orders"), amount=Sum("amount"))
            .order_by("-amount", "province_id"))
    return _with_shares([
        {"key": row["province_id"] or "",
         "label": (_bilingual(row["province__name_zh"], row["province__name_en"])
                   if row["province_id"] else _("Unknown")),
         "orders": row["orders"], "amount": row["amount"]} for row in rows])


# --- Inquiries -----------------------------------------------------------------------------------


def inquiry_funnel(user, period: Period) -> dict:
    """Inquiries received in the period and what they have become: quoted, won, lost; with
    the conversions quoted/received, won/quoted and won/received."""
    row = _scoped(DailyInquiries.objects.filter(**period.filter()), user).aggregate(
        received=Coalesce(Sum("received"), 0), quoted=Coalesce(Sum("quoted"), 0),
        won=Coalesce(Sum("won"), 0), lost=Coalesce(Sum("lost"), 0))
    row["quote_rate"] = _rate(row["quoted"], row["received"])
    row["win_rate"] = _rate(row["won"], row["quoted"])
    row["conversion"] = _rate(row["won"], row["received"])
    return row


CHECKOUT = "checkout"


def channel_spend(user, period: Period) -> dict[str, Decimal]:
    """The spend per channel of the organisations `user` sees, over the period: each month's
    `ChannelSpend` pro rata of the days of the month the period covers (all of March for
    1–31 March, a third of a 30-day month's for 10 of its days), rounded to the cent per
    channel at the end. One query."""
    rows = (_scoped(ChannelSpend.objects.filter(month__gte=period.start.replace(day=1),
                                                month__lte=period.end), user, "organization")
            .values("month", "channel").annotate(amount=Sum("amount")).order_by())
    spend: dict[str, Decimal] = {}
    for row in rows:
        month = row["month"]
        following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        covered = (min(period.end, following - datetime.timedelta(days=1))
                   - max(period.start, month)).days + 1
        share = row["amount"] * covered / (following - month).days
        spend[row["channel"]] = spend.get(row["channel"], ZERO) + share
    return {key: value.quantize(CENTS, rounding=ROUND_HALF_UP) for key, value in spend.items()}


def cost_per_won(spend: Decimal | None, won: int) -> Decimal | None:
    """Spend / won deals, to the cent; None (blank) without spend or without a win."""
    if not spend or not won:
        return None
    return (spend / won).quantize(CENTS, rounding=ROUND_HALF_UP)


def channel_return(user, period: Period) -> list[dict]:
    """Per channel: inquiries received and won (of those received in the period), and the
    orders and sales from them placed in the period; orders placed at the checkout without
    an inquiry make a row of their own ("checkout"). Where spend is entered for a channel
    (`channel_spend`): the spend and the cost per won deal (spend / inquiries won), blank
    without spend or without a win; a channel with spend and no return still has its row."""
    inquiries = {row["channel"]: row for row in
                 _scoped(DailyInquiries.objects.filter(**period.filter()), user)
                 .values("channel").annotate(received=Sum("received"), won=Sum("won"))
                 .order_by()}
    sales = {row["channel"] if row["from_inquiry"] else CHECKOUT: row for row in
             _scoped(DailySales.objects.filter(**period.filter()), user)
             .values("channel", "from_inquiry")
             .annotate(orders=Sum("orders"), amount=Sum("amount")).order_by()}
    spend = channel_spend(user, period)
    labels = [(CHECKOUT, _("Checkout, no inquiry")), *Channel.choices]
    rows = []
    for key, label in labels:
        if key not in inquiries and key not in sales and key not in spend:
            continue
        asked, sold = inquiries.get(key, {}), sales.get(key, {})
        won = asked.get("won", 0)
        rows.append({"key": key, "label": str(label),
                     "received": asked.get("received", 0), "won": won,
                     "orders": sold.get("orders", 0), "amount": sold.get("amount", ZERO),
                     "spend": spend.get(key), "cost_per_won": cost_per_won(spend.get(key), won)})
    return sorted(rows, key=lambda row: (-row["amount"], -row["received"], row["key"]))


def lost_reasons(user, period: Period) -> list[dict]:
    rows = (_scoped(DailyLostInquiries.objects.filter(**period.filter()), user)
            .values("reason").annotate(lost=Sum("lost")).order_by("-lost", "reason"))
    labels = dict(LostReason.choices)
    total = sum(row["lost"] for row in rows)
    return [{"key": row["reason"], "label": str(labels.get(row["reason"], row["reason"])),
             "lost": row["lost"], "share": _rate(row["lost"], total)} for row in rows]


def unmet_demand(user, period: Period, *, limit: int = UNMET_DEMAND_ROWS) -> list[dict]:
    """The most requested unlisted chemicals of the period: by CAS number (by name when the
    buyer gave none) and unit, with the inquiries, the quantity asked for and the delivery
    provinces. Two queries: the GROUP BY over the period's unlisted inquiries, the names of
    the provinces."""
    start, end = scoring.day_bounds(period.start)[0], scoring.day_bounds(period.end)[1]
    rows = list(
        _scoped(Inquiry.objects.filter(is_unlisted=True, received_at__gte=start,
                                       received_at__lt=end), user)
        .annotate(what=Case(When(~Q(requested_cas=""), then=F("requested_cas")),
                            default=Lower("requested_name")),
                  province=Coalesce("delivery_region__parent_id", "delivery_region_id"))
        .values("what", "unit")
        .annotate(requests=Count("pk"), quantity=Sum("quantity"), cas=Max("requested_cas"),
                  name=Max("requested_name"),
                  provinces=ArrayAgg("province", distinct=True,
                                     filter=Q(delivery_region__isnull=False)))
        .order_by("-requests", "-quantity", "what")[:limit])
    for row in rows:
        row["provinces"] = row["provinces"] or []  # none with a delivery region: NULL
    codes = {code for row in rows for code in row["provinces"]}
    names = {region.code: region.name for region in Region.objects.filter(code__in=codes)}
    return [{"cas": row["cas"], "name": row["name"], "unit": row["unit"],
             "requests": row["requests"], "quantity": row["quantity"],
             "provinces": sorted(names.get(code, code) for code in row["provinces"])}
            for row in rows]


# --- CCOs and dealers ----------------------------------------------------------------------------


def cco_daily(user, *, day: datetime.date) -> QuerySet[CcoDailyReport]:
    """The day's CCO snapshot rows `user` may see, best first."""
    return (_scoped(CcoDailyReport.objects.filter(day=day), user, "subsidiary")
            .select_related("cco", "subsidiary").order_by("rank_in_group", "cco_id"))


def cco_leaderboard(user, period: Period) -> list[dict]:
    """Each CCO's period from the daily snapshots: the average daily score and the ranks by it
    (standard competition ranking, within the subsidiary and the group — the group rank
    counts every CCO, also those `user` does not see), the summed figures, and the monthly
    flags of the months the period touches. Three queries."""
    rows = list(
        CcoDailyReport.objects.filter(**period.filter())
        .values("cco_id", "cco__full_name", "cco__email", "subsidiary_id",
                "subsidiary__name_zh", "subsidiary__name_en")
        .annotate(days=Count("pk"), score=Avg("score"), received=Sum("received"),
                  answered=Sum("answered"), answered_on_time=Sum("answered_on_time"),
                  quotes_sent=Sum("quotes_sent"), orders_won=Sum("orders_won"),
                  sales_amount=Sum("sales_amount"), deadline_misses=Sum("deadline_misses"))
        .order_by())
    for row in rows:
        row["score"] = Decimal(row["score"]).quantize(scoring.SCORE_PLACES,
                                                      rounding=ROUND_HALF_UP)
    keys = {(row["cco_id"], row["subsidiary_id"]): row for row in rows}
    group = scoring.standard_ranks({key: row["score"] for key, row in keys.items()})
    by_subsidiary: dict[int, dict] = {}
    for key, row in keys.items():
        by_subsidiary.setdefault(key[1], {})[key] = row["score"]
    sub_ranks = {}
    for scores in by_subsidiary.values():
        sub_ranks.update(scoring.standard_ranks(scores))

    sellers = report_sellers(user)
    if sellers is not None:
        visible = set(sellers.values_list("pk", flat=True))
        keys = {key: row for key, row in keys.items() if key[1] in visible}
    flags: dict[int, list] = {}
    if keys:
        for flag in (MonthlyFlag.objects.filter(
                cco_id__in={key[0] for key in keys}, month__gte=period.start.replace(day=1),
                month__lte=period.end).order_by("month", "kind")):
            flags.setdefault(flag.cco_id, []).append(
                {"month": flag.month, "kind": flag.kind, "label": flag.get_kind_display(),
                 "reason": flag.reason})
    board = []
    for key, row in keys.items():
        board.append({
            "cco_id": key[0], "cco": row["cco__full_name"] or row["cco__email"],
            "subsidiary": _bilingual(row["subsidiary__name_zh"], row["subsidiary__name_en"]),
            "rank_in_group": group[key], "rank_in_subsidiary": sub_ranks[key],
            "score": row["score"], "days": row["days"], "received": row["received"],
            "answered": row["answered"], "answered_on_time": row["answered_on_time"],
            "on_time_rate": _rate(row["answered_on_time"], row["answered"]),
            "quotes_sent": row["quotes_sent"], "orders_won": row["orders_won"],
            "sales_amount": row["sales_amount"], "deadline_misses": row["deadline_misses"],
            "flags": flags.get(key[0], [])})
    return sorted(board, key=lambda row: (row["rank_in_group"], row["cco_id"]))


def dealer_performance(user) -> list[dict]:
    """The dealers' performance (dealers.selectors) of the dealers `user` sees."""
    if not may_read_reports(user):
        return []
    return sorted(dealers.dealer_performance(dealers.dealers_visible_to(user)),
                  key=lambda row: (-row["won"], -row["routed"], row["dealer"].name))


# --- Monthly targets ----------------------------------------------------------------------------


def sales_targets_visible_to(user) -> QuerySet[SalesTarget]:
    """The targets of the organisations `user` sees the reports of (the admin's scope too)."""
    return _scoped(SalesTarget.objects.select_related("organization", "cco"), user,
                   "organization")


def channel_spend_visible_to(user) -> QuerySet[ChannelSpend]:
    return _scoped(ChannelSpend.objects.select_related("organization"), user, "organization")


def _progress(sales: Decimal, target: Decimal) -> dict:
    percent = (sales * 100 / target).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)
    return {"sales": sales, "target": target, "percent": percent,
            "bar": min(percent, Decimal("100")), "reached": sales >= target}


def target_progress(user, *, today: datetime.date) -> dict:
    """The month-to-date sales of `today`'s month against its targets, for the subsidiaries
    and CCOs `user` sees: {"month", "subsidiaries": [...], "ccos": [...]}, each row with
    "target", "sales", "percent" (sales / target × 100, to 0.1; above 100 when beaten),
    "bar" (the percent kept within 100, for the progress bar) and "reached".

    A subsidiary's sales are those of `DailySales` (today included) of the organisation and
    everything below it; a CCO's the `CcoDailyReport.sales_amount` of the CCO under that
    subsidiary — the nightly snapshots, so up to yesterday. Three queries."""
    month = today.replace(day=1)
    targets = list(sales_targets_visible_to(user).filter(month=month)
                   .order_by("organization__code", "cco__full_name", "cco_id"))
    result = {"month": month, "subsidiaries": [], "ccos": []}
    if not targets:
        return result
    by_seller = list(
        _scoped(DailySellerSales.objects.filter(day__gte=month, day__lte=today), user)
        .values("seller_id", "seller__parent_id", "seller__parent__parent_id")
        .annotate(amount=Sum("amount")).order_by())
    cco_ids = {t.cco_id for t in targets if t.cco_id}
    by_cco = {(row["cco_id"], row["subsidiary_id"]): row["amount"] for row in
              CcoDailyReport.objects.filter(cco_id__in=cco_ids, day__gte=month, day__lte=today)
              .values("cco_id", "subsidiary_id").annotate(amount=Sum("sales_amount"))
              .order_by()} if cco_ids else {}
    for target in targets:
        organization = _bilingual(target.organization.name_zh, target.organization.name_en)
        if target.cco_id is None:
            org = target.organization_id
            sales = sum((row["amount"] for row in by_seller if org in (
                row["seller_id"], row["seller__parent_id"], row["seller__parent__parent_id"])),
                ZERO)
            result["subsidiaries"].append({"key": target.organization.code,
                                           "label": organization,
                                           **_progress(sales, target.amount)})
        else:
            sales = by_cco.get((target.cco_id, target.organization_id), ZERO)
            result["ccos"].append({"key": target.cco_id,
                                   "label": target.cco.full_name or target.cco.email,
                                   "subsidiary": organization,
                                   **_progress(sales, target.amount)})
    return result


# --- Background exports --------------------------------------------------------------------------


def export_jobs_of(user) -> QuerySet[ExportJob]:
    """A user's own export jobs: nobody else's, whoever they are."""
    if not (user and user.is_authenticated):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(user=user)


# --- The dashboard -------------------------------------------------------------------------------


def dashboard(user, *, period: Period, today: datetime.date) -> dict:
    """Every figure of the dashboard page and its API."""
    series = sales_series(user, end=today, days=90)
    return {
        "today": today, "period": period,
        "summary": sales_summary(user, today=today),
        "comparison": sales_comparison(user, today=today),
        "series_30": series[-30:], "series_90": series,
        "by_subsidiary": sales_by_subsidiary(user, period),
        "by_category": sales_by_category(user, period),
        "by_province": sales_by_province(user, period),
        "funnel": inquiry_funnel(user, period),
        "channels": channel_return(user, period),
        "lost_reasons": lost_reasons(user, period),
        "unmet_demand": unmet_demand(user, period),
        "leaderboard": cco_leaderboard(user, period),
        "dealers": dealer_performance(user),
        "targets": target_progress(user, today=today),
    }

