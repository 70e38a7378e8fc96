"""The managers' morning digest through the outbox: each manager's scope, yesterday's
figures, the leaderboard's top and bottom five, and a second run that sends nothing."""

import datetime
from decimal import Decimal

import pytest

from accounts.models import Role
from orders.models import OutboxMessage
from reports import services
from reports.models import CcoDailyReport
from reports.services import rollups_refresh
from reports.tasks import digest_task
from tests.factories import StaffFactory
from tests.reports.factories import InquiryFactory, ReportFactory, at, cco

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 3, 9)


@pytest.fixture
def monday(world):
    """Monday 9 March: S sold 300.00 (world) and received two inquiries, A won one and
    missed a deadline; T received one. The snapshots of A and X (world) get the figures."""
    for seller, hour in [(world["S"], 9), (world["S"], 10), (world["T"], 11)]:
        InquiryFactory(seller=seller, received_at=at(2026, 3, 9, hour))
    rollups_refresh(day=MONDAY)
    CcoDailyReport.objects.filter(cco=world["A"], day=MONDAY).update(orders_won=1,
                                                                     deadline_misses=1)
    CcoDailyReport.objects.filter(cco=world["X"], day=MONDAY).update(deadline_misses=2)
    return world


def _body(user) -> str:
    return OutboxMessage.objects.get(to_email=user.email).body


def test_each_manager_gets_the_figures_of_their_scope(monday):
    world = monday
    assert services.digest_send(day=MONDAY) == 3

    s_body = _body(world["s_manager"])
    assert "the figures of 2026-03-09 for " + str(world["S"]) in s_body
    assert "Sales: ¥300.00 in 1 order\n" in s_body
    assert "Inquiries received: 2\n" in s_body
    assert "Inquiries won: 1\n" in s_body
    assert "Missed response deadlines: 1\n" in s_body
    assert "1. Alice S" in s_body and "Xavier T" not in s_body

    hq_body = _body(world["hq_manager"])
    assert "for the whole group" in hq_body
    assert "Inquiries received: 3\n" in hq_body and "Missed response deadlines: 3\n" in hq_body
    assert "1. Alice S (" in hq_body and "2. Xavier T (" in hq_body

    t_body = _body(world["t_manager"])
    assert "Sales: ¥0.00 in 0 orders" in t_body and "Alice S" not in t_body
    message = OutboxMessage.objects.get(to_email=world["s_manager"].email)
    assert message.kind == "digest"
    assert message.dedup_key == f"digest:2026-03-09:{world['s_manager'].pk}"
    assert message.subject == f"ChemMall daily report 2026-03-09: {world['S']}"
    # CCOs and buyers get none.
    assert not OutboxMessage.objects.filter(to_email__in=[world["s_cco"].email,
                                                          world["buyer"].email]).exists()


def test_running_twice_sends_nothing_twice(monday, django_capture_on_commit_callbacks):
    assert services.digest_send(day=MONDAY) == 3
    late = StaffFactory(organization=monday["S"], roles=[Role.SUBSIDIARY_MANAGER])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.digest_send(day=MONDAY) == 1  # only the manager new since
    assert len(callbacks) == 1
    assert services.digest_send(day=MONDAY) == 0
    assert OutboxMessage.objects.filter(kind="digest").count() == 4
    assert OutboxMessage.objects.filter(to_email=late.email).count() == 1


def test_top_and_bottom_five_by_score(world):
    for n in range(1, 8):  # scores 0.7 … 0.1 below A (0.9) and X (0.5)
        ReportFactory(cco=cco(world["S"], user__full_name=f"CCO {n}"), day=MONDAY,
                      score=Decimal(8 - n) / 10 - Decimal("0.05"))
    figures = services.digest_figures(world["hq_manager"], day=MONDAY)
    assert [row["cco"] for row in figures["top"]] == [
        "Alice S", "CCO 1", "CCO 2", "Xavier T", "CCO 3"]
    # Nine CCOs: the bottom five without those of the top five, ranks 6 to 9.
    assert [row["cco"] for row in figures["bottom"]] == ["CCO 4", "CCO 5", "CCO 6", "CCO 7"]
    assert [row["rank_in_group"] for row in figures["bottom"]] == [6, 7, 8, 9]
    body = services.digest_send(day=MONDAY) and _body(world["hq_manager"])
    assert "Bottom five:\n  6. CCO 4" in body


def test_the_task_sends_yesterdays_digest_in_shanghai(monday, clock):
    clock(at(2026, 3, 10, 8, 0))
    assert digest_task() == 3
    assert OutboxMessage.objects.filter(dedup_key__startswith="digest:2026-03-09:").count() == 3
    assert digest_task("2026-03-09") == 0
