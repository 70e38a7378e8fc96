"""Depot pickup: partial pickups to completion, bad input, expired codes, and the race."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from catalog.models import Stock
from chemmall.errors import ConflictError, DomainError
from orders import services
from orders.models import Order, OrderEvent, OrderLine, Pickup, PickupLine
from tests.factories import BuyerFactory, DepotFactory, StaffFactory
from tests.orders.factories import sellable
from tests.orders.test_concurrency import _load_regions, _regions_back  # noqa: F401 — fixture

D = Decimal
S = Order.Status


def _stock(product, depot) -> tuple[Decimal, Decimal]:
    stock = Stock.objects.get(product=product, depot=depot)
    return stock.on_hand, stock.reserved


def _operator(depot):
    operator = StaffFactory(organization=depot.organization, roles=[Role.DEPOT_OPERATOR])
    depot.operators.add(operator)
    return operator


def _ready(order, *, cco, finance):
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    return services.order_mark_ready(order_id=order.pk, actor=cco)


@pytest.fixture
def depot(subsidiary):
    return DepotFactory(organization=subsidiary)


@pytest.fixture
def operator(depot):
    return _operator(depot)


@pytest.fixture
def finance(staff_by_role):
    return staff_by_role[Role.FINANCE]


@pytest.fixture
def goods(subsidiary, depot):
    """Two products with 10 kg and 5 kg on hand at the depot."""
    return (sellable(seller=subsidiary, depots=[(depot, "10")]),
            sellable(seller=subsidiary, depots=[(depot, "5")]))


@pytest.fixture
def placed(place, buyer, goods, depot):
    """A pickup order of 6 kg and 3 kg, placed (not ready yet)."""
    a, b = goods
    (order,) = place(buyer, [(a, 6), (b, 3)], fulfilment="pickup", depot_id=depot.pk)
    return order


@pytest.fixture
def ready(placed, cco, finance):
    return _ready(placed, cco=cco, finance=finance)


def _lines(order) -> tuple[OrderLine, OrderLine]:
    a, b = order.lines.order_by("pk")
    return a, b


def _nothing_changed(order, goods, depot, *, status=S.READY, events: int):
    order.refresh_from_db()
    assert order.status == status
    assert order.events.count() == events
    assert not Pickup.objects.filter(order=order).exists()
    assert list(order.lines.values_list("picked_up", flat=True)) == [0, 0]
    a, b = goods
    assert _stock(a, depot) == (D("10"), D("6"))
    assert _stock(b, depot) == (D("5"), D("3"))


@pytest.mark.django_db
def test_partial_pickups_to_completion(ready, goods, depot, operator):
    order, (a, b) = ready, goods
    line_a, line_b = _lines(order)
    assert order.pickup_code_expires_on == timezone.localdate() + datetime.timedelta(days=14)

    first = services.pickup_record(actor=operator, order_id=order.pk,
                                   quantities={str(line_a.pk): "2", line_b.pk: D("3")},
                                   collected_by=" 李师傅 ", vehicle_plate="苏E12345")
    order.refresh_from_db()
    assert order.status == S.PARTIALLY_PICKED_UP
    assert first.receipt_number == f"{order.number}-P1" and first.sequence == 1
    assert first.collected_by == "李师傅" and first.depot == depot and first.recorded_by == operator
    assert sorted(first.lines.values_list("order_line_id", "quantity")) == [
        (line_a.pk, D("2")), (line_b.pk, D("3"))]
    line_a.refresh_from_db()
    line_b.refresh_from_db()
    assert (line_a.picked_up, line_a.remaining) == (D("2"), D("4"))
    assert (line_b.picked_up, line_b.remaining) == (D("3"), D("0"))
    assert _stock(a, depot) == (D("8"), D("4"))  # on hand and reserved both down by 2
    assert _stock(b, depot) == (D("2"), D("0"))

    second = services.pickup_record(actor=operator, order_id=order.pk,
                                    quantities={line_a.pk: "4", line_b.pk: ""},
                                    collected_by="李师傅")
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert second.receipt_number == f"{order.number}-P2"
    line_a.refresh_from_db()
    assert line_a.picked_up == line_a.quantity == D("6")
    assert _stock(a, depot) == (D("4"), D("0"))
    assert _stock(b, depot) == (D("2"), D("0"))
    events = list(order.events.filter(note__startswith="Pickup").order_by("pk"))
    assert [(e.from_status, e.to_status) for e in events] == [
        (S.READY, S.PARTIALLY_PICKED_UP), (S.PARTIALLY_PICKED_UP, S.COMPLETED)]
    assert f"{order.number}-P1" in events[0].note and f"{order.number}-P2" in events[1].note
    assert all(e.actor == operator for e in events)


@pytest.mark.django_db
def test_all_at_once_completes_from_ready(ready, goods, depot, operator):
    line_a, line_b = _lines(ready)
    services.pickup_record(actor=operator, order_id=ready.pk,
                           quantities={line_a.pk: 6, line_b.pk: 3}, collected_by="Wang")
    ready.refresh_from_db()
    assert ready.status == S.COMPLETED
    assert ready.events.filter(from_status=S.READY, to_status=S.COMPLETED).count() == 1
    assert _stock(goods[0], depot) == (D("4"), D("0"))
    assert _stock(goods[1], depot) == (D("2"), D("0"))


@pytest.mark.django_db
def test_more_than_remains_is_a_conflict_and_changes_nothing(ready, goods, depot, operator):
    line_a, line_b = _lines(ready)
    events = ready.events.count()
    with pytest.raises(ConflictError, match="Only 3 kg of .* remain") as exc:
        services.pickup_record(actor=operator, order_id=ready.pk,
                               quantities={line_a.pk: "1", line_b.pk: "3.001"},
                               collected_by="Wang")
    assert exc.value.code == "more_than_remains"
    _nothing_changed(ready, goods, depot, events=events)


@pytest.mark.django_db
def test_more_than_remains_after_a_partial_pickup(ready, goods, depot, operator):
    line_a, _line_b = _lines(ready)
    services.pickup_record(actor=operator, order_id=ready.pk, quantities={line_a.pk: "5"},
                           collected_by="Wang")
    with pytest.raises(ConflictError, match="Only 1 kg"):
        services.pickup_record(actor=operator, order_id=ready.pk, quantities={line_a.pk: "2"},
                               collected_by="Wang")
    line_a.refresh_from_db()
    assert line_a.picked_up == D("5") and Pickup.objects.filter(order=ready).count() == 1
    assert _stock(goods[0], depot) == (D("5"), D("1"))


@pytest.mark.django_db
@pytest.mark.parametrize(("raw", "error", "message"), [
    ("0", DomainError, "at least one line"),
    (0, DomainError, "at least one line"),
    ("-1", DomainError, "cannot be negative"),
    ("abc", DomainError, "as a number"),
    ("NaN", DomainError, "as a number"),
    ("Infinity", DomainError, "as a number"),
    ("1.2345", DomainError, "at most three decimals"),
    ("1E+30", ConflictError, "remain to be picked up"),  # absurdly large
])
def test_bad_quantities_are_refused_and_change_nothing(ready, goods, depot, operator, raw,
                                                       error, message):
    line_a, line_b = _lines(ready)
    events = ready.events.count()
    with pytest.raises(error, match=message) as exc:
        services.pickup_record(actor=operator, order_id=ready.pk,
                               quantities={line_a.pk: raw, line_b.pk: ""}, collected_by="Wang")
    assert type(exc.value) is error
    _nothing_changed(ready, goods, depot, events=events)


@pytest.mark.django_db
def test_one_bad_line_refuses_the_whole_pickup(ready, goods, depot, operator):
    line_a, line_b = _lines(ready)
    events = ready.events.count()
    with pytest.raises(DomainError, match="negative"):
        services.pickup_record(actor=operator, order_id=ready.pk,
                               quantities={line_a.pk: "2", line_b.pk: "-1"}, collected_by="W")
    _nothing_changed(ready, goods, depot, events=events)


@pytest.mark.django_db
def test_unknown_or_foreign_line_ids_are_refused(ready, goods, depot, operator, place, buyer):
    a, _b = goods
    (other,) = place(buyer, [(a, 1)], fulfilment="pickup", depot_id=depot.pk)
    events = ready.events.count()
    line_a, _line_b = _lines(ready)
    for quantities in ({999_999_999: "1"}, {"x": "1"}, {other.lines.get().pk: "1"},
                       {str(line_a.pk): "1", line_a.pk: "1"}, {}):
        with pytest.raises(DomainError) as exc:
            services.pickup_record(actor=operator, order_id=ready.pk, quantities=quantities,
                                   collected_by="Wang")
        assert exc.value.field == "lines"
    ready.refresh_from_db()
    assert ready.status == S.READY and ready.events.count() == events
    assert not Pickup.objects.exists() and not PickupLine.objects.exists()
    assert _stock(a, depot) == (D("10"), D("7"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", None])
def test_the_collector_must_be_named(ready, goods, depot, operator, name):
    line_a, _line_b = _lines(ready)
    with pytest.raises(DomainError) as exc:
        services.pickup_record(actor=operator, order_id=ready.pk, quantities={line_a.pk: "1"},
                               collected_by=name)
    assert exc.value.field == "collected_by"
    _nothing_changed(ready, goods, depot, events=ready.events.count())


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.PLACED, S.CONFIRMED, S.PAID])
def test_an_order_not_ready_has_nothing_to_pick_up(placed, goods, depot, operator, cco,
                                                   finance, status):
    if status in (S.CONFIRMED, S.PAID):
        services.order_confirm(order_id=placed.pk, actor=cco)
    if status == S.PAID:
        services.order_payment_confirm(order_id=placed.pk, actor=finance)
    events = placed.events.count()
    line_a, _line_b = _lines(placed)
    with pytest.raises(ConflictError, match="nothing can be picked up now") as exc:
        services.pickup_record(actor=operator, order_id=placed.pk,
                               quantities={line_a.pk: "1"}, collected_by="Wang")
    assert exc.value.code == "not_ready"
    _nothing_changed(placed, goods, depot, status=status, events=events)


@pytest.mark.django_db
def test_a_completed_or_cancelled_order_has_nothing_to_pick_up(placed, ready, operator, cco,
                                                               place, buyer, goods, depot):
    line_a, line_b = _lines(ready)
    services.pickup_record(actor=operator, order_id=ready.pk,
                           quantities={line_a.pk: 6, line_b.pk: 3}, collected_by="Wang")
    with pytest.raises(ConflictError, match="nothing can be picked up"):
        services.pickup_record(actor=operator, order_id=ready.pk, quantities={line_a.pk: 1},
                               collected_by="Wang")
    (cancelled,) = place(buyer, [(goods[0], 1)], fulfilment="pickup", depot_id=depot.pk)
    services.order_cancel(order_id=cancelled.pk, actor=buyer)
    with pytest.raises(ConflictError, match="nothing can be picked up"):
        services.pickup_record(actor=operator, order_id=cancelled.pk,
                               quantities={cancelled.lines.get().pk: 1}, collected_by="Wang")
    assert Pickup.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_code_is_refused_until_finance_extends_it(ready, goods, depot, operator,
                                                             finance):
    today = timezone.localdate()
    Order.objects.filter(pk=ready.pk).update(
        pickup_code_expires_on=today - datetime.timedelta(days=1))
    line_a, _line_b = _lines(ready)
    events = ready.events.count()
    with pytest.raises(ConflictError, match="expired on") as exc:
        services.pickup_record(actor=operator, order_id=ready.pk, quantities={line_a.pk: "1"},
                               collected_by="Wang")
    assert exc.value.code == "code_expired"
    _nothing_changed(ready, goods, depot, events=events)

    until = today + datetime.timedelta(days=7)
    order = services.pickup_code_extend(order_id=ready.pk, actor=finance, until=until)
    assert Order.objects.get(pk=ready.pk).pickup_code_expires_on == until == \
        order.pickup_code_expires_on
    extended = OrderEvent.objects.filter(order=ready).latest("pk")
    assert (extended.from_status, extended.to_status) == (S.READY, S.READY)
    assert until.isoformat() in extended.note and extended.actor == finance
    services.pickup_record(actor=operator, order_id=ready.pk, quantities={line_a.pk: "1"},
                           collected_by="Wang")
    assert Order.objects.get(pk=ready.pk).status == S.PARTIALLY_PICKED_UP


@pytest.mark.django_db
def test_a_code_is_good_on_its_last_day(ready, operator):
    Order.objects.filter(pk=ready.pk).update(pickup_code_expires_on=timezone.localdate())
    line_a, _line_b = _lines(ready)
    pickup = services.pickup_record(actor=operator, order_id=ready.pk,
                                    quantities={line_a.pk: "1"}, collected_by="Wang")
    assert pickup.sequence == 1


@pytest.mark.django_db
def test_only_finance_of_the_seller_extends_a_code(ready, other_subsidiary, cco, operator,
                                                   buyer, outsider_buyer, finance):
    before = ready.pickup_code_expires_on
    until = timezone.localdate() + datetime.timedelta(days=30)
    for actor in (cco, operator, buyer):  # they see the order, but are not finance
        with pytest.raises(ConflictError, match="Only finance"):
            services.pickup_code_extend(order_id=ready.pk, actor=actor, until=until)
    foreign_finance = StaffFactory(organization=other_subsidiary, roles=[Role.FINANCE])
    for actor in (foreign_finance, outsider_buyer):
        with pytest.raises(Order.DoesNotExist):
            services.pickup_code_extend(order_id=ready.pk, actor=actor, until=until)
    with pytest.raises(DomainError) as exc:
        services.pickup_code_extend(order_id=ready.pk, actor=finance,
                                    until=timezone.localdate() - datetime.timedelta(days=1))
    assert exc.value.field == "until"
    ready.refresh_from_db()
    assert ready.pickup_code_expires_on == before
    assert not ready.events.filter(from_status=S.READY, to_status=S.READY).exists()


@pytest.mark.django_db
def test_a_delivery_order_has_no_code_to_extend(place, buyer, subsidiary, finance):
    (order,) = place(buyer, [(sellable(seller=subsidiary), 1)])
    with pytest.raises(ConflictError, match="Only open pickup orders"):
        services.pickup_code_extend(order_id=order.pk, actor=finance,
                                    until=timezone.localdate())


@pytest.mark.django_db
def test_outsiders_cannot_record_pickups(ready, goods, depot, subsidiary, other_subsidiary,
                                         buyer, outsider_buyer):
    line_a, _line_b = _lines(ready)
    other_depot_operator = _operator(DepotFactory(organization=subsidiary))
    foreign_operator = _operator(DepotFactory(organization=other_subsidiary))
    foreign_cco = StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    events = ready.events.count()
    for actor in (other_depot_operator, foreign_operator, foreign_cco, buyer, outsider_buyer):
        with pytest.raises(Order.DoesNotExist):
            services.pickup_record(actor=actor, order_id=ready.pk, quantities={line_a.pk: "1"},
                                   collected_by="Wang")
    with pytest.raises(Order.DoesNotExist):
        services.pickup_record(actor=_operator(depot), order_id=999_999_999,
                               quantities={line_a.pk: "1"}, collected_by="Wang")
    _nothing_changed(ready, goods, depot, events=events)


@pytest.mark.django_db
def test_a_delivery_order_is_not_picked_up(place, buyer, subsidiary, depot, cco, finance):
    product = sellable(seller=subsidiary, depots=[(depot, "10")])
    (order,) = place(buyer, [(product, 2)])
    _ready(order, cco=cco, finance=finance)
    with pytest.raises(Order.DoesNotExist):
        services.pickup_record(actor=_operator(depot), order_id=order.pk,
                               quantities={order.lines.get().pk: "2"}, collected_by="Wang")
    assert _stock(product, depot) == (D("10"), D("2"))


@pytest.mark.django_db
def test_open_balances_show_what_remains(ready, operator, buyer):
    from orders.selectors import open_pickup_balances

    line_a, line_b = _lines(ready)
    services.pickup_record(actor=operator, order_id=ready.pk,
                           quantities={line_a.pk: "2", line_b.pk: "3"}, collected_by="Wang")
    balances = list(open_pickup_balances(buyer))
    assert [(line.pk, line.remaining) for line in balances] == [(line_a.pk, D("4"))]
    assert list(open_pickup_balances(BuyerFactory())) == []


# --- The race: keep it last in the module (a transactional test empties the regions table,
# which `_regions_back` fills again when the module ends).


@pytest.fixture
def race_ready(_regions_back, transactional_db, subsidiary):  # noqa: F811
    _load_regions()
    depot = DepotFactory(organization=subsidiary)
    product = sellable(seller=subsidiary, depots=[(depot, "10")])
    buyer = BuyerFactory()
    cco = StaffFactory(organization=subsidiary, roles=[Role.CCO])
    finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=5)
    (order,) = services.checkout_place(user=buyer, idempotency_key="race", fulfilment="pickup",
                                       depot_id=depot.pk, payment_method="prepayment")
    _ready(order, cco=cco, finance=finance)
    line = order.lines.get()
    operators = [_operator(depot), _operator(depot)]
    services.pickup_record(actor=operators[0], order_id=order.pk, quantities={line.pk: "3"},
                           collected_by="Wang")  # 2 kg remain
    return order, line, product, depot, operators


def test_two_operators_recording_the_last_quantity_at_once_exactly_one_wins(race_ready):
    order, line, product, depot, operators = race_ready
    barrier = threading.Barrier(len(operators))
    results: dict[int, object] = {}

    def record(i, operator):
        try:
            barrier.wait(timeout=10)
            results[i] = services.pickup_record(actor=operator, order_id=order.pk,
                                                quantities={line.pk: "2"},
                                                collected_by=f"Driver {i}")
        except Exception as exc:  # noqa: BLE001 — reported by the assertions below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=record, args=(i, op)) for i, op in enumerate(operators)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    wins = [r for r in results.values() if isinstance(r, Pickup)]
    losses = [r for r in results.values() if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert isinstance(losses[0], ConflictError), losses[0]
    assert wins[0].sequence == 2
    line.refresh_from_db()
    assert line.picked_up == line.quantity == D("5")
    assert Pickup.objects.filter(order=order).count() == 2
    assert Order.objects.get(pk=order.pk).status == S.COMPLETED
    assert _stock(product, depot) == (D("5"), D("0"))
    assert not Stock.objects.filter(on_hand__lt=0).exists()
    assert not Stock.objects.filter(reserved__lt=0).exists()


@pytest.mark.django_db
def test_ready_sets_the_code_validity_but_keeps_a_longer_extension(placed, cco, finance,
                                                                  settings):
    settings.PICKUP_CODE_VALID_DAYS = 14
    today = timezone.localdate()
    longer = today + datetime.timedelta(days=60)
    services.pickup_code_extend(order_id=placed.pk, actor=finance, until=longer)
    order = _ready(placed, cco=cco, finance=finance)
    assert Order.objects.get(pk=order.pk).pickup_code_expires_on == longer


@pytest.mark.django_db
def test_ready_makes_the_code_valid_for_the_configured_days(placed, cco, finance, settings):
    settings.PICKUP_CODE_VALID_DAYS = 5
    assert placed.pickup_code_expires_on is None  # not usable before the goods are ready
    order = _ready(placed, cco=cco, finance=finance)
    assert Order.objects.get(pk=order.pk).pickup_code_expires_on == (
        timezone.localdate() + datetime.timedelta(days=5))
