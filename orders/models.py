"""Orders: address book, carriers, buyer licences, the cart, checkouts and orders.

The order status machine (`Order.MOVES`) is moved only by `orders.services.order_move`,
which writes one `OrderEvent` per change — the order's timeline.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, Depot, Organization, Region
from catalog.models import Product


class Address(models.Model):
    """A delivery address in a buyer company's address book."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="addresses",
                                verbose_name=_("company"))
    label = models.CharField(_("label"), max_length=60, blank=True,
                             help_text=_("e.g. Plant 2, warehouse east gate"))
    recipient = models.CharField(_("recipient"), max_length=100)
    phone = models.CharField(_("phone"), max_length=32)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                               limit_choices_to={"level": Region.Level.CITY},
                               verbose_name=_("city"))
    line = models.CharField(_("address"), max_length=255)
    is_default = models.BooleanField(_("default"), default=False)

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
    """A buyer's licence for controlled chemicals; finance reviews it.

    Checkout accepts any approved, unexpired kind for now; which kind a chemical needs
    (precursor / explosive precursor / hazardous-chemicals permit) comes with the
    chemical's control category later."""

    class Kind(models.TextChoices):
        PRECURSOR = "precursor", _("Precursor chemicals purchase permit (易制毒)")
        EXPLOSIVE_PRECURSOR = "explosive_precursor", _("Explosive precursors record (易制爆)")
        HAZARDOUS_BUSINESS = "hazardous_business", _(
            "Hazardous chemicals business permit (危险化学品经营许可证)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="licences",
                                verbose_name=_("company"))
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
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

    completed and cancelled are final. Moving to the current status again is a no-op (no
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
    }
    # Moves that only make sense for one way of fulfilment: (from, to) → fulfilment.
    FULFILMENT_MOVES = {
        (Status.READY, Status.SHIPPED): "delivery",
        (Status.READY, Status.PARTIALLY_PICKED_UP): "pickup",
        (Status.READY, Status.COMPLETED): "pickup",
        (Status.PARTIALLY_PICKED_UP, Status.PARTIALLY_PICKED_UP): "pickup",
    }
    OPEN_STATUSES = frozenset(Status) - {Status.COMPLETED, Status.CANCELLED}

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
    placed_at = models.DateTimeField(_("placed"), default=timezone.now)

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
        ]
        indexes = [
            models.Index(fields=["company", "status"]),
            models.Index(fields=["seller", "status"]),
        ]

    def __str__(self) -> str:
        return self.number

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

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


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
