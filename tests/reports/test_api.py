"""/api/v1/reports/: a day's CCO snapshot and the dashboard figures; a bad date is a 400 on
its field, and every caller gets their own scope (a buyer: 404)."""

from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db

CCO_DAILY, DASHBOARD = "/api/v1/reports/cco-daily/", "/api/v1/reports/dashboard/"


def get(api_client, user, url, **params):
    api_client.force_authenticate(user)
    return api_client.get(url, params)


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "10/03/2026"])
def test_a_bad_date_is_a_400_on_the_field(api_client, world, bad):
    response = get(api_client, world["hq_manager"], CCO_DAILY, date=bad)
    assert response.status_code == 400
    assert list(response.json()) == ["date"]


def test_cco_daily_is_scoped(api_client, world):
    names = {who: [row["cco"]["name"] for row in
                   get(api_client, world[who], CCO_DAILY, date="2026-03-09").json()]
             for who in ("s_manager", "t_manager", "hq_manager")}
    assert names == {"s_manager": ["Alice S"], "t_manager": ["Xavier T"],
                     "hq_manager": ["Alice S", "Xavier T"]}


def test_cco_daily_defaults_to_yesterday_with_every_figure(api_client, world):
    [row] = get(api_client, world["s_manager"], CCO_DAILY).json()
    assert row["day"] == "2026-03-09"
    assert row["subsidiary"]["code"] == world["S"].code
    assert (row["score"], row["answered"], row["orders_won"], row["sales_amount"]) == (
        "0.9000", 4, 1, "1130.00")
    assert row["rank_in_group"] == 1 and row["rank_in_subsidiary"] == 1


@pytest.mark.parametrize("who", ["buyer", "s_cco"])
def test_not_a_reader_gets_404(api_client, world, who):
    for url in (CCO_DAILY, DASHBOARD):
        assert get(api_client, world[who], url).status_code == 404


def test_anonymous_is_refused(api_client, world):
    assert api_client.get(DASHBOARD).status_code in (401, 403)


def test_dashboard_figures_are_scoped(api_client, world):
    body = get(api_client, world["t_manager"], DASHBOARD).json()
    assert body["period"] == {"start": "2026-02-09", "end": "2026-03-10"}
    assert body["summary"]["today"] == {"orders": 1, "amount": "50.00"}
    assert [row["label"] for row in body["by_subsidiary"]] == [str(world["T"])]
    assert [row["cco"] for row in body["leaderboard"]] == ["Xavier T"]
    assert [row["name"] for row in body["unmet_demand"]] == ["Secret T chemical"]
    assert len(body["series_30"]) == 30 and len(body["series_90"]) == 90
    body = get(api_client, world["hq_manager"], DASHBOARD, start="2026-03-10",
               end="2026-03-10").json()
    assert body["summary"]["today"]["amount"] == "1180.00"
    assert [(r["label"], r["amount"]) for r in body["by_category"]] == [
        ("Solvents", "1130.00"), ("No category", "50.00")]
    assert Decimal(body["comparison"]["month_on_month"]) == Decimal("2.7000")  # 1,480/400 − 1


def test_dashboard_period_errors(api_client, world):
    response = get(api_client, world["hq_manager"], DASHBOARD, start="2026-03-10",
                   end="2026-03-01")
    assert response.status_code == 400 and list(response.json()) == ["start"]
    response = get(api_client, world["hq_manager"], DASHBOARD, start="2025-01-01",
                   end="2026-03-01")
    assert response.status_code == 400
    assert get(api_client, world["hq_manager"], DASHBOARD, end="x").status_code == 400
