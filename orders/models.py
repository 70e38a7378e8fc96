"""Orders: address book, carriers, buyer licences, the cart, checkouts and orders.

The order status machine (`Order.MOVES`) is moved only by `orders.services.order_move`,
which writes one `OrderEvent` per change — the order's timeline.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, Depot, Organization, Region
from catalog.models import LicenceKind, Product


class Address(models.Model):
    """A delivery address in a buyer company's address book."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="addresses",
                                verbose_name=_("company"))
    label = models.CharField(_("label"), max_length=60, blank=True,
                             help_text=_("e.g. Plant 2, warehouse east gate"))
    recipient = models.CharField(_("recipient"), max_length=100)
    phone = models.CharField(_("phone"), max_length=32)
    # A prefecture-level city, or one of the four municipalities (which have no cities).
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("city"))
    line = models.CharField(_("address"), max_length=255)
    is_default = models.BooleanField(_("default"), default=False)
    # Orders keep pointing at an address the buyer removed from the book: archive, not delete.
    is_active = models.BooleanField(_("in the address book"), default=True)

    class Meta:
        ordering = ["company", "-is_default", "label"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(fields=["company"], condition=Q(is_default=True),
                                    name="address_one_default_per_company"),
        ]

    def __str__(self) -> str:
        return f"{self.label or self.recipient}: {self.line}"


class Carrier(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    hazmat_qualified = models.BooleanField(
        _("hazmat qualified"), default=False,
        help_text=_("Licensed to carry dangerous goods (road transport permit)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")

    def __str__(self) -> str:
        return self.name


def licence_upload_to(instance, filename: str) -> str:
    return f"licences/{instance.company_id}/{timezone.now():%Y%m}/{filename}"


class CompanyLicence(models.Model):
    """A buyer's licence for controlled chemicals; finance reviews it. Checkout wants an
    approved one, valid on the order date, of the kind each controlled chemical names."""

    Kind = LicenceKind  # which kind a chemical needs is catalog's: Chemical.licence_kind

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="licences",
                                verbose_name=_("company"))
    kind = models.CharField(_("kind"), max_length=24, choices=LicenceKind.choices)
    number = models.CharField(_("licence number"), max_length=64)
    valid_until = models.DateField(_("valid until"))
    document = models.FileField(_("document"), upload_to=licence_upload_to, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["company", "-valid_until"]
        verbose_name = _("company licence")
        verbose_name_plural = _("company licences")
        indexes = [models.Index(fields=["company", "status", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class Cart(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="cart", verbose_name=_("user"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return str(self.user)


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines",
                             verbose_name=_("cart"))
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("product"))
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["cart", "added_at", "pk"]
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cartline_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cartline_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class Checkout(models.Model):
    """One placed cart. UNIQUE(user, idempotency_key) makes a retried request a replay:
    it returns this checkout's orders instead of placing new ones."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="checkouts", verbose_name=_("user"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("checkout")
        verbose_name_plural = _("checkouts")
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"],
                                    name="checkout_user_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.idempotency_key}"


class Order(models.Model):
    """An order of one buyer company from one seller.

    Status moves (`MOVES`; `orders.services.order_move` is the only writer of `status`):

        from                  to                    who / when
        --------------------  --------------------  ---------------------------------------
        placed                confirmed             seller (order_confirm)
        placed                paid                  finance: transfer arrived before the
                                                    seller confirmed (order_payment_confirm)
        placed                awaiting_credit       checkout: credit order over the limit
        placed                cancelled             buyer, or seller with a reason
        awaiting_credit       credit_approved       finance (order_credit_approve)
        awaiting_credit       cancelled             buyer, or seller with a reason
        confirmed             paid                  finance (order_payment_confirm)
        confirmed             credit_approved       order_confirm of a credit order
        confirmed             cancelled             seller with a reason
        paid                  ready                 seller (order_mark_ready)
        credit_approved       ready                 seller (order_mark_ready)
        ready                 shipped               delivery orders only
        ready                 partially_picked_up   pickup orders only
        ready                 completed             pickup orders only, all taken at once
        shipped               delivered             delivery
        delivered             completed             delivery
        partially_picked_up   partially_picked_up   pickup: another partial pickup
        partially_picked_up   completed             pickup: the rest taken
        completed             returned              seller: the goods came back (order_return)

    returned and cancelled are final. Moving to the current status again is a no-op (no
    second event), except the listed self-move. Every move writes one OrderEvent.
    """

    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        AWAITING_CREDIT = "awaiting_credit", _("Awaiting credit approval")
        CONFIRMED = "confirmed", _("Confirmed")
        PAID = "paid", _("Paid")
        CREDIT_APPROVED = "credit_approved", _("Credit approved")
        READY = "ready", _("Ready")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        PARTIALLY_PICKED_UP = "partially_picked_up", _("Partially picked up")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned")

    MOVES = {
        Status.PLACED: {Status.CONFIRMED, Status.PAID, Status.AWAITING_CREDIT,
                        Status.CANCELLED},
        Status.AWAITING_CREDIT: {Status.CREDIT_APPROVED, Status.CANCELLED},
        Status.CONFIRMED: {Status.PAID, Status.CREDIT_APPROVED, Status.CANCELLED},
        Status.PAID: {Status.READY},
        Status.CREDIT_APPROVED: {Status.READY},
        Status.READY: {Status.SHIPPED, Status.PARTIALLY_PICKED_UP, Status.COMPLETED},
        Status.SHIPPED: {Status.DELIVERED},
        Status.DELIVERED: {Status.COMPLETED},
        Status.PARTIALLY_PICKED_UP: {Status.PARTIALLY_PICKED_UP, Status.COMPLETED},
        Status.COMPLETED: {Status.RETURNED},
    }
    # Moves that only make sense for one way of fulfilment: (from, to) → fulfilment.
    FULFILMENT_MOVES = {
        (Status.READY, Status.SHIPPED): "delivery",
        (Status.READY, Status.PARTIALLY_PICKED_UP): "pickup",
        (Status.READY, Status.COMPLETED): "pickup",
        (Status.PARTIALLY_PICKED_UP, Status.PARTIALLY_PICKED_UP): "pickup",
    }
    OPEN_STATUSES = frozenset(Status) - {Status.COMPLETED, Status.CANCELLED, Status.RETURNED}

    class Fulfilment(models.TextChoices):
        DELIVERY = "delivery", _("Delivery to an address")
        PICKUP = "pickup", _("Pickup at a depot")

    class PaymentMethod(models.TextChoices):
        PREPAYMENT = "prepayment", _("Prepayment by bank transfer")
        CREDIT = "credit", _("Credit terms")

    number = models.CharField(_("order number"), max_length=32, unique=True)
    checkout = models.ForeignKey(Checkout, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="orders", verbose_name=_("checkout"))
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="orders",
                                verbose_name=_("buyer company"))
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="orders_placed", verbose_name=_("placed by"))
    seller = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="orders",
                               verbose_name=_("seller"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.PLACED)
    fulfilment = models.CharField(_("fulfilment"), max_length=10, choices=Fulfilment.choices)
    address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="orders", verbose_name=_("delivery address"))
    pickup_depot = models.ForeignKey(Depot, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="pickup_orders", verbose_name=_("pickup depot"))
    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="orders", verbose_name=_("carrier"))
    payment_method = models.CharField(_("payment"), max_length=12,
                                      choices=PaymentMethod.choices)
    po_number = models.CharField(_("purchase order number"), max_length=64, blank=True)
    requested_date = models.DateField(_("requested date"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    subtotal = models.DecimalField(_("subtotal excl. VAT (CNY)"), max_digits=14,
                                   decimal_places=2, default=Decimal("0.00"))
    vat = models.DecimalField(_("VAT (CNY)"), max_digits=14, decimal_places=2,
                              default=Decimal("0.00"))
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=5, decimal_places=4,
                                   default=Decimal("0.13"))
    total = models.DecimalField(_("total incl. VAT (CNY)"), max_digits=14, decimal_places=2,
                                default=Decimal("0.00"))
    pickup_code = models.CharField(_("pickup code"), max_length=12, blank=True)
    pickup_code_expires_on = models.DateField(
        _("pickup code valid until"), null=True, blank=True,
        help_text=_("Set when the goods are ready; finance may extend it."))
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    placed_at = models.DateTimeField(_("placed"), default=timezone.now)
    # When finance recorded the full payment: the prepayment transfer, or the settled
    # invoice of a credit order (commissions accrue only on paid orders).
    paid_at = models.DateTimeField(_("paid in full"), null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-pk"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.CheckConstraint(
                condition=Q(fulfilment="delivery", address__isnull=False,
                            pickup_depot__isnull=True)
                | Q(fulfilment="pickup", pickup_depot__isnull=False, address__isnull=True),
                name="order_fulfilment_target",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_gte_0"),
            models.UniqueConstraint(fields=["pickup_code"], condition=~Q(pickup_code=""),
                                    name="order_pickup_code_unique"),
        ]
        indexes = [
            models.Index(fields=["company", "status"]),
            models.Index(fields=["seller", "status"]),
            models.Index(fields=["pickup_depot", "status"]),
            models.Index(fields=["placed_at"], name="order_placed"),  # the reports' days
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def pickup_code_expired(self) -> bool:
        return (self.pickup_code_expires_on is not None
                and self.pickup_code_expires_on < timezone.localdate())

    def can_move(self, to: str) -> bool:
        if to not in self.MOVES.get(self.status, ()):
            return False
        needed = self.FULFILMENT_MOVES.get((self.status, to))
        return needed is None or needed == self.fulfilment


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines",
                              verbose_name=_("order"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines",
                                verbose_name=_("product"))
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=4)
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=14, decimal_places=2)
    tax_inclusive = models.BooleanField(_("tax inclusive"), default=True)
    tier_id = models.PositiveIntegerField(_("price tier"), null=True, blank=True)
    line_total = models.DecimalField(_("line total (CNY)"), max_digits=14, decimal_places=2)
    depot = models.ForeignKey(Depot, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("reserved at"),
                              help_text=_("Empty for services: they need no stock."))
    picked_up = models.DecimalField(_("picked up"), max_digits=14, decimal_places=3,
                                    default=Decimal("0"))

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_gt_0"),
            # Never more picked up than bought, whatever two operators do at once.
            models.CheckConstraint(condition=Q(picked_up__gte=0) & Q(picked_up__lte=F("quantity")),
                                   name="orderline_picked_up_within_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"

    @property
    def remaining(self) -> Decimal:
        """Bought but not yet picked up."""
        return self.quantity - self.picked_up


class OrderEvent(models.Model):
    """One status change of an order (from_status is empty for the order's creation)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events",
                              verbose_name=_("order"))
    from_status = models.CharField(_("from"), max_length=20, blank=True,
                                   choices=Order.Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Order.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("by"))
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["order", "created_at", "pk"]
        verbose_name = _("order event")
        verbose_name_plural = _("order timeline")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status}"


def _receipt_number(order_number: str, sequence: int) -> str:
    return f"{order_number}-P{sequence}"


class Pickup(models.Model):
    """One collection at the depot: some or all of what remains of each line."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="pickups",
                              verbose_name=_("order"))
    sequence = models.PositiveSmallIntegerField(_("pickup no."))
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="pickups",
                              verbose_name=_("depot"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("recorded by"))
    collected_by = models.CharField(_("collected by"), max_length=100,
                                    help_text=_("The driver's or collector's name."))
    vehicle_plate = models.CharField(_("vehicle plate"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("picked up at"), default=timezone.now)

    class Meta:
        ordering = ["order", "sequence"]
        verbose_name = _("pickup")
        verbose_name_plural = _("pickups")
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="pickup_order_sequence"),
        ]

    def __str__(self) -> str:
        return self.receipt_number

    @property
    def receipt_number(self) -> str:
        return _receipt_number(self.order.number, self.sequence)


class PickupLine(models.Model):
    pickup = models.ForeignKey(Pickup, on_delete=models.CASCADE, related_name="lines",
                               verbose_name=_("pickup"))
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="pickups",
                                   verbose_name=_("order line"))
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)

    class Meta:
        ordering = ["pickup", "pk"]
        verbose_name = _("pickup line")
        verbose_name_plural = _("pickup lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="pickupline_quantity_gt_0"),
            models.UniqueConstraint(fields=["pickup", "order_line"],
                                    name="pickupline_one_per_order_line"),
        ]

    def __str__(self) -> str:
        return f"{self.order_line.product} × {self.quantity}"


class OutboxMessage(models.Model):
    """A notification to send, written in the transaction of the change that causes it.

    A task sends it after commit; a sweep retries what failed or was never picked up
    (broker down, worker killed), with backoff. `dedup_key` makes writing it idempotent."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (gave up)")

    kind = models.CharField(_("kind"), max_length=40)
    dedup_key = models.CharField(_("deduplication key"), max_length=120, blank=True)
    to_email = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], condition=~Q(dedup_key=""),
                                    name="outbox_dedup_key_unique"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"),
                         name="outbox_pending_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_email}"
