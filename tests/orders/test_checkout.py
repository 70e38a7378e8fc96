import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Role
from catalog.models import Stock
from chemmall.errors import ConflictError, DomainError
from orders import services
from orders.models import Cart, CartLine, Checkout, CompanyLicence, Order, OrderEvent
from tests.factories import DepotFactory, StaffFactory
from tests.orders.factories import CarrierFactory, LicenceFactory, sellable

D = Decimal


def _stock(product):
    return Stock.objects.get(product=product)


@pytest.mark.django_db
def test_one_order_per_seller_with_rounded_totals_and_vat(place, buyer, subsidiary,
                                                          other_subsidiary):
    a = sellable(seller=subsidiary, price="12.35")
    b = sellable(seller=subsidiary, price="7.10")
    c = sellable(seller=other_subsidiary, price="99.99")
    orders = place(buyer, [(a, 3), (b, 1), (c, 2)])
    assert [o.seller for o in orders] == sorted([subsidiary, other_subsidiary],
                                                key=lambda s: s.pk)
    first = next(o for o in orders if o.seller == subsidiary)
    assert first.total == D("44.15")  # 37.05 + 7.10, tax inclusive
    assert first.vat == D("5.08")  # 44.15 − 44.15 / 1.13 = 5.0792…
    assert first.subtotal == D("39.07")
    assert first.lines.count() == 2
    assert first.number.startswith("CM" + timezone.localdate().strftime("%Y%m%d"))
    assert _stock(a).reserved == D("3") and _stock(c).reserved == D("2")
    assert not CartLine.objects.filter(cart__user=buyer).exists()
    assert set(buyer.membership.company.served_by.all()) == {subsidiary, other_subsidiary}
    assert OrderEvent.objects.filter(order=first, from_status="", to_status="placed").exists()


@pytest.mark.django_db
def test_tax_exclusive_price_adds_vat(place, buyer, subsidiary):
    product = sellable(seller=subsidiary, price="100.00")
    product.price_tiers.update(tax_inclusive=False)
    (order,) = place(buyer, [(product, 1)])
    assert (order.subtotal, order.vat, order.total) == (D("100.00"), D("13.00"), D("113.00"))


@pytest.mark.django_db
def test_shortage_names_the_product_and_what_is_available(place, buyer, subsidiary):
    product = sellable(seller=subsidiary, on_hand="5")
    with pytest.raises(DomainError, match=r"you ordered 6 kg, 5 kg are available") as exc:
        place(buyer, [(product, 6)])
    assert exc.value.code == "shortage" and product.display_name in exc.value.message
    assert _stock(product).reserved == 0
    assert not Order.objects.exists() and not Checkout.objects.exists()


@pytest.mark.django_db
def test_delivery_reserves_at_the_depot_with_most_available(place, buyer, subsidiary):
    small, big = DepotFactory(organization=subsidiary), DepotFactory(organization=subsidiary)
    product = sellable(seller=subsidiary, depots=[(small, "4"), (big, "9")])
    (order,) = place(buyer, [(product, 4)])
    assert order.lines.get().depot == big
    with pytest.raises(DomainError, match="No single depot .* 9 kg are available in total"):
        place(buyer, [(product, 6)])  # 4 + 5 left, neither holds 6


@pytest.mark.django_db
def test_pickup_reserves_at_the_chosen_depot(place, buyer, subsidiary):
    here, there = DepotFactory(organization=subsidiary), DepotFactory(organization=subsidiary)
    product = sellable(seller=subsidiary, depots=[(here, "2"), (there, "50")])
    with pytest.raises(DomainError, match="2 kg are available there"):
        place(buyer, [(product, 3)], fulfilment="pickup", depot_id=here.pk)
    (order,) = place(buyer, [(product, 2)], fulfilment="pickup", depot_id=here.pk)
    assert order.pickup_depot == here and order.address is None
    assert Stock.objects.get(product=product, depot=here).reserved == 2


@pytest.mark.django_db
def test_services_need_no_stock(place, buyer, subsidiary):
    test = sellable(seller=subsidiary, is_service=True, price="800.00")
    (order,) = place(buyer, [(test, 1)])
    assert order.lines.get().depot is None and order.total == D("800.00")


@pytest.mark.django_db
def test_hazardous_delivery_needs_a_qualified_carrier(place, buyer, subsidiary):
    acid = sellable(seller=subsidiary, un_number="1830")
    with pytest.raises(DomainError, match="UN 1830.*choose a hazmat-qualified carrier"):
        place(buyer, [(acid, 1)])
    plain = CarrierFactory(hazmat_qualified=False)
    with pytest.raises(DomainError, match="not qualified to carry dangerous goods") as exc:
        place(buyer, [(acid, 1)], carrier_id=plain.pk)
    assert exc.value.field == "carrier_id"
    (order,) = place(buyer, [(acid, 1)], carrier_id=CarrierFactory(hazmat_qualified=True).pk)
    assert order.carrier.hazmat_qualified


@pytest.mark.django_db
def test_hazardous_pickup_needs_no_carrier(place, buyer, subsidiary):
    acid = sellable(seller=subsidiary, un_number="1830")
    depot = acid.stocks.get().depot
    (order,) = place(buyer, [(acid, 1)], fulfilment="pickup", depot_id=depot.pk)
    assert order.carrier is None


@pytest.mark.django_db
@pytest.mark.parametrize("licence", [
    None,
    {"status": CompanyLicence.Status.PENDING},
    {"status": CompanyLicence.Status.REJECTED},
    {"valid_until": datetime.date(2020, 1, 1)},
])
def test_controlled_chemical_needs_an_approved_valid_licence(place, buyer, company, subsidiary,
                                                             licence):
    precursor = sellable(seller=subsidiary, controlled=True)
    if licence is not None:
        LicenceFactory(company=company, **licence)
    with pytest.raises(DomainError, match="controlled chemical") as exc:
        place(buyer, [(precursor, 1)])
    assert precursor.display_name in exc.value.message
    assert _stock(precursor).reserved == 0


@pytest.mark.django_db
def test_controlled_chemical_with_approved_licence(place, buyer, company, subsidiary):
    LicenceFactory(company=company, valid_until=timezone.localdate())
    (order,) = place(buyer, [(sellable(seller=subsidiary, controlled=True), 1)])
    assert order.status == Order.Status.PLACED


@pytest.mark.django_db
def test_controlled_chemical_needs_the_licence_of_its_kind(place, buyer, company, subsidiary):
    LicenceFactory(company=company, kind=CompanyLicence.Kind.PRECURSOR)
    nitrate = sellable(seller=subsidiary, controlled=True)
    nitrate.chemical.licence_kind = CompanyLicence.Kind.EXPLOSIVE_PRECURSOR
    nitrate.chemical.save()
    with pytest.raises(DomainError, match="Explosive precursors record"):
        place(buyer, [(nitrate, 1)])
    LicenceFactory(company=company, kind=CompanyLicence.Kind.EXPLOSIVE_PRECURSOR)
    (order,) = place(buyer, [(nitrate, 1)])
    assert order.lines.get().product == nitrate


@pytest.mark.django_db
def test_credit_within_the_limit_stays_placed_then_confirm_approves(place, buyer, company,
                                                                   subsidiary, cco):
    company.credit_limit, company.payment_terms_days = D("1000"), 30
    company.save()
    product = sellable(seller=subsidiary, price="100.00")
    (order,) = place(buyer, [(product, 10)], payment_method="credit")
    assert order.status == Order.Status.PLACED
    order = services.order_confirm(order_id=order.pk, actor=cco)
    assert order.status == Order.Status.CREDIT_APPROVED
    services.order_confirm(order_id=order.pk, actor=cco)  # a repeated click
    assert order.events.count() == 3


@pytest.mark.django_db
def test_credit_over_the_limit_waits_for_finance(place, buyer, company, subsidiary,
                                                 staff_by_role):
    company.credit_limit, company.payment_terms_days = D("1000"), 30
    company.save()
    product = sellable(seller=subsidiary, price="100.00")
    place(buyer, [(product, 6)], payment_method="credit")
    (order,) = place(buyer, [(product, 5)], payment_method="credit")  # 600 + 500 > 1000
    assert order.status == Order.Status.AWAITING_CREDIT
    event = order.events.get(to_status=Order.Status.AWAITING_CREDIT)
    assert "600.00" in event.note and "1000.00" in event.note
    with pytest.raises(ConflictError):
        services.order_credit_approve(order_id=order.pk, actor=buyer)
    order = services.order_credit_approve(order_id=order.pk,
                                          actor=staff_by_role["finance"])
    assert order.status == Order.Status.CREDIT_APPROVED


@pytest.mark.django_db
def test_credit_needs_agreed_terms(place, buyer, subsidiary):
    with pytest.raises(DomainError) as exc:
        place(buyer, [(sellable(seller=subsidiary), 1)], payment_method="credit")
    assert exc.value.field == "payment_method"


@pytest.mark.django_db
def test_prepayment_is_confirmed_by_finance(place, buyer, subsidiary, staff_by_role):
    (order,) = place(buyer, [(sellable(seller=subsidiary), 1)])
    with pytest.raises(ConflictError):
        services.order_payment_confirm(order_id=order.pk, actor=buyer)
    finance = staff_by_role["finance"]
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    services.order_payment_confirm(order_id=order.pk, actor=finance)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.filter(to_status=Order.Status.PAID).count() == 1


@pytest.mark.django_db
def test_same_key_twice_returns_the_same_orders(place, buyer, subsidiary):
    product = sellable(seller=subsidiary)
    first = place(buyer, [(product, 2)], idempotency_key="k-1")
    again = place(buyer, [(product, 7)], idempotency_key="k-1")  # a different cart, too
    assert [o.pk for o in again] == [o.pk for o in first]
    assert Checkout.objects.count() == 1 and Order.objects.count() == 1
    assert _stock(product).reserved == 2
    assert CartLine.objects.get(cart__user=buyer).quantity == 7  # the replay left it alone


@pytest.mark.django_db
def test_empty_cart_is_refused(buyer, address):
    with pytest.raises(DomainError, match="cart is empty"):
        services.checkout_place(user=buyer, idempotency_key="x", fulfilment="delivery",
                                address_id=address.pk, payment_method="prepayment")
    assert not Checkout.objects.exists()


@pytest.mark.django_db
def test_ids_as_text_are_read_and_garbage_is_a_clear_error(place, buyer, subsidiary, address):
    product = sellable(seller=subsidiary)
    for field, value in (("address_id", "not a number"), ("address_id", 10 ** 20),
                         ("carrier_id", "x")):
        with pytest.raises(DomainError) as exc:
            place(buyer, [(product, 1)], **{field: value})
        assert exc.value.field == field
    assert not Order.objects.exists() and _stock(product).reserved == 0
    (order,) = place(buyer, [(product, 1)], address_id=str(address.pk))  # as a form posts it
    assert order.address == address


@pytest.mark.django_db
def test_cancel_releases_the_stock(place, buyer, subsidiary, cco):
    product = sellable(seller=subsidiary, on_hand="10")
    (order,) = place(buyer, [(product, 4)])
    services.order_cancel(order_id=order.pk, actor=buyer)
    assert _stock(product).reserved == 0
    services.order_cancel(order_id=order.pk, actor=buyer)  # again: nothing more released
    assert _stock(product).reserved == 0
    (order,) = place(buyer, [(product, 4)])
    with pytest.raises(DomainError, match="reason"):
        services.order_cancel(order_id=order.pk, actor=cco)
    services.order_cancel(order_id=order.pk, actor=cco, reason="Customer called")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and _stock(product).reserved == 0
    assert order.events.get(to_status="cancelled").note == "Customer called"


@pytest.mark.django_db
def test_buyer_cannot_cancel_a_confirmed_order(place, buyer, subsidiary, cco):
    (order,) = place(buyer, [(sellable(seller=subsidiary), 1)])
    services.order_confirm(order_id=order.pk, actor=cco)
    with pytest.raises(ConflictError, match="already confirmed"):
        services.order_cancel(order_id=order.pk, actor=buyer)


@pytest.mark.django_db
def test_cart_line_validates_quantity_and_price(buyer, subsidiary):
    product = sellable(seller=subsidiary, min_order_quantity=D("25"), quantity_step=D("25"))
    with pytest.raises(DomainError, match="minimum order is 25") as exc:
        services.cart_line_set(user=buyer, product_id=product.pk, quantity="10")
    assert exc.value.field == "quantity"
    services.cart_line_set(user=buyer, product_id=product.pk, quantity="50")
    services.cart_line_set(user=buyer, product_id=product.pk, quantity="75")
    assert CartLine.objects.get(cart__user=buyer).quantity == 75
    product.price_tiers.all().delete()
    with pytest.raises(DomainError, match="no valid price") as exc:
        services.cart_line_set(user=buyer, product_id=product.pk, quantity="50")
    assert exc.value.field == "quantity"
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=0)
    assert not CartLine.objects.filter(cart__user=buyer).exists()
    assert Cart.objects.filter(user=buyer).count() == 1


@pytest.mark.django_db
def test_requested_date_in_the_past_is_refused(place, buyer, subsidiary):
    with pytest.raises(DomainError) as exc:
        place(buyer, [(sellable(seller=subsidiary), 1)],
              requested_date=timezone.localdate() - datetime.timedelta(days=1))
    assert exc.value.field == "requested_date"


@pytest.mark.django_db
def test_finance_of_another_subsidiary_cannot_confirm_payment(place, buyer, subsidiary,
                                                              other_subsidiary):
    (order,) = place(buyer, [(sellable(seller=subsidiary), 1)])
    finance = StaffFactory(organization=other_subsidiary, roles=[Role.FINANCE])
    with pytest.raises(Order.DoesNotExist):
        services.order_payment_confirm(order_id=order.pk, actor=finance)
