"""The dealers tables' own guarantees, held by the database: rates within 0–100 %, a
region once per dealer's territory, one statement per dealer and month (on the 1st)."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Region
from dealers.models import Dealer, Statement, Territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dealer(subsidiary):
    return Dealer.objects.create(organization=subsidiary, name="苏州化工贸易有限公司",
                                 base_rate=Decimal("2.00"), won_rate=Decimal("5.00"))


@pytest.mark.parametrize("field, value", [("base_rate", "-0.01"), ("won_rate", "100.01")])
def test_rates_outside_0_to_100_are_refused_by_the_database(subsidiary, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        Dealer.objects.create(organization=subsidiary, name="X", **{field: Decimal(value)})
    assert not Dealer.objects.exists()


def test_a_region_is_in_a_territory_once(dealer):
    suzhou = Region.objects.get(code="320500")
    Territory.objects.create(dealer=dealer, region=suzhou)
    with pytest.raises(IntegrityError), transaction.atomic():
        Territory.objects.create(dealer=dealer, region=suzhou)
    assert dealer.territories.count() == 1


def test_one_statement_per_dealer_and_month_dated_the_first(dealer):
    Statement.objects.create(dealer=dealer, month=datetime.date(2026, 11, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.create(dealer=dealer, month=datetime.date(2026, 11, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.create(dealer=dealer, month=datetime.date(2026, 12, 15))
    assert dealer.statements.count() == 1
