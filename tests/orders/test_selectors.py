from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from chemmall.errors import ConflictError
from orders import services
from orders.selectors import cart_for, company_outstanding_credit, orders_visible_to
from tests.factories import StaffFactory
from tests.orders.factories import sellable


@pytest.fixture
def order(place, buyer, subsidiary):
    (order,) = place(buyer, [(sellable(seller=subsidiary), 1)])
    return order


@pytest.mark.django_db
def test_buyer_sees_own_company_orders_only(order, buyer, outsider_buyer):
    assert list(orders_visible_to(buyer)) == [order]
    assert not orders_visible_to(outsider_buyer).exists()


@pytest.mark.django_db
def test_seller_staff_see_their_subsidiary_orders_only(order, cco, other_subsidiary,
                                                       hq_manager):
    other_cco = StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    assert list(orders_visible_to(cco)) == [order]
    assert not orders_visible_to(other_cco).exists()
    assert list(orders_visible_to(hq_manager)) == [order]


@pytest.mark.django_db
def test_a_user_without_company_or_organisation_sees_nothing(order):
    assert not orders_visible_to(StaffFactory(organization=None, roles=[])).exists()


@pytest.mark.django_db
def test_other_subsidiary_staff_cannot_cancel(order, other_subsidiary):
    other_cco = StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    with pytest.raises(type(order).DoesNotExist):
        services.order_cancel(order_id=order.pk, actor=other_cco, reason="not mine")


@pytest.mark.django_db
def test_cart_for_prices_lines_in_constant_queries(buyer, subsidiary, other_subsidiary):
    products = [sellable(seller=s, price="2.50") for s in (subsidiary, other_subsidiary) * 3]
    services.cart_line_set(user=buyer, product_id=products[0].pk, quantity=4)
    with CaptureQueriesContext(connection) as one:
        cart_for(buyer)
    for product in products[1:]:
        services.cart_line_set(user=buyer, product_id=product.pk, quantity=4)
    with CaptureQueriesContext(connection) as six:
        cart = cart_for(buyer)
    assert len(six.captured_queries) == len(one.captured_queries)
    assert len(cart.lines) == 6 and cart.total == Decimal("60.00")
    assert all(v.price.unit_price == Decimal("2.50") for v in cart.lines)


@pytest.mark.django_db
def test_outstanding_credit_counts_open_credit_orders(place, buyer, company, subsidiary, cco):
    company.credit_limit, company.payment_terms_days = Decimal("10000"), 30
    company.save()
    product = sellable(seller=subsidiary, price="100.00")
    (first,) = place(buyer, [(product, 2)], payment_method="credit")
    place(buyer, [(product, 3)], payment_method="credit")
    place(buyer, [(product, 1)])  # prepayment: not credit
    assert company_outstanding_credit(company.pk) == Decimal("500.00")
    services.order_cancel(order_id=first.pk, actor=cco, reason="test")
    assert company_outstanding_credit(company.pk) == Decimal("300.00")


@pytest.mark.django_db
def test_a_completed_credit_order_owes_until_its_invoice_is_paid(place, buyer, company,
                                                                 subsidiary, cco):
    company.credit_limit, company.payment_terms_days = Decimal("10000"), 30
    company.save()
    finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    product = sellable(seller=subsidiary, price="100.00")
    (order,) = place(buyer, [(product, 2)], payment_method="credit",
                     fulfilment="delivery")
    services.order_confirm(order_id=order.pk, actor=cco)
    services.order_mark_ready(order_id=order.pk, actor=cco)
    services.order_ship(order_id=order.pk, actor=cco, tracking_number="SF9")
    services.order_complete(order_id=order.pk, actor=cco)
    assert company_outstanding_credit(company.pk) == Decimal("200.00")
    with pytest.raises(ConflictError):
        services.order_invoice_paid(order_id=order.pk, actor=cco)  # finance's to record
    services.order_invoice_paid(order_id=order.pk, actor=finance)
    services.order_invoice_paid(order_id=order.pk, actor=finance)  # once
    order.refresh_from_db()
    assert order.paid_at is not None and company_outstanding_credit(company.pk) == 0
    assert order.events.filter(note="Invoice paid in full.").count() == 1
