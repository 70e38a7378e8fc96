import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Grade
from tests.catalog.factories import (
    CategoryFactory,
    ChemicalFactory,
    ProductFactory,
    StockFactory,
    prices,
)
from tests.factories import DepotFactory


@pytest.fixture
def assortment(subsidiary, other_subsidiary):
    """Three active products differing in every attribute the list pages and the API filter
    on, and one inactive product that neither shows.

    A-HAZ   methanol of `subsidiary`: solvents › alcohols, reagent, hazardous, 400 available
            (Suzhou depot SZ-01: 500 − 100; Nanjing depot NJ-01: all 20 reserved),
            ¥50.00 from 200, ¥45.00 from 1000
    B-SALT  sodium chloride of `other_subsidiary`: salts, industrial, not hazardous, its 10
            in stock all reserved, ¥500.00 from 200
    C-TEST  a testing service of `other_subsidiary`: salts, no price
    D-OFF   an inactive product of `subsidiary`: salts
    """
    solvents = CategoryFactory(key="solvents", name_en="Solvents", name_zh="溶剂", position=1)
    alcohols = CategoryFactory(key="alcohols", name_en="Alcohols", name_zh="醇类",
                               parent=solvents)
    salts = CategoryFactory(key="salts", name_en="Salts", name_zh="盐类", position=2)
    methanol = ProductFactory(
        sku="A-HAZ", seller=subsidiary, category=alcohols, grade=Grade.REAGENT,
        chemical=ChemicalFactory(hazardous=True, name_en="Methanol", name_zh="甲醇",
                                 cas="67-56-1", formula="CH4O"))
    StockFactory(product=methanol, on_hand=Decimal("500"), reserved=Decimal("100"),
                 depot=DepotFactory(organization=subsidiary, code="SZ-01",
                                    name_en="Suzhou depot"))
    StockFactory(product=methanol, on_hand=Decimal("20"), reserved=Decimal("20"),
                 depot=DepotFactory(organization=subsidiary, code="NJ-01",
                                    name_en="Nanjing depot"))
    prices(methanol, [(200, "50.00"), (1000, "45.00")],
           valid_from=timezone.localdate() - datetime.timedelta(days=5))
    salt = ProductFactory(
        sku="B-SALT", seller=other_subsidiary, category=salts, grade=Grade.INDUSTRIAL,
        chemical=ChemicalFactory(name_en="Sodium chloride", name_zh="氯化钠",
                                 cas="7647-14-5", formula="NaCl"))
    StockFactory(product=salt, on_hand=Decimal("10"), reserved=Decimal("10"))
    prices(salt, [(200, "500.00")])
    service = ProductFactory(service=True, sku="C-TEST", seller=other_subsidiary,
                             category=salts)
    ProductFactory(sku="D-OFF", seller=subsidiary, category=salts, is_active=False)
    return {"solvents": solvents, "methanol": methanol, "salt": salt, "service": service}
