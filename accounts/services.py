"""Writes of the accounts app: keyword-only, atomic, one verb each."""

import datetime
import logging

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import override

from chemmall.app_modules import app_modules
from chemmall.errors import ConflictError, DomainError

from .calendar import china_estimated_holiday_rows, china_holiday_rows, china_official_years
from .models import (
    CalendarDay,
    Company,
    Membership,
    Organization,
    Region,
    Role,
    User,
    WorkingCalendar,
    validate_uscc,
)

logger = logging.getLogger(__name__)


# --- Roles ------------------------------------------------------------------------------------


def _role_permissions() -> dict[str, set[str]]:
    """ROLE_PERMISSIONS of every installed app that has a permissions module, merged."""
    merged: dict[str, set[str]] = {role.value: set() for role in Role}
    for _config, module in app_modules("permissions"):
        for role, perms in getattr(module, "ROLE_PERMISSIONS", {}).items():
            merged[str(role)] |= set(perms)
    return merged


def roles_sync() -> None:
    """Create one group per role with exactly its permissions. Idempotent."""
    for role, wanted in _role_permissions().items():
        group, _created = Group.objects.get_or_create(name=role)
        perms = []
        for dotted in sorted(wanted):
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is None:  # the model's migration has not run yet
                logger.debug("permission %s not found yet", dotted)
                continue
            perms.append(perm)
        group.permissions.set(perms)


@transaction.atomic
def user_set_roles(*, user: User, roles) -> None:
    roles = {str(r) for r in roles}
    unknown = roles - set(Role.values)
    if unknown:
        raise DomainError(_("Unknown role: %(role)s") % {"role": ", ".join(sorted(unknown))},
                          field="roles")
    user.groups.set(Group.objects.filter(name__in=roles))
    user.is_staff = user.is_superuser or bool(roles & {str(r) for r in _staff_roles()})
    user.save(update_fields=["is_staff"])
    if hasattr(user, "_roles_cache"):
        del user._roles_cache


def _staff_roles():
    from .models import STAFF_ROLES

    return STAFF_ROLES


@transaction.atomic
def user_create(
    *,
    email: str,
    full_name: str,
    password: str | None = None,
    phone: str = "",
    organization: Organization | None = None,
    roles=(),
    language: str = "",
) -> User:
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ConflictError(_("A user with this email already exists."), field="email")
    staff = {str(r) for r in roles} & {str(r) for r in _staff_roles()}
    if staff and organization is None:
        raise DomainError(_("Staff must belong to an organisation."), field="organization")
    user = User(email=email, full_name=full_name.strip(), phone=phone.strip(),
                organization=organization, language=language)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), field="password") from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user_set_roles(user=user, roles=roles)
    return user


# --- Companies --------------------------------------------------------------------------------


def _check_region(*, province_code: str, city_code: str | None) -> tuple[Region, Region | None]:
    province = Region.objects.filter(code=province_code, level=Region.Level.PROVINCE).first()
    if province is None:
        raise DomainError(_("Choose a province."), field="province")
    city = None
    if city_code:
        city = Region.objects.filter(code=city_code, parent=province).first()
        if city is None:
            raise DomainError(_("The city is not in the chosen province."), field="city")
    return province, city


@transaction.atomic
def company_register(
    *,
    company_name: str,
    uscc: str,
    province_code: str,
    city_code: str | None,
    address: str,
    email: str,
    full_name: str,
    password: str,
    phone: str = "",
    language: str = "",
) -> User:
    """A buyer registers its company and becomes its first admin."""
    uscc = (uscc or "").strip().upper()
    try:
        validate_uscc(uscc)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], field="uscc") from exc
    if Company.objects.filter(uscc=uscc).exists():
        raise ConflictError(
            _("This company is already registered. Ask its administrator to invite you."),
            field="uscc",
        )
    province, city = _check_region(province_code=province_code, city_code=city_code)
    company = Company(name=company_name.strip(), uscc=uscc, province=province, city=city,
                      address=address.strip())
    try:
        company.full_clean()
    except ValidationError as exc:  # e.g. a blank name, or separators inside the code
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(" ".join(messages),
                          field=None if field == NON_FIELD_ERRORS else field) from exc
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError as exc:  # a concurrent registration of the same code won the race
        raise ConflictError(_("This company is already registered."), field="uscc") from exc
    user = user_create(email=email, full_name=full_name, password=password, phone=phone,
                       roles=[Role.BUYER], language=language)
    Membership.objects.create(user=user, company=company, is_admin=True)
    return user


@transaction.atomic
def company_member_invite(
    *, company_id: int, inviter: User, email: str, full_name: str, make_admin: bool = False
) -> User:
    """A company admin adds a colleague; the colleague gets a link to set a password."""
    if not Membership.objects.filter(user=inviter, company_id=company_id, is_admin=True).exists():
        raise Company.DoesNotExist
    user = user_create(email=email, full_name=full_name, roles=[Role.BUYER],
                       language=inviter.language)
    Membership.objects.create(user=user, company_id=company_id, is_admin=make_admin,
                              invited_by=inviter)
    transaction.on_commit(lambda: invitation_send(user_id=user.pk))
    return user


def invitation_send(*, user_id: int) -> None:
    """Mail the set-your-password link; the token dies once the password is set."""
    user = User.objects.select_related("membership__company", "membership__invited_by").get(
        pk=user_id
    )
    path = reverse(
        "accounts:invitation_accept",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user)},
    )
    context = {
        "user": user,
        "company": user.membership.company,
        "inviter": user.membership.invited_by,
        "url": settings.SITE_URL.rstrip("/") + path,
    }
    with override(user.language or settings.LANGUAGE_CODE):
        subject = _("You are invited to %(company)s on ChemMall") % {
            "company": context["company"].name
        }
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


@transaction.atomic
def company_mark_served(*, company_id: int, organization_id: int) -> None:
    """Record that a subsidiary deals with a company, so its staff may see the customer.
    Called by orders and inquiries when they first connect the two. Idempotent."""
    through = Company.served_by.through  # one INSERT … ON CONFLICT DO NOTHING, no savepoint
    through.objects.bulk_create(
        [through(company_id=company_id, organization_id=organization_id)], ignore_conflicts=True)


# --- Working calendars ------------------------------------------------------------------------


@transaction.atomic
def working_calendar_sync_holidays(*, calendar_id: int, years) -> int:
    """Import statutory holidays and make-up days. Years with the State Council's notice
    come from chinese-calendar; later years get holidays estimated by the `holidays`
    package (no make-up days), replaced once the official rows arrive. Rows entered by
    hand always win; running it again changes nothing. Returns the rows created."""
    calendar = WorkingCalendar.objects.select_for_update().get(pk=calendar_id)
    years = sorted(set(years))
    official = china_official_years()
    official_years = [y for y in years if y in official]
    estimated_years = [y for y in years if y not in official]
    if estimated_years:
        logger.warning(
            "calendar %s: no official holiday schedule for %s yet; using estimates",
            calendar.pk, estimated_years,
        )
    wanted = {
        day: (kind, name, CalendarDay.Source.PACKAGE)
        for day, kind, name in china_holiday_rows(official_years)
    }
    wanted.update({
        day: (kind, name, CalendarDay.Source.ESTIMATE)
        for day, kind, name in china_estimated_holiday_rows(estimated_years)
    })
    existing = CalendarDay.objects.filter(calendar=calendar, date__year__in=years)
    manual = set(existing.filter(source=CalendarDay.Source.MANUAL).values_list("date", flat=True))
    # Imported rows the sources no longer list (an estimate the notice moved) go away.
    existing.exclude(source=CalendarDay.Source.MANUAL).exclude(date__in=wanted).delete()
    created_count = 0
    for day, (kind, name, source) in wanted.items():
        if day in manual:
            continue
        _row, created = CalendarDay.objects.update_or_create(
            calendar=calendar, date=day, defaults={"kind": kind, "name": name, "source": source},
        )
        created_count += created
    return created_count


def calendars_sync_holidays(*, today: datetime.date) -> int:
    years = [today.year, today.year + 1]
    return sum(
        working_calendar_sync_holidays(calendar_id=pk, years=years)
        for pk in WorkingCalendar.objects.filter(follow_china_holidays=True)
        .values_list("pk", flat=True)
    )
