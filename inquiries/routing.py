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
   choosing, so concurrent intake never exceeds a cap and the shares hold.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.models import Organization, Role, User
from catalog.models import Product, Stock

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
    done: bool = False  # a step settled it: later steps do nothing

    def say(self, reason: str) -> None:
        self.reasons.append(reason)


def route(inquiry: Inquiry, *, exclude_user_ids=(), keep_seller: bool = False) -> Decision:
    """Run the routing steps; the caller stores the decision (services.inquiry_assign)."""
    decision = Decision(inquiry=inquiry, exclude_user_ids=set(exclude_user_ids),
                        seller=inquiry.seller if keep_seller else None)
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


def cco_profiles_ensure(organization: Organization) -> None:
    """Every active CCO of the organisation has a routing profile (new CCOs too)."""
    missing = (User.objects.filter(organization=organization, is_active=True,
                                   groups__name=Role.CCO, cco_profile__isnull=True)
               .values_list("pk", "date_joined").distinct().order_by())
    if missing := list(missing):
        CcoProfile.objects.bulk_create(
            [CcoProfile(user_id=pk, organization=organization,
                        started_on=timezone.localdate(joined)) for pk, joined in missing],
            ignore_conflicts=True)


def effective_weight(profile: CcoProfile, *, today: datetime.date) -> Decimal:
    weight = profile.performance_weight
    if (today - profile.started_on).days < NEW_CCO_DAYS:
        weight *= NEW_CCO_SHARE
    return weight


def open_counts(user_ids) -> dict[int, int]:
    rows = (Inquiry.objects.filter(owner_id__in=list(user_ids),
                                   status__in=Inquiry.OPEN_STATUSES)
            .values("owner_id").annotate(n=Count("pk")).order_by())
    return {row["owner_id"]: row["n"] for row in rows}


def step_cco(decision: Decision) -> None:
    seller = decision.seller
    cco_profiles_ensure(seller)
    # The seller's profiles, locked together in pk order: concurrent intakes queue here.
    profiles = list(
        CcoProfile.objects.select_for_update(of=("self",))
        .filter(organization=seller, user__organization=seller, user__is_active=True,
                user__groups__name=Role.CCO)
        .select_related("user").order_by("pk")
    )
    counts = open_counts(p.user_id for p in profiles)
    today = timezone.localdate()
    candidates = [p for p in profiles
                  if p.is_on_duty and p.user_id not in decision.exclude_user_ids
                  and counts.get(p.user_id, 0) < p.open_cap]
    if not candidates:
        manager = subsidiary_manager(seller, exclude=decision.exclude_user_ids)
        decision.owner = manager
        if manager is not None:
            decision.say(_("No CCO of %(seller)s is on duty under the cap: the manager "
                           "%(manager)s takes it.") % {"seller": seller.name,
                                                       "manager": manager.get_full_name()})
        else:
            decision.say(_("Nobody at %(seller)s can take it now: it waits in the queue and "
                           "is assigned as soon as a CCO is free.") % {"seller": seller.name})
        return
    # Smooth weighted round-robin (as nginx balances upstreams): deterministic, and over
    # any stretch of assignments each CCO's share follows its weight.
    weights = {p.pk: effective_weight(p, today=today) for p in candidates}
    total = sum(weights.values())
    for p in candidates:
        p.current_weight += weights[p.pk]
    chosen = max(candidates, key=lambda p: (p.current_weight, -p.pk))
    chosen.current_weight -= total
    _store_counters(candidates)
    decision.owner = chosen.user
    share = (weights[chosen.pk] / total * 100).quantize(Decimal("1"))
    decision.say(
        _("%(cco)s chosen by weighted round-robin among %(n)s CCOs under their cap "
          "(share %(share)s%%, %(open)s of %(cap)s open).")
        % {"cco": chosen.user.get_full_name(), "n": len(candidates), "share": share,
           "open": counts.get(chosen.user_id, 0), "cap": chosen.open_cap})


def _store_counters(profiles: list[CcoProfile]) -> None:
    """Write the round-robin counters of the locked profiles in one plain UPDATE (what
    bulk_update does, without building a Case expression per row: a fifth of the time,
    inside the section every intake of the seller queues for)."""
    quote = connection.ops.quote_name
    table, pk = quote(CcoProfile._meta.db_table), quote(CcoProfile._meta.pk.column)
    column = quote(CcoProfile._meta.get_field("current_weight").column)
    whens = " ".join(["WHEN %s THEN CAST(%s AS NUMERIC)"] * len(profiles))
    ids = ", ".join(["%s"] * len(profiles))
    params = [x for p in profiles for x in (p.pk, p.current_weight)] + [p.pk for p in profiles]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = CASE {pk} {whens} END "
                       f"WHERE {pk} IN ({ids})", params)


def subsidiary_manager(organization: Organization, *, exclude=()) -> User | None:
    return (User.objects.filter(organization=organization, is_active=True,
                                groups__name=Role.SUBSIDIARY_MANAGER)
            .exclude(pk__in=list(exclude)).order_by("pk").first())


def managers_of(organization: Organization) -> list[User]:
    return list(User.objects.filter(organization=organization, is_active=True,
                                    groups__name=Role.SUBSIDIARY_MANAGER).order_by("pk"))
