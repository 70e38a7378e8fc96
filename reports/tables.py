"""The dashboards' tables: one definition per table — its title, its columns and how a
selector's figures become its rows — shared by the pages (which show them) and the exports
(`reports.exports`, CSV and XLSX), so an export holds exactly what the page shows."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import selectors
from .selectors import Period


@dataclass(frozen=True)
class Column:
    title: str | Promise
    kind: str = "text"  # text, int, money, rate (a share: 0.1234 = 12.34 %), date, number

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "date")


@dataclass
class Table:
    key: str
    title: str | Promise
    columns: list[Column]
    rows: list[tuple]

    @property
    def cells(self) -> list[list[tuple]]:
        """Each row as (value, column) pairs, for the templates."""
        return [list(zip(row, self.columns, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Spec:
    title: str | Promise
    columns: list[Column]
    figures: str  # the key of `selectors.dashboard()` the rows come from
    load: Callable  # (user, period, today) → the figures, for an export of this table alone
    rows: Callable  # figures → rows


TEXT, INT, MONEY, RATE = "text", "int", "money", "rate"


def _breakdown(label: str | Promise) -> list[Column]:
    return [Column(label), Column(_("Orders"), INT), Column(_("Sales (CNY)"), MONEY),
            Column(_("Share of sales"), RATE)]


def _breakdown_rows(rows):
    return [(row["label"], row["orders"], row["amount"], row["share"]) for row in rows]


def _summary_rows(summary):
    labels = {"today": _("Today"), "yesterday": _("Yesterday"),
              "month_to_date": _("Month to date")}
    return [(str(labels[name]), summary[name]["orders"], summary[name]["amount"])
            for name in labels]


def _comparison_rows(comparison):
    labels = {"current": _("Month to date"), "previous_month": _("Same days last month"),
              "previous_year": _("Same days last year")}
    now = comparison["current"]["amount"]
    rows = []
    for name, label in labels.items():
        part = comparison[name]
        change = None if name == "current" else selectors.change_rate(now, part["amount"])
        rows.append((str(label), part["start"], part["end"], part["orders"], part["amount"],
                     change))
    return rows


def _funnel_rows(funnel):
    return [(str(_("Received")), funnel["received"], None),
            (str(_("Quoted")), funnel["quoted"], funnel["quote_rate"]),
            (str(_("Won")), funnel["won"], funnel["win_rate"]),
            (str(_("Lost")), funnel["lost"], None)]


def _flags_text(flags) -> str:
    return "; ".join(f"{flag['month']:%Y-%m} {flag['label']}" for flag in flags)


def _leaderboard_rows(board):
    return [(row["rank_in_group"], row["cco"], row["subsidiary"], row["rank_in_subsidiary"],
             row["score"], row["days"], row["received"], row["answered"], row["on_time_rate"],
             row["quotes_sent"], row["orders_won"], row["sales_amount"],
             row["deadline_misses"], _flags_text(row["flags"])) for row in board]


def _dealer_rows(dealers):
    return [(row["dealer"].name, row["routed"], row["accepted"], row["declined"],
             row["timed_out"], row["won"], row["conversion"],
             str(_("Yes")) if row["flagged"] else "") for row in dealers]


def _daily_rows(series):
    return [(row["day"], row["orders"], row["amount"]) for row in series]


def _target_rows(progress):
    rows = [(str(_("Subsidiary")), row["label"], row["label"], row["target"], row["sales"],
             row["percent"] / 100) for row in progress["subsidiaries"]]
    rows += [(str(_("CCO")), row["label"], row["subsidiary"], row["target"], row["sales"],
              row["percent"] / 100) for row in progress["ccos"]]
    return rows


def _unmet_rows(demand):
    return [(row["cas"], row["name"], row["requests"], row["quantity"], row["unit"],
             ", ".join(row["provinces"])) for row in demand]


SPECS: dict[str, Spec] = {
    "summary": Spec(
        _("Sales"), [Column(_("Period")), Column(_("Orders"), INT),
                     Column(_("Sales (CNY)"), MONEY)],
        "summary", lambda user, period, today: selectors.sales_summary(user, today=today),
        _summary_rows),
    "comparison": Spec(
        _("Period comparison"),
        [Column(_("Period")), Column(_("From"), "date"), Column(_("To"), "date"),
         Column(_("Orders"), INT), Column(_("Sales (CNY)"), MONEY),
         Column(_("Month to date against it"), RATE)],
        "comparison", lambda user, period, today: selectors.sales_comparison(user, today=today),
        _comparison_rows),
    "daily": Spec(
        _("Sales per day, last 90 days"),
        [Column(_("Day"), "date"), Column(_("Orders"), INT), Column(_("Sales (CNY)"), MONEY)],
        "series_90",
        lambda user, period, today: selectors.sales_series(user, end=today, days=90),
        _daily_rows),
    "by_subsidiary": Spec(
        _("Sales by subsidiary"), _breakdown(_("Subsidiary")), "by_subsidiary",
        lambda user, period, today: selectors.sales_by_subsidiary(user, period),
        _breakdown_rows),
    "by_category": Spec(
        _("Sales by category"), _breakdown(_("Category")), "by_category",
        lambda user, period, today: selectors.sales_by_category(user, period),
        _breakdown_rows),
    "by_province": Spec(
        _("Sales by province"), _breakdown(_("Province")), "by_province",
        lambda user, period, today: selectors.sales_by_province(user, period),
        _breakdown_rows),
    "funnel": Spec(
        _("Inquiry funnel"),
        [Column(_("Stage")), Column(_("Inquiries"), INT),
         Column(_("Conversion from the stage before"), RATE)],
        "funnel", lambda user, period, today: selectors.inquiry_funnel(user, period),
        _funnel_rows),
    "channels": Spec(
        _("Channel return"),
        [Column(_("Channel")), Column(_("Inquiries received"), INT),
         Column(_("Inquiries won"), INT), Column(_("Orders"), INT),
         Column(_("Sales (CNY)"), MONEY), Column(_("Spend (CNY)"), MONEY),
         Column(_("Cost per won deal (CNY)"), MONEY)],
        "channels", lambda user, period, today: selectors.channel_return(user, period),
        lambda rows: [(r["label"], r["received"], r["won"], r["orders"], r["amount"],
                       r["spend"], r["cost_per_won"]) for r in rows]),
    "lost_reasons": Spec(
        _("Lost reasons"),
        [Column(_("Reason")), Column(_("Inquiries lost"), INT), Column(_("Share"), RATE)],
        "lost_reasons", lambda user, period, today: selectors.lost_reasons(user, period),
        lambda rows: [(r["label"], r["lost"], r["share"]) for r in rows]),
    "unmet_demand": Spec(
        _("Unmet demand"),
        [Column(_("CAS number")), Column(_("Chemical")), Column(_("Inquiries"), INT),
         Column(_("Quantity asked"), "number"), Column(_("Unit")), Column(_("Provinces"))],
        "unmet_demand", lambda user, period, today: selectors.unmet_demand(user, period),
        _unmet_rows),
    "leaderboard": Spec(
        _("CCO leaderboard"),
        [Column(_("Rank"), INT), Column(_("CCO")), Column(_("Subsidiary")),
         Column(_("Rank in the subsidiary"), INT), Column(_("Average score"), "number"),
         Column(_("Days"), INT), Column(_("Received"), INT), Column(_("Answered"), INT),
         Column(_("Answered on time"), RATE), Column(_("Quotes sent"), INT),
         Column(_("Orders won"), INT), Column(_("Sales (CNY)"), MONEY),
         Column(_("Missed deadlines"), INT), Column(_("Flags"))],
        "leaderboard", lambda user, period, today: selectors.cco_leaderboard(user, period),
        _leaderboard_rows),
    "dealers": Spec(
        _("Dealer performance"),
        [Column(_("Dealer")), Column(_("Routed"), INT), Column(_("Accepted"), INT),
         Column(_("Declined"), INT), Column(_("Timed out"), INT), Column(_("Won"), INT),
         Column(_("Conversion"), RATE), Column(_("Below peers"))],
        "dealers", lambda user, period, today: selectors.dealer_performance(user),
        _dealer_rows),
    "targets": Spec(
        _("Monthly targets"),
        [Column(_("Target of")), Column(_("Name")), Column(_("Subsidiary")),
         Column(_("Target (CNY)"), MONEY), Column(_("Month to date (CNY)"), MONEY),
         Column(_("Reached"), RATE)],
        "targets", lambda user, period, today: selectors.target_progress(user, today=today),
        _target_rows),
}


def table(key: str, figures) -> Table:
    spec = SPECS[key]
    return Table(key=key, title=spec.title, columns=spec.columns, rows=spec.rows(figures))


def tables_of(dashboard: dict) -> dict[str, Table]:
    """Every table of a `selectors.dashboard()` result, by key."""
    return {key: table(key, dashboard[spec.figures]) for key, spec in SPECS.items()}


def load(key: str, *, user, period: Period, today: datetime.date) -> Table:
    """One table alone, for its export: only its own queries."""
    return table(key, SPECS[key].load(user, period, today))
