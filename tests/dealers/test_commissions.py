"""Commissions and settlement: accrual once an order is completed and paid, at the won-deal
rate for a deal won from a routed inquiry and at the base rate for any other order into the
territory, category rates first; clawback of returned orders; monthly statements, once, with
the month's edges in Asia/Shanghai; finance marks them paid; the review flag."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Region
from chemmall.errors import ConflictError, DomainError
from dealers import selectors, services
from dealers.models import Assignment, CategoryRate, CommissionLine, Statement
from inquiries import services as inquiry_services
from orders import services as order_services
from tests.dealers.conftest import HANGZHOU, complete_and_pay, dealer_user, make_dealer
from tests.inquiries.test_routing import ask
from tests.orders.factories import AddressFactory, sellable
from tests.orders.test_concurrency import _load_regions, _regions_back  # noqa: F401

pytestmark = pytest.mark.django_db
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def bought(w, *, quantity="10", price="113.00", product=None, address=None,
           payment="prepayment"):
    """An order at 113 CNY incl. 13 % VAT per unit: 100 CNY net each."""
    return order_services.order_place_at_price(
        user=w.buyer, product_id=(product or w.product).pk, quantity=quantity,
        unit_price=price, tax_inclusive=True, fulfilment="delivery",
        payment_method=payment, address_id=(address or w.address).pk)


def won_from_dealer(w):
    """A routed inquiry the dealer accepts and quotes and the buyer accepts: the order."""
    inquiry = ask(w.product, buyer=w.buyer, quantity="10",
                  delivery_region_code=w.address.region_id)
    pk = inquiry.dealer_assignment.pk
    services.assignment_accept(assignment_id=pk, user=w.user)
    sent = services.dealer_quote_send(
        assignment_id=pk, user=w.user, product_id=w.product.pk, quantity="10",
        unit_price="113.00", valid_until=timezone.localdate() + dt.timedelta(days=3),
        lead_time_days=2, incoterm="DAP", payment_terms="Prepayment")
    return inquiry_services.quote_accept(quote_id=sent.quote.pk, buyer=w.buyer,
                                         fulfilment="delivery", address_id=w.address.pk,
                                         payment_method="prepayment")


def test_nothing_accrues_before_completion_and_payment(world):
    order = bought(world)
    assert services.commissions_sweep() == {"accrued": 0, "clawed_back": 0}
    order_services.order_confirm(order_id=order.pk, actor=world.staff)
    order_services.order_payment_confirm(order_id=order.pk, actor=world.finance)
    assert services.commissions_sweep()["accrued"] == 0  # paid, not completed
    assert not CommissionLine.objects.exists()


def test_territory_order_accrues_at_the_base_rate_once(world):
    complete_and_pay(bought(world), seller_staff=world.staff, finance=world.finance)
    assert services.commissions_sweep()["accrued"] == 1
    assert services.commissions_sweep()["accrued"] == 0
    line = CommissionLine.objects.get()
    # 10 × 113.00 = 1,130.00 incl. VAT; 130.00 VAT; 1,000.00 × 2 % = 20.00.
    assert (line.dealer, line.kind, line.basis) == (world.dealer, "accrual", "territory")
    assert (line.base_amount, line.rate, line.amount) == (
        Decimal("1000.00"), Decimal("2.00"), Decimal("20.00"))


def test_won_deal_accrues_at_the_won_rate_with_the_category_override(world):
    CategoryRate.objects.create(dealer=world.dealer, category=world.category,
                                base_rate=Decimal("1.50"), won_rate=Decimal("7.25"))
    order = complete_and_pay(won_from_dealer(world), seller_staff=world.staff,
                             finance=world.finance)
    services.commissions_sweep()
    line = CommissionLine.objects.get(order=order)
    assert (line.basis, line.rate) == ("routed_won", Decimal("7.25"))
    assert line.amount == Decimal("72.50")  # 1,000.00 × 7.25 %


def test_an_order_in_two_categories_gets_a_line_each(world):
    other = sellable(seller=world.seller, price="56.50", on_hand="1000")
    world.dealer.categories.add(other.category)
    CategoryRate.objects.create(dealer=world.dealer, category=other.category,
                                base_rate=Decimal("3.00"), won_rate=Decimal("9.00"))
    cart = [(world.product, "10"), (other, "4")]
    for product, quantity in cart:
        order_services.cart_line_set(user=world.buyer, product_id=product.pk,
                                     quantity=quantity)
    orders = order_services.checkout_place(
        user=world.buyer, idempotency_key="two-categories", fulfilment="delivery",
        address_id=world.address.pk, payment_method="prepayment")
    order = orders[0] if isinstance(orders, list) else orders
    complete_and_pay(order, seller_staff=world.staff, finance=world.finance)
    services.commissions_sweep()
    amounts = {line.category_id: (line.rate, line.amount)
               for line in CommissionLine.objects.filter(order=order)}
    assert amounts[world.category.pk][0] == Decimal("2.00")
    assert amounts[other.category.pk][0] == Decimal("3.00")
    assert len(amounts) == 2


def test_orders_outside_every_territory_accrue_nothing(world):
    hangzhou = AddressFactory(company=world.company, region=Region.objects.get(code=HANGZHOU))
    complete_and_pay(bought(world, address=hangzhou), seller_staff=world.staff,
                     finance=world.finance)
    assert services.commissions_sweep()["accrued"] == 0


def test_credit_orders_accrue_once_the_invoice_is_paid(world):
    world.company.credit_limit, world.company.payment_terms_days = Decimal("100000"), 30
    world.company.save()
    order = bought(world, payment="credit")
    order_services.order_confirm(order_id=order.pk, actor=world.staff)
    order_services.order_mark_ready(order_id=order.pk, actor=world.staff)
    order_services.order_ship(order_id=order.pk, actor=world.staff, tracking_number="SF2")
    order_services.order_complete(order_id=order.pk, actor=world.staff)
    assert services.commissions_sweep()["accrued"] == 0
    order_services.order_invoice_paid(order_id=order.pk, actor=world.finance)
    assert services.commissions_sweep()["accrued"] == 1


def test_a_returned_order_is_clawed_back_once(world):
    order = complete_and_pay(bought(world), seller_staff=world.staff, finance=world.finance)
    services.commissions_sweep()
    with pytest.raises(DomainError):
        order_services.order_return(order_id=order.pk, actor=world.staff, reason="")
    order_services.order_return(order_id=order.pk, actor=world.staff, reason="Wrong grade")
    assert services.commissions_sweep()["clawed_back"] == 1
    assert services.commissions_sweep()["clawed_back"] == 0
    clawback = CommissionLine.objects.get(order=order, kind="clawback")
    assert (clawback.base_amount, clawback.amount) == (Decimal("-1000.00"), Decimal("-20.00"))
    assert sum(line.amount for line in CommissionLine.objects.filter(order=order)) == 0
    assert "returned" in clawback.note


def test_a_clawback_for_an_order_never_accrued_is_refused(world):
    order = bought(world)
    with pytest.raises(ConflictError) as error:
        services.commission_clawback(order_id=order.pk)
    assert error.value.code == "not_returned"
    order_services.order_cancel(order_id=order.pk, actor=world.buyer)
    with pytest.raises(ConflictError) as error:
        services.commission_clawback(order_id=order.pk)
    assert error.value.code == "never_accrued"
    assert not CommissionLine.objects.exists()


# --- Settlement ---------------------------------------------------------------------------------


def line_at(w, when: dt.datetime, amount="10.00") -> CommissionLine:
    order = bought(w)
    return CommissionLine.objects.create(
        dealer=w.dealer, order=order, category=w.category, kind="accrual", basis="territory",
        base_amount=Decimal("500.00"), rate=Decimal("2.00"), amount=Decimal(amount),
        created_at=when)


def test_statement_month_edges_are_shanghai_days(world):
    october_last = line_at(world, dt.datetime(2026, 10, 31, 23, 59, tzinfo=SHANGHAI), "1.00")
    november_first = line_at(world, dt.datetime(2026, 11, 1, 0, 1, tzinfo=SHANGHAI), "2.00")
    # 2026-10-31 16:30 UTC is already November in Shanghai.
    november_utc = line_at(world, dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC), "4.00")
    [october] = services.statements_issue(month=dt.date(2026, 10, 1))
    assert list(october.lines.all()) == [october_last] and october.total == Decimal("1.00")
    [november] = services.statements_issue(month=dt.date(2026, 11, 1))
    assert set(november.lines.all()) == {november_first, november_utc}
    assert november.total == Decimal("6.00")


def test_settlement_is_idempotent_and_late_lines_go_to_the_next(world):
    line_at(world, dt.datetime(2026, 10, 5, 12, tzinfo=SHANGHAI))
    first = services.statements_issue(month=dt.date(2026, 10, 1))
    assert len(first) == 1
    # A line for an October order accrued on 1 November: not on October's statement.
    late = line_at(world, dt.datetime(2026, 11, 1, 0, 30, tzinfo=SHANGHAI), "3.00")
    assert services.statements_issue(month=dt.date(2026, 10, 1)) == []
    statement = Statement.objects.get(month=dt.date(2026, 10, 1))
    assert statement.total == Decimal("10.00") and statement.lines.count() == 1
    [november] = services.statements_issue(month=dt.date(2026, 11, 1))
    assert list(november.lines.all()) == [late]


def test_a_month_not_over_is_refused(world):
    with pytest.raises(DomainError):
        services.statements_issue(month=timezone.localdate().replace(day=1))


def test_the_task_settles_the_previous_month(world):
    from dealers.tasks import statements_issue_task
    last_month = services.previous_month()
    line_at(world, timezone.now() - dt.timedelta(days=40))
    assert statements_issue_task() == 1
    assert statements_issue_task() == 0
    assert Statement.objects.get().month == last_month


@pytest.fixture
def regions_loaded(_regions_back, transactional_db):  # noqa: F811 (the fixture by name)
    """A transactional test before this one (on this worker) flushed the regions."""
    _load_regions()


@pytest.mark.django_db(transaction=True)
def test_two_settlement_runs_at_once_write_one_statement(regions_loaded, world):
    line_at(world, dt.datetime(2026, 10, 5, 12, tzinfo=SHANGHAI))
    results, barrier = [], threading.Barrier(2)

    def run():
        barrier.wait()
        try:
            results.append(len(services.statements_issue(month=dt.date(2026, 10, 1))))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert Statement.objects.count() == 1


def test_finance_marks_a_statement_paid(world):
    line_at(world, dt.datetime(2026, 10, 5, 12, tzinfo=SHANGHAI))
    [statement] = services.statements_issue(month=dt.date(2026, 10, 1))
    with pytest.raises(ConflictError):
        services.statement_mark_paid(statement_id=statement.pk, actor=world.staff)
    paid = services.statement_mark_paid(statement_id=statement.pk, actor=world.finance)
    assert paid.status == "paid" and paid.paid_by == world.finance
    with pytest.raises(Statement.DoesNotExist):
        services.statement_mark_paid(statement_id=statement.pk, actor=world.buyer)


# --- Review flag --------------------------------------------------------------------------------


def test_a_dealer_converting_under_half_its_peers_median_is_flagged(world):
    peers = [make_dealer(world.seller, name=f"Peer {i}") for i in range(2)]
    diverter = world.dealer

    def history(dealer, routed: int, won: int):
        for i in range(routed):
            inquiry = ask(world.product, buyer=world.buyer, quantity="10")  # to a CCO
            Assignment.objects.create(inquiry=inquiry, dealer=dealer, status="accepted",
                                      due_at=timezone.now(), decided_at=timezone.now())
            if i < won:
                type(inquiry).objects.filter(pk=inquiry.pk).update(status="won")

    history(diverter, 20, 2)  # 10 %
    history(peers[0], 10, 5)  # 50 %
    history(peers[1], 10, 4)  # 40 %: median 45 %, half of it 22.5 %
    rows = {row["dealer"].pk: row for row in selectors.dealer_performance(
        [diverter, *peers])}
    assert rows[diverter.pk]["flagged"] and rows[diverter.pk]["conversion"] == Decimal("0.1")
    assert not rows[peers[0].pk]["flagged"]  # too few routed to judge, and converting
    assert services.dealer_flags_update() == 1
    diverter.refresh_from_db()
    assert diverter.flagged_at is not None and "10%" in diverter.flag_note
    assert services.dealer_flags_update() == 0


def test_nineteen_routed_is_too_few_to_flag(world):
    peer = make_dealer(world.seller, name="Peer")
    for dealer, routed, won in ((world.dealer, 19, 0), (peer, 10, 5)):
        for i in range(routed):
            inquiry = ask(world.product, buyer=world.buyer, quantity="10")
            Assignment.objects.create(inquiry=inquiry, dealer=dealer, status="accepted",
                                      due_at=timezone.now())
            if i < won:
                type(inquiry).objects.filter(pk=inquiry.pk).update(status="won")
    rows = {row["dealer"].pk: row for row in selectors.dealer_performance([world.dealer, peer])}
    assert not rows[world.dealer.pk]["flagged"]


def test_portal_user_sees_only_its_dealer(world):
    other = make_dealer(world.seller, regions=[HANGZHOU], name="杭州经销")
    assert list(selectors.dealers_visible_to(dealer_user(other))) == [other]
    assert set(selectors.dealers_visible_to(world.staff)) == {world.dealer, other}
    assert list(selectors.dealers_visible_to(world.buyer)) == []


def test_a_missed_first_is_caught_up_and_only_once(world):
    """Beat asks daily: the first run after the 1st issues the month, later runs nothing —
    not even for a dealer added since (its first statement is next month's)."""
    from dealers.tasks import statements_issue_task
    line_at(world, timezone.now() - dt.timedelta(days=40))
    assert statements_issue_task() == 1
    make_dealer(world.seller, regions=[HANGZHOU], name="新经销商")
    assert statements_issue_task() == 0
    assert Statement.objects.count() == 1
