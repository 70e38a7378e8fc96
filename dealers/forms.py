"""Forms of the dealer portal: they read input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from inquiries.admin_forms import QuoteForm
from inquiries.forms import ServiceErrorsMixin

from .models import Assignment


class AssignmentFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Show"), required=False,
                               choices=[("", _("All"))] + list(Assignment.Status.choices))


class DeclineForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("Why do you decline?"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("The subsidiary reads it; the inquiry goes back to "
                                         "its sales officers."))


class DealerQuoteForm(ServiceErrorsMixin, QuoteForm):
    """The inquiries' quote form, as a dealer fills it in (no version check needed: the
    dealer is the only one quoting an inquiry it accepted, but a stale tab is still caught)."""

    SERVICE_FIELDS = {"product_id": "product"}
