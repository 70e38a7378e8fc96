"""Reads of the dealers app: who may see what, territory look-ups, due work, performance."""

import datetime
import statistics
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.utils import timezone

from accounts.models import Region

from .models import Assignment, CommissionLine, Dealer, Statement, Territory

REVIEW_MIN_ROUTED = 20
RECENT_DAYS = 90


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def dealer_of(user) -> Dealer | None:
    """The active dealer a portal user works for (None for everybody else)."""
    if not _active(user):
        return None
    return Dealer.objects.filter(users=user, is_active=True).order_by("pk").first()


def dealers_visible_to(user) -> QuerySet[Dealer]:
    """HQ staff: all. Subsidiary staff: their subsidiary's. A dealer user: its dealer."""
    qs = Dealer.objects.select_related("organization")
    if not _active(user):
        return qs.none()
    if user.is_hq_staff:
        return qs
    if user.organization_id:
        return qs.filter(organization__in=user.organization.subtree())
    return qs.filter(users=user, is_active=True)


def assignments_visible_to(user) -> QuerySet[Assignment]:
    # The inquiry's subject reads the product's chemical (or the chemical asked by CAS).
    return Assignment.objects.select_related(
        "dealer", "inquiry__product__category", "inquiry__product__chemical",
        "inquiry__chemical", "inquiry__delivery_region", "inquiry__seller",
        "inquiry__company").filter(dealer__in=dealers_visible_to(user))


def commission_lines_visible_to(user) -> QuerySet[CommissionLine]:
    return CommissionLine.objects.select_related("dealer", "order", "category",
                                                 "statement").filter(
        dealer__in=dealers_visible_to(user))


def statements_visible_to(user) -> QuerySet[Statement]:
    return Statement.objects.select_related("dealer").filter(dealer__in=dealers_visible_to(user))


def region_codes_covering(region: Region) -> list[str]:
    """The territory regions that contain `region`: itself and its province."""
    return sorted({region.code, region.province_code})


def dealers_covering(*, seller_id: int, region: Region, category_id: int | None = None):
    qs = Dealer.objects.filter(organization_id=seller_id, is_active=True,
                               territories__region_id__in=region_codes_covering(region))
    if category_id is not None:
        qs = qs.filter(categories=category_id)
    return qs.distinct()


def assignment_ids_timed_out(*, now: datetime.datetime, limit: int = 500) -> list[int]:
    return list(Assignment.objects.filter(status=Assignment.Status.ROUTED, due_at__lte=now)
                .order_by("due_at").values_list("pk", flat=True)[:limit])


def recent_scores(dealer_ids, *, now: datetime.datetime) -> dict[int, tuple[Decimal, Decimal]]:
    """(acceptance, conversion) of each dealer's inquiries routed in the last 90 days."""
    since = now - datetime.timedelta(days=RECENT_DAYS)
    rows = (Assignment.objects.filter(dealer_id__in=list(dealer_ids), routed_at__gte=since)
            .values_list("dealer_id", "status", "inquiry__status"))
    counts: dict[int, list[int]] = {pk: [0, 0, 0] for pk in dealer_ids}
    for dealer_id, status, inquiry_status in rows:
        c = counts[dealer_id]
        c[0] += 1
        c[1] += status == Assignment.Status.ACCEPTED
        c[2] += status == Assignment.Status.ACCEPTED and inquiry_status == "won"
    return {pk: ((Decimal(a) / n, Decimal(w) / n) if n else (Decimal(0), Decimal(0)))
            for pk, (n, a, w) in counts.items()}


# --- Performance --------------------------------------------------------------------------------


def dealer_performance(dealers) -> list[dict]:
    """Per dealer: routed, accepted, declined, timed out, won, conversion (won / routed),
    median response time; `flagged` when, over at least 20 routed inquiries, its conversion
    is under half of its peers' median (peers: the other dealers with routed inquiries)."""
    dealers = list(dealers)
    stats = {d.pk: {"dealer": d, "routed": 0, "accepted": 0, "declined": 0, "timed_out": 0,
                    "won": 0, "times": []} for d in dealers}
    rows = (Assignment.objects.filter(dealer_id__in=list(stats))
            .values_list("dealer_id", "status", "inquiry__status", "routed_at", "decided_at"))
    for dealer_id, status, inquiry_status, routed_at, decided_at in rows:
        s = stats[dealer_id]
        s["routed"] += 1
        if status != Assignment.Status.ROUTED:
            s[status] += 1
        if status == Assignment.Status.ACCEPTED and inquiry_status == "won":
            s["won"] += 1
        if decided_at and status in (Assignment.Status.ACCEPTED, Assignment.Status.DECLINED):
            s["times"].append((decided_at - routed_at).total_seconds())
    for s in stats.values():
        s["conversion"] = (Decimal(s["won"]) / s["routed"]) if s["routed"] else None
        times = s.pop("times")
        s["median_response"] = (datetime.timedelta(seconds=statistics.median(times))
                                if times else None)
    for pk, s in stats.items():
        peers = [p["conversion"] for q, p in stats.items()
                 if q != pk and p["conversion"] is not None]
        s["peer_median"] = statistics.median(peers) if peers else None
        s["flagged"] = bool(s["routed"] >= REVIEW_MIN_ROUTED and s["peer_median"] is not None
                            and s["conversion"] < s["peer_median"] / 2)
    return list(stats.values())


def territory_overlaps(dealers: QuerySet[Dealer]) -> list[dict]:
    """Pairs of dealers of one subsidiary whose territories overlap (same region, or a city
    inside the other's province)."""
    territories = list(Territory.objects.filter(dealer__in=dealers, dealer__is_active=True)
                       .select_related("dealer", "region"))
    found = []
    for i, a in enumerate(territories):
        for b in territories[i + 1:]:
            if a.dealer_id == b.dealer_id or a.dealer.organization_id != b.dealer.organization_id:
                continue
            if (a.region_id == b.region_id or a.region_id == b.region.province_code
                    or b.region_id == a.region.province_code):
                found.append({"first": a, "second": b})
    return found


def companies_with_several_dealers(dealers: QuerySet[Dealer]) -> list[dict]:
    """Buyer companies whose orders earned commission for more than one dealer."""
    rows = (CommissionLine.objects.filter(dealer__in=dealers, kind=CommissionLine.Kind.ACCRUAL)
            .values_list("order__company_id", "order__company__name", "dealer__name")
            .distinct().order_by("order__company_id"))
    by_company: dict[int, dict] = {}
    for company_id, name, dealer_name in rows:
        entry = by_company.setdefault(company_id, {"company": name, "dealers": set()})
        entry["dealers"].add(dealer_name)
    return [{"company": e["company"], "dealers": sorted(e["dealers"])}
            for e in by_company.values() if len(e["dealers"]) > 1]


def now_local_month_start(now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localdate(now or timezone.now()).replace(day=1)



def unsettled_total(dealer: Dealer) -> Decimal:
    """Commission accrued (less clawbacks) not on a statement yet."""
    total = (CommissionLine.objects.filter(dealer=dealer, statement__isnull=True)
             .aggregate(s=Sum("amount"))["s"])
    return total or Decimal("0.00")
