"""Shared set-up of the dealers tests: a subsidiary with a routing rule, CCOs, a Suzhou dealer
of its category, and the walk of an order from placed to completed and paid."""

from decimal import Decimal

import pytest

from accounts.models import Region, Role
from dealers.models import Dealer, RoutingRule, Territory
from orders import services as order_services
from tests.factories import BuyerFactory, StaffFactory, UserFactory
from tests.inquiries.test_routing import cco
from tests.orders.factories import AddressFactory, sellable

SUZHOU, NANJING, JIANGSU, HANGZHOU = "320500", "320100", "320000", "330100"


def make_dealer(seller, *, regions=(SUZHOU,), categories=(), priority=10, base="2.00",
                won="5.00", name="苏州化工贸易有限公司", users=1) -> Dealer:
    dealer = Dealer.objects.create(organization=seller, name=name, priority=priority,
                                   base_rate=Decimal(base), won_rate=Decimal(won))
    for code in regions:
        Territory.objects.create(dealer=dealer, region=Region.objects.get(code=code))
    dealer.categories.set(categories)
    for _i in range(users):
        dealer.users.add(UserFactory(roles=[Role.DEALER]))
    return dealer


def dealer_user(dealer):
    return dealer.users.order_by("pk").first()


def complete_and_pay(order, *, seller_staff, finance):
    """placed → confirmed → paid → ready → shipped → delivered → completed (delivery, prepayment)
    or, for credit, → credit approved … completed, then the invoice paid."""
    order_services.order_confirm(order_id=order.pk, actor=seller_staff)
    if order.payment_method == "prepayment":
        order_services.order_payment_confirm(order_id=order.pk, actor=finance)
    order_services.order_mark_ready(order_id=order.pk, actor=seller_staff)
    order_services.order_ship(order_id=order.pk, actor=seller_staff, tracking_number="SF1")
    order_services.order_complete(order_id=order.pk, actor=seller_staff)
    if order.payment_method == "credit":
        order_services.order_invoice_paid(order_id=order.pk, actor=finance)
    order.refresh_from_db()
    return order


@pytest.fixture
def world(subsidiary, company):
    """Everything a dealer test needs, as a namespace."""

    class World:
        pass

    w = World()
    w.seller = subsidiary
    w.rule = RoutingRule.objects.create(organization=subsidiary,
                                        direct_sale_threshold=Decimal("1000"))
    w.ccos = [cco(subsidiary), cco(subsidiary)]
    w.product = sellable(seller=subsidiary, price="113.00", on_hand="100000")
    w.category = w.product.category
    w.dealer = make_dealer(subsidiary, categories=[w.category])
    w.user = dealer_user(w.dealer)
    w.buyer = BuyerFactory(company=company)
    w.company = company
    w.address = AddressFactory(company=company, region=Region.objects.get(code=SUZHOU))
    w.staff = StaffFactory(organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER])
    w.finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    return w
