"""Checkouts at the same moment, each on its own real connection: buyers racing for the last
units, and one buyer's retries of a single idempotency key."""

import importlib
import threading
import uuid

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.models import Sum

from accounts.models import Region
from catalog.models import Stock
from chemmall.errors import DomainError
from orders import services
from orders.models import CartLine, Checkout, Order, OrderLine
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


def _run_at_once(target, args_list) -> dict[int, object]:
    """Run target(*args) in one thread per args, released together; result or exception by
    index. Every thread closes its own database connection."""
    barrier = threading.Barrier(len(args_list))
    results: dict[int, object] = {}

    def run(i, args):
        try:
            barrier.wait(timeout=30)
            results[i] = target(*args)
        except Exception as exc:  # noqa: BLE001 — reported by the callers' assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, args)) for i, args in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a checkout hung"
    return results


BUYERS, STOCK = 50, 20


@pytest.fixture
def fifty_buyers(_regions_back, transactional_db, subsidiary):
    """50 buyers of 50 companies, each with 1 kg of the same product in the cart; 20 kg on
    hand."""
    _load_regions()
    product = sellable(seller=subsidiary, on_hand=str(STOCK))
    pairs = []
    for _i in range(BUYERS):
        buyer = BuyerFactory()
        pairs.append((buyer, AddressFactory(company=buyer.membership.company)))
        services.cart_line_set(user=buyer, product_id=product.pk, quantity=1)
    return product, pairs


def test_fifty_buyers_on_stock_for_twenty_get_exactly_twenty_orders(fifty_buyers):
    product, pairs = fifty_buyers

    def checkout(user, address):
        return services.checkout_place(
            user=user, idempotency_key=uuid.uuid4().hex, fulfilment="delivery",
            address_id=address.pk, payment_method="prepayment")

    results = _run_at_once(checkout, pairs)

    assert len(results) == BUYERS
    orders = [r for r in results.values() if isinstance(r, list)]
    failures = [r for r in results.values() if isinstance(r, Exception)]
    assert len(orders) == STOCK and all(len(o) == 1 for o in orders), failures[:3]
    assert len(failures) == BUYERS - STOCK
    assert all(isinstance(f, services.Shortage) and f.code == "shortage" for f in failures), \
        [f for f in failures if not isinstance(f, services.Shortage)][:3]
    assert all("0 kg are available" in f.message for f in failures)
    assert Order.objects.count() == STOCK and Checkout.objects.count() == STOCK
    assert OrderLine.objects.aggregate(s=Sum("quantity"))["s"] == STOCK
    stock = Stock.objects.get(product=product)
    assert (stock.on_hand, stock.reserved, stock.available) == (STOCK, STOCK, 0)
    assert not Stock.objects.filter(reserved__lt=0).exists()
    assert not Stock.objects.filter(on_hand__lt=0).exists()
    # The losers keep their cart; the winners' carts are empty.
    winners = {o[0].placed_by_id for o in orders}
    for user, _address in pairs:
        in_cart = CartLine.objects.filter(cart__user=user).exists()
        assert in_cart == (user.pk not in winners)


@pytest.fixture
def one_buyer_ready(_regions_back, transactional_db, subsidiary):
    _load_regions()
    product = sellable(seller=subsidiary, on_hand="100")
    buyer = BuyerFactory()
    address = AddressFactory(company=buyer.membership.company)
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=3)
    return product, buyer, address


def test_ten_concurrent_replays_of_one_key_place_one_order(one_buyer_ready):
    product, buyer, address = one_buyer_ready

    def checkout(_i):
        return services.checkout_place(
            user=buyer, idempotency_key="same-key", fulfilment="delivery",
            address_id=address.pk, payment_method="prepayment")

    results = _run_at_once(checkout, [(i,) for i in range(10)])

    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert errors == []
    assert Order.objects.count() == 1 and Checkout.objects.count() == 1
    order = Order.objects.get()
    assert all([o.pk for o in r] == [order.pk] for r in results.values())
    assert Stock.objects.get(product=product).reserved == 3
    assert order.lines.get().quantity == 3


def test_two_checkouts_of_one_cart_with_different_keys_place_it_once(one_buyer_ready):
    product, buyer, address = one_buyer_ready

    def checkout(i):
        return services.checkout_place(
            user=buyer, idempotency_key=f"key-{i}", fulfilment="delivery",
            address_id=address.pk, payment_method="prepayment")

    results = _run_at_once(checkout, [(i,) for i in range(4)])

    placed = [r for r in results.values() if isinstance(r, list)]
    refused = [r for r in results.values() if isinstance(r, Exception)]
    assert len(placed) == 1 and len(placed[0]) == 1
    assert len(refused) == 3 and all(getattr(e, "code", None) == "empty_cart" for e in refused)
    assert Order.objects.count() == 1
    assert Stock.objects.get(product=product).reserved == 3
    assert not CartLine.objects.filter(cart__user=buyer).exists()
