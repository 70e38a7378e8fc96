"""Routing at intake: the seller (product, CAS, HQ pool), the CCO (smooth weighted
round-robin under caps, duty, the new-CCO share), the stored reason — and concurrent
intake, which must neither push a CCO over its cap nor bend the shares."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Region, Role
from chemmall.errors import DomainError
from inquiries import routing, services
from inquiries.models import CcoProfile, Inquiry, InquiryEvent, LostReason
from tests.catalog.factories import ProductFactory, valid_cas
from tests.factories import BuyerFactory, HQFactory, StaffFactory, SubsidiaryFactory
from tests.orders.factories import StockFactory, sellable
from tests.orders.test_concurrency import _load_regions, _regions_back, _run_at_once  # noqa: F401

pytestmark = pytest.mark.django_db


def cco(org, *, weight="1", cap=1000, days=400, on_duty=True):
    """A CCO of `org` with a routing profile: CCO for `days` days (400: not new)."""
    user = StaffFactory(organization=org, roles=[Role.CCO])
    CcoProfile.objects.create(
        user=user, organization=org, performance_weight=Decimal(weight), open_cap=cap,
        is_on_duty=on_duty, started_on=timezone.localdate() - datetime.timedelta(days=days))
    return user


def ask(product=None, *, buyer=None, **kwargs):
    """One inquiry through the service: for `product`, else by the CAS/name in kwargs; a
    guest's unless `buyer` is given."""
    kwargs.setdefault("quantity", "10")
    if buyer is None:
        kwargs.setdefault("contact_name", "Li Lei")
        kwargs.setdefault("contact_email", "li.lei@example.com")
    if product is not None:
        kwargs["product_id"] = product.pk
    return services.inquiry_submit(buyer=buyer, **kwargs)


def owners_of(inquiries) -> Counter:
    return Counter(i.owner_id for i in inquiries)


# --- Intake: bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"product_id": 999999}, "product_id"),
    ({"requested_cas": "7664-93-8"}, "requested_cas"),  # wrong check digit
    ({"requested_cas": "not a cas"}, "requested_cas"),
    ({"requested_name": "x", "quantity": "0"}, "quantity"),
    ({"requested_name": "x", "quantity": "-5"}, "quantity"),
    ({"requested_name": "x", "quantity": "lots"}, "quantity"),
    ({"requested_name": "x", "needed_by": datetime.date(2020, 1, 1)}, "needed_by"),
    ({"requested_name": "x", "contact_name": " "}, "contact_name"),
    ({"requested_name": "x", "contact_email": "", "contact_phone": ""}, "contact_email"),
    ({"requested_name": "x", "delivery_region_code": "999999"}, "delivery_region"),
    ({"requested_name": " "}, "requested_name"),
])
def test_bad_intake_is_refused_and_nothing_is_saved(subsidiary, kwargs, field):
    cco(subsidiary)

    with pytest.raises(DomainError) as refused:
        ask(**kwargs)

    assert refused.value.field == field
    assert not Inquiry.objects.exists() and not InquiryEvent.objects.exists()
    assert CcoProfile.objects.get().current_weight == 0


def test_guests_are_rate_limited_per_address(hq, settings):
    settings.GUEST_INQUIRIES_PER_HOUR = 3
    for _i in range(3):
        ask(requested_name="Anything", client_ip="10.1.2.3")

    with pytest.raises(DomainError) as refused:
        ask(requested_name="Anything", client_ip="10.1.2.3")

    assert refused.value.code == "rate_limited"
    assert ask(requested_name="Anything", client_ip="10.1.2.4").pk  # another address


# --- Step 1: the seller -------------------------------------------------------------------------


def test_a_product_inquiry_goes_to_the_products_seller(subsidiary, other_subsidiary):
    cco(subsidiary)
    theirs = cco(other_subsidiary)
    product = sellable(seller=other_subsidiary)

    inquiry = ask(product)

    assert inquiry.seller == other_subsidiary and inquiry.owner == theirs
    assert inquiry.chemical == product.chemical and not inquiry.is_unlisted
    assert f"Product of {other_subsidiary.name}." in inquiry.routing_reason


def test_a_cas_we_list_goes_to_a_subsidiary_selling_it(subsidiary, other_subsidiary):
    cco(subsidiary)
    theirs = cco(other_subsidiary)
    product = ProductFactory(seller=other_subsidiary)  # listed, no stock anywhere

    inquiry = ask(requested_cas=product.chemical.cas.replace("-", ""), requested_name="x")

    assert inquiry.requested_cas == product.chemical.cas
    assert inquiry.seller == other_subsidiary and inquiry.owner == theirs
    assert inquiry.chemical == product.chemical and not inquiry.is_unlisted
    assert f"{other_subsidiary.name} sells CAS {product.chemical.cas}." in inquiry.routing_reason


@pytest.fixture
def two_sellers_of_one_cas(hq):
    """Shandong sells a chemical with 5 t in Zibo; Jiangsu the same with 200 kg in Suzhou."""
    shandong = SubsidiaryFactory(parent=hq)
    jiangsu = SubsidiaryFactory(parent=hq)
    for org in (shandong, jiangsu):
        cco(org)
    big = ProductFactory(seller=shandong)
    small = ProductFactory(seller=jiangsu, chemical=big.chemical)
    StockFactory(product=big, on_hand=Decimal("5000"),
                 depot__region=Region.objects.get(code="370300"))
    local = StockFactory(product=small, on_hand=Decimal("200"),
                         depot__region=Region.objects.get(code="320500"))
    return shandong, jiangsu, big.chemical.cas, local


def test_an_unlisted_request_prefers_the_seller_with_stock_in_the_delivery_province(
        two_sellers_of_one_cas):
    shandong, jiangsu, cas, _local = two_sellers_of_one_cas

    to_suzhou = ask(requested_cas=cas, delivery_region_code="320500")  # a city of Jiangsu
    to_shandong = ask(requested_cas=cas, delivery_region_code="370000")  # the province
    anywhere = ask(requested_cas=cas)

    assert to_suzhou.seller == jiangsu
    province = Region.objects.get(code="320000").name
    assert (f"{jiangsu.name} sells CAS {cas} and has it in stock in {province}."
            in to_suzhou.routing_reason)
    assert to_shandong.seller == shandong
    assert anywhere.seller == shandong  # no province: the most stock available wins
    assert "in stock in" not in anywhere.routing_reason


def test_stock_all_reserved_does_not_count_as_local(two_sellers_of_one_cas):
    shandong, _jiangsu, cas, local = two_sellers_of_one_cas
    local.reserved = local.on_hand
    local.save()

    assert ask(requested_cas=cas, delivery_region_code="320500").seller == shandong


def test_an_unknown_chemical_goes_to_the_hq_pool(hq, subsidiary):
    cco(subsidiary)
    pool = cco(hq)
    inactive = ProductFactory(seller=subsidiary, is_active=False)

    by_name = ask(requested_name="Tetrakis(widget)methane")
    by_cas = ask(requested_cas=valid_cas(9001))
    only_inactive = ask(requested_cas=inactive.chemical.cas)

    for inquiry in (by_name, by_cas, only_inactive):
        assert inquiry.seller == hq and inquiry.owner == pool
        assert inquiry.is_unlisted
        assert "No subsidiary sells this chemical: the HQ pool answers." in \
            inquiry.routing_reason
    assert by_cas.requested_cas == valid_cas(9001) and by_cas.chemical is None
    assert only_inactive.chemical == inactive.chemical


# --- Step 3: the CCO ----------------------------------------------------------------------------


def test_a_cco_at_the_cap_gets_nothing_more(subsidiary):
    full = cco(subsidiary, cap=2)
    other = cco(subsidiary, cap=100)
    product = sellable(seller=subsidiary)

    inquiries = [ask(product) for _i in range(8)]

    assert owners_of(inquiries) == {full.pk: 2, other.pk: 6}
    last = inquiries[-1]
    assert last.owner == other and "among 1 CCOs under their cap" in last.routing_reason


def test_closed_inquiries_do_not_count_against_the_cap(subsidiary):
    only = cco(subsidiary, cap=1)
    product = sellable(seller=subsidiary)
    first = ask(product)
    services.inquiry_close_lost(inquiry_id=first.pk, actor=only, reason=LostReason.DUPLICATE)

    assert ask(product).owner == only


def test_with_every_cco_at_the_cap_the_manager_takes_it(subsidiary, manager):
    only = cco(subsidiary, cap=1)
    product = sellable(seller=subsidiary)

    first, second = ask(product), ask(product)

    assert first.owner == only
    assert second.owner == manager and second.status == Inquiry.Status.ASSIGNED
    assert second.response_due_at is not None
    assert (f"No CCO of {subsidiary.name} is on duty under the cap: the manager "
            f"{manager.full_name} takes it.") in second.routing_reason


def test_with_nobody_free_it_waits_and_the_sweep_assigns_it_once_someone_is(subsidiary):
    only = cco(subsidiary, cap=1)
    product = sellable(seller=subsidiary)
    first = ask(product)

    waiting = ask(product)

    assert waiting.owner is None and waiting.status == Inquiry.Status.NEW
    assert waiting.response_due_at is None and waiting.remind_at is None
    assert "it waits in the queue" in waiting.routing_reason
    assert not waiting.events.filter(kind=InquiryEvent.Kind.ASSIGNED).exists()
    events_before = waiting.events.count()

    assert services.inquiries_sweep()["assigned"] == 0  # still nobody free
    assert services.inquiries_sweep()["assigned"] == 0
    assert waiting.events.count() == events_before  # asking again writes nothing

    services.inquiry_close_lost(inquiry_id=first.pk, actor=only, reason=LostReason.PRICE)
    assert services.inquiries_sweep()["assigned"] == 1
    waiting.refresh_from_db()
    assert waiting.owner == only and waiting.status == Inquiry.Status.ASSIGNED
    assert waiting.response_due_at > timezone.now() and waiting.remind_at is not None
    assert waiting.events.filter(kind=InquiryEvent.Kind.ASSIGNED).count() == 1
    assert services.inquiries_sweep()["assigned"] == 0  # once


def test_off_duty_ccos_are_skipped(subsidiary, manager):
    away = cco(subsidiary, on_duty=False, weight="5")
    here = cco(subsidiary)
    product = sellable(seller=subsidiary)

    assert owners_of([ask(product) for _i in range(4)]) == {here.pk: 4}

    CcoProfile.objects.filter(user=here).update(is_on_duty=False)
    assert ask(product).owner == manager
    CcoProfile.objects.filter(user=away).update(is_on_duty=True)
    assert ask(product).owner == away


def test_former_and_inactive_ccos_are_skipped(subsidiary):
    left = cco(subsidiary, weight="5")
    left.is_active = False
    left.save()
    moved_on = cco(subsidiary, weight="5")
    moved_on.groups.clear()  # no longer a CCO
    stays = cco(subsidiary)
    product = sellable(seller=subsidiary)

    assert owners_of([ask(product) for _i in range(3)]) == {stays.pk: 3}


def test_shares_follow_the_weights_smoothly_and_deterministically(subsidiary, buyer):
    one, two, three = (cco(subsidiary, weight=w) for w in ("1", "2", "3"))
    product = sellable(seller=subsidiary)

    owners = [ask(product, buyer=buyer).owner_id for _i in range(120)]

    assert Counter(owners) == {one.pk: 20, two.pk: 40, three.pk: 60}
    # nginx's smooth weighted round-robin: c b a c b c, again and again (ties: lower id)
    assert owners[:6] == [three.pk, two.pk, one.pk, three.pk, two.pk, three.pk]
    assert all(owners[i] == owners[i % 6] for i in range(len(owners)))


def test_shares_within_five_percent_for_uneven_weights(subsidiary, buyer):
    weights = {cco(subsidiary, weight=w).pk: Decimal(w) for w in ("0.7", "1.3", "2.25")}
    product = sellable(seller=subsidiary)

    counts = Counter(ask(product, buyer=buyer).owner_id for _i in range(170))

    total = sum(weights.values())
    for user_id, weight in weights.items():
        expected = float(weight / total) * 170
        assert abs(counts[user_id] - expected) <= 0.05 * expected, (counts, user_id)


def test_a_new_cco_gets_a_fifth_of_a_normal_share(subsidiary, buyer):
    veteran = cco(subsidiary, days=400)
    newcomer = cco(subsidiary, days=3)
    product = sellable(seller=subsidiary)

    counts = owners_of([ask(product, buyer=buyer) for _i in range(60)])

    assert counts == {veteran.pk: 50, newcomer.pk: 10}  # 1 : 0.2


@pytest.mark.parametrize(("days", "weight"), [(0, "0.4"), (29, "0.4"), (30, "2"), (400, "2")])
def test_the_new_cco_share_ends_after_thirty_days(subsidiary, days, weight):
    user = cco(subsidiary, weight="2", days=days)
    assert routing.effective_weight(user.cco_profile, today=timezone.localdate()) == \
        Decimal(weight)


def test_a_cco_without_a_profile_gets_one_and_starts_as_new(subsidiary, buyer):
    veteran = cco(subsidiary)
    joined = StaffFactory(organization=subsidiary, roles=[Role.CCO])  # no profile yet
    product = sellable(seller=subsidiary)

    counts = owners_of([ask(product, buyer=buyer) for _i in range(12)])

    profile = CcoProfile.objects.get(user=joined)
    assert profile.organization == subsidiary and profile.started_on == timezone.localdate()
    assert counts == {veteran.pk: 10, joined.pk: 2}


def test_rerouting_excludes_the_current_owner(subsidiary):
    first, second = cco(subsidiary), cco(subsidiary)
    inquiry = ask(sellable(seller=subsidiary))
    other = second if inquiry.owner == first else first

    for _i in range(4):  # whatever the round-robin counters say
        decision = routing.route(inquiry, exclude_user_ids={inquiry.owner_id}, keep_seller=True)
        assert decision.owner == other and decision.seller == subsidiary


def test_the_decision_and_its_reason_are_stored_and_on_the_timeline(subsidiary):
    user = cco(subsidiary, cap=40)
    inquiry = ask(sellable(seller=subsidiary))

    inquiry.refresh_from_db()
    assert inquiry.routing_reason == (
        f"Product of {subsidiary.name}. {user.full_name} chosen by weighted round-robin among "
        f"1 CCOs under their cap (share 100%, 0 of 40 open).")
    routed = inquiry.events.get(kind=InquiryEvent.Kind.ROUTED)
    assert routed.body == inquiry.routing_reason and not routed.is_public
    assert inquiry.events.get(kind=InquiryEvent.Kind.ASSIGNED).body == user.full_name
    assert inquiry.assigned_at is not None


# --- Concurrent intake --------------------------------------------------------------------------


@pytest.fixture
def racing_seller(_regions_back, transactional_db):  # noqa: F811
    """A subsidiary with a product and eight buyers, on a clean, committed database."""
    _load_regions()
    seller = SubsidiaryFactory(parent=HQFactory())
    return seller, sellable(seller=seller), [BuyerFactory() for _i in range(8)]


def _submit_many(product, buyers, per_buyer: int) -> list:
    def submit(buyer):
        return [ask(product, buyer=buyer) for _i in range(per_buyer)]

    results = _run_at_once(submit, [(b,) for b in buyers])
    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert errors == []
    return [i for r in results.values() for i in r]


def test_concurrent_intake_keeps_the_shares(racing_seller):
    seller, product, buyers = racing_seller
    ccos = [cco(seller, weight=w) for w in ("1", "2", "3")]

    inquiries = _submit_many(product, buyers, per_buyer=15)

    assert len(inquiries) == 120
    stored = Counter(Inquiry.objects.filter(seller=seller).values_list("owner_id", flat=True))
    assert stored == {ccos[0].pk: 20, ccos[1].pk: 40, ccos[2].pk: 60}
    # The counters went round exactly 20 times: all back at zero.
    assert set(CcoProfile.objects.values_list("current_weight", flat=True)) == {Decimal(0)}


def test_concurrent_intake_never_pushes_a_cco_over_the_cap(racing_seller):
    seller, product, buyers = racing_seller
    caps = {cco(seller, cap=cap, weight=w).pk: cap for cap, w in ((3, "3"), (4, "1"), (5, "2"))}
    manager = StaffFactory(organization=seller, roles=[Role.SUBSIDIARY_MANAGER])

    inquiries = _submit_many(product, buyers, per_buyer=4)  # 32 for 12 places

    assert len(inquiries) == 32
    stored = Counter(Inquiry.objects.filter(seller=seller).values_list("owner_id", flat=True))
    assert {pk: stored[pk] for pk in caps} == caps  # each exactly full, none over
    assert stored[manager.pk] == 32 - sum(caps.values())
