"""Two buyers check out the last units at the same moment, on two real connections."""

import importlib
import threading
import uuid

import pytest
from django.apps import apps as django_apps
from django.db import connection

from accounts.models import Region
from catalog.models import Stock
from chemmall.errors import DomainError
from orders import services
from orders.models import Order
from tests.factories import BuyerFactory
from tests.orders.factories import AddressFactory, sellable


def _load_regions() -> None:
    """A transactional test flushes the regions migration accounts/0002 loaded."""
    if not Region.objects.exists():
        migration = importlib.import_module("accounts.migrations.0002_load_regions")
        migration.load_regions(django_apps, None)


@pytest.fixture(scope="module")
def _regions_back(django_db_setup, django_db_blocker):
    yield
    with django_db_blocker.unblock():
        _load_regions()


@pytest.fixture
def buyers_ready(_regions_back, transactional_db, subsidiary):
    _load_regions()
    buyers = [BuyerFactory() for _i in range(2)]
    addresses = [AddressFactory(company=b.membership.company) for b in buyers]
    product = sellable(seller=subsidiary, on_hand="5")
    for b in buyers:
        services.cart_line_set(user=b, product_id=product.pk, quantity=4)
    return product, list(zip(buyers, addresses, strict=True))


def test_only_one_of_two_concurrent_checkouts_gets_the_last_units(buyers_ready):
    product, pairs = buyers_ready
    barrier = threading.Barrier(len(pairs))
    results: dict[int, object] = {}

    def checkout(i, user, address):
        try:
            barrier.wait(timeout=10)
            results[i] = services.checkout_place(
                user=user, idempotency_key=uuid.uuid4().hex, fulfilment="delivery",
                address_id=address.pk, payment_method="prepayment")
        except Exception as exc:  # noqa: BLE001 — reported by the assertions below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(i, u, a))
               for i, (u, a) in enumerate(pairs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    successes = [r for r in results.values() if isinstance(r, list)]
    failures = [r for r in results.values() if isinstance(r, Exception)]
    assert len(successes) == 1 and len(failures) == 1, results
    assert isinstance(failures[0], DomainError) and failures[0].code == "shortage"
    assert "1 kg are available" in failures[0].message
    stock = Stock.objects.get(product=product)
    assert stock.reserved == 4 and stock.reserved <= stock.on_hand
    assert Order.objects.count() == 1
