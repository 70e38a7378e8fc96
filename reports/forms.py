"""The period of a report page or API call: two dates in Asia/Shanghai, both included."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import Period

DEFAULT_DAYS = 30
MAX_DAYS = 366


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today: datetime.date, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError({"start": _("The period must start before it ends.")})
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(
                {"start": _("A period is at most %(days)s days long.") % {"days": MAX_DAYS}})
        data["period"] = Period(start, end)
        return data

    def default_period(self) -> Period:
        return Period(self.today - datetime.timedelta(days=DEFAULT_DAYS - 1), self.today)
