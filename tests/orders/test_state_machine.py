import pytest

from chemmall.errors import ConflictError, DomainError
from orders.models import Order, OrderEvent
from orders.services import order_move
from tests.orders.factories import sellable

S = Order.Status

DELIVERY_PATH = [S.CONFIRMED, S.PAID, S.READY, S.SHIPPED, S.DELIVERED, S.COMPLETED]
PICKUP_PATH = [S.CONFIRMED, S.PAID, S.READY, S.PARTIALLY_PICKED_UP, S.PARTIALLY_PICKED_UP,
               S.COMPLETED]


@pytest.fixture
def order(place, buyer, subsidiary):
    (order,) = place(buyer, [(sellable(seller=subsidiary), 2)])
    return order


def _events(order):
    return list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))


@pytest.mark.django_db
def test_every_move_of_the_delivery_path_writes_one_event(order, cco):
    for to in DELIVERY_PATH:
        order_move(order_id=order.pk, to=to, actor=cco)
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    path = [S.PLACED, *DELIVERY_PATH]
    assert _events(order) == [("", S.PLACED), *zip(path, path[1:], strict=False)]


@pytest.mark.django_db
def test_pickup_path_allows_repeated_partial_pickups(place, buyer, subsidiary, cco):
    product = sellable(seller=subsidiary)
    depot = product.stocks.get().depot
    (order,) = place(buyer, [(product, 3)], fulfilment="pickup", depot_id=depot.pk)
    assert len(order.pickup_code) == 10
    for to in PICKUP_PATH:
        order_move(order_id=order.pk, to=to, actor=cco)
    assert OrderEvent.objects.filter(order=order).count() == 1 + len(PICKUP_PATH)


@pytest.mark.django_db
def test_forbidden_move_is_a_conflict_and_writes_nothing(order, cco):
    with pytest.raises(ConflictError, match="cannot go from"):
        order_move(order_id=order.pk, to=S.SHIPPED, actor=cco)
    order.refresh_from_db()
    assert order.status == S.PLACED
    assert OrderEvent.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_delivery_order_cannot_be_picked_up(order, cco):
    for to in (S.CONFIRMED, S.PAID, S.READY):
        order_move(order_id=order.pk, to=to, actor=cco)
    with pytest.raises(ConflictError):
        order_move(order_id=order.pk, to=S.PARTIALLY_PICKED_UP, actor=cco)
    with pytest.raises(ConflictError):
        order_move(order_id=order.pk, to=S.COMPLETED, actor=cco)


@pytest.mark.django_db
def test_repeated_move_writes_no_second_event(order, cco):
    order_move(order_id=order.pk, to=S.CONFIRMED, actor=cco)
    order_move(order_id=order.pk, to=S.CONFIRMED, actor=cco)
    assert OrderEvent.objects.filter(order=order, to_status=S.CONFIRMED).count() == 1


@pytest.mark.django_db
def test_final_states_have_no_moves(order, cco):
    order_move(order_id=order.pk, to=S.CANCELLED, actor=cco)
    for to in S:
        if to != S.CANCELLED:
            with pytest.raises(ConflictError):
                order_move(order_id=order.pk, to=to, actor=cco)


def test_moves_table_only_names_known_statuses():
    for source, targets in Order.MOVES.items():
        assert source in S.values and targets <= set(S.values)
    assert S.RETURNED not in Order.MOVES and S.CANCELLED not in Order.MOVES
    assert Order.MOVES[S.COMPLETED] == {S.RETURNED}  # the only way on from completed


@pytest.mark.django_db
def test_unknown_status_is_a_domain_error(order, cco):
    with pytest.raises(DomainError, match="Unknown order status"):
        order_move(order_id=order.pk, to="lost", actor=cco)
