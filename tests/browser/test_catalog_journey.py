"""A buyer finds a chemical by its CAS number from the home page and reads its product page:
hazard pictograms, tier prices (the company's own), stock by depot, the price trend."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import Grade, SalesUnit
from tests.catalog.factories import (
    CategoryFactory,
    ChemicalFactory,
    ProductFactory,
    StockFactory,
    price_change,
    prices,
)
from tests.factories import BuyerFactory, DepotFactory, SubsidiaryFactory


@pytest.fixture
def toluene():
    seller = SubsidiaryFactory(name_en="Jiangsu Fine Chemicals", name_zh="江苏精细化工")
    category = CategoryFactory(key="organic", name_en="Organic chemicals",
                               name_zh="有机化学品")
    chemical = ChemicalFactory(
        cas="108-88-3", name_en="Toluene", name_zh="甲苯", formula="C7H8",
        synonyms=["Methylbenzene", "Toluol", "甲基苯"], hs_code="290230",
        ghs_pictograms=["GHS02", "GHS07", "GHS08"], signal_word="Danger",
        h_statements=["H225", "H304", "H315", "H336", "H361d", "H373"],
        un_number="1294", transport_class="3", packing_group="II")
    product = ProductFactory(seller=seller, chemical=chemical, category=category,
                             sku="JS-108883-IND", grade=Grade.INDUSTRIAL, purity="≥99.5%",
                             packaging="200 L drum", sales_unit=SalesUnit.LITRE,
                             min_order_quantity=Decimal("200"), quantity_step=Decimal("200"),
                             lead_time_days=3)
    ProductFactory(seller=seller, category=category, sku="JS-OTHER", is_featured=True,
                   chemical=ChemicalFactory(name_en="Xylene", cas="1330-20-7",
                                            ghs_pictograms=["GHS02", "GHS07"]))
    for code, name, on_hand, reserved in [("SZ-01", "Suzhou Industrial Park depot", 4200, 600),
                                          ("NT-01", "Nantong port depot", 800, 800)]:
        StockFactory(product=product, on_hand=Decimal(on_hand), reserved=Decimal(reserved),
                     depot=DepotFactory(organization=seller, code=code, name_en=name))
    today = timezone.localdate()
    for days, price in [(200, "6.40"), (160, "6.65"), (120, "6.55"), (90, "6.90"),
                        (60, "7.20"), (35, "7.05")]:
        price_change(product, today - datetime.timedelta(days=days), price)
    prices(product, [(200, "6.95"), (2000, "6.70"), (8000, "6.45")],
           valid_from=today - datetime.timedelta(days=12))
    return product


def test_search_by_cas_and_read_the_product_page(page, toluene, login, screenshot):
    buyer = BuyerFactory()
    prices(toluene, [(200, "6.60"), (4000, "6.30")], company=buyer.membership.company,
           valid_from=timezone.localdate() - datetime.timedelta(days=12))
    login(page, buyer)

    page.goto("/")
    expect(page.locator(".category-tiles a")).to_have_count(1)
    screenshot(page, "catalog-home")
    page.get_by_role("searchbox", name="Search the catalog").fill("108-88-3")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**/products/?q=108-88-3")
    expect(page.locator(".product-item")).to_have_count(1)
    expect(page.locator("#results-count")).to_contain_text("Exact CAS match")
    screenshot(page, "catalog-search")

    page.get_by_role("link", name="Toluene").click()
    page.wait_for_url(f"**/products/{toluene.pk}/")
    expect(page.locator("h1")).to_have_text("Toluene")
    expect(page.locator(".ghs-large svg.ghs title")).to_have_text(
        ["Flame", "Exclamation mark", "Health hazard"])
    expect(page.locator(".h-statements")).to_contain_text("H225 Highly flammable liquid")
    prices_panel = page.locator("section[aria-labelledby=prices-heading]")
    expect(prices_panel).to_contain_text("Your company's price")
    expect(prices_panel.locator("tbody tr")).to_have_count(2)
    expect(prices_panel.locator("tbody tr").first).to_contain_text("¥6.60")
    expect(page.locator(".stock-table")).to_contain_text("3600 L")
    expect(page.locator("svg.price-chart")).to_be_visible()
    screenshot(page, "catalog-product")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column
    info, buy = (page.locator(s).bounding_box() for s in (".product-info", ".product-buy"))
    assert info["y"] >= buy["y"] + buy["height"] - 1  # stacked: prices and stock first
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    screenshot(page, "catalog-product-phone")


@pytest.mark.parametrize("browser_locale", ["zh-CN"])
def test_product_page_in_chinese(page, toluene, screenshot):
    page.goto(f"/products/{toluene.pk}/")
    expect(page.locator("h1")).to_have_text("甲苯")
    expect(page.locator(".ghs-large svg.ghs")).to_have_count(3)
    expect(page.locator("section[aria-labelledby=prices-heading] tbody tr")).to_have_count(3)
    screenshot(page, "catalog-product-zh")
