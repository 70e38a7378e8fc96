"""Forms of the buyer pages: they translate input; the services decide what is allowed."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import selectors as account_selectors
from accounts.forms import CityChoiceWidget
from catalog.models import LicenceKind

from .models import Order

QUANTITY_ATTRS = {"inputmode": "decimal", "class": "quantity"}


class QuantityField(forms.CharField):
    """The quantity as typed: catalog.pricing.quantity_check gives the precise answer
    (number, more than zero, minimum order, step, not absurdly large)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Quantity"))
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.NumberInput(attrs=QUANTITY_ATTRS))
        super().__init__(**kwargs)


class CartAddForm(forms.Form):
    product = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    quantity = QuantityField()

    def clean_quantity(self):
        # For services.cart_line_set 0 means "take it out"; adding 0 is a mistake instead.
        quantity = self.cleaned_data["quantity"]
        try:
            is_zero = Decimal(quantity) == 0
        except ArithmeticError:
            is_zero = False  # quantity_check explains it
        if is_zero:
            raise forms.ValidationError(_("The quantity must be more than zero."))
        return quantity


class CartLineForm(forms.Form):
    quantity = QuantityField()


class CheckoutForm(forms.Form):
    """Fulfilment, payment and references of one checkout. Which fields a fulfilment needs,
    and every business rule, are checked by services.checkout_place."""

    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    fulfilment = forms.ChoiceField(label=_("Fulfilment"), choices=Order.Fulfilment.choices,
                                   widget=forms.RadioSelect)
    address = forms.ModelChoiceField(label=_("Delivery address"), queryset=None,
                                     required=False, empty_label=_("Choose an address"))
    carrier = forms.ModelChoiceField(
        label=_("Carrier"), queryset=None, required=False,
        empty_label=_("Seller's choice"),
        help_text=_("Dangerous goods ship only with a hazmat-qualified carrier."))
    depot = forms.ModelChoiceField(label=_("Pickup depot"), queryset=None, required=False,
                                   empty_label=_("Choose a depot"))
    payment_method = forms.ChoiceField(label=_("Payment"), choices=Order.PaymentMethod.choices,
                                       widget=forms.RadioSelect)
    po_number = forms.CharField(label=_("Your purchase order number"), max_length=64,
                                required=False)
    requested_date = forms.DateField(label=_("Requested date"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))

    # Service error fields → form fields.
    SERVICE_FIELDS = {"address_id": "address", "carrier_id": "carrier", "depot_id": "depot"}

    def __init__(self, *args, addresses, carriers, depots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].queryset = addresses
        self.fields["address"].label_from_instance = address_label
        self.fields["carrier"].queryset = carriers
        self.fields["carrier"].label_from_instance = carrier_label
        self.fields["depot"].queryset = depots
        for name in ("address", "depot"):  # needed by one way of fulfilment: not "optional"
            self.fields[name].conditional = True
        self.fields["depot"].label_from_instance = depot_label
        self.fields["requested_date"].widget.attrs["min"] = timezone.localdate().isoformat()

    def add_service_error(self, exc) -> None:
        """A DomainError of the service, shown on the field it names (else on top)."""
        field = self.SERVICE_FIELDS.get(exc.field, exc.field)
        self.add_error(field if field in self.fields else None, exc.message)


def address_label(address) -> str:
    parts = [address.label, address.recipient, address.phone, address.region.name,
             address.line]
    return " · ".join(p for p in parts if p)


def carrier_label(carrier) -> str:
    if carrier.hazmat_qualified:
        return _("%(name)s (hazmat qualified)") % {"name": carrier.name}
    return carrier.name


def depot_label(depot) -> str:
    return f"{depot.name} · {depot.region.name} · {depot.address}"


class AddressForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=60, required=False,
                            help_text=_("e.g. Plant 2, warehouse east gate"))
    recipient = forms.CharField(label=_("Recipient"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=32)
    province = forms.ChoiceField(label=_("Province"))
    city = forms.ChoiceField(label=_("City"), widget=CityChoiceWidget)
    line = forms.CharField(label=_("Address"), max_length=255,
                           help_text=_("District, street, number, building"))
    is_default = forms.BooleanField(label=_("Default delivery address"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = [("", _("Choose a province"))] + [
            (r.code, r.name) for r in account_selectors.provinces()]
        self.fields["city"].choices = [("", _("Choose a city"))] + [
            (r.code, r.name) for r in account_selectors.cities()]

    def clean(self):
        cleaned = super().clean()
        province, city = cleaned.get("province"), cleaned.get("city")
        if province and city and city[:2] != province[:2]:
            self.add_error("city", _("The city is not in the chosen province."))
        return cleaned


class LicenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"),
                             choices=[("", _("Choose the kind")), *LicenceKind.choices])
    number = forms.CharField(label=_("Licence number"), max_length=64)
    valid_until = forms.DateField(label=_("Valid until"),
                                  widget=forms.DateInput(attrs={"type": "date"}))
    # Required by the service, which explains what it accepts (PDF, PNG, JPEG; 10 MB).
    document = forms.FileField(
        label=_("Document"), required=False,
        help_text=_("The scanned licence as a PDF, PNG or JPEG file, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={
            "accept": "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"}))
