"""The dashboards' selectors on top of the `world` of conftest: the channel return, the
funnel's conversions, unmet demand grouped by name without a CAS number, and the scopes."""

from decimal import Decimal

import pytest

from inquiries.models import Channel, Inquiry
from reports import selectors
from reports.selectors import Period
from reports.services import rollups_refresh
from tests.factories import StaffFactory, UserFactory
from tests.reports.factories import InquiryFactory, OrderFactory, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone_deal(world):
    """S wins a phone inquiry of today: an order of 500.00 placed today."""
    order = OrderFactory(seller=world["S"], total=Decimal("500.00"),
                         placed_at=at(2026, 3, 10, 11))
    InquiryFactory(seller=world["S"], owner=world["A"], channel=Channel.PHONE,
                   status=Inquiry.Status.WON, order=order, received_at=at(2026, 3, 10, 10))
    rollups_refresh(day=world["day"])
    return order


def test_channel_return_keeps_checkout_orders_apart(world, phone_deal):
    rows = selectors.channel_return(world["s_manager"], Period(world["day"].replace(day=1),
                                                                 world["day"]))
    assert [(r["key"], r["received"], r["won"], r["orders"], r["amount"]) for r in rows] == [
        ("checkout", 0, 0, 2, Decimal("1430.00")),
        ("phone", 1, 1, 1, Decimal("500.00")),
        ("web", 3, 0, 0, Decimal("0.00")),
    ]


def test_funnel_conversions(world, phone_deal):
    funnel = selectors.inquiry_funnel(world["s_manager"], Period(world["day"], world["day"]))
    # Received 4: the two unlisted, the lost one, the phone one (won, so quoted too).
    assert funnel == {"received": 4, "quoted": 1, "won": 1, "lost": 1,
                      "quote_rate": Decimal("0.2500"), "win_rate": Decimal("1.0000"),
                      "conversion": Decimal("0.2500")}


def test_unmet_demand_without_a_cas_number_groups_by_name(world):
    for name in ("Acetone", "ACETONE"):
        InquiryFactory(seller=world["S"], is_unlisted=True, requested_name=name,
                       received_at=at(2026, 3, 10, 9))
    InquiryFactory(seller=world["S"], is_unlisted=False, requested_name="Listed thing",
                   received_at=at(2026, 3, 10, 9))
    rows = selectors.unmet_demand(world["s_manager"], Period(world["day"], world["day"]))
    assert [(r["name"], r["cas"], r["requests"], r["quantity"], r["provinces"])
            for r in rows] == [
        ("Acetone", "", 2, Decimal("20.000"), []),  # 2 requests, 20 kg before 15 kg
        ("Ethanol", "64-17-5", 2, Decimal("15.000"), ["Jiangsu", "Shanghai"]),
    ]


def test_scopes(world):
    assert selectors.report_sellers(world["hq_manager"]) is None
    assert list(selectors.report_sellers(world["s_manager"])) == [world["S"]]
    for nobody in (world["buyer"], world["s_cco"],
                   StaffFactory(organization=world["S"], roles=[])):
        assert not selectors.may_read_reports(nobody)
        assert not selectors.report_sellers(nobody).exists()
        assert selectors.sales_summary(nobody, today=world["day"])["today"]["orders"] == 0
        assert selectors.cco_leaderboard(nobody, Period(world["day"], world["day"])) == []
        assert selectors.dealer_performance(nobody) == []
    root = UserFactory(is_superuser=True, is_staff=True)
    assert selectors.may_read_reports(root) and selectors.report_sellers(root) is None
    assert selectors.sales_summary(root, today=world["day"])["today"]["orders"] == 2
