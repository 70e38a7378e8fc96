"""Routing: who answers an inquiry, decided at intake in the same transaction.

`route()` runs the steps named in settings.INQUIRY_ROUTING_STEPS in order. Each step gets
the `Decision` so far and may decide something and say why; a step that settles the
inquiry completely (the dealers app hands it to a dealer) sets `decision.done`. The steps
of this module:

1. `step_seller` — the product's subsidiary; for an unlisted chemical a subsidiary that
   sells that CAS number (one with stock in the delivery province first), else the HQ pool.
2. (dealers plug in here: a dotted path in the setting, so inquiries never imports dealers.)
3. `step_cco` — smooth weighted round-robin among the seller's on-duty CCOs under their cap;
   a CCO in the first 30 days weighs a fifth. The seller's CCO profiles are locked while
   choosing, so concurrent intake never exceeds a cap and the shares hold. The choice itself
   is `cco_choose` over a locked `CcoPool`; the deadline sweep locks the pools of a batch's
   sellers once and runs the same `cco_choose` for every escalation in it.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.models import Organization, Role, User
from catalog.models import Product, Stock
from chemmall.db import Prepared

from . import bulk
from .models import CcoProfile, Inquiry

NEW_CCO_DAYS = 30
NEW_CCO_SHARE = Decimal("0.2")


@dataclass
class Decision:
    inquiry: Inquiry
    exclude_user_ids: set[int] = field(default_factory=set)
    seller: Organization | None = None
    owner: User | None = None
    reasons: list[str] = field(default_factory=list)
    rerouting: bool = False  # within the seller that has it (escalation, given back)
    done: bool = False  # a step settled it: later steps do nothing
    delegated: bool = False  # ... by handing it to someone outside (a dealer)

    def say(self, reason: str) -> None:
        self.reasons.append(reason)


def route(inquiry: Inquiry, *, exclude_user_ids=(), keep_seller: bool = False) -> Decision:
    """Run the routing steps; the caller stores the decision (services.inquiry_assign)."""
    decision = Decision(inquiry=inquiry, exclude_user_ids=set(exclude_user_ids),
                        seller=inquiry.seller if keep_seller else None, rerouting=keep_seller)
    for dotted in settings.INQUIRY_ROUTING_STEPS:
        if decision.done:
            break
        import_string(dotted)(decision)
    return decision


# --- Step 1: the seller -------------------------------------------------------------------------


def step_seller(decision: Decision) -> None:
    if decision.seller is not None:
        return  # re-routing within the subsidiary that already has it
    inquiry = decision.inquiry
    if inquiry.product_id:
        decision.seller = inquiry.product.seller
        decision.say(_("Product of %(seller)s.") % {"seller": decision.seller.name})
        return
    cas = inquiry.chemical.cas if inquiry.chemical_id else inquiry.requested_cas
    if cas:
        seller, reason = _seller_for_cas(cas, inquiry.delivery_region)
        if seller is not None:
            decision.seller = seller
            decision.say(reason)
            return
    decision.seller = hq_pool()
    decision.say(_("No subsidiary sells this chemical: the HQ pool answers."))


def hq_pool() -> Organization:
    return Organization.objects.filter(kind=Organization.Kind.HQ).order_by("pk").first()


def _seller_for_cas(cas: str, region) -> tuple[Organization | None, str]:
    """A subsidiary that sells the CAS number: one with stock in a depot of the delivery
    province first, then the one with most stock available anywhere, then the oldest."""
    offers = Product.objects.filter(chemical__cas=cas, is_active=True, seller__is_active=True,
                                    seller__kind=Organization.Kind.SUBSIDIARY)
    sellers = sorted(set(offers.values_list("seller_id", flat=True)))
    if not sellers:
        return None, ""
    stock = Stock.objects.filter(product__in=offers, on_hand__gt=F("reserved"),
                                 depot__is_active=True)
    province = region.province_code if region is not None else None
    local = set(stock.filter(Q(depot__region_id=province) | Q(depot__region__parent_id=province))
                .values_list("product__seller_id", flat=True)) if province else set()
    available = dict(stock.values("product__seller_id").annotate(
        n=Sum(F("on_hand") - F("reserved"))).values_list("product__seller_id", "n").order_by())
    best = min(sellers, key=lambda s: (s not in local, -available.get(s, 0), s))
    seller = Organization.objects.get(pk=best)
    if best in local:
        reason = _("%(seller)s sells CAS %(cas)s and has it in stock in %(province)s.") % {
            "seller": seller.name, "cas": cas,
            "province": region.parent.name if region.parent_id else region.name}
    else:
        reason = _("%(seller)s sells CAS %(cas)s.") % {"seller": seller.name, "cas": cas}
    return seller, reason


# --- Step 3: the CCO ----------------------------------------------------------------------------


# The reads of every intake's CCO step, compiled once (chemmall.db.Prepared).
_ccos_without_profile = Prepared(lambda organization_ids, group: User.objects.filter(
    organization_id__in=organization_ids, is_active=True, groups__name=group,
    cco_profile__isnull=True).values_list("pk", "organization_id", "date_joined")
    .distinct().order_by())
_open_counts = Prepared(lambda user_ids, statuses: Inquiry.objects.filter(
    owner_id__in=user_ids, status__in=statuses).values("owner_id").annotate(n=Count("pk"))
    .values_list("owner_id", "n").order_by())
_profiles_locked = Prepared(lambda organization_ids, group: CcoProfile.objects.select_for_update(
    of=("self",)).filter(organization_id__in=organization_ids,
                         user__organization_id=F("organization_id"), user__is_active=True,
                         user__groups__name=group).select_related("user").order_by("pk"))


def cco_profiles_ensure(organization: Organization) -> None:
    """Every active CCO of the organisation has a routing profile (new CCOs too)."""
    cco_profiles_ensure_many([organization.pk])


def cco_profiles_ensure_many(organization_ids) -> None:
    missing = _ccos_without_profile.all(organization_ids=[int(pk) for pk in organization_ids],
                                        group=str(Role.CCO))
    if missing:
        CcoProfile.objects.bulk_create(
            [CcoProfile(user_id=pk, organization_id=org, started_on=timezone.localdate(joined))
             for pk, org, joined in missing], ignore_conflicts=True)


def effective_weight(profile: CcoProfile, *, today: datetime.date) -> Decimal:
    weight = profile.performance_weight
    if (today - profile.started_on).days < NEW_CCO_DAYS:
        weight *= NEW_CCO_SHARE
    return weight


def open_counts(user_ids) -> dict[int, int]:
    user_ids = list(user_ids)
    if not user_ids:
        return {}
    return dict(_open_counts.all(user_ids=user_ids, statuses=list(Inquiry.OPEN_STATUSES)))


@dataclass
class CcoPool:
    """A seller's CCO profiles, locked, with their open counts: what the round-robin chooses
    from. One intake chooses once; the sweep chooses for a whole batch of the seller's
    escalations, keeping the counts up to date in memory (`moved`)."""

    seller: Organization
    profiles: list[CcoProfile]
    counts: dict[int, int]
    today: datetime.date
    managers: list[User] | None = None  # loaded when first needed
    weights: dict[int, Decimal] = field(default_factory=dict)  # profile pk: effective weight

    def weight(self, profile: CcoProfile) -> Decimal:
        if profile.pk not in self.weights:
            self.weights[profile.pk] = effective_weight(profile, today=self.today)
        return self.weights[profile.pk]

    def manager(self, *, exclude=()) -> User | None:
        """What `subsidiary_manager` answers, from one look-up per pool."""
        if self.managers is None:
            self.managers = managers_of(self.seller)
        return next((m for m in self.managers if m.pk not in exclude), None)

    def moved(self, *, from_user_id: int | None, to_user_id: int | None) -> None:
        """An open inquiry changed hands: the counts the next choice sees."""
        if from_user_id is not None:
            self.counts[from_user_id] = self.counts.get(from_user_id, 0) - 1
        if to_user_id is not None:
            self.counts[to_user_id] = self.counts.get(to_user_id, 0) + 1


def cco_pool_lock(seller: Organization) -> CcoPool:
    """The seller's profiles, locked together in pk order (concurrent intakes and sweeps
    queue here), and the open inquiries of each CCO."""
    return cco_pools_lock([seller])[seller.pk]


def cco_pools_lock(sellers: list[Organization]) -> dict[int, CcoPool]:
    """`cco_pool_lock` for several sellers in three statements (the sweep): all their
    profiles locked in one pk order, as every locker does, so nobody deadlocks. The pools
    share one dict of open counts."""
    by_id = {seller.pk: seller for seller in sellers}
    cco_profiles_ensure_many(by_id)
    profiles = _profiles_locked.all(organization_ids=list(by_id), group=str(Role.CCO))
    counts = open_counts(p.user_id for p in profiles)
    today = timezone.localdate()
    pools = {pk: CcoPool(seller=seller, profiles=[], counts=counts, today=today)
             for pk, seller in by_id.items()}
    for profile in profiles:
        pools[profile.organization_id].profiles.append(profile)
    return pools


def cco_choose(pool: CcoPool, *, exclude_user_ids=()) -> tuple[User | None, str, list]:
    """(owner, reason, profiles whose counter moved) for one inquiry: smooth weighted
    round-robin among the on-duty CCOs under their cap, else the manager, else nobody.
    Changes the counters in memory; the caller stores them (`cco_counters_store`)."""
    seller, counts = pool.seller, pool.counts
    candidates = [p for p in pool.profiles
                  if p.is_on_duty and p.user_id not in exclude_user_ids
                  and counts.get(p.user_id, 0) < p.open_cap]
    if not candidates:
        manager = pool.manager(exclude=exclude_user_ids)
        if manager is not None:
            return manager, _("No CCO of %(seller)s is on duty under the cap: the manager "
                              "%(manager)s takes it.") % {
                "seller": seller.name, "manager": manager.get_full_name()}, []
        return None, _("Nobody at %(seller)s can take it now: it waits in the queue and is "
                       "assigned as soon as a CCO is free.") % {"seller": seller.name}, []
    # Smooth weighted round-robin (as nginx balances upstreams): deterministic, and over
    # any stretch of assignments each CCO's share follows its weight.
    weights = {p.pk: pool.weight(p) for p in candidates}
    total = sum(weights.values())
    for p in candidates:
        p.current_weight += weights[p.pk]
    chosen = max(candidates, key=lambda p: (p.current_weight, -p.pk))
    chosen.current_weight -= total
    share = (weights[chosen.pk] / total * 100).quantize(Decimal("1"))
    reason = (_("%(cco)s chosen by weighted round-robin among %(n)s CCOs under their cap "
                "(share %(share)s%%, %(open)s of %(cap)s open).")
              % {"cco": chosen.user.get_full_name(), "n": len(candidates), "share": share,
                 "open": counts.get(chosen.user_id, 0), "cap": chosen.open_cap})
    return chosen.user, reason, candidates


def step_cco(decision: Decision) -> None:
    pool = cco_pool_lock(decision.seller)
    owner, reason, moved = cco_choose(pool, exclude_user_ids=decision.exclude_user_ids)
    if moved:
        cco_counters_store(moved)
    decision.owner = owner
    decision.say(reason)


def cco_counters_store(profiles: list[CcoProfile]) -> None:
    """Write the round-robin counters of the locked profiles in one plain UPDATE (not
    bulk_update's Case expression per row: a fraction of the time, inside the section every
    intake of the seller queues for)."""
    bulk.rows_update(profiles, ["current_weight"])


def subsidiary_manager(organization: Organization, *, exclude=()) -> User | None:
    return (User.objects.filter(organization=organization, is_active=True,
                                groups__name=Role.SUBSIDIARY_MANAGER)
            .exclude(pk__in=list(exclude)).order_by("pk").first())


def managers_of(organization: Organization) -> list[User]:
    return list(User.objects.filter(organization=organization, is_active=True,
                                    groups__name=Role.SUBSIDIARY_MANAGER).order_by("pk"))


def managers_by_organization(organization_ids) -> dict[int, list[User]]:
    """`managers_of` for many organisations in one look-up."""
    found: dict[int, list[User]] = {pk: [] for pk in organization_ids}
    for user in User.objects.filter(organization_id__in=list(found), is_active=True,
                                    groups__name=Role.SUBSIDIARY_MANAGER).order_by("pk"):
        found[user.organization_id].append(user)
    return found


OWN_STEPS = ["inquiries.routing.step_seller", "inquiries.routing.step_cco"]


def only_own_steps() -> bool:
    """Re-routing within the seller is this module's round-robin alone, so the sweep may
    choose for a whole batch at once (`cco_choose`): true when every other configured step
    says it only takes part in first routing (`first_routing_only = True` on the function,
    as the dealers' step does: escalations never go to a dealer)."""
    steps = list(settings.INQUIRY_ROUTING_STEPS)
    others = [dotted for dotted in steps if dotted not in OWN_STEPS]
    return (all(getattr(import_string(dotted), "first_routing_only", False)
                for dotted in others)
            and [dotted for dotted in steps if dotted in OWN_STEPS] == OWN_STEPS)
