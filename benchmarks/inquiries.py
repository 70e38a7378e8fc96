"""Inquiries benchmark: concurrent intake through the service layer, then the deadline sweep.

    .venv/bin/python benchmarks/inquiries.py            # full run, a few minutes
    .venv/bin/python benchmarks/inquiries.py --quick    # a few seconds of work (CI)
    .venv/bin/python benchmarks/inquiries.py --profile  # the statements of one intake and
                                                        # one escalation, then exit
    .venv/bin/python benchmarks/inquiries.py --clients 2 --inquiries 2000 --skip-sweep

The script sets up everything it needs: the database named by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/chemmall_bench_inquiries) is dropped, created and
migrated. Celery publishes the outbox sends to Redis database 13 (REDIS_URL), which no
worker reads; the script empties that database before and after.

Intake. One subsidiary with 20 CCOs of different routing weights (two of them in their
first 30 days, so they weigh a fifth), a manager, 50 products with a public price list and
stock, and one buyer company per client. `--clients` processes (`--threads`: threads in one
process) each submit their share of `--inquiries` through `services.inquiry_submit` — a
listed product mostly, every tenth by CAS number only (routing then looks for a
subsidiary selling it) — after a few untimed warm-up inquiries. Every intake routes at once
(the CCO chosen by smooth weighted round-robin under the profile lock), sets the response
deadline on the working calendar (China's holidays imported) and writes the events and the
owner's notification. Latency is the wall time of one call; inquiries/s is the number
submitted over the wall time from the start barrier to the last client's end. Then the
checks: no CCO above its cap, and each CCO's share of the subsidiary's inquiries against
its effective weight's share (target within ±5 % of it).

Sweep. 50 other subsidiaries with 20 CCOs (cap 150) and a manager each; `--open` open
inquiries loaded with bulk_create (not through the service), assigned evenly (100 per CCO
for 100,000), all with deadlines in the future. Three sweeps are timed, each followed by
a second run that must find nothing: idle (nothing due: the cost of looking), `--due`
reminders due, `--due` deadlines passed (each escalation records the miss, re-routes
within the subsidiary with a fresh deadline and notifies the owner and the manager). The
selectors alone (finding the due work among the open inquiries) are timed too.

Targets (inquiries issue, "Speed"): >= 200 inquiries/s with 8 clients, every CCO within
its cap, shares within ±5 % of the weights; one sweep over 100,000 open inquiries with
1,000 due in under 1 s.
"""

import argparse
import datetime
import math
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

common.environment("chemmall_bench_inquiries")

RATE_TARGET = 200
SHARE_TOLERANCE = 0.05
SWEEP_TARGET_S = 1.0
CCOS = 20
# Routing weights of the 20 intake CCOs; the last two are new (a fifth of their weight).
WEIGHTS = [Decimal(w) for w in ("0.5", "0.75", "1", "1", "1.25", "1.5", "1.5", "2", "2",
                                "2.5", "3", "1", "1.2", "0.8", "1.8", "2.2", "1", "1.4",
                                "2", "3")]
NEW_CCOS = 2
PRODUCTS = 50
SWEEP_SELLERS, SWEEP_CCOS = 50, 20  # 1,000 CCOs: 100,000 open inquiries are 100 each










def _analyze(vacuum: bool = False) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")


# --- Data -------------------------------------------------------------------------------------


def _cas(casrn, n: int) -> str:
    body = f"{700000 + n}-{n % 100:02d}"
    return f"{body}-{casrn.calc_check_digit(body)}"


def _uscc(n: int) -> str:
    from stdnum.cn import uscc

    body = f"9132058{n:010d}"[:17]
    return body + uscc.calc_check_digit(body)


def _staff(org, prefix: str, count: int, role: str) -> list:
    from django.contrib.auth.models import Group

    from accounts.models import User

    users = User.objects.bulk_create([
        User(email=f"{prefix}{j:02d}@bench.example", full_name=f"{prefix.upper()} {j:02d}",
             organization=org, is_staff=True, password="!")
        for j in range(count)])
    Group.objects.get(name=role).user_set.add(*users)
    return users


def load_intake(*, clients: int) -> dict:
    """The calendar, HQ, the intake subsidiary (20 CCOs with profiles, a manager, products
    with prices and stock) and one buyer per client."""
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from stdnum import casrn

    from accounts import services as account_services
    from accounts.models import (
        Company,
        Depot,
        Membership,
        Organization,
        Region,
        Role,
        User,
        WorkingCalendar,
    )
    from catalog.models import Category, Chemical, PriceList, PriceTier, Product, Stock
    from inquiries.models import CcoProfile

    calendar = WorkingCalendar.objects.create(name="Bench calendar")
    year = timezone.localdate().year
    account_services.working_calendar_sync_holidays(calendar_id=calendar.pk,
                                                    years=[year, year + 1])
    hq = Organization.objects.create(code="hq", name_zh="基准集团", name_en="Bench Group",
                                     kind=Organization.Kind.HQ, calendar=calendar)
    seller = Organization.objects.create(code="bench-intake", name_zh="基准受理子公司",
                                         name_en="Bench Intake Sub", parent=hq,
                                         kind=Organization.Kind.SUBSIDIARY, calendar=calendar)
    suzhou = Region.objects.get(code="320500")
    depot = Depot.objects.create(code="BI-01", name_zh="基准仓库", name_en="Bench depot",
                                 organization=seller, region=suzhou, address="苏州工业园区 1 号")
    ccos = _staff(seller, "cco", CCOS, Role.CCO)
    _staff(seller, "manager", 1, Role.SUBSIDIARY_MANAGER)
    today = timezone.localdate()
    CcoProfile.objects.bulk_create([
        CcoProfile(user=u, organization=seller, performance_weight=WEIGHTS[i],
                   open_cap=32000,  # lowered below, once the expected shares are known
                   started_on=today - datetime.timedelta(
                       days=3 if i >= CCOS - NEW_CCOS else 400))
        for i, u in enumerate(ccos)])

    category = Category.objects.create(key="bench", name_en="Bench", name_zh="基准")
    chemicals = Chemical.objects.bulk_create([
        Chemical(cas=_cas(casrn, n), name_en=f"Bench compound {n}", name_zh=f"基准化合物{n}")
        for n in range(PRODUCTS)])
    products = Product.objects.bulk_create([
        Product(seller=seller, chemical=c, category=category, sku=f"BENCH-{n:04d}",
                packaging="25 kg bag") for n, c in enumerate(chemicals)])
    price_list = PriceList.objects.create(seller=seller, name="Bench public list",
                                          valid_from=today.replace(day=1))
    PriceTier.objects.bulk_create([
        PriceTier(price_list=price_list, product=p, min_quantity=Decimal(0),
                  unit_price=Decimal("25.00")) for p in products])
    Stock.objects.bulk_create([Stock(product=p, depot=depot, on_hand=Decimal(100000))
                               for p in products])

    buyer_group = Group.objects.get(name=Role.BUYER)
    jiangsu = Region.objects.get(code="320000")
    buyers = []
    for w in range(clients):
        company = Company.objects.create(name=f"基准客户{w}有限公司", uscc=_uscc(w),
                                         province=jiangsu, city=suzhou)
        user = User.objects.create(email=f"buyer{w}@bench.example", full_name=f"Buyer {w}",
                                   password="!")
        Membership.objects.create(user=user, company=company, is_admin=True)
        buyer_group.user_set.add(user)
        buyers.append(user.pk)
    _analyze()
    return {"seller": seller.pk, "products": [(p.pk, p.chemical.cas, p.chemical.name_en)
                                              for p in products],
            "buyers": buyers}


def set_caps(seller_id: int, total: int) -> None:
    """Caps a little above each CCO's expected share of `total`: they must hold, and must
    not bind (a binding cap would move the shares away from the weights, by design)."""
    from inquiries import routing
    from inquiries.models import CcoProfile

    profiles = list(CcoProfile.objects.filter(organization_id=seller_id))
    today = datetime.date.today()
    weights = {p.pk: routing.effective_weight(p, today=today) for p in profiles}
    whole = sum(weights.values())
    for p in profiles:
        p.open_cap = min(32000, math.ceil(float(weights[p.pk] / whole) * total * 1.1) + 5)
    CcoProfile.objects.bulk_update(profiles, ["open_cap"])


# --- Intake clients ---------------------------------------------------------------------------


def submit_inquiries(*, user_id: int, products: list, count: int, warmup: int, seed: int,
                     start, results) -> None:
    """`warmup` untimed intakes, the start signal, then `count` timed ones."""
    from django.db import connection

    from accounts.models import User
    from inquiries import services

    rng = random.Random(seed)
    user = User.objects.get(pk=user_id)
    latencies, errors = [], Counter()

    def one() -> None:
        product_id, cas, name = rng.choice(products)
        fields = {"buyer": user, "quantity": str(rng.randint(1, 40) * 25),
                  "delivery_region_code": "320500",
                  "message": "Please quote with delivery to Suzhou."}
        if rng.random() < 0.1:
            services.inquiry_submit(requested_cas=cas, requested_name=name, unit="kg",
                                    **fields)
        else:
            services.inquiry_submit(product_id=product_id, **fields)

    try:
        for _i in range(warmup):
            one()
        start.wait()
        database_cpu = common.backend_cpu_seconds(connection)
        began, cpu = time.perf_counter(), time.process_time()
        for _i in range(count):
            t0 = time.perf_counter()
            try:
                one()
            except Exception as exc:  # noqa: BLE001 — counted and reported, never hidden
                errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            else:
                latencies.append(time.perf_counter() - t0)
        ended, cpu = time.perf_counter(), time.process_time() - cpu
        database_cpu = common.backend_cpu_seconds(connection) - database_cpu
        results.put({"latencies": latencies, "errors": dict(errors), "began": began,
                     "ended": ended, "cpu": cpu, "database_cpu": database_cpu})
    finally:
        connection.close()


def run_intake(ids: dict, *, clients: int, total: int, warmup: int, threads: bool,
               seed: int) -> dict:
    from django.db import connections

    connections.close_all()  # a forked child must not share the parent's connection
    if threads:
        import queue

        start, results = threading.Barrier(clients), queue.Queue()
        spawn = threading.Thread
    else:
        ctx = multiprocessing.get_context("fork")
        start, results = ctx.Barrier(clients), ctx.Queue()
        spawn = ctx.Process
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    workers = [
        spawn(target=submit_inquiries, kwargs={
            "user_id": ids["buyers"][i], "products": ids["products"], "count": per_client[i],
            "warmup": warmup, "seed": seed * 1000 + i, "start": start, "results": results})
        for i in range(clients)]
    for w in workers:
        w.start()
    reports = [results.get(timeout=1800) for _w in workers]
    for w in workers:
        w.join(timeout=60)
    latencies = sorted(x for r in reports for x in r["latencies"])
    errors = Counter()
    for r in reports:
        errors.update(r["errors"])
    wall = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    return {"count": len(latencies), "wall": wall, "latencies": latencies,
            "errors": dict(errors), "clients": clients, "cpu": sum(r["cpu"] for r in reports),
            "database_cpu": sum(r["database_cpu"] for r in reports)}




def intake_check(seller_id: int) -> dict:
    """Open inquiries per CCO against its cap, and its share against its weight's."""
    from django.db.models import Count
    from django.utils import timezone

    from inquiries import routing
    from inquiries.models import CcoProfile, Inquiry

    profiles = list(CcoProfile.objects.filter(organization_id=seller_id)
                    .select_related("user").order_by("user__email"))
    counts = dict(Inquiry.objects.filter(seller_id=seller_id).values("owner_id")
                  .annotate(n=Count("pk")).values_list("owner_id", "n").order_by())
    open_counts = routing.open_counts(p.user_id for p in profiles)
    today = timezone.localdate()
    weights = {p.pk: routing.effective_weight(p, today=today) for p in profiles}
    whole_weight = sum(weights.values())
    assigned = sum(counts.get(p.user_id, 0) for p in profiles)
    rows, worst = [], 0.0
    for p in profiles:
        expected = float(weights[p.pk] / whole_weight)
        share = counts.get(p.user_id, 0) / assigned if assigned else 0.0
        deviation = (share - expected) / expected if expected else 0.0
        # An inquiry is indivisible: with few of them (--quick) one more or less than the
        # exact share can be more than 5 % of a small share; that is not a deviation.
        if abs(counts.get(p.user_id, 0) - expected * assigned) > 1:
            worst = max(worst, abs(deviation))
        rows.append((p.user.email, weights[p.pk], p.open_cap, open_counts.get(p.user_id, 0),
                     share, expected, deviation))
    over_cap = [r for r in rows if r[3] > r[2]]
    unassigned = counts.get(None, 0)
    return {"rows": rows, "over_cap": over_cap, "worst": worst, "assigned": assigned,
            "unassigned": unassigned, "ok": not over_cap and worst <= SHARE_TOLERANCE}


def report_intake(result: dict, check: dict) -> bool:
    lat = [x * 1000 for x in result["latencies"]]
    rate = result["count"] / result["wall"] if result["wall"] else 0.0
    p50, p95, p99 = (common.percentile(lat, p) for p in (50, 95, 99))
    errors = "; ".join(f"{k} × {v}" for k, v in sorted(result["errors"].items())) or "none"
    print(f"\nIntake: {result['clients']} clients, {result['count']} inquiries in "
          f"{result['wall']:.2f} s")
    print(f"  inquiries/s {rate:8.1f}   (target >= {RATE_TARGET}: "
          f"{'met' if rate >= RATE_TARGET else 'MISSED'})")
    print(f"  latency ms  p50 {p50:6.1f}   p95 {p95:6.1f}   p99 {p99:6.1f}   max "
          f"{max(lat, default=float('nan')):6.1f}   mean "
          f"{statistics.fmean(lat) if lat else float('nan'):6.1f}")
    print(f"  errors: {errors}")
    print("  " + common.cpu_split(operations=result["count"] + sum(result["errors"].values()),
                                  cpu=result["cpu"], database_cpu=result["database_cpu"],
                                  what="inquiry"))
    print(f"  {'CCO':<22} {'weight':>7} {'cap':>5} {'open':>5} {'share':>7} {'expected':>8} "
          f"{'dev':>7}")
    for email, weight, cap, open_now, share, expected, deviation in check["rows"]:
        print(f"  {email:<22} {weight:>7.3f} {cap:>5} {open_now:>5} {share:>7.2%} "
              f"{expected:>8.2%} {deviation:>+7.2%}")
    print(f"  every CCO within its cap: {'yes' if not check['over_cap'] else 'NO'}; "
          f"largest share deviation {check['worst']:.2%} beyond ±1 inquiry (target "
          f"within ±5 %): "
          f"{'met' if check['worst'] <= SHARE_TOLERANCE else 'MISSED'}; "
          f"assigned {check['assigned']}, unassigned {check['unassigned']}")
    return check["ok"] and not result["errors"]


# --- Sweep ------------------------------------------------------------------------------------


def load_sweep(*, open_count: int, calendar_id: int) -> list[int]:
    """SWEEP_SELLERS subsidiaries with SWEEP_CCOS CCOs (profiles) and a manager each, and
    `open_count` open, assigned inquiries with deadlines 2–4 hours ahead (reminders an hour
    before), by bulk_create.
    Returns the inquiry ids in a fixed shuffled order."""
    from django.utils import timezone

    from accounts.models import Organization, Role
    from inquiries.models import CcoProfile, Inquiry

    hq = Organization.objects.get(kind=Organization.Kind.HQ)
    now = timezone.now()
    owners = []
    sellers = Organization.objects.bulk_create([
        Organization(code=f"bench-sweep-{s:02d}", name_zh=f"基准巡检子公司{s}",
                     name_en=f"Bench Sweep Sub {s}", parent=hq,
                     kind=Organization.Kind.SUBSIDIARY, calendar_id=calendar_id)
        for s in range(SWEEP_SELLERS)])
    started = timezone.localdate() - datetime.timedelta(days=400)
    for s, seller in enumerate(sellers):
        ccos = _staff(seller, f"s{s:02d}cco", SWEEP_CCOS, Role.CCO)
        _staff(seller, f"s{s:02d}manager", 1, Role.SUBSIDIARY_MANAGER)
        CcoProfile.objects.bulk_create([
            CcoProfile(user=u, organization=seller, open_cap=150, started_on=started)
            for u in ccos])
        owners.append((seller, ccos))
    rng = random.Random(7)
    rows = []
    for n in range(open_count):
        seller, ccos = owners[n % SWEEP_SELLERS]
        received = now - datetime.timedelta(minutes=rng.randint(1, 60))
        due = now + datetime.timedelta(minutes=rng.randint(120, 240))
        rows.append(Inquiry(
            number=f"RFQB{n:08d}", status=Inquiry.Status.ASSIGNED, requested_name="Bench",
            requested_cas="", is_unlisted=True, quantity=Decimal(100), seller=seller,
            owner=ccos[(n // SWEEP_SELLERS) % SWEEP_CCOS], routing_reason="bench",
            received_at=received, assigned_at=received,
            remind_at=due - datetime.timedelta(minutes=60), response_due_at=due,
            contact_name="Bench", contact_email="bench@bench.example",
            access_token=f"bench-{n:08d}"))
    Inquiry.objects.bulk_create(rows, batch_size=5000)
    _analyze(vacuum=True)
    ids = list(Inquiry.objects.filter(number__startswith="RFQB").values_list("pk", flat=True))
    rng.shuffle(ids)
    return ids


def timed_sweep() -> tuple[float, dict, int]:
    """(seconds, what the sweep did, statements it sent)."""
    from django.db import connection

    from inquiries import services

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        t0 = time.perf_counter()
        done = services.inquiries_sweep()
        seconds = time.perf_counter() - t0
    return seconds, done, statements


def timed_selectors() -> float:
    """The sweep's look-ups alone: finding what is due among the open inquiries."""
    from django.utils import timezone

    from inquiries import selectors

    now = timezone.now()
    t0 = time.perf_counter()
    selectors.inquiry_ids_to_remind(now=now)
    selectors.inquiry_ids_overdue(now=now)
    selectors.inquiries_waiting()
    selectors.quote_ids_expired(today=timezone.localdate(now))
    return time.perf_counter() - t0


def run_sweeps(ids: list[int], *, due: int) -> bool:
    from django.db.models import Count
    from django.utils import timezone

    from inquiries.models import Inquiry, InquiryEvent, ResponseMiss

    open_now = Inquiry.objects.filter(status__in=Inquiry.OPEN_STATUSES).count()
    print(f"\nSweep over {open_now} open inquiries (target < {SWEEP_TARGET_S:.0f} s "
          f"with {due} due)")
    ok = True

    def sweep_twice(title: str, key: str, expected: int) -> None:
        nonlocal ok
        finding = timed_selectors()
        first_s, first, statements = timed_sweep()
        second_s, second, _statements = timed_sweep()
        right = first[key] == expected and not any(second.values())
        ok &= right
        met = "" if not expected else (
            f", {first_s / expected * 1000:.1f} ms and {statements / expected:.1f} statements "
            f"each (target < {SWEEP_TARGET_S:.0f} s: "
            f"{'met' if first_s < SWEEP_TARGET_S else 'MISSED'})")
        print(f"  {title:<24} {first_s * 1000:9.1f} ms   {first}")
        print(f"  {'':<24} finding it {finding * 1000:.1f} ms; {statements} statements{met}")
        print(f"  {'  … run again':<24} {second_s * 1000:9.1f} ms   "
              f"{'exactly once: yes' if right else 'EXACTLY ONCE: NO'}")

    sweep_twice("idle (nothing due)", "reminded", 0)
    now = timezone.now()
    remind_ids, escalate_ids = ids[:due], ids[due:2 * due]
    Inquiry.objects.filter(pk__in=remind_ids).update(
        remind_at=now - datetime.timedelta(minutes=1))
    sweep_twice(f"{due} reminders due", "reminded", due)
    Inquiry.objects.filter(pk__in=escalate_ids).update(
        remind_at=now - datetime.timedelta(hours=1), reminded_at=now - datetime.timedelta(
            hours=1), response_due_at=now - datetime.timedelta(minutes=1))
    _analyze()
    sweep_twice(f"{due} deadlines passed", "escalated", due)
    misses = ResponseMiss.objects.filter(inquiry_id__in=escalate_ids).count()
    events = (InquiryEvent.objects.filter(inquiry_id__in=escalate_ids)
              .values("kind").annotate(n=Count("pk")).values_list("kind", "n").order_by())
    fresh = Inquiry.objects.filter(pk__in=escalate_ids, response_due_at__gt=now).count()
    print(f"  escalated: {misses} misses recorded, events {dict(events)}, "
          f"{fresh} with a fresh deadline")
    ok &= misses == due and fresh == due
    return ok


# --- Profile ----------------------------------------------------------------------------------


def profile(ids: dict, *, rounds: int = 100, cprofile: bool = False) -> None:
    """Every statement of one intake and of one escalation, and the mean wall and CPU time
    of `rounds` intakes one after the other (no contention)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import User
    from inquiries import services
    from inquiries.models import Inquiry

    user = User.objects.get(pk=ids["buyers"][0])
    product_id = ids["products"][0][0]

    def one():
        return services.inquiry_submit(buyer=user, product_id=product_id, quantity="100",
                                       delivery_region_code="320500", message="Quote please")

    for _i in range(5):
        one()
    with CaptureQueriesContext(connection) as intake:
        inquiry = one()
    Inquiry.objects.filter(pk=inquiry.pk).update(
        response_due_at=timezone.now() - datetime.timedelta(minutes=1))
    with CaptureQueriesContext(connection) as escalation:
        services.inquiry_escalate(inquiry_id=inquiry.pk)
    for title, ctx in (("inquiry_submit", intake), ("inquiry_escalate", escalation)):
        print(f"\n{title}: {len(ctx.captured_queries)} statements")
        for q in ctx.captured_queries:
            print(f"  {q['sql'][:150]}")
    profiler = None
    if cprofile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the database
        profiler.enable()
    wall, cpu = time.perf_counter(), time.process_time()
    for _i in range(rounds):
        one()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profiler:
        import pstats

        profiler.disable()
        order = os.environ.get("PROFILE_SORT", "cumulative")  # or tottime
        pstats.Stats(profiler).sort_stats(order).print_stats(60)
    print(f"\n{rounds} intakes one after the other: {wall / rounds * 1000:.1f} ms wall, "
          f"{cpu / rounds * 1000:.1f} ms CPU of this process per intake")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--inquiries", type=int, default=10000, help="timed, over all clients")
    parser.add_argument("--warmup", type=int, default=5, help="untimed intakes per client")
    parser.add_argument("--open", type=int, default=100000, help="open inquiries to sweep")
    parser.add_argument("--due", type=int, default=1000, help="of them due per timed sweep")
    parser.add_argument("--threads", action="store_true",
                        help="threads in one process instead of processes")
    parser.add_argument("--quick", action="store_true", help="a few seconds: CI")
    parser.add_argument("--profile", action="store_true",
                        help="print the statements of one intake and one escalation, exit")
    parser.add_argument("--cprofile", action="store_true",
                        help="with --profile: where the Python time goes (cProfile)")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.quick:
        args.inquiries, args.warmup, args.open, args.due = 400, 2, 5000, 100

    started = time.perf_counter()
    common.recreate_database()
    common.flush_broker()
    common.setup_django(migrate=True)
    ids = load_intake(clients=args.clients)
    set_caps(ids["seller"], args.inquiries + args.warmup * args.clients)
    print(f"database {common.database_name()} ready: {CCOS} CCOs, {args.clients} clients "
          f"({'threads' if args.threads else 'processes'}); setup "
          f"{time.perf_counter() - started:.1f} s")
    if args.profile:
        profile(ids, cprofile=args.cprofile)
        common.flush_broker()
        return 0

    from django.db import connection

    from accounts.models import Organization

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        print(f"PostgreSQL {cursor.fetchone()[0]}, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs, load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ok = True
    if not args.skip_intake:
        result = run_intake(ids, clients=args.clients, total=args.inquiries,
                            warmup=args.warmup, threads=args.threads, seed=args.seed)
        ok &= report_intake(result, intake_check(ids["seller"]))
    if not args.skip_sweep:
        t0 = time.perf_counter()
        calendar_id = Organization.objects.get(pk=ids["seller"]).calendar_id
        sweep_ids = load_sweep(open_count=args.open, calendar_id=calendar_id)
        print(f"\nloaded {args.open} open inquiries in {time.perf_counter() - t0:.1f} s")
        ok &= run_sweeps(sweep_ids, due=args.due)
    common.flush_broker()
    print(f"\ntotal {time.perf_counter() - started:.1f} s; "
          f"{'all checks passed' if ok else 'A CHECK FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
