"""Price resolution (catalog/pricing.py): which list, which tier, which days, which quantities."""

import datetime
from decimal import Decimal

import pytest

from catalog.models import SalesUnit
from catalog.pricing import (
    NoValidPrice,
    QuantityNotAllowed,
    ResolvedPrice,
    price_resolve,
    price_table,
    quantity_check,
)
from tests.catalog.factories import ProductFactory, price_list_with_tiers
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 2)  # resolution takes the date: no need to move the clock


def days(n: int) -> datetime.date:
    return DAY + datetime.timedelta(days=n)


@pytest.fixture
def product(subsidiary):
    return ProductFactory(seller=subsidiary)


def resolve(product, quantity, company=None, on_date=DAY) -> ResolvedPrice:
    return price_resolve(product=product, company_id=company.pk if company else None,
                         quantity=quantity, on_date=on_date)


# --- Which list -------------------------------------------------------------------------------


def test_company_list_wins_over_public(subsidiary, company, product):
    price_list_with_tiers(seller=subsidiary, valid_from=days(-1), tiers=[(product, 0, "100.00")])
    # Older than the public list, and still it wins for its company.
    company_list = price_list_with_tiers(seller=subsidiary, company=company,
                                         valid_from=days(-30), tiers=[(product, 0, "90.00")])

    price = resolve(product, 1, company)

    assert price.unit_price == Decimal("90.00")
    assert price.is_company_price is True
    assert price.price_list_id == company_list.pk
    assert resolve(product, 1).unit_price == Decimal("100.00")  # a guest: the public price


def test_newest_valid_from_wins_among_lists_of_the_same_kind(subsidiary, company, product):
    price_list_with_tiers(seller=subsidiary, valid_from=days(-20), tiers=[(product, 0, "100")])
    newest = price_list_with_tiers(seller=subsidiary, valid_from=days(-10),
                                   tiers=[(product, 0, "95")])
    price_list_with_tiers(seller=subsidiary, company=company, valid_from=days(-20),
                          tiers=[(product, 0, "92")])
    price_list_with_tiers(seller=subsidiary, company=company, valid_from=days(-5),
                          tiers=[(product, 0, "88")])
    price_list_with_tiers(seller=subsidiary, valid_from=days(1), tiers=[(product, 0, "70")])

    assert resolve(product, 1).price_list_id == newest.pk
    assert resolve(product, 1).unit_price == Decimal("95.00")
    assert resolve(product, 1, company).unit_price == Decimal("88.00")
    assert resolve(product, 1, on_date=days(1)).unit_price == Decimal("70.00")


def test_a_list_for_another_company_never_applies(subsidiary, company, product):
    other_company = CompanyFactory()
    price_list_with_tiers(seller=subsidiary, company=other_company, valid_from=days(-1),
                          tiers=[(product, 0, "50")])

    with pytest.raises(NoValidPrice):
        resolve(product, 1, company)
    with pytest.raises(NoValidPrice):
        resolve(product, 1)  # nor for a guest

    price_list_with_tiers(seller=subsidiary, valid_from=days(-1), tiers=[(product, 0, "60")])
    assert resolve(product, 1, company).unit_price == Decimal("60.00")
    assert resolve(product, 1, company).is_company_price is False


# --- Which tier -------------------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "price", "tier_from"), [
    ("1", "100.00", "0"),
    ("9.999", "100.00", "0"),
    ("10", "95.00", "10"),  # exactly at a boundary: the higher tier
    ("49", "95.00", "10"),  # between tiers: the one reached
    ("50", "90.00", "50"),
    ("100000", "90.00", "50"),
])
def test_the_highest_tier_the_quantity_reaches(subsidiary, product, quantity, price, tier_from):
    price_list_with_tiers(seller=subsidiary, valid_from=DAY, tiers=[
        (product, 0, "100"), (product, 10, "95"), (product, 50, "90")])

    resolved = resolve(product, Decimal(quantity))

    assert resolved.unit_price == Decimal(price)
    assert resolved.min_quantity == Decimal(tier_from)


def test_below_the_company_lists_first_tier_the_public_list_serves(subsidiary, company,
                                                                   product):
    price_list_with_tiers(seller=subsidiary, valid_from=DAY, tiers=[(product, 0, "100")])
    price_list_with_tiers(seller=subsidiary, company=company, valid_from=DAY,
                          tiers=[(product, 100, "80")])

    small = resolve(product, 5, company)
    large = resolve(product, 100, company)

    assert (small.unit_price, small.is_company_price) == (Decimal("100.00"), False)
    assert (large.unit_price, large.is_company_price) == (Decimal("80.00"), True)


def test_below_every_first_tier_there_is_no_price(subsidiary, company, product):
    price_list_with_tiers(seller=subsidiary, company=company, valid_from=DAY,
                          tiers=[(product, 100, "80")])
    price_list_with_tiers(seller=subsidiary, valid_from=DAY, tiers=[(product, 25, "90")])

    with pytest.raises(NoValidPrice):
        resolve(product, 5, company)
    assert resolve(product, 25, company).unit_price == Decimal("90.00")


def test_price_table_is_the_winning_lists_tiers(subsidiary, company, product):
    price_list_with_tiers(seller=subsidiary, valid_from=DAY, tiers=[(product, 0, "100")])
    price_list_with_tiers(seller=subsidiary, company=company, valid_from=DAY,
                          tiers=[(product, 50, "85"), (product, 10, "90")])

    table = price_table(product_id=product.pk, company_id=company.pk, on_date=DAY)

    assert [(t.min_quantity, t.unit_price) for t in table] == [
        (Decimal("10"), Decimal("90.00")), (Decimal("50"), Decimal("85.00"))]
    assert price_table(product_id=product.pk, company_id=None, on_date=days(-1)) == []


# --- Which days -------------------------------------------------------------------------------


@pytest.mark.parametrize(("on_date", "valid"), [
    (days(-1), False),  # the day before the start
    (DAY, True),  # valid_from itself counts
    (days(9), True),  # valid_until itself counts
    (days(10), False),  # the day after the end
])
def test_validity_edges(subsidiary, product, on_date, valid):
    price_list_with_tiers(seller=subsidiary, valid_from=DAY, valid_until=days(9),
                          tiers=[(product, 0, "100")])

    if valid:
        assert resolve(product, 1, on_date=on_date).unit_price == Decimal("100.00")
    else:
        with pytest.raises(NoValidPrice):
            resolve(product, 1, on_date=on_date)


def test_an_open_ended_list_holds_until_a_newer_one(subsidiary, product):
    price_list_with_tiers(seller=subsidiary, valid_from=DAY, tiers=[(product, 0, "100")])
    price_list_with_tiers(seller=subsidiary, valid_from=days(14), tiers=[(product, 0, "97")])

    assert resolve(product, 1, on_date=days(13)).unit_price == Decimal("100.00")
    assert resolve(product, 1, on_date=days(14)).unit_price == Decimal("97.00")
    assert resolve(product, 1, on_date=days(3650)).unit_price == Decimal("97.00")


def test_an_ended_company_list_gives_way_to_the_public_one(subsidiary, company, product):
    price_list_with_tiers(seller=subsidiary, valid_from=days(-30), tiers=[(product, 0, "100")])
    price_list_with_tiers(seller=subsidiary, company=company, valid_from=days(-30),
                          valid_until=days(-1), tiers=[(product, 0, "80")])

    assert resolve(product, 1, company).unit_price == Decimal("100.00")


# --- No price ---------------------------------------------------------------------------------


def test_no_price_says_so_clearly(subsidiary, product):
    other_product = ProductFactory(seller=subsidiary)
    price_list_with_tiers(seller=subsidiary, valid_from=DAY, tiers=[(other_product, 0, "10")])

    with pytest.raises(NoValidPrice) as raised:
        resolve(product, 1)

    error = raised.value
    assert error.code == "no_price"
    assert error.field == "quantity"
    assert product.display_name in str(error.message)
    assert DAY.isoformat() in str(error.message)
    assert "send an inquiry" in str(error.message)


# --- Quantities -------------------------------------------------------------------------------


@pytest.fixture
def bag_product(subsidiary):
    return ProductFactory(seller=subsidiary, sales_unit=SalesUnit.KG,
                          min_order_quantity=Decimal("25"), quantity_step=Decimal("25"))


@pytest.mark.parametrize("quantity", ["25", "50", Decimal("1000"), 75, "1.25e3"])
def test_quantity_check_accepts_multiples_of_the_step_from_the_moq(bag_product, quantity):
    assert quantity_check(product=bag_product, quantity=quantity) == Decimal(str(quantity))


@pytest.mark.parametrize(("quantity", "message"), [
    ("10", "The minimum order is 25 kg."),
    ("24.999", "The minimum order is 25 kg."),
    ("30", "Order in steps of 25 kg from 25 kg."),
    ("25.5", "Order in steps of 25 kg from 25 kg."),
    ("0", "The quantity must be more than zero."),
    ("-25", "The quantity must be more than zero."),
    ("abc", "Enter the quantity as a number."),
    ("", "Enter the quantity as a number."),
    (None, "Enter the quantity as a number."),
    ("NaN", "The quantity must be more than zero."),
    ("Infinity", "The quantity must be more than zero."),
])
def test_quantity_check_refuses_clearly(bag_product, quantity, message):
    with pytest.raises(QuantityNotAllowed) as raised:
        quantity_check(product=bag_product, quantity=quantity)

    assert str(raised.value.message) == message
    assert raised.value.field == "quantity"


def test_quantity_check_writes_round_quantities_plainly(subsidiary):
    drum = ProductFactory(seller=subsidiary, sales_unit=SalesUnit.LITRE,
                          min_order_quantity=Decimal("200"), quantity_step=Decimal("200"))

    with pytest.raises(QuantityNotAllowed, match=r"^The minimum order is 200 L\.$"):
        quantity_check(product=drum, quantity="100")


def test_quantity_check_names_the_products_own_unit(subsidiary):
    tonnes = ProductFactory(seller=subsidiary, sales_unit=SalesUnit.TONNE,
                            min_order_quantity=Decimal("2"), quantity_step=Decimal("0.5"))

    with pytest.raises(QuantityNotAllowed, match=r"^The minimum order is 2 t\.$"):
        quantity_check(product=tonnes, quantity="1")
    with pytest.raises(QuantityNotAllowed, match=r"^Order in steps of 0\.5 t from 2 t\.$"):
        quantity_check(product=tonnes, quantity="2.25")
    assert quantity_check(product=tonnes, quantity="2.5") == Decimal("2.5")


def test_quantity_check_takes_the_largest_storable_quantity(bag_product):
    largest = "99999999975"  # a multiple of the 25 kg step within Decimal(14, 3)
    assert quantity_check(product=bag_product, quantity=largest) == Decimal(largest)
    with pytest.raises(QuantityNotAllowed, match="too large"):
        quantity_check(product=bag_product, quantity="25" + "0" * 25)


def test_quantity_check_refuses_an_absurd_quantity_clearly(bag_product):
    with pytest.raises(QuantityNotAllowed):
        quantity_check(product=bag_product, quantity="1e40")


# --- Totals -----------------------------------------------------------------------------------


def _resolved(unit_price: str) -> ResolvedPrice:
    return ResolvedPrice(unit_price=Decimal(unit_price), min_quantity=Decimal("0"), tier_id=1,
                         price_list_id=1, is_company_price=False, tax_inclusive=True,
                         valid_until=None)


@pytest.mark.parametrize(("unit_price", "quantity", "total"), [
    ("0.05", "0.5", "0.03"),  # 0.025: half up, not to even (0.02)
    ("10.15", "2.5", "25.38"),  # 25.375
    ("10.15", "0.1", "1.02"),  # 1.015
    ("3.33", "3", "9.99"),
    ("12.50", "1.234", "15.43"),  # 15.425
])
def test_total_rounds_half_up_to_the_cent(unit_price, quantity, total):
    assert _resolved(unit_price).total(Decimal(quantity)) == Decimal(total)


def test_total_of_a_resolved_price(subsidiary, product):
    price_list_with_tiers(seller=subsidiary, valid_from=DAY, tiers=[(product, 0, "10.15")])

    assert resolve(product, "2.5").total(Decimal("2.5")) == Decimal("25.38")
