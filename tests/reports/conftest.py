import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from accounts.models import Region, Role
from inquiries.models import Inquiry, LostReason
from reports.models import MonthlyFlag
from reports.services import rollups_refresh
from tests.catalog.factories import CategoryFactory
from tests.factories import BuyerFactory, StaffFactory
from tests.orders.factories import AddressFactory
from tests.reports.factories import (
    InquiryFactory,
    OrderFactory,
    OrderLineFactory,
    ReportFactory,
    at,
    cco,
)


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


@pytest.fixture
def world(subsidiary, other_subsidiary, clock):
    """Two subsidiaries' figures around Tuesday 10 March 2026, "now" at noon that day (Asia/
    Shanghai), with the rollups refreshed. S: 1,130.00 today (web, Suzhou, category x),
    300.00 yesterday, 400.00 on 10 February, 200.00 on 5 March 2025; two unlisted inquiries
    for ethanol (10 kg to Suzhou, 5 kg to Shanghai), one lost on price; CCO A (score 0.9,
    an award in March). T: 50.00 today to Shanghai, an unlisted inquiry for "Secret T
    chemical"; CCO X (score 0.5)."""
    day = datetime.date(2026, 3, 10)
    clock(at(2026, 3, 10, 12))
    s, t = subsidiary, other_subsidiary
    shanghai, suzhou = Region.objects.get(code="310000"), Region.objects.get(code="320500")
    x = CategoryFactory(name_en="Solvents", name_zh="溶剂")
    today_order = OrderFactory(seller=s, total=Decimal("1130.00"), placed_at=at(2026, 3, 10, 9))
    OrderLineFactory(order=today_order, product__category=x, line_total=Decimal("1130.00"))
    OrderFactory(seller=s, total=Decimal("300.00"), placed_at=at(2026, 3, 9, 10))
    OrderFactory(seller=s, total=Decimal("400.00"), placed_at=at(2026, 2, 10, 10))
    OrderFactory(seller=s, total=Decimal("200.00"), placed_at=at(2025, 3, 5, 10))
    OrderFactory(seller=t, total=Decimal("50.00"), address=AddressFactory(region=shanghai),
                 placed_at=at(2026, 3, 10, 8))

    a, x_cco = cco(s, user__full_name="Alice S"), cco(t, user__full_name="Xavier T")
    for region, quantity, hour in [(suzhou, "10", 9), (shanghai, "5", 10)]:
        InquiryFactory(seller=s, owner=a, is_unlisted=True, requested_name="Ethanol",
                       requested_cas="64-17-5", quantity=Decimal(quantity),
                       delivery_region=region, received_at=at(2026, 3, 10, hour))
    InquiryFactory(seller=s, owner=a, status=Inquiry.Status.LOST,
                   lost_reason=LostReason.PRICE, received_at=at(2026, 3, 10, 11))
    InquiryFactory(seller=t, owner=x_cco, is_unlisted=True, requested_name="Secret T chemical",
                   received_at=at(2026, 3, 10, 9))
    ReportFactory(cco=a, day=day - datetime.timedelta(days=1), score=Decimal("0.9"),
                  answered=4, orders_won=1, sales_amount=Decimal("1130.00"))
    ReportFactory(cco=x_cco, day=day - datetime.timedelta(days=1), score=Decimal("0.5"),
                  rank_in_group=2, answered=2)
    MonthlyFlag.objects.create(cco=a, subsidiary=s, month=datetime.date(2026, 3, 1),
                               kind=MonthlyFlag.Kind.AWARD, reason="Top of the group")
    for refreshed in [day, day - datetime.timedelta(days=1), datetime.date(2026, 2, 10),
                      datetime.date(2025, 3, 5)]:
        rollups_refresh(day=refreshed)
    return {
        "day": day, "S": s, "T": t, "A": a, "X": x_cco, "category": x,
        "s_manager": StaffFactory(organization=s, roles=[Role.SUBSIDIARY_MANAGER]),
        "t_manager": StaffFactory(organization=t, roles=[Role.SUBSIDIARY_MANAGER]),
        "hq_manager": StaffFactory(organization=s.parent, roles=[Role.HQ_MANAGER]),
        "s_cco": a, "buyer": BuyerFactory(),
    }
