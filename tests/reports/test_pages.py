"""The report pages: who gets in, what each manager sees, the charts, the exports (CSV and
XLSX opened again), and a query count that does not grow with the data."""

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest

from reports.services import rollups_refresh
from tests.reports.factories import OrderFactory, ReportFactory, at, cco

pytestmark = pytest.mark.django_db

DASHBOARD, LEADERBOARD = "/reports/", "/reports/leaderboard/"


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


@pytest.mark.parametrize("who", ["buyer", "s_cco"])
def test_buyers_and_ccos_get_404(client, world, who):
    for url in (DASHBOARD, LEADERBOARD, f"{DASHBOARD}?table=summary&format=csv",
                f"{LEADERBOARD}?format=xlsx"):
        client.force_login(world[who])
        assert client.get(url).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert "/accounts/" in response["Location"]


def test_subsidiary_manager_sees_only_their_subsidiary(client, world):
    response = get(client, world["s_manager"], DASHBOARD)
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures["summary"]["today"] == {"orders": 1, "amount": Decimal("1130.00")}
    assert figures["summary"]["yesterday"] == {"orders": 1, "amount": Decimal("300.00")}
    assert figures["summary"]["month_to_date"] == {"orders": 2, "amount": Decimal("1430.00")}
    # Month to date (1–10 March) 1,430.00 against 1–10 February 400.00 and 1–10 March 2025
    # 200.00.
    assert figures["comparison"]["month_on_month"] == Decimal("2.5750")
    assert figures["comparison"]["year_on_year"] == Decimal("6.1500")
    assert [row["label"] for row in figures["by_subsidiary"]] == [str(world["S"])]
    assert [(row["cco"], row["rank_in_group"]) for row in figures["leaderboard"]] == [
        ("Alice S", 1)]
    assert figures["unmet_demand"] == [{
        "cas": "64-17-5", "name": "Ethanol", "unit": "kg", "requests": 2,
        "quantity": Decimal("15.000"), "provinces": ["Jiangsu", "Shanghai"]}]
    assert [(r["key"], r["lost"]) for r in figures["lost_reasons"]] == [("price", 1)]
    assert figures["funnel"]["received"] == 3
    page = response.content.decode()
    assert "Xavier T" not in page and "Secret T chemical" not in page
    assert str(world["T"]) not in page


def test_hq_manager_sees_the_group(client, world):
    response = get(client, world["hq_manager"], DASHBOARD)
    figures = response.context["figures"]
    assert figures["summary"]["today"] == {"orders": 2, "amount": Decimal("1180.00")}
    assert {row["label"] for row in figures["by_subsidiary"]} == {str(world["S"]),
                                                                 str(world["T"])}
    assert [row["cco"] for row in figures["leaderboard"]] == ["Alice S", "Xavier T"]
    assert [row["label"] for row in figures["by_province"]] == ["Jiangsu", "Shanghai"]


def test_the_charts_are_inline_svg_without_scripts(client, world):
    response = get(client, world["hq_manager"], DASHBOARD)
    page = response.content.decode()
    assert page.count('class="report-chart trend-chart"') == 2
    assert page.count('class="report-chart bar-chart"') == 3
    assert "<script>" not in page.replace(" ", "")  # nothing inline: the CSP forbids it
    assert "reports/reports.css" in page


def test_a_bad_period_shows_the_error_over_the_default_period(client, world):
    response = get(client, world["s_manager"], DASHBOARD, start="2026-03-10", end="2026-03-01")
    assert response.status_code == 400
    assert response.context["form"].errors["start"]
    assert response.context["period"].end == world["day"]


def test_xlsx_export_opens_with_the_values(client, world):
    response = get(client, world["hq_manager"], DASHBOARD, table="by_subsidiary", format="xlsx",
                   start="2026-03-01", end="2026-03-10")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "by_subsidiary-20260301-20260310.xlsx" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Subsidiary", "Orders", "Sales (CNY)", "Share of sales")
    # S: 1,130.00 + 300.00 of 1,480.00 = 96.62 %; T: 50.00 = 3.38 %.
    assert rows[1:] == [(str(world["S"]), 2, 1430, 0.9662), (str(world["T"]), 1, 50, 0.0338)]
    assert sheet["D2"].number_format == "0.00%"


def test_every_dashboard_table_exports(client, world):
    client.force_login(world["hq_manager"])
    for key in ("summary", "comparison", "daily", "by_subsidiary", "by_category",
                "by_province", "funnel", "channels", "lost_reasons", "unmet_demand",
                "leaderboard", "dealers"):
        for fmt in ("csv", "xlsx"):
            response = client.get(DASHBOARD, {"table": key, "format": fmt})
            assert response.status_code == 200, (key, fmt)
    assert client.get(DASHBOARD, {"table": "nope", "format": "csv"}).status_code == 404
    assert client.get(DASHBOARD, {"table": "summary", "format": "pdf"}).status_code == 404


def test_csv_export_of_the_leaderboard(client, world):
    response = get(client, world["s_manager"], LEADERBOARD, format="csv",
                   start="2026-03-01", end="2026-03-10")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Rank", "CCO", "Subsidiary", "Rank in the subsidiary",
                           "Average score"]
    assert rows[1:] == [["1", "Alice S", str(world["S"]), "1", "0.9000", "1", "0", "4", "0.0000",
                         "0", "1", "1130.00", "0", "2026-03 Award"]]


def test_leaderboard_page_shows_ranks_and_flags(client, world):
    response = get(client, world["t_manager"], LEADERBOARD)
    assert [(r["cco"], r["rank_in_group"], r["rank_in_subsidiary"])
            for r in response.context["board"]] == [("Xavier T", 2, 1)]
    response = get(client, world["hq_manager"], LEADERBOARD)
    page = response.content.decode()
    assert "flag-award" in page and "Top of the group" in page


def test_dashboard_queries_do_not_grow_with_the_data(client, world,
                                                     django_assert_max_num_queries):
    client.force_login(world["hq_manager"])
    with django_assert_max_num_queries(25) as before:
        assert client.get(DASHBOARD).status_code == 200
    for n in range(5):
        owner = cco(world["T"])
        OrderFactory(seller=world["T"], total=Decimal("10.00"), placed_at=at(2026, 3, 8, 10 + n))
        ReportFactory(cco=owner, day=datetime.date(2026, 3, 8), score=Decimal("0.1"))
    rollups_refresh(day=datetime.date(2026, 3, 8))
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert client.get(DASHBOARD).status_code == 200


def test_leaderboard_queries_do_not_grow_with_the_ccos(client, world,
                                                       django_assert_max_num_queries):
    client.force_login(world["hq_manager"])
    with django_assert_max_num_queries(15) as before:
        assert client.get(LEADERBOARD).status_code == 200
    for _ in range(5):
        ReportFactory(cco=cco(world["S"]), day=datetime.date(2026, 3, 8), score=Decimal("0.2"))
    with django_assert_max_num_queries(len(before.captured_queries)):
        response = client.get(LEADERBOARD)
    assert len(response.context["board"]) == 7


def test_an_export_of_a_bad_period_is_a_400(client, world):
    response = get(client, world["hq_manager"], LEADERBOARD, format="csv", start="2026-03-10",
                   end="2026-03-01")
    assert response.status_code == 400
    assert b"start before it ends" in response.content
