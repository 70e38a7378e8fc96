import uuid

import pytest

from orders import services
from tests.orders.factories import AddressFactory


@pytest.fixture
def address(company):
    return AddressFactory(company=company, is_default=True)


@pytest.fixture
def place(address):
    """place(user, [(product, qty), …], **checkout kwargs) → orders; delivery by default."""

    def _place(user, items, **kwargs):
        for product, quantity in items:
            services.cart_line_set(user=user, product_id=product.pk, quantity=quantity)
        kwargs.setdefault("fulfilment", "delivery")
        if kwargs["fulfilment"] == "delivery":
            kwargs.setdefault("address_id", address.pk)
        kwargs.setdefault("payment_method", "prepayment")
        kwargs.setdefault("idempotency_key", uuid.uuid4().hex)
        return services.checkout_place(user=user, **kwargs)

    return _place
