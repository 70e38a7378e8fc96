"""Inquiries (requests for quotation): intake, routing, response deadlines, quotes.

The inquiry status machine (`Inquiry.MOVES`) is moved only by
`inquiries.services.inquiry_move`, which writes an `InquiryEvent` — the timeline. Routing
decisions, messages, reminders, escalations and quote versions are events too.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, Organization, Region
from catalog.models import Chemical, Product, SalesUnit, validate_cas
from orders.models import Order


class Channel(models.TextChoices):
    WEB = "web", _("Website")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    EXHIBITION = "exhibition", _("Exhibition")
    REFERRAL = "referral", _("Referral")
    API = "api", _("API")
    OTHER = "other", _("Other")


class LostReason(models.TextChoices):
    PRICE = "price", _("Price")
    NO_SUCH_PRODUCT = "no_product", _("We do not have this product")
    CUSTOMISATION = "customisation", _("Customisation needed")
    LEAD_TIME = "lead_time", _("Lead time")
    COMPETITOR = "competitor", _("Bought from a competitor")
    NO_REPLY = "no_reply", _("No reply from the buyer")
    DUPLICATE = "duplicate", _("Duplicate inquiry")
    OTHER = "other", _("Other")


class Incoterm(models.TextChoices):
    """Incoterms® 2020."""

    EXW = "EXW", _("EXW – Ex Works")
    FCA = "FCA", _("FCA – Free Carrier")
    CPT = "CPT", _("CPT – Carriage Paid To")
    CIP = "CIP", _("CIP – Carriage and Insurance Paid To")
    DAP = "DAP", _("DAP – Delivered at Place")
    DPU = "DPU", _("DPU – Delivered at Place Unloaded")
    DDP = "DDP", _("DDP – Delivered Duty Paid")
    FAS = "FAS", _("FAS – Free Alongside Ship")
    FOB = "FOB", _("FOB – Free on Board")
    CFR = "CFR", _("CFR – Cost and Freight")
    CIF = "CIF", _("CIF – Cost, Insurance and Freight")


class CcoProfile(models.Model):
    """A CCO's routing state: on duty or not, the cap on open inquiries, the performance
    weight (reports set it nightly) and the smooth weighted round-robin counter.

    The rows of one organisation are locked together while an inquiry is assigned, so
    concurrent intake never puts a CCO over the cap and the shares hold."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="cco_profile", verbose_name=_("CCO"))
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="cco_profiles",
                                     verbose_name=_("organisation"))
    is_on_duty = models.BooleanField(
        _("on duty"), default=True, help_text=_("Off duty (leave, travel): no new inquiries."))
    open_cap = models.PositiveSmallIntegerField(
        _("open inquiries cap"), default=40,
        help_text=_("New inquiries go to others once this many are open."))
    performance_weight = models.DecimalField(
        _("routing weight"), max_digits=6, decimal_places=3, default=Decimal("1.000"),
        help_text=_("Share of new inquiries relative to colleagues; set nightly from the "
                    "performance reports."))
    started_on = models.DateField(_("CCO since"), default=timezone.localdate,
                                  help_text=_("In the first 30 days a CCO gets a fifth of a "
                                              "normal share."))
    current_weight = models.DecimalField(_("round-robin counter"), max_digits=14,
                                         decimal_places=3, default=Decimal("0"))

    class Meta:
        ordering = ["organization", "user__full_name"]
        verbose_name = _("CCO routing profile")
        verbose_name_plural = _("CCO routing profiles")
        constraints = [
            models.CheckConstraint(condition=Q(performance_weight__gt=0),
                                   name="ccoprofile_weight_positive"),
        ]

    def __str__(self) -> str:
        return str(self.user)


def _access_token() -> str:
    return secrets.token_urlsafe(24)


class Inquiry(models.Model):
    """A request for quotation, for a listed product or for a chemical we do not list."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ASSIGNED = "assigned", _("Assigned")
        QUOTED = "quoted", _("Quoted")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    MOVES = {
        Status.NEW: {Status.ASSIGNED, Status.LOST},
        Status.ASSIGNED: {Status.ASSIGNED, Status.QUOTED, Status.LOST},
        Status.QUOTED: {Status.QUOTED, Status.ASSIGNED, Status.WON, Status.LOST},
    }
    OPEN_STATUSES = frozenset({Status.NEW, Status.ASSIGNED, Status.QUOTED})

    number = models.CharField(_("inquiry number"), max_length=24, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.NEW)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices,
                               default=Channel.WEB)
    # What is asked for: a listed product, or a chemical by name and/or CAS number.
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="inquiries", verbose_name=_("product"))
    chemical = models.ForeignKey(Chemical, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="inquiries", verbose_name=_("chemical"))
    requested_name = models.CharField(_("chemical name"), max_length=200, blank=True)
    requested_cas = models.CharField(_("CAS number"), max_length=12, blank=True,
                                     validators=[validate_cas])
    is_unlisted = models.BooleanField(
        _("unlisted demand"), default=False,
        help_text=_("Asked for a chemical no subsidiary lists: counts as unmet demand."))
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=4, choices=SalesUnit.choices,
                            default=SalesUnit.KG)
    target_price = models.DecimalField(_("target price (CNY per unit)"), max_digits=14,
                                       decimal_places=2, null=True, blank=True)
    delivery_region = models.ForeignKey(Region, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+",
                                        verbose_name=_("delivery city or province"))
    needed_by = models.DateField(_("needed by"), null=True, blank=True)
    wants_local_service = models.BooleanField(
        _("local service wanted"), default=False,
        help_text=_("The buyer asked to be served by a dealer near the delivery address."))
    message = models.TextField(_("message"), blank=True)
    # Who asks: a signed-in buyer of a company, or a guest with contact details.
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="inquiries", verbose_name=_("company"))
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="inquiries",
                              verbose_name=_("buyer"))
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_company = models.CharField(_("contact's company"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    access_token = models.CharField(_("private link token"), max_length=40, unique=True,
                                    default=_access_token, editable=False)
    client_ip = models.GenericIPAddressField(_("sent from"), null=True, blank=True)
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("logged by"),
                                  help_text=_("The CCO who entered a phone or fair inquiry."))
    # Routing and the response deadline.
    seller = models.ForeignKey(Organization, on_delete=models.PROTECT,
                               related_name="inquiries", verbose_name=_("seller"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="owned_inquiries",
                              verbose_name=_("owner"))
    routing_reason = models.TextField(_("routing"), blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    remind_at = models.DateTimeField(_("reminder due"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    # Set while a routing step of another app (a dealer) holds the inquiry: CCO routing
    # leaves it alone until that step gives it back.
    delegated_at = models.DateTimeField(_("handed to a dealer"), null=True, blank=True)
    # The end.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=16, blank=True,
                                   choices=LostReason.choices)
    lost_note = models.TextField(_("lost note"), blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="inquiries", verbose_name=_("order"))

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inquiry_quantity_gt_0"),
            models.CheckConstraint(
                condition=~Q(status="lost") | ~Q(lost_reason=""),
                name="inquiry_lost_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(product__isnull=False) | ~Q(requested_name="")
                | ~Q(requested_cas=""),
                name="inquiry_names_what_is_asked",
            ),
        ]
        indexes = [
            models.Index(fields=["seller", "status"]),
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["company", "-received_at"]),
            models.Index(fields=["response_due_at"], condition=Q(first_response_at__isnull=True)
                         & Q(status__in=["new", "assigned"]), name="inquiry_response_due"),
            models.Index(fields=["remind_at"], condition=Q(reminded_at__isnull=True)
                         & Q(first_response_at__isnull=True), name="inquiry_remind_due"),
            models.Index(fields=["client_ip", "received_at"], name="inquiry_ip_recent"),
            # The nightly reports read one day at a time (reports.services).
            models.Index(fields=["received_at"], name="inquiry_received"),
            models.Index(fields=["received_at"], name="inquiry_unlisted_received",
                         condition=Q(is_unlisted=True)),  # the dashboards' unmet demand
            models.Index(fields=["first_response_at"], name="inquiry_first_response",
                         condition=Q(first_response_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def subject(self) -> str:
        """What is asked for, as one line."""
        if self.product_id:
            return self.product.display_name
        if self.chemical_id:
            return str(self.chemical)
        return " · ".join(p for p in (self.requested_name, self.requested_cas) if p)

    @property
    def is_overdue(self) -> bool:
        return (self.first_response_at is None and self.response_due_at is not None
                and self.is_open and self.response_due_at < timezone.now())

    def can_move(self, to: str) -> bool:
        return to in self.MOVES.get(self.status, ())


def attachment_upload_to(instance, filename: str) -> str:
    return f"inquiries/{instance.inquiry_id}/{timezone.now():%Y%m}/{filename}"


class InquiryEvent(models.Model):
    """One line of an inquiry's timeline. `is_public` events are shown to the buyer too."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        ROUTED = "routed", _("Routed")
        ASSIGNED = "assigned", _("Assigned")
        MESSAGE_IN = "message_in", _("Message from the buyer")
        MESSAGE_OUT = "message_out", _("Message to the buyer")
        NOTE = "note", _("Internal note")
        REMINDER = "reminder", _("Deadline reminder")
        ESCALATED = "escalated", _("Escalated")
        QUOTED = "quoted", _("Quote sent")
        QUOTE_REVISED = "quote_revised", _("Quote revised")
        QUOTE_ACCEPTED = "quote_accepted", _("Quote accepted")
        QUOTE_DECLINED = "quote_declined", _("Quote declined")
        QUOTE_EXPIRED = "quote_expired", _("Quote expired")
        STATUS = "status", _("Status changed")

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="events",
                                verbose_name=_("inquiry"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("by"))
    body = models.TextField(_("text"), blank=True)
    attachment = models.FileField(_("attachment"), upload_to=attachment_upload_to, blank=True)
    from_status = models.CharField(_("from"), max_length=10, blank=True,
                                   choices=Inquiry.Status.choices)
    to_status = models.CharField(_("to"), max_length=10, blank=True,
                                 choices=Inquiry.Status.choices)
    is_public = models.BooleanField(_("shown to the buyer"), default=False)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["inquiry", "created_at", "pk"]
        verbose_name = _("inquiry event")
        verbose_name_plural = _("inquiry timeline")
        indexes = [models.Index(fields=["actor", "created_at"]),
                   models.Index(fields=["created_at"], name="inquiryevent_created")]

    def __str__(self) -> str:
        return f"{self.inquiry_id}: {self.kind}"


class ResponseMiss(models.Model):
    """A response deadline an owner let pass; the reports count them."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="misses",
                                verbose_name=_("inquiry"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="response_misses", verbose_name=_("owner"))
    due_at = models.DateTimeField(_("was due"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["-due_at"]
        verbose_name = _("missed response deadline")
        verbose_name_plural = _("missed response deadlines")
        indexes = [models.Index(fields=["due_at"], name="responsemiss_due")]
        constraints = [
            # One miss per deadline, however often and wherever the sweep runs.
            models.UniqueConstraint(fields=["inquiry", "due_at"], name="responsemiss_once"),
        ]

    def __str__(self) -> str:
        return f"{self.inquiry_id} {self.owner_id} {self.due_at:%Y-%m-%d %H:%M}"


class Quote(models.Model):
    """One version of the owner's offer. Revising writes a new version and supersedes the
    previous one; at most one version is open (SENT) at a time."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        SUPERSEDED = "superseded", _("Superseded")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="quotes",
                                verbose_name=_("inquiry"))
    version = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.SENT)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="quotes",
                                verbose_name=_("product"),
                                help_text=_("What the order will be for; for an unlisted "
                                            "chemical, create the product first."))
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=4, choices=SalesUnit.choices)
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=14, decimal_places=2)
    tax_inclusive = models.BooleanField(_("VAT included"), default=True)
    valid_until = models.DateField(_("valid until"))
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"))
    incoterm = models.CharField(_("Incoterm"), max_length=3, choices=Incoterm.choices,
                                default=Incoterm.DAP)
    payment_terms = models.CharField(_("payment terms"), max_length=200)
    note = models.TextField(_("note to the buyer"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("quoted by"))
    created_at = models.DateTimeField(_("quoted"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decline_reason = models.TextField(_("decline reason"), blank=True)
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="quote", verbose_name=_("order"))

    class Meta:
        ordering = ["inquiry", "-version"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.UniqueConstraint(fields=["inquiry", "version"], name="quote_version_once"),
            models.UniqueConstraint(fields=["inquiry"], condition=Q(status="sent"),
                                    name="quote_one_open_version"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="quote_price_gt_0"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quote_quantity_gt_0"),
        ]
        indexes = [models.Index(fields=["valid_until"], condition=Q(status="sent"),
                                name="quote_open_expiry"),
                   models.Index(fields=["created_at"], name="quote_created")]

    def __str__(self) -> str:
        return f"{self.inquiry.number} v{self.version}"

    @property
    def total(self) -> Decimal:
        from chemmall.money import money_round

        return money_round(self.unit_price * self.quantity)


class CannedReply(models.Model):
    """A standard answer of a subsidiary that CCOs insert into a message and edit.

    Placeholders: {buyer}, {company}, {product}, {quantity}, {cco}, {number}."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="canned_replies",
                                     verbose_name=_("organisation"))
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organization", "title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        constraints = [
            models.UniqueConstraint(fields=["organization", "title"],
                                    name="cannedreply_title_unique"),
        ]

    def __str__(self) -> str:
        return self.title
