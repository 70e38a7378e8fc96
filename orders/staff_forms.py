"""Forms of the depot, finance and admin pages: they translate input; the services decide
what is allowed (remaining quantities, expired codes, who may approve)."""

import datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .services import normalize_pickup_code


def line_field_name(line) -> str:
    return f"line_{line.pk}"


class PickupLookupForm(forms.Form):
    code = forms.CharField(
        label=_("Pickup code"), max_length=40,
        help_text=_("As the collector reads it out: case, spaces and dashes do not matter."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                      "spellcheck": "false", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = normalize_pickup_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError(_("Enter the pickup code."))
        return code


class PickupRecordForm(forms.Form):
    """One quantity per order line (blank means none of it), who collects, which vehicle."""

    collected_by = forms.CharField(label=_("Collected by"), max_length=100,
                                   help_text=_("The driver's or collector's name."))
    vehicle_plate = forms.CharField(label=_("Vehicle plate"), max_length=20, required=False)

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            remaining = line.remaining
            attrs = {"inputmode": "decimal", "class": "quantity", "min": "0", "step": "any",
                     "max": format(remaining.normalize(), "f")}
            if remaining <= 0:
                attrs["disabled"] = True
            self.fields[line_field_name(line)] = forms.CharField(
                label=line.product.display_name, required=False, max_length=40,
                widget=forms.NumberInput(attrs=attrs),
            )

    def line_fields(self):
        """(order line, bound field) pairs in the order of the lines."""
        return [(line, self[line_field_name(line)]) for line in self.lines]

    def _clean_quantity(self, name: str):
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        try:
            quantity = Decimal(raw)
        except InvalidOperation:
            raise forms.ValidationError(_("Enter the quantity as a number.")) from None
        if not quantity.is_finite():
            raise forms.ValidationError(_("Enter the quantity as a number."))
        if quantity < 0:
            raise forms.ValidationError(_("The quantity cannot be negative."))
        return raw  # the service checks it against what remains, under the order's lock

    def clean(self):
        cleaned = super().clean()
        for line in self.lines:
            name = line_field_name(line)
            if name in self.errors:
                continue
            try:
                cleaned[name] = self._clean_quantity(name)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return cleaned

    def quantities(self) -> dict[int, str]:
        """Order line id → quantity as typed, without the blank ones."""
        return {line.pk: self.cleaned_data[line_field_name(line)] for line in self.lines
                if self.cleaned_data.get(line_field_name(line))}


class CancelReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"), max_length=500,
        help_text=_("The buyer reads it in the order's timeline and in the mail."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReturnReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the return"), max_length=500,
        help_text=_("The buyer reads it in the order's timeline."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CreditApproveForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class LicenceReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])


def _default_until() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=settings.PICKUP_CODE_VALID_DAYS)


class PickupCodeExtendForm(forms.Form):
    until = forms.DateField(label=_("Valid until"), initial=_default_until,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
