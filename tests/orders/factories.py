"""Factories of the orders tests.

Stock and price factories live here until the catalog factories are consolidated in
tests/catalog/factories.py; then import them from there instead."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Region
from catalog.models import PriceList, PriceTier, Stock
from orders.models import Address, Carrier, CompanyLicence
from tests.catalog.factories import ChemicalFactory, ProductFactory
from tests.factories import CompanyFactory, DepotFactory, SubsidiaryFactory


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    product = factory.SubFactory(ProductFactory)
    depot = factory.SubFactory(DepotFactory, organization=factory.SelfAttribute("..product.seller"))
    on_hand = Decimal("100")
    reserved = Decimal("0")


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    seller = factory.SubFactory(SubsidiaryFactory)
    company = None
    name = factory.Sequence(lambda n: f"Order test list {n}")
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    valid_until = None


class PriceTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceTier

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    min_quantity = Decimal("0")
    unit_price = Decimal("10.00")
    tax_inclusive = True


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    company = factory.SubFactory(CompanyFactory)
    label = "Plant"
    recipient = "张三"
    phone = "13800000000"
    region = factory.LazyFunction(lambda: Region.objects.get(code="320500"))
    line = "苏州工业园区星湖街 1 号"


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier

    name = factory.Sequence(lambda n: f"Carrier {n}")
    hazmat_qualified = False


class LicenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompanyLicence

    company = factory.SubFactory(CompanyFactory)
    kind = CompanyLicence.Kind.PRECURSOR  # what ChemicalFactory(controlled=True) needs
    number = factory.Sequence(lambda n: f"LIC-{n:05d}")
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=90))
    status = CompanyLicence.Status.APPROVED


def sellable(*, seller, price="10.00", on_hand="100", depots=None, un_number="",
             controlled=False, is_service=False, **product_kwargs):
    """A product of `seller` with a public price and stock at one depot (or `depots`:
    a list of (depot, on_hand) pairs)."""
    if is_service:
        product = ProductFactory(seller=seller, chemical=None, is_service=True,
                                 sales_unit="item", **product_kwargs)
    else:
        chemical = ChemicalFactory(un_number=un_number, controlled=controlled)
        product = ProductFactory(seller=seller, chemical=chemical, **product_kwargs)
    PriceTierFactory(price_list=PriceListFactory(seller=seller), product=product,
                     unit_price=Decimal(price))
    if not is_service:
        if depots is None:
            depots = [(DepotFactory(organization=seller), on_hand)]
        for depot, quantity in depots:
            StockFactory(product=product, depot=depot, on_hand=Decimal(quantity))
    return product
