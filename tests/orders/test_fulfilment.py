"""Delivery fulfilment: ready → shipped → delivered → completed, with the stock it consumes."""

from decimal import Decimal

import pytest

from accounts.models import Role
from catalog.models import Stock
from chemmall.errors import ConflictError, DomainError
from orders import services
from orders.models import Order, OrderEvent
from tests.factories import StaffFactory
from tests.orders.factories import CarrierFactory, sellable

D = Decimal
S = Order.Status


def _stock(product) -> tuple[Decimal, Decimal]:
    stock = Stock.objects.get(product=product)
    return stock.on_hand, stock.reserved


def _moves(order) -> list[tuple[str, str]]:
    return list(OrderEvent.objects.filter(order=order).order_by("pk")
                .values_list("from_status", "to_status"))


def _make_ready(order, *, cco, finance) -> Order:
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    return services.order_mark_ready(order_id=order.pk, actor=cco)


@pytest.fixture
def finance(staff_by_role):
    return staff_by_role[Role.FINANCE]


@pytest.fixture
def acid(subsidiary):
    """Dangerous goods (UN 1830), 10 kg on hand at one depot."""
    return sellable(seller=subsidiary, un_number="1830", on_hand="10")


@pytest.fixture
def qualified():
    return CarrierFactory(name="Hazmat Haulage", hazmat_qualified=True)


@pytest.fixture
def ready_acid_order(place, buyer, acid, qualified, cco, finance):
    (order,) = place(buyer, [(acid, 3)], carrier_id=qualified.pk)
    return _make_ready(order, cco=cco, finance=finance)


@pytest.mark.django_db
def test_delivery_path_consumes_stock_and_writes_one_event_per_move(ready_acid_order, acid,
                                                                    qualified, buyer, cco):
    order = ready_acid_order
    assert order.status == S.READY
    assert _stock(acid) == (D("10"), D("3"))

    order = services.order_ship(order_id=order.pk, actor=cco, tracking_number=" SF1234567 ")
    assert order.status == S.SHIPPED
    assert _stock(acid) == (D("7"), D("0"))  # on hand and reserved both drop by 3
    order.refresh_from_db()
    assert order.tracking_number == "SF1234567" and order.carrier == qualified
    shipped = order.events.get(to_status=S.SHIPPED)
    assert "SF1234567" in shipped.note and "Hazmat Haulage" in shipped.note
    assert shipped.actor == cco

    services.order_mark_delivered(order_id=order.pk, actor=cco)
    order = services.order_complete(order_id=order.pk, actor=buyer)
    assert order.status == S.COMPLETED
    assert _moves(order) == [("", S.PLACED), (S.PLACED, S.CONFIRMED), (S.CONFIRMED, S.PAID),
                             (S.PAID, S.READY), (S.READY, S.SHIPPED),
                             (S.SHIPPED, S.DELIVERED), (S.DELIVERED, S.COMPLETED)]
    assert order.events.get(to_status=S.COMPLETED).actor == buyer
    assert _stock(acid) == (D("7"), D("0"))  # completing consumes nothing more


@pytest.mark.django_db
def test_hazmat_goods_are_not_shipped_with_an_unqualified_carrier(ready_acid_order, acid,
                                                                  qualified, cco):
    order = ready_acid_order
    events_before = order.events.count()
    plain = CarrierFactory(hazmat_qualified=False)
    with pytest.raises(DomainError, match="not qualified to carry dangerous goods") as exc:
        services.order_ship(order_id=order.pk, actor=cco, carrier_id=plain.pk)
    assert exc.value.code == "hazmat_carrier"
    order.refresh_from_db()
    assert order.status == S.READY and order.carrier == qualified
    assert order.events.count() == events_before
    assert _stock(acid) == (D("10"), D("3"))


@pytest.mark.django_db
def test_hazmat_order_without_its_carrier_cannot_ship(ready_acid_order, acid, cco):
    order = ready_acid_order
    Order.objects.filter(pk=order.pk).update(carrier=None)  # e.g. the carrier was removed
    with pytest.raises(DomainError, match="choose a hazmat-qualified carrier"):
        services.order_ship(order_id=order.pk, actor=cco)
    assert _stock(acid) == (D("10"), D("3"))
    assert Order.objects.get(pk=order.pk).status == S.READY


@pytest.mark.django_db
def test_a_qualified_carrier_can_be_chosen_at_shipping(ready_acid_order, acid, cco):
    other = CarrierFactory(hazmat_qualified=True)
    order = services.order_ship(order_id=ready_acid_order.pk, actor=cco, carrier_id=other.pk)
    assert Order.objects.get(pk=order.pk).carrier == other
    assert _stock(acid) == (D("7"), D("0"))


@pytest.mark.django_db
def test_seller_staff_can_complete_a_shipped_order(place, buyer, subsidiary, cco, finance):
    product = sellable(seller=subsidiary, on_hand="10")
    (order,) = place(buyer, [(product, 4)])
    _make_ready(order, cco=cco, finance=finance)
    services.order_ship(order_id=order.pk, actor=cco)  # no hazard: no carrier needed
    order = services.order_complete(order_id=order.pk, actor=cco)  # delivered on the way
    assert order.status == S.COMPLETED
    assert _moves(order)[-2:] == [(S.SHIPPED, S.DELIVERED), (S.DELIVERED, S.COMPLETED)]
    assert _stock(product) == (D("6"), D("0"))


@pytest.mark.django_db
def test_an_order_not_yet_ready_cannot_ship(place, buyer, subsidiary, cco):
    product = sellable(seller=subsidiary, on_hand="10")
    (order,) = place(buyer, [(product, 4)])
    services.order_confirm(order_id=order.pk, actor=cco)
    with pytest.raises(ConflictError, match="cannot go from"):
        services.order_ship(order_id=order.pk, actor=cco, tracking_number="X1")
    order.refresh_from_db()
    assert order.status == S.CONFIRMED and order.tracking_number == ""
    assert _stock(product) == (D("10"), D("4"))


@pytest.mark.django_db
def test_a_delivery_order_is_not_completed_before_it_shipped(place, buyer, subsidiary, cco,
                                                             finance):
    product = sellable(seller=subsidiary)
    (order,) = place(buyer, [(product, 1)])
    _make_ready(order, cco=cco, finance=finance)
    with pytest.raises(ConflictError):
        services.order_complete(order_id=order.pk, actor=buyer)
    with pytest.raises(ConflictError):
        services.order_mark_delivered(order_id=order.pk, actor=buyer)
    assert Order.objects.get(pk=order.pk).status == S.READY


@pytest.mark.django_db
def test_a_pickup_order_cannot_be_shipped_or_completed_by_hand(place, buyer, subsidiary, cco,
                                                               finance):
    product = sellable(seller=subsidiary, on_hand="10")
    depot = product.stocks.get().depot
    (order,) = place(buyer, [(product, 4)], fulfilment="pickup", depot_id=depot.pk)
    _make_ready(order, cco=cco, finance=finance)
    events_before = order.events.count()
    with pytest.raises(ConflictError, match="collected at the depot"):
        services.order_ship(order_id=order.pk, actor=cco, tracking_number="SF1")
    for actor in (buyer, cco):  # would leave the stock reserved and nothing handed over
        with pytest.raises(ConflictError, match="recording its pickups"):
            services.order_complete(order_id=order.pk, actor=actor)
    order.refresh_from_db()
    assert order.status == S.READY and order.tracking_number == ""
    assert order.events.count() == events_before
    assert _stock(product) == (D("10"), D("4"))


@pytest.mark.django_db
def test_repeated_calls_change_nothing(place, buyer, subsidiary, cco, finance):
    product = sellable(seller=subsidiary, on_hand="10")
    (order,) = place(buyer, [(product, 4)])
    for _twice in range(2):
        services.order_confirm(order_id=order.pk, actor=cco)
    for _twice in range(2):
        services.order_payment_confirm(order_id=order.pk, actor=finance)
    for _twice in range(2):
        services.order_mark_ready(order_id=order.pk, actor=cco)
    for _twice in range(2):
        services.order_ship(order_id=order.pk, actor=cco, tracking_number="SF9")
    assert _stock(product) == (D("6"), D("0"))  # consumed once
    for _twice in range(2):
        services.order_mark_delivered(order_id=order.pk, actor=buyer)
    for _twice in range(2):
        services.order_complete(order_id=order.pk, actor=buyer)
    assert [to for _from, to in _moves(order)] == [
        S.PLACED, S.CONFIRMED, S.PAID, S.READY, S.SHIPPED, S.DELIVERED, S.COMPLETED]
    assert _stock(product) == (D("6"), D("0"))


@pytest.mark.django_db
def test_the_buyer_cannot_ship(ready_acid_order, buyer, acid):
    with pytest.raises(ConflictError, match="seller's staff"):
        services.order_ship(order_id=ready_acid_order.pk, actor=buyer)
    assert _stock(acid) == (D("10"), D("3"))


@pytest.mark.django_db
@pytest.mark.parametrize("move", ["confirm", "ready", "ship", "delivered", "complete", "cancel",
                                  "payment", "credit"])
def test_outsiders_get_does_not_exist(ready_acid_order, outsider_buyer, other_subsidiary, move,
                                      acid):
    order = ready_acid_order
    calls = {
        "confirm": services.order_confirm,
        "ready": services.order_mark_ready,
        "ship": services.order_ship,
        "delivered": services.order_mark_delivered,
        "complete": services.order_complete,
        "cancel": lambda **kw: services.order_cancel(reason="No", **kw),
        "payment": services.order_payment_confirm,
        "credit": services.order_credit_approve,
    }
    strangers = [
        outsider_buyer,
        StaffFactory(organization=other_subsidiary, roles=[Role.CCO]),
        StaffFactory(organization=other_subsidiary, roles=[Role.FINANCE]),
    ]
    events_before = order.events.count()
    for stranger in strangers:
        with pytest.raises(Order.DoesNotExist):
            calls[move](order_id=order.pk, actor=stranger)
    order.refresh_from_db()
    assert order.status == S.READY and order.events.count() == events_before
    assert _stock(acid) == (D("10"), D("3"))
