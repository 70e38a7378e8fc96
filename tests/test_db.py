"""chemmall.db.Prepared: a query compiled once answers every later run with the new values,
exactly as the queryset it was written as would."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from catalog.models import Product, Stock
from chemmall.db import Prepared, insert, update_fields
from tests.catalog.factories import ProductFactory
from tests.factories import DepotFactory, SubsidiaryFactory
from tests.orders.factories import StockFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    seller = SubsidiaryFactory()
    return [ProductFactory(seller=seller, is_active=i != 2) for i in range(4)]


def test_each_run_binds_its_own_values_and_compiles_once(products, monkeypatch):
    by_pk = Prepared(lambda pk: Product.objects.filter(pk=pk, is_active=True)[:1])
    assert by_pk.first(pk=products[0].pk) == products[0]
    compiled = []
    original = Prepared._compile
    monkeypatch.setattr(Prepared, "_compile",
                        lambda self, *a: compiled.append(a) or original(self, *a))
    assert by_pk.first(pk=products[1].pk) == products[1]
    assert by_pk.first(pk=products[2].pk) is None  # inactive: the filter still applies
    assert by_pk.first(pk=10 ** 12) is None
    assert compiled == []


def test_lists_of_each_length_and_none_are_shapes_of_their_own(products):
    pks = [p.pk for p in products]
    chosen = Prepared(lambda pks, seller_id: Product.objects.filter(pk__in=pks)
                      .filter(Q(seller_id=seller_id) | Q(is_featured=True)).order_by("pk")
                      .values_list("pk", flat=True))
    seller_id = products[0].seller_id
    assert chosen.all(pks=pks[:1], seller_id=seller_id) == pks[:1]
    assert chosen.all(pks=pks, seller_id=seller_id) == pks
    assert chosen.all(pks=pks[1:3], seller_id=seller_id) == pks[1:3]
    assert chosen.all(pks=pks, seller_id=None) == []  # IS NULL: no product without a seller
    assert chosen.all(pks=[], seller_id=seller_id) == []  # IN (): no rows, as Django says


def test_models_come_with_their_select_related_and_values_lists_as_tuples(products):
    depot = DepotFactory(organization=products[0].seller)
    stock = StockFactory(product=products[0], depot=depot, on_hand=Decimal("5"))
    locked = Prepared(lambda product_ids: Stock.objects.select_for_update(of=("self",))
                      .filter(product_id__in=product_ids).select_related("depot"))
    pairs = Prepared(lambda product_id: Stock.objects.filter(product_id=product_id)
                     .values_list("depot_id", "on_hand"))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        (row,) = locked.all(product_ids=[products[0].pk])
        assert row == stock and row.depot.name == depot.name  # no query for the depot
        assert "FOR UPDATE" in queries.captured_queries[-1]["sql"]
    assert len(queries.captured_queries) == 1
    assert pairs.all(product_id=products[0].pk) == [(depot.pk, Decimal("5.000"))]


def test_update_returns_the_rows_it_changed(products):
    stock = StockFactory(product=products[0], on_hand=Decimal("5"), reserved=Decimal("0"))
    reserve = Prepared(lambda pk, quantity: (
        Stock.objects.filter(pk=pk, on_hand__gte=F("reserved") + Value(quantity)),
        {"reserved": F("reserved") + Value(quantity)}))
    assert reserve.update(pk=stock.pk, quantity=Decimal("3")) == 1
    assert reserve.update(pk=stock.pk, quantity=Decimal("3")) == 0  # 3 + 3 > 5
    assert reserve.update(pk=stock.pk, quantity=Decimal("2")) == 1
    none = Prepared(lambda pks: (Stock.objects.filter(pk__in=pks), {"reserved": 0}))
    assert none.update(pks=[]) == 0
    stock.refresh_from_db()
    assert stock.reserved == Decimal("5")


def test_dates_and_strings_are_bound_like_ints(products):
    named = Prepared(lambda sku, since: Product.objects.filter(
        sku=sku, created_at__date__gte=since).values_list("pk", flat=True))
    today = datetime.date.today()
    assert named.all(sku=products[1].sku, since=today - datetime.timedelta(days=1)) == [
        products[1].pk]
    assert named.all(sku=products[1].sku, since=today + datetime.timedelta(days=1)) == []
    assert named.all(sku="no such sku", since=today) == []


def test_a_value_the_sql_does_not_carry_as_is_is_refused_when_compiled(products):
    pattern = Prepared(lambda text: Product.objects.filter(sku__icontains=text))
    with pytest.raises(TypeError, match="does not reach the SQL"):
        pattern.all(text="abc")


@pytest.mark.django_db(transaction=True)  # a test's own transaction would hide autocommit
def test_select_for_update_outside_a_transaction_is_refused_on_every_run(products):
    locked = Prepared(lambda pk: Product.objects.select_for_update().filter(pk=pk))
    with transaction.atomic():
        assert locked.all(pk=products[0].pk) == [products[0]]
    with pytest.raises(TransactionManagementError):
        locked.all(pk=products[0].pk)  # compiled already: the run itself checks


def test_long_lists_are_answered_but_not_kept(products):
    pks = [p.pk for p in products]
    chosen = Prepared(lambda pks: Product.objects.filter(pk__in=pks).order_by("pk")
                      .values_list("pk", flat=True))
    many = pks + list(range(10 ** 9, 10 ** 9 + Prepared.MAX_KEPT_LIST))
    assert chosen.all(pks=many) == pks
    assert chosen._plans == {}
    assert chosen.all(pks=pks[:2]) == pks[:2]
    assert len(chosen._plans) == 1


def test_insert_and_update_fields_write_what_save_would(products):
    stock = StockFactory(product=products[0], on_hand=Decimal("5"))
    (first, second) = insert([Stock(product=products[1], depot=stock.depot, on_hand=1),
                              Stock(product=products[3], depot=stock.depot, on_hand=2)])
    assert first.pk and second.pk and not first._state.adding
    assert Stock.objects.get(pk=second.pk).on_hand == Decimal("2")
    first.reserved = Decimal("0.5")
    assert update_fields(first, ["reserved", "reserved"]) == 1
    assert Stock.objects.get(pk=first.pk).reserved == Decimal("0.5")
