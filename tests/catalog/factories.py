"""factory_boy factories of the catalog: categories, chemicals, products, stock, price lists.

    product = ProductFactory(seller=subsidiary, chemical__hazardous=True)
    service = ProductFactory(service=True, seller=subsidiary)
    StockFactory(product=product, on_hand=Decimal("30"))
    prices(product, [(1, "100.00"), (10, "95.00")])  # through the service: with history
    price_list_with_tiers(seller=subsidiary, valid_from=day,
                          tiers=[(product, 0, "12.50"), (product, 10, "12.00")])  # no history

A product by default is a 25 kg bag sold by the kg, from 1 kg in steps of 1, with the model's
lead time: a test that relies on other values (a 200 L drum, a lead time) passes them.
"""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from stdnum import casrn

from catalog import search, services
from catalog.models import (
    Category,
    Chemical,
    Grade,
    PriceChange,
    PriceList,
    PriceTier,
    Product,
    SalesUnit,
    Stock,
)
from tests.factories import DepotFactory, SubsidiaryFactory


def valid_cas(n: int) -> str:
    """A CAS number with a correct check digit, unique per n: 1000-00-x, 1001-01-x …"""
    body = f"{1000 + n}-{n % 100:02d}"
    return f"{body}-{casrn.calc_check_digit(body)}"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    key = factory.Sequence(lambda n: f"category-{n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")
    name_zh = factory.Sequence(lambda n: f"类别{n}")
    parent = None


class ChemicalFactory(factory.django.DjangoModelFactory):
    """A plain chemical; `hazardous=True` makes it ethanol-like (flame, exclamation mark,
    H225/H319, UN 1170, class 3, packing group II)."""

    class Meta:
        model = Chemical

    class Params:
        hazardous = factory.Trait(
            ghs_pictograms=["GHS02", "GHS07"], signal_word=Chemical.SignalWord.DANGER,
            h_statements=["H225", "H319"], un_number="1170", transport_class="3",
            packing_group=Chemical.PackingGroup.II,
        )

    cas = factory.Sequence(valid_cas)
    name_en = factory.Sequence(lambda n: f"Test compound {n}")
    name_zh = factory.Sequence(lambda n: f"测试化合物{n}")
    synonyms = factory.LazyFunction(list)
    formula = ""
    controlled = False
    licence_kind = factory.LazyAttribute(lambda o: "precursor" if o.controlled else "")


class ProductFactory(factory.django.DjangoModelFactory):
    """A subsidiary's product of a chemical, indexed for search as `services.product_save`
    leaves it (`indexed=False`: not). `service=True` makes it a testing service instead:
    no chemical, sold by the item."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    class Params:
        service = factory.Trait(
            chemical=None, is_service=True,
            name_en=factory.Sequence(lambda n: f"Purity test {n}"),
            name_zh=factory.Sequence(lambda n: f"纯度检测{n}"),
            grade=Grade.SERVICE, sales_unit=SalesUnit.ITEM, packaging="report",
        )

    seller = factory.SubFactory(SubsidiaryFactory)
    chemical = factory.SubFactory(ChemicalFactory)
    category = factory.SubFactory(CategoryFactory)
    sku = factory.Sequence(lambda n: f"T-{n:06d}")
    grade = Grade.INDUSTRIAL
    packaging = "25 kg bag"
    sales_unit = SalesUnit.KG
    min_order_quantity = Decimal("1")
    quantity_step = Decimal("1")

    @factory.post_generation
    def indexed(self, create, extracted, **kwargs):
        if create and extracted is not False:
            search.index_products(product_ids=[self.pk])


class StockFactory(factory.django.DjangoModelFactory):
    """Stock of a product at a depot of its seller."""

    class Meta:
        model = Stock

    product = factory.SubFactory(ProductFactory)
    depot = factory.SubFactory(DepotFactory, organization=factory.SelfAttribute("..product.seller"))
    on_hand = Decimal("100")
    reserved = Decimal("0")


class PriceListFactory(factory.django.DjangoModelFactory):
    """A public price list from today; no tiers, no price history (see `prices`)."""

    class Meta:
        model = PriceList

    seller = factory.SubFactory(SubsidiaryFactory)
    company = None
    name = factory.Sequence(lambda n: f"Price list {n}")
    valid_from = factory.LazyFunction(timezone.localdate)
    valid_until = None


class PriceTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceTier

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory,
                                 seller=factory.SelfAttribute("..price_list.seller"))
    min_quantity = Decimal("0")
    unit_price = Decimal("10.00")
    tax_inclusive = True


def price_list_with_tiers(*, seller, tiers, valid_from: datetime.date,
                          valid_until: datetime.date | None = None, company=None,
                          **kwargs) -> PriceList:
    """A list with tiers given as (product, min_quantity, unit_price) triples, written by the
    factories: no checks, and no price history."""
    price_list = PriceListFactory(seller=seller, company=company, valid_from=valid_from,
                                  valid_until=valid_until, **kwargs)
    for product, min_quantity, unit_price in tiers:
        PriceTierFactory(price_list=price_list, product=product,
                         min_quantity=Decimal(str(min_quantity)),
                         unit_price=Decimal(str(unit_price)))
    return price_list


def prices(product: Product, tiers, *, company=None, valid_from: datetime.date | None = None,
           valid_until: datetime.date | None = None) -> PriceList:
    """A price list for one product from today (or `valid_from`): tiers as
    (min_quantity, unit_price) pairs; public unless `company`. Written by the price list
    service, so it is checked and its PriceChange rows (the trend chart) exist too."""
    valid_from = valid_from or timezone.localdate()
    return services.price_list_create(
        seller=product.seller, company=company,
        name=f"{product.sku} {company.name if company else 'public'} {valid_from}",
        valid_from=valid_from, valid_until=valid_until,
        tiers=[services.TierInput(product=product, min_quantity=Decimal(str(q)),
                                  unit_price=Decimal(str(p))) for q, p in tiers],
    )


def price_change(product: Product, day: datetime.date, unit_price, *, company=None,
                 min_quantity=None) -> PriceChange:
    """One row of price history only (no list), from the product's minimum order quantity
    unless `min_quantity`: for trend-chart tests."""
    return PriceChange.objects.create(
        product=product, company=company, price_list=None,
        min_quantity=product.min_order_quantity if min_quantity is None else min_quantity,
        unit_price=Decimal(str(unit_price)), effective_from=day)


def counted_catalog(size: int, *, seller, indexed: int = 0) -> Category:
    """`size` products of `seller` in the category "counted", every other one hazardous, each
    with stock and two public tiers; only the first `indexed` are indexed for search. For
    tests that a page's number of queries does not grow with the catalog."""
    category = CategoryFactory(key="counted", name_en="Counted")
    for n in range(size):
        product = ProductFactory(seller=seller, category=category, indexed=n < indexed,
                                 chemical__hazardous=n % 2 == 0)
        StockFactory(product=product)
        prices(product, [(200, "10.00"), (2000, "9.00")])
    return category
