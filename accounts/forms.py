import unicodedata

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import User, validate_uscc


def _province_choices():
    return [("", _("Choose a province"))] + [(r.code, r.name) for r in selectors.provinces()]


class CityChoiceWidget(forms.Select):
    """Each city option carries its province, so the page can narrow the list."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value:
            option["attrs"]["data-province"] = f"{str(value)[:2]}0000"
        return option


def _city_choices():
    return [("", _("Choose a city (optional)"))] + [(r.code, r.name) for r in selectors.cities()]


class CompanyRegistrationForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    uscc = forms.CharField(
        label=_("Unified social credit code"), max_length=18,
        help_text=_("The 18-character code on the business licence."),
        validators=[validate_uscc],
    )
    province = forms.ChoiceField(label=_("Province"), choices=_province_choices)
    city = forms.ChoiceField(label=_("City"), choices=_city_choices, required=False,
                             widget=CityChoiceWidget)
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_uscc(self):
        return self.cleaned_data["uscc"].strip().upper()

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("A user with this email already exists."))
        return email

    def clean(self):
        cleaned = super().clean()
        province, city = cleaned.get("province"), cleaned.get("city")
        if province and city and city[:2] != province[:2]:
            self.add_error("city", _("The city is not in the chosen province."))
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            probe = User(email=cleaned.get("email") or "", full_name=cleaned.get("full_name") or "")
            try:
                validate_password(p1, probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class MemberInviteForm(forms.Form):
    full_name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    make_admin = forms.BooleanField(label=_("Company admin"), required=False)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("A user with this email already exists."))
        return email


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django skips users without a usable password. Here those are invited colleagues who
    have not chosen one yet; once the invitation has expired, a reset link lets them in."""

    def get_users(self, email):
        users = User.objects.filter(email__iexact=email, is_active=True)
        # As Django does: the database's case-insensitive match must also hold in Unicode.
        wanted = unicodedata.normalize("NFKC", email).casefold()
        return (u for u in users if unicodedata.normalize("NFKC", u.email).casefold() == wanted)
