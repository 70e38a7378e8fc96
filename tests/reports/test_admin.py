"""The reports admin: targets and channel spend scoped to the manager's subsidiary (another
subsidiary's rows are a 404 and not choosable), HQ sees the group; form errors, never a 500,
for a duplicate target or a CCO of another subsidiary; any day of a month stands for it."""

import datetime
from decimal import Decimal

import pytest

from accounts.services import roles_sync
from inquiries.models import Channel
from reports.models import ChannelSpend, SalesTarget

pytestmark = pytest.mark.django_db

TARGETS, SPEND = "/admin/reports/salestarget/", "/admin/reports/channelspend/"
MARCH = datetime.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def report_permissions(db):
    roles_sync()  # the groups get reports/permissions.py's permissions


@pytest.fixture
def rows(world):
    return {
        "S": SalesTarget.objects.create(month=MARCH, organization=world["S"],
                                        amount=Decimal("2000")),
        "T": SalesTarget.objects.create(month=MARCH, organization=world["T"],
                                        amount=Decimal("100")),
        "S spend": ChannelSpend.objects.create(month=MARCH, organization=world["S"],
                                               channel=Channel.PHONE, amount=Decimal("31")),
        "T spend": ChannelSpend.objects.create(month=MARCH, organization=world["T"],
                                               channel=Channel.PHONE, amount=Decimal("62")),
    }


def _form(organization, **overrides):
    return {"month": "2026-04-15", "organization": organization.pk, "cco": "",
            "amount": "5000.00", **overrides}


def test_a_subsidiary_manager_sees_and_edits_only_their_subsidiarys(client, world, rows):
    client.force_login(world["s_manager"])
    listing = client.get(TARGETS)
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset) == [rows["S"]]
    assert client.get(f"{TARGETS}{rows['T'].pk}/change/").status_code == 404
    assert client.post(f"{TARGETS}{rows['T'].pk}/delete/", {"post": "yes"}).status_code == 404
    assert list(client.get(SPEND).context["cl"].queryset) == [rows["S spend"]]
    assert client.get(f"{SPEND}{rows['T spend'].pk}/change/").status_code == 404

    form = client.get(f"{TARGETS}add/").context["adminform"].form
    assert list(form.fields["organization"].queryset) == [world["S"]]
    assert list(form.fields["cco"].queryset) == [world["A"]]


def test_adding_a_target(client, world, rows):
    client.force_login(world["s_manager"])
    response = client.post(f"{TARGETS}add/", _form(world["S"], cco=world["A"].pk))
    assert response.status_code == 302
    target = SalesTarget.objects.get(cco=world["A"])
    assert (target.month, target.amount) == (datetime.date(2026, 4, 1), Decimal("5000.00"))

    refused = client.post(f"{TARGETS}add/", _form(world["T"]))
    assert refused.status_code == 200
    assert "organization" in refused.context["adminform"].form.errors
    refused = client.post(f"{TARGETS}add/", _form(world["S"], cco=world["X"].pk))
    assert "cco" in refused.context["adminform"].form.errors
    # A second target of the whole subsidiary for March (no CCO): refused by the form.
    duplicate = client.post(f"{TARGETS}add/", _form(world["S"], month="2026-03-20"))
    assert duplicate.status_code == 200
    assert "already exists" in str(duplicate.context["adminform"].form.errors)
    assert SalesTarget.objects.filter(organization=world["S"], cco=None).count() == 1


def test_a_cco_of_another_subsidiary_is_refused_also_for_hq(client, world):
    client.force_login(world["hq_manager"])
    refused = client.post(f"{TARGETS}add/", _form(world["S"], cco=world["X"].pk))
    assert refused.status_code == 200
    assert "cco" in refused.context["adminform"].form.errors


def test_hq_sees_every_row_and_enters_spend(client, world, rows):
    client.force_login(world["hq_manager"])
    assert set(client.get(TARGETS).context["cl"].queryset) == {rows["S"], rows["T"]}
    assert set(client.get(SPEND).context["cl"].queryset) == {rows["S spend"], rows["T spend"]}
    response = client.post(f"{SPEND}add/", {"month": "2026-03-31", "organization": world["T"].pk,
                                            "channel": Channel.WECHAT, "amount": "880.00"})
    assert response.status_code == 302
    assert ChannelSpend.objects.get(channel=Channel.WECHAT).month == MARCH


def test_ccos_have_no_access(client, world, rows):
    client.force_login(world["s_cco"])
    assert client.get(TARGETS).status_code == 403
