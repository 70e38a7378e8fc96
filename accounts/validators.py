"""Password rules beyond Django's: staff accounts (prices, credit, licences) need more."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

STAFF_MIN_LENGTH = 12


class StaffPasswordValidator:
    """A staff member's password is at least 12 characters and mixes letters with digits
    or symbols. Buyers keep Django's rules (10 characters, not common, not all digits)."""

    def validate(self, password, user=None):
        if user is None or not _is_staff(user):
            return
        if len(password) < STAFF_MIN_LENGTH:
            raise ValidationError(
                ngettext("Staff passwords need at least %(min)d character.",
                         "Staff passwords need at least %(min)d characters.", STAFF_MIN_LENGTH)
                % {"min": STAFF_MIN_LENGTH}, code="staff_password_too_short")
        if not (re.search(r"[^\W\d_]", password) and re.search(r"[\d\W_]", password)):
            raise ValidationError(
                _("Staff passwords mix letters with digits or symbols."),
                code="staff_password_too_simple")

    def get_help_text(self):
        return _("Staff passwords: at least %(min)d characters, letters mixed with digits or "
                 "symbols.") % {"min": STAFF_MIN_LENGTH}


def _is_staff(user) -> bool:
    from accounts.models import STAFF_ROLES

    if user.is_staff or user.is_superuser:
        return True
    if user.pk is None:
        return False
    return user.groups.filter(name__in=STAFF_ROLES).exists()
