"""Reports: nightly snapshots of CCO performance, the score weights, the monthly flags.

Snapshots are written only by `reports.services` (a day at a time, replaced whole) and
never edited by hand; the dashboards read them instead of scanning raw rows per request.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from inquiries.models import Channel  # an order placed at the checkout counts as "web"


class CcoDailyReport(models.Model):
    """One CCO's figures for one calendar day in Asia/Shanghai, and the resulting score and
    ranks. The definitions of every figure are in `reports.services.cco_daily_report_compute`."""

    day = models.DateField(_("day"))
    cco = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                            related_name="cco_daily_reports", verbose_name=_("CCO"))
    subsidiary = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                   related_name="cco_daily_reports",
                                   verbose_name=_("subsidiary"))
    received = models.PositiveIntegerField(_("inquiries received"), default=0)
    answered = models.PositiveIntegerField(_("inquiries answered"), default=0)
    answered_on_time = models.PositiveIntegerField(_("answered within the deadline"),
                                                   default=0)
    median_first_response_minutes = models.DecimalField(
        _("median first response (working minutes)"), max_digits=9, decimal_places=1,
        null=True, blank=True, help_text=_("Empty when nothing was answered that day."))
    quotes_sent = models.PositiveIntegerField(_("quotes sent"), default=0,
                                              help_text=_("Every version counts."))
    orders_won = models.PositiveIntegerField(_("orders won"), default=0)
    sales_amount = models.DecimalField(_("sales (CNY incl. VAT)"), max_digits=16,
                                       decimal_places=2, default=Decimal("0.00"))
    messages = models.PositiveIntegerField(_("messages and notes"), default=0)
    workload = models.PositiveIntegerField(_("workload (timeline entries)"), default=0)
    deadline_misses = models.PositiveIntegerField(_("missed deadlines"), default=0)
    score = models.DecimalField(_("score"), max_digits=12, decimal_places=4,
                                default=Decimal("0"))
    rank_in_subsidiary = models.PositiveIntegerField(_("rank in the subsidiary"))
    rank_in_group = models.PositiveIntegerField(_("rank in the group"))

    class Meta:
        ordering = ["-day", "rank_in_group", "cco_id"]
        verbose_name = _("CCO daily report")
        verbose_name_plural = _("CCO daily reports")
        constraints = [
            models.UniqueConstraint(fields=["cco", "day", "subsidiary"],
                                    name="ccodailyreport_once_per_day"),
        ]
        indexes = [
            models.Index(fields=["day", "rank_in_group"], name="ccodailyreport_group_rank"),
            models.Index(fields=["subsidiary", "day", "rank_in_subsidiary"],
                         name="ccodailyreport_sub_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.cco_id}: {self.score}"


class ScoreWeights(models.Model):
    """A subsidiary's weights of the composite score; without a row the defaults apply."""

    DEFAULTS = {"sales": Decimal("0.5"), "volume": Decimal("0.3"),
                "workload": Decimal("0.2"), "miss_penalty": Decimal("0.1")}

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE,
                                        related_name="score_weights",
                                        verbose_name=_("subsidiary"))
    sales = models.DecimalField(_("sales volume weight"), max_digits=5, decimal_places=3,
                                default=DEFAULTS["sales"])
    volume = models.DecimalField(_("inquiry volume weight"), max_digits=5, decimal_places=3,
                                 default=DEFAULTS["volume"],
                                 help_text=_("Counts the inquiries answered."))
    workload = models.DecimalField(_("workload weight"), max_digits=5, decimal_places=3,
                                   default=DEFAULTS["workload"])
    miss_penalty = models.DecimalField(
        _("penalty per missed deadline"), max_digits=6, decimal_places=3,
        default=DEFAULTS["miss_penalty"],
        help_text=_("Subtracted from the day's score for each missed response deadline."))

    class Meta:
        ordering = ["organization"]
        verbose_name = _("score weights")
        verbose_name_plural = _("score weights")
        constraints = [
            models.CheckConstraint(
                condition=Q(sales__gte=0, volume__gte=0, workload__gte=0, miss_penalty__gte=0),
                name="scoreweights_not_negative"),
        ]

    def __str__(self) -> str:
        return str(self.organization)


class MonthlyFlag(models.Model):
    """An award or a warning for a CCO's month, shown on the leaderboard."""

    class Kind(models.TextChoices):
        AWARD = "award", _("Award")
        WARNING = "warning", _("Warning")

    cco = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                            related_name="monthly_flags", verbose_name=_("CCO"))
    subsidiary = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                   related_name="monthly_flags", verbose_name=_("subsidiary"))
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    reason = models.TextField(_("reason"))

    class Meta:
        ordering = ["-month", "kind", "cco_id"]
        verbose_name = _("monthly flag")
        verbose_name_plural = _("monthly flags")
        constraints = [
            models.UniqueConstraint(fields=["cco", "month", "kind"], name="monthlyflag_once"),
            models.CheckConstraint(condition=Q(month__day=1), name="monthlyflag_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind} {self.cco_id}"


# --- Rollups: the dashboards' tables, one day at a time ------------------------------------------
#
# Written only by `reports.services.rollups_refresh(day=...)`, which replaces a day's rows whole
# (delete + one INSERT … SELECT … GROUP BY per table). "day" is the calendar day in Asia/Shanghai.


def _money(verbose_name):
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2,
                               default=Decimal("0.00"))


class DailySales(models.Model):
    """Orders placed in the day and not cancelled (at the time of the refresh), by seller,
    province of delivery (the delivery address's, else the pickup depot's) and channel (the
    accepted quote's inquiry channel; a checkout order is "web"). Summing `orders` over any
    set of rows counts every order once."""

    day = models.DateField(_("day"))
    seller = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("seller"))
    province = models.ForeignKey("accounts.Region", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("province"))
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    from_inquiry = models.BooleanField(_("won from an inquiry"), default=False)
    orders = models.PositiveIntegerField(_("orders"), default=0)
    amount = _money(_("sales (CNY incl. VAT)"))

    class Meta:
        ordering = ["-day", "seller_id", "province_id", "channel"]
        verbose_name = _("daily sales")
        verbose_name_plural = _("daily sales")
        constraints = [
            models.UniqueConstraint(fields=["day", "seller", "province", "channel",
                                            "from_inquiry"],
                                    name="dailysales_once", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["seller", "day"], name="dailysales_seller_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.seller_id} {self.province_id} {self.channel}: {self.amount}"


class DailySellerSales(models.Model):
    """`DailySales` summed per day and seller (one row each): what the trend lines, the
    summary cards, the period comparison, the subsidiary table and the targets read — a
    hundredth of the rows of the group's `DailySales`."""

    day = models.DateField(_("day"))
    seller = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("seller"))
    orders = models.PositiveIntegerField(_("orders"), default=0)
    amount = _money(_("sales (CNY incl. VAT)"))

    class Meta:
        ordering = ["-day", "seller_id"]
        verbose_name = _("daily sales per seller")
        verbose_name_plural = _("daily sales per seller")
        constraints = [models.UniqueConstraint(fields=["day", "seller"],
                                               name="dailysellersales_once")]
        indexes = [models.Index(fields=["seller", "day"], name="dailysellersales_seller_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.seller_id}: {self.amount}"


class DailyCategorySales(models.Model):
    """The same orders by category of their lines. An order with lines in two categories
    counts in both rows (`orders` = orders containing the category); its total incl. VAT is
    shared out in proportion to the lines' gross values, rounded so the shares add up to the
    total to the cent. An order without lines has no category."""

    day = models.DateField(_("day"))
    seller = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("seller"))
    category = models.ForeignKey("catalog.Category", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("category"))
    orders = models.PositiveIntegerField(_("orders"), default=0)
    amount = _money(_("sales (CNY incl. VAT)"))

    class Meta:
        ordering = ["-day", "seller_id", "category_id"]
        verbose_name = _("daily sales by category")
        verbose_name_plural = _("daily sales by category")
        constraints = [
            models.UniqueConstraint(fields=["day", "seller", "category"],
                                    name="dailycategorysales_once", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["seller", "day"], name="dailycatsales_seller_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.seller_id} {self.category_id}: {self.amount}"


class DailyInquiries(models.Model):
    """The inquiries received in the day, by seller and channel, and what has become of
    them by the refresh (a cohort): quoted (at least one quote, or status quoted/won), won,
    lost. Older days change as their inquiries move on; the nightly refresh of the recent
    days (`rollups_recent_task`) keeps them current."""

    day = models.DateField(_("day"))
    seller = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("seller"))
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    received = models.PositiveIntegerField(_("received"), default=0)
    quoted = models.PositiveIntegerField(_("quoted"), default=0)
    won = models.PositiveIntegerField(_("won"), default=0)
    lost = models.PositiveIntegerField(_("lost"), default=0)

    class Meta:
        ordering = ["-day", "seller_id", "channel"]
        verbose_name = _("daily inquiries")
        verbose_name_plural = _("daily inquiries")
        constraints = [
            models.UniqueConstraint(fields=["day", "seller", "channel"],
                                    name="dailyinquiries_once"),
        ]
        indexes = [models.Index(fields=["seller", "day"], name="dailyinquiries_seller_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.seller_id} {self.channel}: {self.received}"


class DailyLostInquiries(models.Model):
    """Of the inquiries received in the day, those lost by the refresh, by seller and reason."""

    day = models.DateField(_("day"))
    seller = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("seller"))
    reason = models.CharField(_("lost reason"), max_length=16)
    lost = models.PositiveIntegerField(_("lost"), default=0)

    class Meta:
        ordering = ["-day", "seller_id", "reason"]
        verbose_name = _("daily lost inquiries")
        verbose_name_plural = _("daily lost inquiries")
        constraints = [
            models.UniqueConstraint(fields=["day", "seller", "reason"],
                                    name="dailylostinquiries_once"),
        ]
        indexes = [models.Index(fields=["seller", "day"], name="dailylost_seller_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.seller_id} {self.reason}: {self.lost}"


# --- Targets and channel spend: entered by managers in the admin ---------------------------------


class SalesTarget(models.Model):
    """A month's sales target of a subsidiary (no CCO: the sales of the organisation and
    everything below it, from `DailySales`) or of one of its CCOs (the CCO's won sales under
    that subsidiary, from `CcoDailyReport.sales_amount`)."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="sales_targets",
                                     verbose_name=_("subsidiary"))
    cco = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                            on_delete=models.CASCADE, related_name="sales_targets",
                            verbose_name=_("CCO"),
                            help_text=_("Empty for the target of the whole subsidiary."))
    amount = _money(_("target (CNY incl. VAT)"))

    class Meta:
        ordering = ["-month", "organization_id", "cco_id"]
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        constraints = [
            models.UniqueConstraint(fields=["month", "organization", "cco"],
                                    name="salestarget_once", nulls_distinct=False),
            models.CheckConstraint(condition=Q(month__day=1), name="salestarget_first_day"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="salestarget_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.organization_id} {self.cco_id or '-'}: {self.amount}"

    def clean(self):
        super().clean()
        if self.month:
            self.month = self.month.replace(day=1)  # any day stands for its month
        if self.cco_id and self.organization_id and (
                self.cco.organization_id != self.organization_id):
            raise ValidationError({"cco": _("This CCO does not work for this subsidiary.")})


class ChannelSpend(models.Model):
    """What a subsidiary spent on an inquiry channel in a month (ads, fairs, referral fees),
    for the cost per won deal of the channel return."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="channel_spend",
                                     verbose_name=_("subsidiary"))
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    amount = _money(_("spend (CNY)"))

    class Meta:
        ordering = ["-month", "organization_id", "channel"]
        verbose_name = _("channel spend")
        verbose_name_plural = _("channel spend")
        constraints = [
            models.UniqueConstraint(fields=["month", "organization", "channel"],
                                    name="channelspend_once"),
            models.CheckConstraint(condition=Q(month__day=1), name="channelspend_first_day"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="channelspend_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.organization_id} {self.channel}: {self.amount}"

    def clean(self):
        super().clean()
        if self.month:
            self.month = self.month.replace(day=1)


# --- Exports run in the background ---------------------------------------------------------------


class ExportJob(models.Model):
    """A large export of a report table, written by `reports.tasks.export_run_task` into a
    private file (MEDIA_ROOT, served only to its owner through a view). Written only by
    `reports.export_jobs`."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="report_exports", verbose_name=_("user"))
    table = models.CharField(_("table"), max_length=32)
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    today = models.DateField(_("asked on"), help_text=_(
        "The day of the request in Asia/Shanghai: the tables of today, yesterday and the "
        "month to date count from it."))
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="reports/exports/%Y/%m/", blank=True,
                            max_length=200)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    queued_at = models.DateTimeField(_("queued"), default=timezone.now)
    updated_at = models.DateTimeField(_("last progress"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("report export")
        verbose_name_plural = _("report exports")
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="exportjob_progress"),
        ]
        indexes = [models.Index(fields=["status", "queued_at"], name="exportjob_status")]

    def __str__(self) -> str:
        return f"{self.table} {self.start}–{self.end} {self.format} ({self.status})"

    @property
    def filename(self) -> str:
        return f"{self.table}-{self.start:%Y%m%d}-{self.end:%Y%m%d}.{self.format}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
