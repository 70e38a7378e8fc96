"""A manager's morning in real headless Chromium: sign in, open the dashboard, the charts
render (the screenshot is kept: var/test-screenshots/reports-dashboard.png), the XLSX export
downloads and opens with the figures of the page."""

import datetime
from decimal import Decimal

import openpyxl
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from reports.scoring import report_tz
from reports.services import rollups_refresh
from tests.factories import HQFactory, StaffFactory, SubsidiaryFactory
from tests.reports.factories import OrderFactory


def test_manager_opens_the_dashboard_and_downloads_the_xlsx(
        page, login, screenshot, tmp_path):
    hq = HQFactory()
    north, south = SubsidiaryFactory(parent=hq), SubsidiaryFactory(parent=hq)
    today = timezone.localdate(timezone=report_tz())
    noon = datetime.datetime.combine(today, datetime.time(12), tzinfo=report_tz())
    for days_ago, seller, total in [(0, north, "1200.00"), (1, south, "300.00"),
                                    (5, north, "450.00")]:
        OrderFactory(seller=seller, total=Decimal(total),
                     placed_at=noon - datetime.timedelta(days=days_ago))
        rollups_refresh(day=today - datetime.timedelta(days=days_ago))
    manager = StaffFactory(organization=hq, roles=[Role.HQ_MANAGER])

    login(page, manager)
    page.goto("/reports/")
    expect(page.locator("h1")).to_contain_text("Dashboard")
    trend = page.locator("svg.trend-chart")
    expect(trend).to_have_count(2)
    expect(trend.first).to_be_visible()
    assert trend.first.bounding_box()["width"] > 300  # drawn, not collapsed
    expect(page.locator("svg.trend-chart").first.locator("circle")).to_have_count(30)
    bars = page.locator("#table-by_subsidiary svg.bar-chart rect")
    expect(bars).to_have_count(2)
    assert bars.nth(0).bounding_box()["width"] > bars.nth(1).bounding_box()["width"]
    screenshot(page, "reports-dashboard")

    with page.expect_download() as download:
        page.locator("#table-by_subsidiary a", has_text="XLSX").click()
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Subsidiary", "Orders", "Sales (CNY)")
    assert [(name, orders, amount) for name, orders, amount, _share in rows[1:]] == [
        (str(north), 2, 1650), (str(south), 1, 300)]
