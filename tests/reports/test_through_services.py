"""The report reads what the inquiries and orders services write: a day lived through them
under a fixed clock — a quote revised twice and accepted into an order, an inquiry left
to miss its deadline until the sweep escalates it."""

import datetime
from decimal import Decimal

import pytest

from inquiries import services
from reports.models import CcoDailyReport
from reports.services import cco_daily_report_compute
from tests.inquiries.test_routing import ask, cco
from tests.orders.factories import AddressFactory, sellable
from tests.reports.factories import at

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 10)


def quote(inquiry, price: str):
    return services.quote_send(
        inquiry_id=inquiry.pk, actor=inquiry.owner, product_id=inquiry.product_id,
        quantity="100", unit_price=price, valid_until=DAY + datetime.timedelta(days=10),
        lead_time_days=7, incoterm="DAP", payment_terms="30 days net")


def test_a_day_through_the_services(subsidiary, buyer, company, clock):
    clock(at(2026, 3, 1, 9))  # the set-up: a CCO, a product at 10 CNY with 1,000 kg
    owner = cco(subsidiary)
    product = sellable(seller=subsidiary, price="10.00", on_hand="1000")
    address = AddressFactory(company=company)

    clock(at(2026, 3, 10, 9))  # due 14:00 (4 working hours, 12–13 not counted)
    won = ask(product, buyer=buyer, quantity="100")
    clock(at(2026, 3, 10, 9, 30))  # due 14:30
    missed = ask(product, buyer=buyer, quantity="50")
    clock(at(2026, 3, 10, 10))
    quote(won, "9.50")  # the first answer: 60 working minutes, in time
    clock(at(2026, 3, 10, 11))
    quote(won, "9.20")
    clock(at(2026, 3, 10, 14, 31))
    assert services.inquiries_sweep()["escalated"] == 1  # `missed`: one miss, due 14:30
    clock(at(2026, 3, 10, 15))
    third = quote(won, "9.00")
    clock(at(2026, 3, 10, 16))
    order = services.quote_accept(quote_id=third.pk, buyer=buyer, fulfilment="delivery",
                                  address_id=address.pk, payment_method="prepayment")
    assert order.total == Decimal("900.00")  # 100 kg at 9.00, VAT included

    assert cco_daily_report_compute(day=DAY) == 1

    row = CcoDailyReport.objects.get(cco=owner, day=DAY)
    assert (row.received, row.answered, row.answered_on_time) == (2, 1, 1)
    assert row.median_first_response_minutes == Decimal("60.0")
    assert (row.quotes_sent, row.orders_won, row.sales_amount) == (3, 1, Decimal("900.00"))
    # v1: "quoted" and the move assigned → quoted; v2 and v3: "quote revised". The intake's,
    # the sweep's and the buyer's entries are not the CCO's.
    assert (row.messages, row.workload, row.deadline_misses) == (0, 4, 1)
    # Alone in the subsidiary, the CCO tops every component: 0.5 + 0.3 + 0.2 − 0.1.
    assert (row.score, row.rank_in_subsidiary, row.rank_in_group) == (Decimal("0.9000"), 1, 1)
    assert missed.misses.get().due_at == at(2026, 3, 10, 14, 30)
