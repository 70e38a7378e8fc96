"""Orders benchmark: concurrent buyers placing orders through the service layer.

    .venv/bin/python benchmarks/orders.py            # full run, about two minutes
    .venv/bin/python benchmarks/orders.py --quick    # ~20 s with the set-up (CI)
    .venv/bin/python benchmarks/orders.py --profile  # the queries of one order, then exit
    .venv/bin/python benchmarks/orders.py --workers 2 --scenarios AB

The script sets up everything it needs: the database named by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/chemmall_bench_orders) is dropped, created and migrated,
then filled with 8 sellers (a depot and two CCOs each), `--products` products with a public
price list and ample stock, a hot product, and one buyer company (with an address) per
worker and scenario. Celery publishes the outbox sends to Redis database 13 (REDIS_URL),
which no worker reads; the script empties that database before and after.

Each worker is a process (`--threads` for threads in one process) with its own connection.
An order is `services.cart_line_set` (one line) + `services.checkout_place` (delivery,
prepayment, a fresh idempotency key): one order per checkout, the stock reserved, the
outbox rows for the buyer and the seller's CCOs written, the Celery sends published after
commit. The latency of an order is the wall time of those two calls; orders/s is the number
of orders placed divided by the wall time from the start signal to the last worker's end.

Scenarios:
  A  random: every order for a random product of the catalog;
  B  hot:    every order for the same product (all checkouts queue on one stock row);
  C  sold out: the hot scenario on a product with stock for half the orders — exactly that
     many orders, the rest refused with a Shortage (a correctness check, no target).

After each scenario the stock check: the sum of reserved stock equals the sum ordered, and
no on-hand, reserved or available figure is negative. Targets (orders issue, "Speed"):
A >= 150 orders/s, B >= 80 orders/s, p95 <= 50 ms, with 8 concurrent workers.
"""

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

common.environment("chemmall_bench_orders")

TARGETS = {"A": 150, "B": 80}
P95_TARGET_MS = 50
SELLERS = 8
HOT_STOCK = Decimal("100000000")










# --- Data -------------------------------------------------------------------------------------


def load(*, products: int, workers: int, seed: int) -> dict:
    """Sellers, depots, CCOs, products with prices and stock, one buyer per worker."""
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from stdnum import casrn

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
    from orders.models import Address

    rng = random.Random(seed)
    calendar = WorkingCalendar.objects.create(name="Bench calendar")
    hq = Organization.objects.create(code="hq", name_zh="基准集团", name_en="Bench Group",
                                     kind=Organization.Kind.HQ, calendar=calendar)
    sellers = Organization.objects.bulk_create([
        Organization(code=f"bench-{i}", name_zh=f"基准子公司{i}", name_en=f"Bench Sub {i}",
                     kind=Organization.Kind.SUBSIDIARY, parent=hq, calendar=calendar)
        for i in range(SELLERS)])
    suzhou = Region.objects.get(code="320500")
    depots = Depot.objects.bulk_create([
        Depot(code=f"BD-{i}", name_zh=f"基准仓库{i}", name_en=f"Bench depot {i}",
              organization=s, region=suzhou, address="苏州工业园区 1 号")
        for i, s in enumerate(sellers)])
    cco_group = Group.objects.get(name=Role.CCO)
    buyer_group = Group.objects.get(name=Role.BUYER)
    ccos = User.objects.bulk_create([
        User(email=f"cco{i}-{j}@bench.example", full_name=f"CCO {i}-{j}", organization=s,
             is_staff=True, password="!")
        for i, s in enumerate(sellers) for j in range(2)])
    cco_group.user_set.add(*ccos)

    category = Category.objects.create(key="bench", name_en="Bench", name_zh="基准")
    count = products + 3  # + the hot product, the sold-out product and a spare
    chemicals = Chemical.objects.bulk_create([
        Chemical(cas=_cas(casrn, n), name_en=f"Bench compound {n}", name_zh=f"基准化合物{n}")
        for n in range(count)], batch_size=1000)
    rows = Product.objects.bulk_create([
        Product(seller=sellers[n % SELLERS], chemical=c, category=category, sku=f"BENCH-{n:06d}",
                packaging="25 kg bag")
        for n, c in enumerate(chemicals)], batch_size=1000)
    valid_from = timezone.localdate().replace(day=1)
    price_lists = {s.pk: PriceList.objects.create(seller=s, name="Bench public list",
                                                  valid_from=valid_from) for s in sellers}
    tiers, stocks = [], []
    for n, product in enumerate(rows):
        price = Decimal(rng.randrange(500, 50000)) / 100
        price_list = price_lists[product.seller_id]
        tiers += [PriceTier(price_list=price_list, product=product, min_quantity=Decimal(0),
                            unit_price=price),
                  PriceTier(price_list=price_list, product=product, min_quantity=Decimal(100),
                            unit_price=(price * Decimal("0.95")).quantize(Decimal("0.01")))]
        stocks.append(Stock(product=product, depot=depots[n % SELLERS], on_hand=HOT_STOCK))
    PriceTier.objects.bulk_create(tiers, batch_size=2000)
    Stock.objects.bulk_create(stocks, batch_size=2000)

    buyers = []
    jiangsu = Region.objects.get(code="320000")
    for w in range(workers * 2):  # one per worker and scenario run, never shared
        company = Company.objects.create(name=f"基准客户{w}有限公司", uscc=_uscc(w),
                                         province=jiangsu, city=suzhou)
        user = User.objects.create(email=f"buyer{w}@bench.example", full_name=f"Buyer {w}",
                                   password="!")
        Membership.objects.create(user=user, company=company, is_admin=True)
        buyer_group.user_set.add(user)
        address = Address.objects.create(company=company, recipient="张三", phone="13800000000",
                                         region=suzhou, line="苏州工业园区星湖街 1 号",
                                         is_default=True)
        buyers.append((user.pk, address.pk))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "random": [p.pk for p in rows[:products]],
        "hot": rows[products].pk,
        "sold_out": rows[products + 1].pk,
        "buyers": buyers,
    }


def _cas(casrn, n: int) -> str:
    body = f"{700000 + n}-{n % 100:02d}"
    return f"{body}-{casrn.calc_check_digit(body)}"


def _uscc(n: int) -> str:
    from stdnum.cn import uscc

    body = f"9132058{n:010d}"[:17]
    return body + uscc.calc_check_digit(body)


# --- Workers ----------------------------------------------------------------------------------


def place_orders(*, user_id: int, address_id: int, product_ids: list[int], count: int,
                 warmup: int, seed: int, start, results, interval: float = 0.0,
                 phase: float = 0.0) -> None:
    """Place `warmup` untimed orders, wait for the start signal, then `count` timed ones:
    back to back, or (`interval` > 0) one every `interval` seconds on a fixed schedule, a
    latency then counting from the scheduled start, so that falling behind shows."""
    from django.db import connection

    from accounts.models import User
    from chemmall.errors import DomainError
    from orders import services
    from orders.models import CartLine

    rng = random.Random(seed)
    user = User.objects.get(pk=user_id)
    latencies, errors = [], Counter()

    def one() -> None:
        product_id = rng.choice(product_ids)
        services.cart_line_set(user=user, product_id=product_id, quantity=rng.randint(1, 5))
        services.checkout_place(user=user, idempotency_key=uuid.uuid4().hex,
                                fulfilment="delivery", address_id=address_id,
                                payment_method="prepayment")

    try:
        for _i in range(warmup):
            one()
        start.wait()
        database_cpu = common.backend_cpu_seconds(connection)
        began, cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            t0 = time.perf_counter()
            if interval:
                t0 = began + phase + i * interval
                if (ahead := t0 - time.perf_counter()) > 0:
                    time.sleep(ahead)
            try:
                one()
            except DomainError as exc:
                errors[exc.code] += 1
                CartLine.objects.filter(cart__user=user).delete()  # start the next one afresh
            except Exception as exc:  # noqa: BLE001 — counted and reported, never hidden
                errors[type(exc).__name__] += 1
                CartLine.objects.filter(cart__user=user).delete()
            else:
                latencies.append(time.perf_counter() - t0)
        ended, cpu = time.perf_counter(), time.process_time() - cpu
        database_cpu = common.backend_cpu_seconds(connection) - database_cpu
        results.put({"latencies": latencies, "errors": dict(errors), "began": began,
                     "ended": ended, "cpu": cpu, "database_cpu": database_cpu})
    finally:
        connection.close()


def run_scenario(name: str, *, product_ids: list[int], buyers, per_worker: int, warmup: int,
                 threads: bool, seed: int, rate: float = 0.0) -> dict:
    """The workers place their orders back to back (`rate` 0: the most the machine does) or
    together at `rate` orders/s (the latency buyers see at that load)."""
    from django.db import connections

    connections.close_all()  # a forked child must not share the parent's connection
    if threads:
        import queue

        start, results = threading.Barrier(len(buyers)), queue.Queue()
        spawn = threading.Thread
    else:
        ctx = multiprocessing.get_context("fork")
        start, results = ctx.Barrier(len(buyers)), ctx.Queue()
        spawn = ctx.Process
    workers = [
        spawn(target=place_orders, kwargs={
            "user_id": user_id, "address_id": address_id, "product_ids": product_ids,
            "count": per_worker, "warmup": warmup, "seed": seed * 1000 + i, "start": start,
            "results": results, "interval": len(buyers) / rate if rate else 0.0,
            "phase": i / rate if rate else 0.0})
        for i, (user_id, address_id) in enumerate(buyers)]
    for w in workers:
        w.start()
    reports = [results.get(timeout=600) for _w in workers]
    for w in workers:
        w.join(timeout=60)
    latencies = sorted(x for r in reports for x in r["latencies"])
    errors = Counter()
    for r in reports:
        errors.update(r["errors"])
    wall = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    return {"name": name, "orders": len(latencies), "wall": wall, "latencies": latencies,
            "errors": dict(errors), "workers": len(buyers),
            "cpu": sum(r["cpu"] for r in reports),
            "database_cpu": sum(r["database_cpu"] for r in reports)}




def stock_check(product_ids: list[int]) -> dict:
    """Reserved == ordered over the products, nothing negative anywhere."""
    from django.db.models import F, Q, Sum

    from catalog.models import Stock
    from orders.models import Order, OrderLine

    stocks = Stock.objects.filter(product_id__in=product_ids)
    reserved = stocks.aggregate(s=Sum("reserved"))["s"] or Decimal(0)
    ordered = (OrderLine.objects.filter(product_id__in=product_ids)
               .exclude(order__status=Order.Status.CANCELLED)
               .aggregate(s=Sum("quantity"))["s"] or Decimal(0))
    negative = Stock.objects.filter(Q(on_hand__lt=0) | Q(reserved__lt=0)
                                    | Q(reserved__gt=F("on_hand"))).count()
    return {"reserved": reserved, "ordered": ordered, "negative": negative,
            "ok": reserved == ordered and negative == 0}


def report(result: dict, check: dict, *, target: int | None, paced: bool = False) -> bool:
    """Print a run; with `target`: back to back, is the rate reached; paced at the target
    rate, did the workers keep up with p95 <= 50 ms."""
    lat = [x * 1000 for x in result["latencies"]]
    rate = result["orders"] / result["wall"] if result["wall"] else 0.0
    p50, p95, p99 = (common.percentile(lat, p) for p in (50, 95, 99))
    errors = ", ".join(f"{k} {v}" for k, v in sorted(result["errors"].items())) or "none"
    print(f"\n{result['name']}: {result['workers']} workers, {result['orders']} orders in "
          f"{result['wall']:.2f} s")
    attempts = result["orders"] + sum(result["errors"].values())
    print(f"  orders/s {rate:8.1f}"
          + ((f"   (offered {target}/s)" if paced else f"   (target >= {target})")
             if target else "")
          + (f"   attempts/s {attempts / result['wall']:.1f} (refused ones included)"
             if attempts != result["orders"] and result["wall"] else ""))
    print(f"  latency ms  p50 {p50:6.1f}   p95 {p95:6.1f}   p99 {p99:6.1f}   "
          f"max {max(lat, default=float('nan')):6.1f}   mean "
          f"{statistics.fmean(lat) if lat else float('nan'):6.1f}"
          + (f"   (p95 target <= {P95_TARGET_MS})" if paced else
             "   (back to back: mean = workers / rate, Little's law)"))
    print(f"  errors: {errors}")
    if result.get("cpu"):
        attempts = result["orders"] + sum(result["errors"].values())
        print("  " + common.cpu_split(operations=attempts, cpu=result["cpu"],
                                      database_cpu=result["database_cpu"], what="order"))
    print(f"  stock check: reserved {check['reserved']} == ordered {check['ordered']}: "
          f"{'yes' if check['reserved'] == check['ordered'] else 'NO'}; negative or "
          f"over-reserved rows: {check['negative']}  → {'OK' if check['ok'] else 'FAILED'}")
    if target is not None:
        if paced:  # latencies count from the schedule: falling behind would show in them
            met = p95 <= P95_TARGET_MS
            print(f"  at {target} orders/s: p95 {p95:.1f} ms — target {'met' if met else 'missed'}")
        else:
            print(f"  throughput target {'met' if rate >= target else 'missed'}")
    return check["ok"]


def profile(ids: dict, *, rounds: int = 200, cprofile: bool = False) -> None:
    """Every statement of one order (cart line + checkout) in the steady state (the buyer
    already served by the seller), then the mean wall and CPU time of `rounds` orders
    placed one after the other (no contention; CPU is this process's, not PostgreSQL's)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from orders import services

    user_id, address_id = ids["buyers"][0]
    user = User.objects.get(pk=user_id)
    product_ids = ids["random"][:SELLERS * 4]

    def one(product_id):
        services.cart_line_set(user=user, product_id=product_id, quantity=2)
        services.checkout_place(user=user, idempotency_key=uuid.uuid4().hex,
                                fulfilment="delivery", address_id=address_id,
                                payment_method="prepayment")

    for product_id in product_ids:  # every seller has served this buyer since
        one(product_id)
    with CaptureQueriesContext(connection) as cart:
        services.cart_line_set(user=user, product_id=product_ids[0], quantity=2)
    with CaptureQueriesContext(connection) as checkout:
        services.checkout_place(user=user, idempotency_key=uuid.uuid4().hex,
                                fulfilment="delivery", address_id=address_id,
                                payment_method="prepayment")
    for title, ctx in (("cart_line_set", cart), ("checkout_place", checkout)):
        print(f"\n{title}: {len(ctx.captured_queries)} statements")
        for q in ctx.captured_queries:
            print(f"  {q['sql'][:140]}")
    profiler = None
    if cprofile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the database
        profiler.enable()
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(rounds):
        one(product_ids[i % len(product_ids)])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profiler:
        import pstats

        profiler.disable()
        order = os.environ.get("PROFILE_SORT", "cumulative")  # or tottime
        stats = pstats.Stats(profiler)
        stats.sort_stats(order).print_stats(60)
        by_package = Counter()
        for (path, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
            package = path.split("site-packages/")[-1].split("/")[0] if "site-packages" in path \
                else ("chemmall" if "/work/" in path else "python")
            by_package[package] += tottime
        total = sum(by_package.values())
        print("own time by package: " + ", ".join(
            f"{name} {seconds / total * 100:.0f} %" for name, seconds in by_package.most_common(8)))
    print(f"\n{rounds} orders one after the other: {wall / rounds * 1000:.1f} ms wall, "
          f"{cpu / rounds * 1000:.1f} ms CPU of this process per order "
          f"({len(cart.captured_queries) + len(checkout.captured_queries)} statements)")


def sell_out(ids: dict, *, buyers, args, shared: dict) -> bool:
    """C: stock for about half of what the workers ask for (each order 1-5 units, 3 on
    average, warm-up included): it runs out part way; the rest must be refused."""
    from catalog.models import Stock

    units = args.workers * (args.orders * 3 // 2 + args.warmup * 5)
    Stock.objects.filter(product_id=ids["sold_out"]).update(on_hand=units)
    result = run_scenario("C hot product selling out", product_ids=[ids["sold_out"]],
                          buyers=buyers, **shared)
    ok = report(result, stock_check([ids["sold_out"]]), target=None)
    stock = Stock.objects.get(product_id=ids["sold_out"])
    print(f"  on hand {stock.on_hand}, reserved {stock.reserved}, available {stock.available}; "
          f"refused with a shortage: {result['errors'].get('shortage', 0)}")
    return ok and result["errors"].keys() == {"shortage"}  # sold out, nothing else failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--orders", type=int, default=250, help="timed orders per worker")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=5, help="untimed orders per worker")
    parser.add_argument("--threads", action="store_true",
                        help="threads in one process instead of processes")
    parser.add_argument("--quick", action="store_true", help="a few seconds: CI")
    parser.add_argument("--profile", action="store_true",
                        help="print the statements of one order and exit")
    parser.add_argument("--cprofile", action="store_true",
                        help="with --profile: where the Python time goes (cProfile)")
    parser.add_argument("--scenarios", default="ABC", help="which of A, B, C to run")
    parser.add_argument("--no-paced", action="store_true",
                        help="A and B back to back only, not also paced at the target rate")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.quick:
        args.orders, args.products, args.warmup = 20, 200, 2

    started = time.perf_counter()
    common.recreate_database()
    common.flush_broker()
    common.setup_django(migrate=True)
    ids = load(products=args.products, workers=args.workers, seed=args.seed)
    print(f"database {common.database_name()} ready: {args.products} products, {args.workers} "
          f"workers ({'threads' if args.threads else 'processes'}), {args.orders} orders each; "
          f"setup {time.perf_counter() - started:.1f} s")
    if args.profile:
        profile(ids, cprofile=args.cprofile)
        common.flush_broker()
        return 0

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        print(f"PostgreSQL {cursor.fetchone()[0]}, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs")
    buyers = ids["buyers"]
    first, second = buyers[:args.workers], buyers[args.workers:]
    shared = {"per_worker": args.orders, "warmup": args.warmup, "threads": args.threads,
              "seed": args.seed}
    ok = True
    # Each scenario twice: back to back (the most orders/s the machine places), then paced
    # at the target rate (the latency a buyer sees at that load: a p95 taken back to back is
    # only workers / throughput, Little's law, and says nothing of its own).
    for key, name, products, buyers_of in (("A", "A random products", ids["random"], first),
                                           ("B", "B one hot product", [ids["hot"]], second)):
        if key not in args.scenarios:
            continue
        result = run_scenario(name, product_ids=products, buyers=buyers_of, **shared)
        ok &= report(result, stock_check(products), target=TARGETS[key])
        if not args.no_paced:
            result = run_scenario(f"{name}, paced at {TARGETS[key]} orders/s",
                                  product_ids=products, buyers=buyers_of,
                                  rate=TARGETS[key], **shared)
            ok &= report(result, stock_check(products), target=TARGETS[key], paced=True)
    if "C" in args.scenarios:
        ok &= sell_out(ids, buyers=first, args=args, shared=shared)
    common.flush_broker()
    print(f"\ntotal {time.perf_counter() - started:.1f} s; "
          f"{'all stock checks passed' if ok else 'A CHECK FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
