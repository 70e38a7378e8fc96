"""Dealers: territories, routed inquiries, commissions and monthly statements.

The assignment status machine (`Assignment.MOVES`) is moved by the services in
`dealers.services` with conditional updates (the window is in the database, the sweep finds
what timed out). Commission lines are written once per (order, category, kind) — the unique
constraint makes the accrual sweep exactly-once; a statement is unique per dealer and month.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Region
from catalog.models import Category
from inquiries.models import Inquiry, Quote
from orders.models import Order

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


def _rate_field(label, help_text=""):
    return models.DecimalField(label, max_digits=5, decimal_places=2, validators=PERCENT,
                               default=Decimal("0"), help_text=help_text)


def _rate_check(name: str, field: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__gte": 0, f"{field}__lte": 100}),
                                  name=name)


class Dealer(models.Model):
    """A regional dealer of a subsidiary: its territory, categories, priority and rates."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="dealers", verbose_name=_("subsidiary"))
    name = models.CharField(_("company name"), max_length=200)
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="dealers",
                                   verbose_name=_("users"))
    categories = models.ManyToManyField(Category, blank=True, related_name="dealers",
                                        verbose_name=_("categories served"))
    is_active = models.BooleanField(_("active"), default=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=10, help_text=_("Where territories overlap, the higher wins."))
    base_rate = _rate_field(_("base rate (%)"),
                            _("Online orders delivered into the territory."))
    won_rate = _rate_field(_("won-deal rate (%)"),
                           _("Deals the dealer won from routed inquiries."))
    last_routed_at = models.DateTimeField(_("last routed"), null=True, blank=True)
    flagged_at = models.DateTimeField(_("flagged for review"), null=True, blank=True)
    flag_note = models.TextField(_("flag"), blank=True)

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = _("dealer")
        verbose_name_plural = _("dealers")
        constraints = [
            _rate_check("dealer_base_rate_0_100", "base_rate"),
            _rate_check("dealer_won_rate_0_100", "won_rate"),
        ]

    def __str__(self) -> str:
        return self.name


class Territory(models.Model):
    """A province (all its cities) or one city of a dealer's territory."""

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="territories",
                               verbose_name=_("dealer"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("province or city"))

    class Meta:
        ordering = ["dealer", "region"]
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        constraints = [models.UniqueConstraint(fields=["dealer", "region"],
                                               name="territory_once_per_dealer")]

    def __str__(self) -> str:
        return f"{self.dealer}: {self.region}"


class CategoryRate(models.Model):
    """A dealer's rates for one category, instead of its general ones."""

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="category_rates",
                               verbose_name=_("dealer"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("category"))
    base_rate = _rate_field(_("base rate (%)"))
    won_rate = _rate_field(_("won-deal rate (%)"))

    class Meta:
        verbose_name = _("category rate")
        verbose_name_plural = _("category rates")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "category"], name="categoryrate_once"),
            _rate_check("categoryrate_base_0_100", "base_rate"),
            _rate_check("categoryrate_won_0_100", "won_rate"),
        ]

    def __str__(self) -> str:
        return f"{self.dealer} · {self.category}"


class RoutingRule(models.Model):
    """When a subsidiary hands local service to a dealer: the delivery region is in a
    dealer's territory for the product's category and the quantity is under the threshold."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE,
                                        related_name="dealer_rule",
                                        verbose_name=_("subsidiary"))
    is_enabled = models.BooleanField(_("route to dealers"), default=True)
    direct_sale_threshold = models.DecimalField(
        _("direct-sale threshold (quantity)"), max_digits=14, decimal_places=3,
        default=Decimal("1000"),
        help_text=_("Inquiries for this quantity or more stay with the subsidiary's CCOs."))

    class Meta:
        verbose_name = _("dealer routing rule")
        verbose_name_plural = _("dealer routing rules")

    def __str__(self) -> str:
        return str(self.organization)


class Assignment(models.Model):
    """An inquiry handed to a dealer (once per inquiry), with its answer window."""

    class Status(models.TextChoices):
        ROUTED = "routed", _("Waiting for the dealer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        TIMED_OUT = "timed_out", _("Timed out")

    MOVES = {Status.ROUTED: {Status.ACCEPTED, Status.DECLINED, Status.TIMED_OUT}}

    inquiry = models.OneToOneField(Inquiry, on_delete=models.CASCADE,
                                   related_name="dealer_assignment", verbose_name=_("inquiry"))
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="assignments",
                               verbose_name=_("dealer"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ROUTED)
    reason = models.TextField(_("routing"), blank=True)
    routed_at = models.DateTimeField(_("routed"), default=timezone.now)
    due_at = models.DateTimeField(_("answer due"))
    decided_at = models.DateTimeField(_("answered"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("by"))
    decline_reason = models.TextField(_("decline reason"), blank=True)

    class Meta:
        ordering = ["-routed_at", "-pk"]
        verbose_name = _("routed inquiry")
        verbose_name_plural = _("routed inquiries")
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="routed"),
                         name="assignment_window_due"),
            models.Index(fields=["dealer", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.inquiry_id} → {self.dealer_id}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.ROUTED and self.due_at > timezone.now()


class DealerQuote(models.Model):
    """The quote was sent by the dealer (through the inquiries' quote mechanism)."""

    quote = models.OneToOneField(Quote, on_delete=models.CASCADE, related_name="dealer_quote",
                                 verbose_name=_("quote"))
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="quotes",
                               verbose_name=_("dealer"))

    class Meta:
        verbose_name = _("dealer quote")
        verbose_name_plural = _("dealer quotes")

    def __str__(self) -> str:
        return f"{self.quote} ({self.dealer})"


class Statement(models.Model):
    """A dealer's monthly settlement: its lines of the month (and late ones) and the total."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        PAID = "paid", _("Paid")

    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="statements",
                               verbose_name=_("dealer"))
    month = models.DateField(_("month"), help_text=_("The first day of the month settled."))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.ISSUED)
    total = models.DecimalField(_("total (CNY)"), max_digits=14, decimal_places=2,
                                default=Decimal("0.00"))
    created_at = models.DateTimeField(_("issued"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("marked paid by"))

    class Meta:
        ordering = ["-month", "dealer"]
        verbose_name = _("settlement statement")
        verbose_name_plural = _("settlement statements")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "month"], name="statement_once_a_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="statement_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.dealer} {self.month:%Y-%m}"


class CommissionLine(models.Model):
    """One accrual (or its reversal) for the part of an order in one category."""

    class Kind(models.TextChoices):
        ACCRUAL = "accrual", _("Accrual")
        CLAWBACK = "clawback", _("Clawback")

    class Basis(models.TextChoices):
        ROUTED_WON = "routed_won", _("Won from a routed inquiry")
        TERRITORY = "territory", _("Order in the territory")

    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="commission_lines",
                               verbose_name=_("dealer"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="commission_lines",
                              verbose_name=_("order"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("category"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    basis = models.CharField(_("basis"), max_length=10, choices=Basis.choices)
    base_amount = models.DecimalField(_("base amount (CNY)"), max_digits=14, decimal_places=2)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    amount = models.DecimalField(_("commission (CNY)"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("accrued"), default=timezone.now)
    statement = models.ForeignKey(Statement, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="lines", verbose_name=_("statement"))

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("commission line")
        verbose_name_plural = _("commission lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "category", "kind"],
                                    name="commissionline_once"),
        ]
        indexes = [models.Index(fields=["dealer", "created_at"],
                                condition=Q(statement__isnull=True),
                                name="commissionline_unsettled")]

    def __str__(self) -> str:
        return f"{self.order} {self.kind} {self.amount}"
