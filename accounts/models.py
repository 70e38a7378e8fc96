import datetime
import re
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumValidationError


class Role(models.TextChoices):
    """Roles are Django groups of these names; permissions per role: accounts.permissions."""

    BUYER = "buyer", _("Buyer")
    CCO = "cco", _("E-commerce sales officer (CCO)")
    SUBSIDIARY_MANAGER = "subsidiary_manager", _("Subsidiary manager")
    HQ_MANAGER = "hq_manager", _("HQ manager")
    DEALER = "dealer", _("Dealer")
    DEPOT_OPERATOR = "depot_operator", _("Depot operator")
    FINANCE = "finance", _("Finance")


STAFF_ROLES = frozenset(
    {Role.CCO, Role.SUBSIDIARY_MANAGER, Role.HQ_MANAGER, Role.FINANCE, Role.DEPOT_OPERATOR}
)


class BilingualNameMixin:
    """`name` follows the active language: Chinese for zh-*, English otherwise."""

    @property
    def name(self) -> str:
        if (get_language() or "").startswith("zh"):
            return self.name_zh
        return self.name_en or self.name_zh

    def __str__(self) -> str:
        return self.name


def validate_uscc(value: str) -> None:
    try:
        stdnum_uscc.validate(value)
    except StdnumValidationError as exc:
        raise ValidationError(
            _(
                "Enter a valid unified social credit code: 18 characters (digits and "
                "capital letters) with a correct check character, e.g. 91110000600037341L."
            ),
            code="invalid_uscc",
        ) from exc


# --- Regions (GB/T 2260) ----------------------------------------------------------------------


class Region(BilingualNameMixin, models.Model):
    class Level(models.TextChoices):
        PROVINCE = "province", _("Province-level division")
        CITY = "city", _("Prefecture-level city")

    code = models.CharField(_("GB/T 2260 code"), max_length=6, primary_key=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("province"),
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=96)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        constraints = [
            models.CheckConstraint(
                condition=Q(level="province", parent__isnull=True)
                | Q(level="city", parent__isnull=False),
                name="region_city_has_province",
            )
        ]

    @property
    def province_code(self) -> str:
        return self.code if self.level == self.Level.PROVINCE else self.parent_id


# --- Working calendar -------------------------------------------------------------------------

validate_workdays = RegexValidator(
    r"^[1-7]{1,7}$", _("List ISO weekday digits, Monday = 1 … Sunday = 7, e.g. 12345.")
)


class WorkingCalendar(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    workdays = models.CharField(
        _("working weekdays"), max_length=7, default="12345", validators=[validate_workdays],
        help_text=_("ISO weekday digits, Monday = 1 … Sunday = 7."),
    )
    day_start = models.TimeField(_("working day starts"), default=datetime.time(9))
    day_end = models.TimeField(_("working day ends"), default=datetime.time(18))
    break_start = models.TimeField(_("break starts"), null=True, blank=True,
                                   default=datetime.time(12))
    break_end = models.TimeField(_("break ends"), null=True, blank=True,
                                 default=datetime.time(13))
    follow_china_holidays = models.BooleanField(
        _("follow China's statutory holidays"), default=True,
        help_text=_("Holidays and make-up working days are imported nightly from the "
                    "chinese-calendar package; rows entered by hand are kept."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendars")
        constraints = [
            models.CheckConstraint(condition=Q(day_start__lt=models.F("day_end")),
                                   name="calendar_day_start_before_end"),
            models.CheckConstraint(
                condition=Q(break_start__isnull=True, break_end__isnull=True)
                | Q(break_start__lt=models.F("break_end"),
                    break_start__gt=models.F("day_start"),
                    break_end__lt=models.F("day_end")),
                name="calendar_break_inside_day",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.day_start and self.day_end and self.day_start >= self.day_end:
            raise ValidationError({"day_end": _("The working day must end after it starts.")})
        if (self.break_start is None) != (self.break_end is None):
            raise ValidationError({"break_end": _("Give both ends of the break, or neither.")})
        if self.break_start and self.break_end and not (
            self.day_start < self.break_start < self.break_end < self.day_end
        ):
            raise ValidationError(
                {"break_start": _("The break must lie inside the working day.")}
            )


class CalendarDay(models.Model):
    """A dated exception: a holiday on a working weekday, or a make-up working day."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (day off)")
        WORKDAY = "workday", _("Make-up working day")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        PACKAGE = "package", _("Imported from chinese-calendar")
        ESTIMATE = "estimate", _("Estimated: official notice not yet published")

    calendar = models.ForeignKey(WorkingCalendar, on_delete=models.CASCADE, related_name="days",
                                 verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices,
                              default=Source.MANUAL)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}"


# --- Organisations (sellers) ------------------------------------------------------------------


class Organization(BilingualNameMixin, models.Model):
    """HQ → subsidiaries. Each subsidiary sells its own products and has its own CCOs."""

    class Kind(models.TextChoices):
        HQ = "hq", _("Headquarters")
        SUBSIDIARY = "subsidiary", _("Subsidiary")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=128)
    name_en = models.CharField(_("name (English)"), max_length=128, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices,
                            default=Kind.SUBSIDIARY)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("parent"))
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("seat"))
    calendar = models.ForeignKey(WorkingCalendar, on_delete=models.PROTECT,
                                 related_name="organizations", verbose_name=_("working calendar"))
    service_level_hours = models.PositiveSmallIntegerField(
        _("inquiry response time (working hours)"), default=settings.DEFAULT_SERVICE_LEVEL_HOURS,
        validators=[MinValueValidator(1)],
    )
    dealer_window_hours = models.PositiveSmallIntegerField(
        _("dealer answer window (working hours)"), default=settings.DEFAULT_DEALER_WINDOW_HOURS,
        validators=[MinValueValidator(1)],
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="hq", parent__isnull=True)
                | Q(kind="subsidiary", parent__isnull=False),
                name="organization_subsidiary_has_parent",
            ),
            models.CheckConstraint(condition=Q(service_level_hours__gte=1),
                                   name="organization_service_level_positive"),
        ]

    @property
    def is_hq(self) -> bool:
        return self.kind == self.Kind.HQ

    def subtree_q(self, prefix: str = "") -> Q:
        """Q for this organisation and everything below it (HQ → subsidiaries → units)."""
        return (
            Q(**{f"{prefix}pk": self.pk})
            | Q(**{f"{prefix}parent": self.pk})
            | Q(**{f"{prefix}parent__parent": self.pk})
        )

    def subtree(self):
        return Organization.objects.filter(self.subtree_q())


# --- Users ------------------------------------------------------------------------------------


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("The email must be set")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone signs in with an email. Staff belong to an organisation; buyers to a company
    (through Membership); dealer users to a dealer (dealers app)."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="staff",
        verbose_name=_("organisation"),
        help_text=_("For staff (CCOs, managers, finance, depot operators) only."),
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES,
                                blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False,
                                   help_text=_("May sign in to the admin."))
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name or self.email

    @property
    def roles(self) -> frozenset[str]:
        # Cached on the instance: a request asks several times, the groups rarely change.
        if not hasattr(self, "_roles_cache"):
            self._roles_cache = frozenset(self.groups.values_list("name", flat=True))
        return self._roles_cache

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_hq_staff(self) -> bool:
        return self.is_superuser or (
            self.organization_id is not None and self.organization.kind == Organization.Kind.HQ
        )

    @property
    def is_hq_manager(self) -> bool:
        return self.is_superuser or (self.is_hq_staff and self.has_role(Role.HQ_MANAGER))


# --- Buyer companies --------------------------------------------------------------------------


class Company(models.Model):
    """A customer company. Customers belong to the company, not to one account manager."""

    name = models.CharField(_("company name"), max_length=200)
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True,
                            validators=[validate_uscc])
    province = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                                 limit_choices_to={"level": Region.Level.PROVINCE},
                                 verbose_name=_("province"))
    city = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", limit_choices_to={"level": Region.Level.CITY},
                             verbose_name=_("city"))
    address = models.CharField(_("address"), max_length=255, blank=True)
    credit_limit = models.DecimalField(_("credit limit (CNY)"), max_digits=14, decimal_places=2,
                                       default=Decimal("0.00"),
                                       validators=[MinValueValidator(Decimal("0"))])
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"), default=0,
        help_text=_("0 means prepayment only."),
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership",
                                     through_fields=("company", "user"),
                                     related_name="companies", verbose_name=_("members"))
    served_by = models.ManyToManyField(
        Organization, blank=True, related_name="customers", verbose_name=_("served by"),
        help_text=_("Subsidiaries this company has dealt with; their staff see it."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("registered"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0),
                                   name="company_credit_limit_non_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.uscc:
            self.uscc = self.uscc.strip().upper()
        if self.city_id and self.province_id and not self.city_id.startswith(
            self.province_id[:2]
        ):
            raise ValidationError({"city": _("The city is not in the chosen province.")})


class Membership(models.Model):
    """A buyer's place in its company. One company per user; admins invite colleagues."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="membership", verbose_name=_("user"))
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships",
                                verbose_name=_("company"))
    is_admin = models.BooleanField(_("company admin"), default=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("invited by"))
    created_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        ordering = ["company", "-is_admin", "user__email"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}"


# --- Depots -----------------------------------------------------------------------------------

_DEPOT_CODE = re.compile(r"^[A-Z0-9-]{2,20}$")


class Depot(BilingualNameMixin, models.Model):
    """A storage depot of a subsidiary; buyers pick up there, operators record pickups."""

    code = models.CharField(_("code"), max_length=20, unique=True,
                            validators=[RegexValidator(_DEPOT_CODE,
                                                       _("Capital letters, digits and dashes."))])
    name_zh = models.CharField(_("name (Chinese)"), max_length=128)
    name_en = models.CharField(_("name (English)"), max_length=128, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="depots", verbose_name=_("organisation"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("region"))
    address = models.CharField(_("address"), max_length=255)
    operators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                       related_name="operated_depots",
                                       verbose_name=_("operators"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("depot")
        verbose_name_plural = _("depots")
