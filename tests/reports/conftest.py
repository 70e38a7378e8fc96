import pytest
from django.apps import apps
from django.utils import timezone


@pytest.fixture
def clock(monkeypatch):
    """clock(moment): from now on "now" is `moment` — for the services, and for every model
    field whose default is timezone.now (an inquiry's arrival, a quote's, an event's, an
    order's), which holds the real function and would not see the patch."""
    real_now = timezone.now
    stamped = [f for model in apps.get_models() for f in model._meta.concrete_fields
               if f.default is real_now]

    def set_to(moment) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        for f in stamped:
            monkeypatch.setitem(f.__dict__, "_get_default", lambda: moment)

    return set_to
