"""Demo catalog: real chemicals (catalog/data/demo_chemicals.json), 150+ products across
the subsidiaries, stock at their depots and six months of prices changing every ten
working days. Idempotent: keyed on category key, CAS, SKU and (seller, start date)."""

import datetime
import json
import random
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from accounts.calendar import is_working_day
from accounts.models import Company, Depot, Organization
from accounts.selectors import calendar_rules

from . import search, services
from .models import Category, Chemical, Grade, PriceList, Product, SalesUnit, Stock

DATA = Path(__file__).resolve().parent / "data" / "demo_chemicals.json"

# Which subsidiary sells which categories (by primary category of the chemical).
SELLERS_BY_CATEGORY = {
    "pharma-intermediates": ["js-fine", "sc-reagents"],
    "apis": ["sc-reagents", "js-fine"],
    "food-additives": ["gd-daily", "sd-petro"],
    "coatings": ["zj-materials", "sd-petro"],
    "agrochemicals": ["hb-agro", "js-fine"],
    "dyes-pigments": ["zj-materials", "gd-daily"],
    "surfactants": ["gd-daily", "zj-materials"],
    "flavors-fragrances": ["gd-daily", "sc-reagents"],
    "reagents": ["sc-reagents", "js-fine"],
    "catalysts-auxiliaries": ["zj-materials", "sd-petro"],
    "natural-products": ["sc-reagents", "hb-agro"],
    "inorganic": ["sd-petro", "hb-agro"],
    "organic": ["sd-petro", "js-fine"],
    "biochemicals": ["sc-reagents", "gd-daily"],
    "analytical": ["sc-reagents", "js-fine"],
    "cosmetic-ingredients": ["gd-daily", "zj-materials"],
    "water-treatment": ["hb-agro", "sd-petro"],
}
TESTING_SELLER = "tj-testing"
HISTORY_DAYS = 183
TIER_STEPS = [(1, Decimal("1.00")), (10, Decimal("0.97")), (40, Decimal("0.94"))]


def _load() -> dict:
    with DATA.open(encoding="utf-8") as f:
        return json.load(f)


def _sellers_for(key: str, orgs: dict) -> list[Organization]:
    codes = SELLERS_BY_CATEGORY.get(key) or ["sd-petro"]
    return [orgs[c] for c in codes if c in orgs]


def _offer_shape(chemical: Chemical, grade: str, rng: random.Random) -> dict:
    """Plausible packaging, unit, MOQ and step for a product of this chemical and grade."""
    name = chemical.name_en.lower()
    liquid = chemical.transport_class == "3" or (
        chemical.transport_class in {"5.1", "8"}
        and any(word in name for word in ("acid", "peroxide", "hypochlorite", "solution"))
    )
    if grade in (Grade.REAGENT, Grade.ELECTRONIC, Grade.PHARMACEUTICAL):
        if liquid:
            return {"packaging": "4 L bottle", "sales_unit": SalesUnit.LITRE,
                    "min_order_quantity": Decimal("4"), "quantity_step": Decimal("4"),
                    "purity": "≥99.9%"}
        return {"packaging": "500 g bottle", "sales_unit": SalesUnit.KG,
                "min_order_quantity": Decimal("0.5"), "quantity_step": Decimal("0.5"),
                "purity": "≥99.5%"}
    if liquid:
        return {"packaging": "200 L drum", "sales_unit": SalesUnit.LITRE,
                "min_order_quantity": Decimal("200"), "quantity_step": Decimal("200"),
                "purity": "≥99%"}
    if rng.random() < 0.25:
        return {"packaging": "bulk", "sales_unit": SalesUnit.TONNE,
                "min_order_quantity": Decimal("1"), "quantity_step": Decimal("0.5"),
                "purity": "≥98%"}
    return {"packaging": "25 kg bag", "sales_unit": SalesUnit.KG,
            "min_order_quantity": Decimal("25"), "quantity_step": Decimal("25"),
            "purity": "≥98%"}


def _base_price(product: Product, rng: random.Random) -> Decimal:
    per_kg = {Grade.INDUSTRIAL: (3, 40), Grade.FOOD: (8, 60), Grade.REAGENT: (60, 400),
              Grade.PHARMACEUTICAL: (200, 1500), Grade.ELECTRONIC: (120, 800),
              Grade.SERVICE: (800, 6000)}[product.grade]
    price = Decimal(rng.randint(*per_kg))
    if product.sales_unit == SalesUnit.TONNE:
        price *= 1000
    return price


def _price_dates(calendar, today: datetime.date) -> list[datetime.date]:
    """A change every 10 working days over the last six months."""
    rules = calendar_rules(calendar)
    day, dates, count = today - datetime.timedelta(days=HISTORY_DAYS), [], 0
    while day <= today:
        if is_working_day(rules, day):
            if count % 10 == 0:
                dates.append(day)
            count += 1
        day += datetime.timedelta(days=1)
    return dates


def seed(stdout=None) -> None:
    data = _load()
    rng = random.Random(20261122)  # deterministic: the same demo every time
    categories = {}
    for position, row in enumerate(data["categories"]):
        categories[row["key"]], _created = Category.objects.update_or_create(
            key=row["key"],
            defaults={"name_en": row["name_en"], "name_zh": row["name_zh"],
                      "position": position})
    orgs = {o.code: o for o in Organization.objects.all()}
    products: list[Product] = []
    for row in data["chemicals"]:
        chemical, created = Chemical.objects.get_or_create(
            cas=row["cas"],
            defaults={k: row[k] for k in ("name_en", "name_zh", "formula", "hs_code",
                                           "signal_word", "un_number", "transport_class",
                                           "packing_group", "controlled", "licence_kind")}
            | {"synonyms": row["synonyms_en"] + row["synonyms_zh"],
               "ghs_pictograms": row["ghs"], "h_statements": row["h_statements"]},
        )
        if created:
            chemical.categories.set([categories[k] for k in row["categories"]])
        primary = row["categories"][0]
        sellers = _sellers_for(primary, orgs)
        grades = row["grades"] or [Grade.INDUSTRIAL]
        offers = [(sellers[0], grades[0])]
        if len(sellers) > 1:
            offers.append((sellers[1], grades[-1]))
        if len(grades) > 1:
            offers.append((sellers[0], grades[1]))
        for seller, grade in dict.fromkeys(offers):
            prefix = seller.code.split("-")[0].upper()
            sku = f"{prefix}-{chemical.cas.replace('-', '')}-{grade[:3].upper()}"
            product = Product.objects.filter(sku=sku).first()
            if product is None:
                product = Product(sku=sku, seller=seller, chemical=chemical,
                                  category=categories[primary], grade=grade,
                                  lead_time_days=rng.choice([2, 3, 5, 7, 10]),
                                  **_offer_shape(chemical, grade, rng))
                product.full_clean()
                product.save()
            products.append(product)
    for row in data.get("testing_services", []):
        seller = orgs.get(TESTING_SELLER)
        if seller is None:
            continue
        product, _created = Product.objects.get_or_create(
            sku=row["code"],
            defaults={"seller": seller, "is_service": True,
                      "category": categories[row["category"]], "name_en": row["name_en"],
                      "name_zh": row["name_zh"], "grade": Grade.SERVICE,
                      "sales_unit": SalesUnit.ITEM, "min_order_quantity": Decimal("1"),
                      "quantity_step": Decimal("1"), "lead_time_days": row["lead_time_days"],
                      "packaging": "report"},
        )
        products.append(product)
    Product.objects.filter(pk__in=[p.pk for p in products[::17]]).update(is_featured=True)

    depots_by_seller: dict[int, list[Depot]] = {}
    for depot in Depot.objects.all():
        depots_by_seller.setdefault(depot.organization_id, []).append(depot)
    for product in products:
        if product.is_service:
            continue
        for depot in depots_by_seller.get(product.seller_id, []):
            amount = product.min_order_quantity * rng.choice([0, 4, 10, 40, 120])
            Stock.objects.get_or_create(product=product, depot=depot,
                                        defaults={"on_hand": amount})

    _seed_prices(products, rng)
    search.index_products(product_ids=[p.pk for p in products])


def _seed_prices(products: list[Product], rng: random.Random) -> None:
    today = timezone.localdate()
    by_seller: dict[int, list[Product]] = {}
    for product in products:
        by_seller.setdefault(product.seller_id, []).append(product)
    for seller_id, seller_products in by_seller.items():
        seller = Organization.objects.select_related("calendar").get(pk=seller_id)
        dates = _price_dates(seller.calendar, today)
        base = {p.pk: _base_price(p, rng) for p in seller_products}
        for index, start in enumerate(dates):
            drift = {pk: Decimal(1 + rng.uniform(-0.04, 0.05)) for pk in base}
            base = {pk: (price * drift[pk]).quantize(Decimal("0.01")) for pk, price in base.items()}
            if PriceList.objects.filter(seller=seller, company=None, valid_from=start).exists():
                continue
            is_last = index + 1 == len(dates)
            until = None if is_last else dates[index + 1] - datetime.timedelta(days=1)
            tiers = [
                services.TierInput(product=p, min_quantity=p.min_order_quantity * step,
                                   unit_price=(base[p.pk] * factor).quantize(Decimal("0.01")))
                for p in seller_products for step, factor in TIER_STEPS
            ]
            services.price_list_create(
                seller=seller, company=None, name=f"{seller.code} {start:%Y-%m-%d}",
                valid_from=start, valid_until=until, tiers=tiers)
        # One customer with its own, better prices for the current period.
        company = Company.objects.order_by("pk").first()
        if company and dates and not PriceList.objects.filter(
                seller=seller, company=company, valid_from=dates[-1]).exists():
            services.price_list_create(
                seller=seller, company=company, name=f"{seller.code} {company.name} contract",
                valid_from=dates[-1], valid_until=None,
                tiers=[services.TierInput(product=p, min_quantity=p.min_order_quantity,
                                          unit_price=(base[p.pk] * Decimal("0.92")).quantize(
                                              Decimal("0.01")))
                       for p in seller_products[:8]])
