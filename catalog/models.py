import contextlib
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import casrn

from accounts.models import BilingualNameMixin, Company, Depot, Organization
from chemmall.uploads import validate_document


def validate_cas(value: str) -> None:
    if not casrn.is_valid(value or ""):
        raise ValidationError(
            _("Enter a valid CAS registry number: 2–7 digits, 2 digits and a check digit, "
              "separated by dashes, e.g. 7664-93-9."),
            code="invalid_cas",
        )


def normalize_cas(value: str) -> str:
    """'7664939' or ' 7664-93-9 ' → '7664-93-9' (stdnum's compact adds the dashes)."""
    return casrn.compact(value or "")


GHS_PICTOGRAMS = [
    ("GHS01", _("Exploding bomb")),
    ("GHS02", _("Flame")),
    ("GHS03", _("Flame over circle")),
    ("GHS04", _("Gas cylinder")),
    ("GHS05", _("Corrosion")),
    ("GHS06", _("Skull and crossbones")),
    ("GHS07", _("Exclamation mark")),
    ("GHS08", _("Health hazard")),
    ("GHS09", _("Environment")),
]
GHS_CODES = {code for code, _label in GHS_PICTOGRAMS}


def validate_ghs_list(value) -> None:
    if not isinstance(value, list) or not set(value) <= GHS_CODES:
        raise ValidationError(_("Use pictogram codes GHS01 … GHS09."), code="invalid_ghs")


def validate_h_statements(value) -> None:
    import re

    if not isinstance(value, list) or not all(
        isinstance(v, str) and re.fullmatch(r"(EU)?H\d{3}[A-Za-z]{0,2}", v) for v in value
    ):
        raise ValidationError(_("Use hazard statement codes such as H225 or H314."),
                              code="invalid_h")


class Category(BilingualNameMixin, models.Model):
    key = models.SlugField(_("key"), max_length=64, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("parent"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "key"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class LicenceKind(models.TextChoices):
    """The buyer licences Chinese law asks for, by the list a controlled chemical is on."""

    PRECURSOR = "precursor", _("Precursor chemicals purchase permit (易制毒)")
    EXPLOSIVE_PRECURSOR = "explosive_precursor", _("Explosive precursors record (易制爆)")
    HAZARDOUS_BUSINESS = "hazardous_business", _(
        "Hazardous chemicals business permit (危险化学品经营许可证)")


class Chemical(models.Model):
    """A substance, identified by its CAS number. Products are offers of it."""

    class SignalWord(models.TextChoices):
        NONE = "", _("None")
        WARNING = "Warning", _("Warning")
        DANGER = "Danger", _("Danger")

    class PackingGroup(models.TextChoices):
        NONE = "", _("None")
        I = "I", "I"  # noqa: E741  (the UN's own names)
        II = "II", "II"
        III = "III", "III"

    cas = models.CharField(_("CAS number"), max_length=12, unique=True, validators=[validate_cas])
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    synonyms = models.JSONField(_("synonyms"), default=list, blank=True,
                                help_text=_("Other names, English and Chinese."))
    formula = models.CharField(_("molecular formula"), max_length=64, blank=True)
    hs_code = models.CharField(_("HS code"), max_length=10, blank=True,
                               validators=[RegexValidator(r"^\d{6,10}$",
                                                          _("6 to 10 digits."))])
    ghs_pictograms = models.JSONField(_("GHS pictograms"), default=list, blank=True,
                                      validators=[validate_ghs_list])
    signal_word = models.CharField(_("signal word"), max_length=10, blank=True,
                                   choices=SignalWord.choices)
    h_statements = models.JSONField(_("hazard statements"), default=list, blank=True,
                                    validators=[validate_h_statements])
    un_number = models.CharField(_("UN number"), max_length=4, blank=True,
                                 validators=[RegexValidator(r"^\d{4}$", _("Four digits."))])
    transport_class = models.CharField(_("transport hazard class"), max_length=5, blank=True)
    packing_group = models.CharField(_("packing group"), max_length=3, blank=True,
                                     choices=PackingGroup.choices)
    controlled = models.BooleanField(
        _("controlled"), default=False,
        help_text=_("Precursor or hazardous chemical: buyers need an approved licence."),
    )
    licence_kind = models.CharField(
        _("licence needed"), max_length=24, blank=True, choices=LicenceKind.choices,
        help_text=_("The kind of buyer licence a controlled chemical needs."),
    )
    categories = models.ManyToManyField(Category, blank=True, related_name="chemicals",
                                        verbose_name=_("categories"))

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("chemical")
        verbose_name_plural = _("chemicals")
        constraints = [
            # A controlled chemical names the licence it needs; others need none.
            models.CheckConstraint(
                condition=Q(controlled=False, licence_kind="")
                | (Q(controlled=True) & ~Q(licence_kind="")),
                name="chemical_controlled_names_licence",
                violation_error_message=_(
                    "A controlled chemical names the licence its buyers need; a chemical "
                    "that is not controlled needs none."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.cas})"

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en

    @property
    def is_hazardous(self) -> bool:
        return bool(self.un_number or self.ghs_pictograms)

    def clean(self):
        if self.cas:
            # stdnum raises on shapes it cannot format; the validator then says why.
            with contextlib.suppress(Exception):
                self.cas = normalize_cas(self.cas)
        if self.packing_group and not self.un_number:
            raise ValidationError({"packing_group": _("A packing group needs a UN number.")})


class SalesUnit(models.TextChoices):
    KG = "kg", _("kg")
    TONNE = "t", _("t")
    LITRE = "L", _("L")
    ITEM = "item", _("item")  # testing services: one test, one report


class Grade(models.TextChoices):
    INDUSTRIAL = "industrial", _("Industrial")
    REAGENT = "reagent", _("Reagent")
    PHARMACEUTICAL = "pharmaceutical", _("Pharmaceutical")
    FOOD = "food", _("Food")
    ELECTRONIC = "electronic", _("Electronic")
    SERVICE = "service", _("Service")


def sds_upload_to(instance, filename: str) -> str:
    return f"sds/{instance.seller_id}/{timezone.now():%Y%m}/{filename}"


class Product(models.Model):
    """One subsidiary's offer of a chemical (or a testing service of an institute)."""

    seller = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="products",
                               verbose_name=_("seller"))
    chemical = models.ForeignKey(Chemical, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="products", verbose_name=_("chemical"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products",
                                 verbose_name=_("category"))
    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True,
                               help_text=_("Empty: the chemical's name."))
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    grade = models.CharField(_("grade"), max_length=16, choices=Grade.choices,
                             default=Grade.INDUSTRIAL)
    purity = models.CharField(_("purity"), max_length=40, blank=True)
    packaging = models.CharField(_("packaging"), max_length=60, blank=True,
                                 help_text=_("e.g. 25 kg bag, 200 L drum, 1000 L IBC, bulk"))
    sales_unit = models.CharField(_("sales unit"), max_length=4, choices=SalesUnit.choices,
                                  default=SalesUnit.KG)
    min_order_quantity = models.DecimalField(_("minimum order quantity"), max_digits=14,
                                             decimal_places=3, default=Decimal("1"))
    quantity_step = models.DecimalField(_("quantity step"), max_digits=14, decimal_places=3,
                                        default=Decimal("1"))
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"), default=3)
    sds = models.FileField(_("safety data sheet"), upload_to=sds_upload_to, blank=True,
                           validators=[validate_document],
                           help_text=_("PDF, PNG or JPEG, at most 10 MB."))
    description = models.TextField(_("description"), blank=True)
    is_service = models.BooleanField(_("testing service"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    is_featured = models.BooleanField(_("featured"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Search (catalog/search.py): text built from the chemical's names, synonyms, CAS,
    # formula and pinyin; on PostgreSQL a GIN-indexed tsvector of it (migration 0002).
    search_document = models.TextField(editable=False, default="")
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(min_order_quantity__gt=0),
                                   name="product_moq_positive"),
            models.CheckConstraint(condition=Q(quantity_step__gt=0),
                                   name="product_step_positive"),
            models.CheckConstraint(
                condition=Q(is_service=True, chemical__isnull=True)
                | Q(is_service=False, chemical__isnull=False),
                name="product_service_xor_chemical",
            ),
        ]
        indexes = [
            models.Index(fields=["seller", "is_active"]),
            models.Index(fields=["category", "is_active"]),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} · {self.get_grade_display()} · {self.packaging}".strip(" ·")

    @property
    def display_name(self) -> str:
        from django.utils.translation import get_language

        zh = (get_language() or "").startswith("zh")
        own = (self.name_zh or self.name_en) if zh else (self.name_en or self.name_zh)
        if own:
            return own
        return self.chemical.name if self.chemical_id else self.sku

    def clean(self):
        if self.is_service and self.chemical_id:
            raise ValidationError({"chemical": _("A testing service has no chemical.")})
        if not self.is_service and not self.chemical_id:
            raise ValidationError({"chemical": _("Choose the chemical this product offers.")})


class Stock(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stocks",
                                verbose_name=_("product"))
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="stocks",
                              verbose_name=_("depot"))
    on_hand = models.DecimalField(_("on hand"), max_digits=14, decimal_places=3,
                                  default=Decimal("0"))
    reserved = models.DecimalField(_("reserved"), max_digits=14, decimal_places=3,
                                   default=Decimal("0"))

    class Meta:
        ordering = ["product", "depot"]
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        constraints = [
            models.UniqueConstraint(fields=["product", "depot"], name="stock_product_depot"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_gte_0"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")),
                                   name="stock_reserved_lte_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.product} @ {self.depot}"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class PriceList(models.Model):
    """A seller's prices for a period: public, or for one customer company (which wins)."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered in the admin")
        IMPORT = "import", _("Imported from a file")

    seller = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="price_lists",
                               verbose_name=_("seller"))
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="price_lists", verbose_name=_("customer company"),
                                help_text=_("Empty: the public price list."))
    name = models.CharField(_("name"), max_length=120)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True,
                                   help_text=_("Empty: until a newer list replaces it."))
    currency = models.CharField(_("currency"), max_length=3, default="CNY", editable=False)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices,
                              default=Source.MANUAL)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-valid_from", "-pk"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="pricelist_valid_period",
            ),
        ]
        indexes = [models.Index(fields=["seller", "company", "valid_from"])]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.valid_until and self.valid_from and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The list must end after it starts.")})


class PriceTier(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="tiers",
                                   verbose_name=_("price list"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="price_tiers",
                                verbose_name=_("product"))
    min_quantity = models.DecimalField(_("from quantity"), max_digits=14, decimal_places=3,
                                       default=Decimal("0"),
                                       validators=[MinValueValidator(Decimal("0"))])
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=14, decimal_places=2,
                                     validators=[MinValueValidator(Decimal("0.01"))])
    tax_inclusive = models.BooleanField(_("tax inclusive"), default=True)

    class Meta:
        ordering = ["product", "min_quantity"]
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product", "min_quantity"],
                                    name="pricetier_unique_step"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="pricetier_price_gt_0"),
            models.CheckConstraint(condition=Q(min_quantity__gte=0),
                                   name="pricetier_min_qty_gte_0"),
        ]
        indexes = [models.Index(fields=["product", "price_list"])]

    def __str__(self) -> str:
        return f"{self.product} ≥ {self.min_quantity}: {self.unit_price}"


class PriceChange(models.Model):
    """Every price a product ever had: one row per tier as it became effective or changed.
    Written by the price services; the product page's trend chart reads it."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_changes",
                                verbose_name=_("product"))
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("customer company"))
    price_list = models.ForeignKey(PriceList, null=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("price list"))
    min_quantity = models.DecimalField(_("from quantity"), max_digits=14, decimal_places=3)
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=14, decimal_places=2)
    effective_from = models.DateField(_("effective from"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("changed by"))

    class Meta:
        ordering = ["product", "effective_from", "min_quantity"]
        verbose_name = _("price change")
        verbose_name_plural = _("price history")
        indexes = [models.Index(fields=["product", "company", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.product_id} {self.effective_from}: {self.unit_price}"


class SearchTerm(models.Model):
    """Distinct words of the catalog, for "did you mean" (pg_trgm over words, not names)."""

    term = models.CharField(max_length=100, unique=True)
    frequency = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")

    def __str__(self) -> str:
        return self.term
