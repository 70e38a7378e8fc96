"""Forms of the CCO workbench in the admin, and the canned-reply placeholders.

The forms only turn the posted text into Python values; the services check the rules
(quantities, validity against the price cycle, lost reasons …) and their DomainError is
put back on the form by `add_service_error`, so the CCO sees it next to what was typed.
"""

import re
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, Region, Role, User
from accounts.selectors import companies_visible_to
from catalog.models import Product, SalesUnit
from catalog.selectors import products_editable_by

from .models import CannedReply, Channel, Incoterm, Inquiry, LostReason

# --- Canned replies: placeholders ---------------------------------------------------------------

PLACEHOLDERS = ("buyer", "company", "product", "quantity", "cco", "number")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace {buyer}, {company} … by their values; anything else in braces stays as it
    is (a typo is left for the CCO to see, never an error)."""

    def replace(match: re.Match) -> str:
        key = match.group(1)
        return str(values[key]) if key in values else match.group(0)

    return _PLACEHOLDER.sub(replace, text or "")


def unknown_placeholders(text: str) -> list[str]:
    return sorted({key for key in _PLACEHOLDER.findall(text or "") if key not in PLACEHOLDERS})


def plain_quantity(value: Decimal) -> str:
    """500.000 → '500', 0.500 → '0.5'."""
    return format(Decimal(value).normalize(), "f")


def placeholder_values(inquiry: Inquiry, cco) -> dict[str, str]:
    """What the placeholders stand for on this inquiry, answered by `cco`."""
    if inquiry.buyer_id:
        buyer = inquiry.buyer.get_full_name() or inquiry.buyer.email
    else:
        buyer = inquiry.contact_name
    company = inquiry.company.name if inquiry.company_id else inquiry.contact_company
    return {
        "buyer": buyer,
        "company": company,
        "product": inquiry.subject,
        "quantity": f"{plain_quantity(inquiry.quantity)} {inquiry.get_unit_display()}",
        "cco": cco.get_full_name() or cco.email,
        "number": inquiry.number,
    }


def canned_replies_filled(replies, inquiry: Inquiry, cco) -> list[dict]:
    """The replies with their placeholders filled, for the page's picker."""
    values = placeholder_values(inquiry, cco)
    return [{"id": reply.pk, "title": reply.title, "text": fill_placeholders(reply.body, values)}
            for reply in replies]


# --- Service errors back onto forms -------------------------------------------------------------


def add_service_error(form: forms.Form, exc, aliases: dict[str, str] | None = None) -> None:
    """A DomainError/ConflictError from a service, shown on the field it names (or on top)."""
    field = (aliases or {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, str(exc.message))


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


# --- The workbench forms ------------------------------------------------------------------------


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, product):
        parts = [product.display_name, product.get_grade_display(), product.packaging,
                 product.sku]
        return " · ".join(p for p in parts if p)


class QuoteForm(forms.Form):
    """A quote version. `expected_version` is the latest version the CCO saw."""

    product = ProductChoiceField(label=_("Product"), queryset=Product.objects.none(),
                                 help_text=_("What the order will be for; for an unlisted "
                                             "chemical, create the product first."))
    quantity = forms.DecimalField(label=_("Quantity"))
    unit_price = forms.DecimalField(label=_("Unit price (CNY)"))
    tax_inclusive = forms.BooleanField(label=_("VAT included"), required=False, initial=True)
    valid_until = forms.DateField(label=_("Valid until"), widget=_DateInput())
    lead_time_days = forms.IntegerField(label=_("Lead time (days)"))
    incoterm = forms.ChoiceField(label=_("Incoterm"), choices=Incoterm.choices,
                                 initial=Incoterm.DAP)
    payment_terms = forms.CharField(label=_("Payment terms"), max_length=200)
    note = forms.CharField(label=_("Note to the buyer"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, inquiry: Inquiry, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = (
            Product.objects.filter(seller__in=inquiry.seller.subtree(), is_active=True)
            .select_related("chemical").order_by("sku"))


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Message"), required=False,
                           widget=forms.Textarea(attrs={"rows": 7}))
    internal = forms.BooleanField(
        label=_("Internal note"), required=False,
        help_text=_("Only colleagues see it; the buyer does not, and the deadline keeps "
                    "running."))
    attachment = forms.FileField(label=_("Attachment"), required=False,
                                 help_text=_("PDF, PNG or JPEG, at most 10 MB (e.g. a COA)."),
                                 widget=forms.ClearableFileInput(
                                     attrs={"accept": ".pdf,.png,.jpg,.jpeg"}))


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.email


def colleagues_for(inquiry: Inquiry):
    """Who may take the inquiry over: active CCOs and managers of its seller."""
    return (User.objects.filter(is_active=True, organization__in=inquiry.seller.subtree(),
                                groups__name__in=[Role.CCO, Role.SUBSIDIARY_MANAGER])
            .exclude(pk=inquiry.owner_id).distinct().order_by("full_name", "email"))


class ReassignForm(forms.Form):
    to_user = StaffChoiceField(label=_("Hand over to"), queryset=User.objects.none())
    note = forms.CharField(label=_("Note for the colleague"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, inquiry: Inquiry, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = colleagues_for(inquiry)


class CloseLostForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why is it lost?"), required=False,
                               choices=[("", "---------"), *LostReason.choices])
    note = forms.CharField(label=_("Note"), required=False,
                           help_text=_("Required for “Other”."),
                           widget=forms.Textarea(attrs={"rows": 2}))


# --- Logging an inquiry that came by phone, WeChat, a fair … ------------------------------------

LOGGED_CHANNELS = [(value, label) for value, label in Channel.choices
                   if value not in (Channel.WEB, Channel.API)]


def _autocomplete(field_name: str) -> AutocompleteSelect:
    return AutocompleteSelect(Inquiry._meta.get_field(field_name), admin.site,
                              attrs={"data-width": "28em"})


class InquiryLogForm(forms.Form):
    channel = forms.ChoiceField(label=_("Came in by"), choices=[("", "---------"),
                                                                *LOGGED_CHANNELS],
                                required=False)
    company = forms.ModelChoiceField(
        label=_("Customer company"), queryset=Company.objects.none(), required=False,
        help_text=_("A company we already serve; leave empty for a new contact."))
    contact_name = forms.CharField(label=_("Contact name"), max_length=100, required=False)
    contact_company = forms.CharField(label=_("Contact's company"), max_length=200,
                                      required=False,
                                      help_text=_("When the company is not in the list."))
    contact_email = forms.EmailField(label=_("Contact email"), required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none(),
                                     required=False,
                                     help_text=_("One of ours; or name the chemical below."))
    requested_name = forms.CharField(label=_("Chemical name"), max_length=200, required=False)
    requested_cas = forms.CharField(label=_("CAS number"), max_length=12, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), required=False)
    unit = forms.ChoiceField(label=_("Unit"), choices=SalesUnit.choices, initial=SalesUnit.KG,
                             help_text=_("For a product, its sales unit is used."))
    target_price = forms.DecimalField(label=_("Target price (CNY per unit)"), required=False)
    delivery_region = forms.ModelChoiceField(label=_("Delivery city or province"),
                                             queryset=Region.objects.all(), required=False)
    needed_by = forms.DateField(label=_("Needed by"), required=False, widget=_DateInput())
    message = forms.CharField(label=_("What was asked"), required=False,
                              widget=forms.Textarea(attrs={"rows": 5}))

    # Service field names → form field names.
    SERVICE_FIELDS = {"product_id": "product", "delivery_region": "delivery_region"}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The widget first: setting the queryset hands the choices to it.
        for name, queryset in (("company", companies_visible_to(user)),
                               ("product", products_editable_by(user).filter(is_active=True)),
                               ("delivery_region", Region.objects.all())):
            self.fields[name].widget = _autocomplete(name)
            self.fields[name].queryset = queryset
        if not self.is_bound:
            self.fields["needed_by"].widget.attrs["min"] = timezone.localdate().isoformat()

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "company_id": data["company"].pk if data["company"] else None,
            "contact_name": data["contact_name"],
            "contact_company": data["contact_company"],
            "contact_email": data["contact_email"],
            "contact_phone": data["contact_phone"],
            "product_id": data["product"].pk if data["product"] else None,
            "requested_name": data["requested_name"],
            "requested_cas": data["requested_cas"],
            "quantity": data["quantity"],
            "unit": data["unit"],
            "target_price": data["target_price"],
            "delivery_region_code": data["delivery_region"].pk if data["delivery_region"]
            else None,
            "needed_by": data["needed_by"],
            "message": data["message"],
        }


# --- Canned reply admin form --------------------------------------------------------------------


class CannedReplyAdminForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["organization", "title", "body", "is_active"]
        help_texts = {
            "body": _("Placeholders filled in when a CCO inserts the reply: {buyer}, "
                      "{company}, {product}, {quantity}, {cco}, {number}."),
        }

    def clean_body(self):
        body = self.cleaned_data["body"]
        unknown = unknown_placeholders(body)
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholder: %(names)s. Use {buyer}, {company}, {product}, "
                  "{quantity}, {cco} or {number}.")
                % {"names": ", ".join(f"{{{name}}}" for name in unknown)})
        return body
