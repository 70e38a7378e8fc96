"""Monthly targets with their progress bars and the channel spend behind the cost per won
deal, on top of the `world` of conftest (today Tuesday 10 March 2026; S sold 1,430.00 this
month, 1,130.00 today and 300.00 yesterday; T 50.00; CCO A of S won 1,130.00 on the 9th)."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from inquiries.models import Channel, Inquiry
from reports import selectors
from reports.models import ChannelSpend, SalesTarget
from reports.selectors import Period
from reports.services import rollups_refresh
from tests.reports.factories import InquiryFactory, OrderFactory, at

pytestmark = pytest.mark.django_db

MARCH, FEBRUARY = datetime.date(2026, 3, 1), datetime.date(2026, 2, 1)


@pytest.fixture
def targets(world):
    S, T = world["S"], world["T"]
    return {
        "S": SalesTarget.objects.create(month=MARCH, organization=S, amount=Decimal("2000")),
        "A": SalesTarget.objects.create(month=MARCH, organization=S, cco=world["A"],
                                        amount=Decimal("1000")),
        "T": SalesTarget.objects.create(month=MARCH, organization=T, amount=Decimal("100")),
        "X": SalesTarget.objects.create(month=MARCH, organization=T, cco=world["X"],
                                        amount=Decimal("500")),
        "group": SalesTarget.objects.create(month=MARCH, organization=S.parent,
                                            amount=Decimal("3000")),
        "last month": SalesTarget.objects.create(month=FEBRUARY, organization=S,
                                                 amount=Decimal("1")),
    }


def _rows(progress, part):
    return [(row["label"], row["target"], row["sales"], row["percent"], row["bar"],
             row["reached"]) for row in progress[part]]


def test_progress_of_the_subsidiary_manager(world, targets):
    progress = selectors.target_progress(world["s_manager"], today=world["day"])
    assert progress["month"] == MARCH
    # S: 1,430.00 of 2,000.00 = 71.5 %. A: 1,130.00 of 1,000.00 = 113.0 %, the bar full.
    assert _rows(progress, "subsidiaries") == [
        (str(world["S"]), Decimal("2000.00"), Decimal("1430.00"), Decimal("71.5"),
         Decimal("71.5"), False)]
    assert _rows(progress, "ccos") == [
        ("Alice S", Decimal("1000.00"), Decimal("1130.00"), Decimal("113.0"),
         Decimal("100"), True)]


def test_hq_sees_every_target_and_the_group_sums_its_subsidiaries(world, targets):
    progress = selectors.target_progress(world["hq_manager"], today=world["day"])
    by_label = {row[0]: row[1:] for row in _rows(progress, "subsidiaries")}
    # The group: 1,430.00 + 50.00 = 1,480.00 of 3,000.00 = 49.3 %; T: 50.00 of 100.00.
    assert by_label[str(world["S"].parent)][:3] == (Decimal("3000.00"), Decimal("1480.00"),
                                                    Decimal("49.3"))
    assert by_label[str(world["T"])][:3] == (Decimal("100.00"), Decimal("50.00"),
                                             Decimal("50.0"))
    assert {row[0]: row[3] for row in _rows(progress, "ccos")} == {
        "Alice S": Decimal("113.0"), "Xavier T": Decimal("0.0")}


def test_another_subsidiarys_targets_are_invisible(client, world, targets):
    progress = selectors.target_progress(world["t_manager"], today=world["day"])
    assert [row["label"] for row in progress["subsidiaries"]] == [str(world["T"])]
    assert [row["label"] for row in progress["ccos"]] == ["Xavier T"]
    assert set(selectors.sales_targets_visible_to(world["t_manager"])) == {
        targets["T"], targets["X"]}
    client.force_login(world["t_manager"])
    for url in ("/reports/", "/reports/leaderboard/"):
        page = client.get(url).content.decode()
        assert "Alice S" not in page and "71.5" not in page
        assert '<progress max="100" value="50.0"' in page


def test_the_pages_show_accessible_progress_bars(client, world, targets):
    client.force_login(world["s_manager"])
    for url in ("/reports/", "/reports/leaderboard/"):
        page = client.get(url).content.decode()
        assert '<progress max="100" value="71.5" aria-labelledby="target-sub-' in page
        assert '<progress max="100" value="100" aria-labelledby="target-cco-' in page
        assert 'aria-valuetext="113.0 %"' in page


def test_targets_export(client, world, targets):
    client.force_login(world["s_manager"])
    for url in ("/reports/", "/reports/leaderboard/"):
        response = client.get(url, {"table": "targets", "format": "csv"})
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[1:] == [["Subsidiary", str(world["S"]), str(world["S"]), "2000.00",
                             "1430.00", "0.715"],
                            ["CCO", "Alice S", str(world["S"]), "1000.00", "1130.00", "1.13"]]


def test_a_target_is_once_per_month_subsidiary_and_cco_also_without_cco(world, targets):
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesTarget.objects.create(month=MARCH, organization=world["S"], amount=Decimal("5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesTarget.objects.create(month=MARCH, organization=world["S"], cco=world["A"],
                                   amount=Decimal("5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesTarget.objects.create(month=datetime.date(2026, 4, 2), organization=world["S"],
                                   amount=Decimal("5"))


# --- Channel spend and cost per won deal ---------------------------------------------------------


@pytest.fixture
def phone_wins(world):
    """S wins two phone inquiries received today (orders 500.00 and 700.00)."""
    for total in ("500.00", "700.00"):
        order = OrderFactory(seller=world["S"], total=Decimal(total),
                             placed_at=at(2026, 3, 10, 11))
        InquiryFactory(seller=world["S"], owner=world["A"], channel=Channel.PHONE,
                       status=Inquiry.Status.WON, order=order, received_at=at(2026, 3, 10, 10))
    rollups_refresh(day=world["day"])
    spend = [(MARCH, world["S"], Channel.PHONE, "3100.00"),
             (FEBRUARY, world["S"], Channel.PHONE, "2800.00"),
             (MARCH, world["S"], Channel.WEB, "620.00"),
             (MARCH, world["S"], Channel.REFERRAL, "31.00"),
             (MARCH, world["T"], Channel.PHONE, "9999.00")]
    for month, organization, channel, amount in spend:
        ChannelSpend.objects.create(month=month, organization=organization, channel=channel,
                                    amount=Decimal(amount))


def _spend_rows(user, period):
    return {row["key"]: (row["won"], row["spend"], row["cost_per_won"])
            for row in selectors.channel_return(user, period)}


def test_cost_per_won_deal_by_hand(world, phone_wins):
    rows = _spend_rows(world["s_manager"], Period(MARCH, world["day"]))
    # 1–10 March is 10 of March's 31 days: phone 3,100.00 × 10/31 = 1,000.00 over 2 wins;
    # web 620.00 × 10/31 = 200.00 and no win: blank; referral 31 × 10/31 = 10.00, no
    # inquiry at all but a row; the checkout has no spend. T's 9,999.00 is not S's.
    assert rows == {
        "checkout": (0, None, None),
        "phone": (2, Decimal("1000.00"), Decimal("500.00")),
        "web": (0, Decimal("200.00"), None),
        "referral": (0, Decimal("10.00"), None),
    }


def test_cost_per_won_deal_over_two_months(world, phone_wins):
    rows = _spend_rows(world["s_manager"], Period(datetime.date(2026, 2, 20), world["day"]))
    # 20–28 February: 9/28 of 2,800.00 = 900.00; 1–10 March 1,000.00; 1,900.00 / 2 wins.
    assert rows["phone"] == (2, Decimal("1900.00"), Decimal("950.00"))
    rows = _spend_rows(world["hq_manager"], Period(MARCH, datetime.date(2026, 3, 31)))
    # The group, all of March: 3,100.00 + 9,999.00 = 13,099.00 / 2.
    assert rows["phone"] == (2, Decimal("13099.00"), Decimal("6549.50"))


def test_the_channel_table_shows_and_exports_spend(client, world, phone_wins):
    client.force_login(world["s_manager"])
    response = client.get("/reports/", {"table": "channels", "format": "csv",
                                        "start": "2026-03-01", "end": "2026-03-10"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["Spend (CNY)", "Cost per won deal (CNY)"]
    assert ["Phone", "2", "2", "2", "1200.00", "1000.00", "500.00"] in rows
    assert ["Website", "3", "0", "0", "0.00", "200.00", ""] in rows
    page = client.get("/reports/", {"start": "2026-03-01", "end": "2026-03-10"})
    assert "Cost per won deal (CNY)" in page.content.decode()


def test_the_dashboard_api_has_targets_and_spend(api_client, world, targets, phone_wins):
    api_client.force_authenticate(world["s_manager"])
    data = api_client.get("/api/v1/reports/dashboard/",
                          {"start": "2026-03-01", "end": "2026-03-10"}).json()
    assert data["targets"]["month"] == "2026-03-01"
    assert [(r["label"], r["percent"], r["reached"]) for r in data["targets"]["subsidiaries"]] == [
        (str(world["S"]), "131.5", True)]  # 1,430.00 + the phone wins 1,200.00 of 2,000.00
    assert [(r["label"], r["subsidiary"]) for r in data["targets"]["ccos"]] == [
        ("Alice S", str(world["S"]))]
    phone = next(row for row in data["channels"] if row["key"] == "phone")
    assert (phone["spend"], phone["cost_per_won"]) == ("1000.00", "500.00")
    checkout = next(row for row in data["channels"] if row["key"] == "checkout")
    assert (checkout["spend"], checkout["cost_per_won"]) == (None, None)
