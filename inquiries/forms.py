"""Forms of the inquiry pages: they translate input; the services decide what is allowed.

Fields the services check themselves (quantity, contact details, what is asked for) are not
required here, so that the page shows the service's precise message; they are marked
`conditional` so that the label does not call them optional (templates/orders/_field.html).
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import selectors as account_selectors
from accounts.forms import CityChoiceWidget
from catalog.models import SalesUnit
from orders.forms import CheckoutForm, QuantityField

from .models import Inquiry

ATTACHMENT_ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"
DECIMAL_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}


class ServiceErrorsMixin:
    """A DomainError of a service shown on the field it names (else above the form)."""

    SERVICE_FIELDS: dict[str, str] = {}

    def add_service_error(self, exc) -> None:
        field = self.SERVICE_FIELDS.get(exc.field, exc.field)
        self.add_error(field if field in self.fields else None, exc.message)


def _checked_by_service(field: forms.Field) -> forms.Field:
    field.conditional = True
    return field


class InquiryForm(ServiceErrorsMixin, forms.Form):
    """An inquiry for a listed product (`product` given: its unit, no name or CAS) or for a
    chemical we do not list; guests (`guest=True`) also leave their contact details."""

    product = forms.IntegerField(required=False, widget=forms.HiddenInput)
    requested_name = forms.CharField(
        label=_("Chemical name"), max_length=200, required=False,
        help_text=_("Name, synonym or trade name, in English or Chinese."))
    requested_cas = forms.CharField(
        label=_("CAS number"), max_length=20, required=False,
        help_text=_("e.g. 7664-93-9. Give the name, the CAS number or both."))
    quantity = QuantityField(required=False)
    unit = forms.ChoiceField(label=_("Unit"), choices=SalesUnit.choices, initial=SalesUnit.KG,
                             required=False)
    target_price = forms.CharField(
        label=_("Target price (CNY per unit)"), max_length=20, required=False,
        widget=forms.TextInput(attrs=DECIMAL_ATTRS))
    province = forms.ChoiceField(label=_("Delivery province"), required=False)
    city = forms.ChoiceField(label=_("City"), required=False, widget=CityChoiceWidget)
    needed_by = forms.DateField(label=_("Needed by"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    wants_local_service = forms.BooleanField(
        label=_("I would like local service from a dealer near the delivery address"),
        required=False)
    message = forms.CharField(
        label=_("Message"), max_length=5000, required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Grade, purity, packaging, documents you need (COA, SDS) …"))
    contact_name = forms.CharField(label=_("Your name"), max_length=100, required=False)
    contact_company = forms.CharField(label=_("Company"), max_length=200, required=False)
    contact_email = forms.EmailField(label=_("Email"), required=False)
    contact_phone = forms.CharField(label=_("Phone"), max_length=32, required=False,
                                    help_text=_("An email address or a phone number, or both."))
    # The honeypot: hidden from people by CSS (.hp-field), filled in by bots.
    website = forms.CharField(
        label=_("Leave this field empty"), required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))

    SERVICE_FIELDS = {"product_id": "product", "delivery_region": "province"}
    GUEST_FIELDS = ("contact_name", "contact_company", "contact_email", "contact_phone")
    UNLISTED_FIELDS = ("requested_name", "requested_cas", "unit")

    def __init__(self, *args, product=None, guest: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        self.guest = guest
        if product is not None:
            for name in self.UNLISTED_FIELDS:
                del self.fields[name]
            self.fields["quantity"].label = _("Quantity (%(unit)s)") % {
                "unit": product.get_sales_unit_display()}
        else:
            _checked_by_service(self.fields["requested_name"])
            _checked_by_service(self.fields["requested_cas"])
            _checked_by_service(self.fields["unit"])
        if not guest:
            for name in self.GUEST_FIELDS:
                del self.fields[name]
        else:
            _checked_by_service(self.fields["contact_name"])
            for name in ("contact_email", "contact_phone"):
                _checked_by_service(self.fields[name])
        _checked_by_service(self.fields["quantity"])
        self.fields["province"].choices = [("", _("Choose a province"))] + [
            (r.code, r.name) for r in account_selectors.provinces()]
        self.fields["city"].choices = [("", _("Choose a city (optional)"))] + [
            (r.code, r.name) for r in account_selectors.cities()]
        self.fields["needed_by"].widget.attrs["min"] = timezone.localdate().isoformat()

    def clean(self):
        cleaned = super().clean()
        province, city = cleaned.get("province"), cleaned.get("city")
        if city and not province:
            self.add_error("province", _("Choose the province of the city."))
        elif province and city and city[:2] != province[:2]:
            self.add_error("city", _("The city is not in the chosen province."))
        return cleaned

    @property
    def delivery_region_code(self) -> str | None:
        """The city when one is chosen, else the province (None: not said)."""
        return self.cleaned_data.get("city") or self.cleaned_data.get("province") or None

    @property
    def what_fields(self):
        return [self[name] for name in ("requested_name", "requested_cas") if name in self.fields]

    @property
    def contact_fields(self):
        return [self[name] for name in self.GUEST_FIELDS if name in self.fields]


class InquiryFilterForm(forms.Form):
    OPEN = "open"  # new, assigned or quoted

    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Any status")), (OPEN, _("Open")), *Inquiry.Status.choices])


class MessageForm(ServiceErrorsMixin, forms.Form):
    body = _checked_by_service(forms.CharField(
        label=_("Your message"), max_length=5000, required=False,
        widget=forms.Textarea(attrs={"rows": 4})))
    attachment = forms.FileField(
        label=_("Attachment"), required=False,
        help_text=_("A PDF, PNG or JPEG file, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ATTACHMENT_ACCEPT}))


class DeclineForm(ServiceErrorsMixin, forms.Form):
    reason = _checked_by_service(forms.CharField(
        label=_("Why do you decline?"), max_length=5000, required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Price, lead time, quantity …: the seller can make a better offer.")))


class AcceptForm(CheckoutForm):
    """Checkout's choices of fulfilment, payment and the PO number, for one quote: its
    seller's depots for pickup. quote_accept (and the order service) check the rest."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("idempotency_key", "requested_date", "notes"):
            del self.fields[name]
