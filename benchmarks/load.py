"""Load benchmark: a buyer mix against gunicorn with 4 workers on loopback, driven by locust.

    .venv/bin/python benchmarks/load.py            # 32 users for 60 s, 10,000 extra products
    .venv/bin/python benchmarks/load.py --quick    # 8 users for 10 s, 1,000 products (CI)
    .venv/bin/python benchmarks/load.py --users 16 --duration 120 --products 50000

The script sets up everything it needs: the database named by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/chemmall_bench_load; it refuses any name not starting
with chemmall_bench) is dropped, created, migrated and filled with `seed_demo` plus
`seed_load --products N`; static files are collected into a temporary directory. Then it
starts gunicorn (chemmall.wsgi, 4 workers, DEBUG off, settings chemmall.settings) on a free
loopback port, warms every worker up, reads each worker's RSS, runs locust headless with
benchmarks/locustfile.py (the buyer mix is described there), reads the RSS again and stops
gunicorn.

Run-time overrides for the server: guest inquiries per IP per hour and the login lockout
limit are raised (every locust user comes from 127.0.0.1), request logging is at WARNING,
mail goes to a dummy backend and the Celery sends after commit to Redis database 12, which
no worker reads (emptied before and after).

Printed: requests/s; per endpoint the request count, failures, p50/p95/p99 (ms); the
failures; each worker's RSS before and after with its growth. Targets (issue 8, "Load"):
p95 <= 100 ms for pages and API reads, 0 errors, worker memory growth < 10 %. The exit
status is 1 when any request failed.
"""

import argparse
import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chemmall.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chemmall_bench_load")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
# The outbox sends go to a Redis database of their own, emptied by the script.
os.environ["REDIS_URL"] = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/12"
SERVER_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": os.environ.get("SECRET_KEY") or uuid.uuid4().hex * 2,
    "EMAIL_URL": "dummymail://",
    "GUEST_INQUIRIES_PER_HOUR": "1000000",
    "AXES_FAILURE_LIMIT": "1000000",
    "LOG_LEVEL": "WARNING",
    "REQUEST_LOG_LEVEL": "WARNING",
}
os.environ.update(SERVER_ENV)

WORKERS = 4
P95_TARGET_MS = 100
MEMORY_GROWTH_TARGET = 10.0  # per cent
BIN = ROOT / ".venv" / "bin"


def _database() -> tuple[str, str]:
    """(server URL ending in /postgres, database name) of DATABASE_URL."""
    base, name = os.environ["DATABASE_URL"].rsplit("/", 1)
    return f"{base}/postgres", name.split("?", 1)[0]


def recreate_database() -> None:
    import psycopg

    server, name = _database()
    if not name.startswith("chemmall_bench"):
        sys.exit(f"Refusing to drop {name!r}: the benchmark database must be chemmall_bench*.")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


# --- Data -------------------------------------------------------------------------------------


def load(*, products: int, buyers: int, static_root: str) -> dict:
    """Migrate, seed, and return the plan the locustfile reads."""
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--quiet-logins", verbosity=0)
    if products:
        call_command("seed_load", "--products", str(products), verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0, interactive=False)
    plan = _plan(buyers=buyers)
    from django.db import connection, connections

    if connection.vendor == "postgresql":  # statistics for every table, as in production
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"set-up: migrate, seed_demo, seed_load --products {products}, collectstatic, "
          f"plan, ANALYZE: {time.perf_counter() - started:.0f} s")

    connections.close_all()
    return plan


def _plan(*, buyers: int) -> dict:
    from pypinyin import lazy_pinyin
    from rest_framework.authtoken.models import Token

    from accounts import services as account_services
    from accounts.models import Company, Membership, Role
    from catalog import storefront
    from catalog.models import Category, Stock
    from orders import services
    from orders.models import Address

    rng = random.Random(20261202)
    listed = list(storefront.products_listed().values_list("pk", flat=True))
    sample = rng.sample(listed, min(500, len(listed)))
    chemicals = list(storefront.products_listed().filter(pk__in=sample, chemical__isnull=False)
                     .values_list("chemical__cas", "chemical__name_en", "chemical__name_zh")
                     [:100])
    queries = []
    for cas, name_en, name_zh in chemicals:
        queries += [q for q in (cas, cas.replace("-", ""), name_en, name_zh,
                                "".join(lazy_pinyin(name_zh)) if name_zh else "") if q]
    queries += ["acetone", "sulfuric acid", "乙醇", "yichun", "C2H6O", "toluene"]
    categories = list(Category.objects.filter(products__is_active=True).distinct()
                      .values_list("key", flat=True))

    # The load buyers: members of one demo company, each with a token and its own cart.
    company = Company.objects.get(name="昆山华研电子材料有限公司")
    address = Address.objects.filter(company=company).order_by("-is_default", "pk").first()
    tokens = []
    for n in range(buyers):
        user = account_services.user_create(email=f"load-buyer{n}@load.example",
                                            full_name=f"Load buyer {n}", roles=[Role.BUYER])
        Membership.objects.create(user=user, company=company)
        tokens.append(Token.objects.create(user=user).key)

    # Orderable: products a trial order goes through for (no licence, a price, stock).
    trial = account_services.user_create(email="load-trial@load.example",
                                         full_name="Load trial", roles=[Role.BUYER])
    Membership.objects.create(user=trial, company=company)
    orderable = []
    candidates = (storefront.products_listed().filter(is_service=False, sales_unit="kg")
                  .exclude(chemical__controlled=True).exclude(chemical__un_number__gt="")
                  .order_by("?").values_list("pk", flat=True)[:60])
    for pk in candidates:
        Stock.objects.filter(product_id=pk).update(on_hand=10**8)
        try:
            services.cart_line_set(user=trial, product_id=pk, quantity=2)
            services.checkout_place(user=trial, idempotency_key=uuid.uuid4().hex,
                                    fulfilment="delivery", address_id=address.pk,
                                    payment_method="prepayment")
        except Exception:  # noqa: BLE001 — not orderable by this buyer: leave it out
            services.cart_line_set(user=trial, product_id=pk, quantity=0)
            continue
        orderable.append(pk)
        if len(orderable) == 20:
            break
    if not orderable:
        sys.exit("No product could be ordered by the load buyers: check the seed data.")
    return {"products": sample, "queries": queries, "categories": categories,
            "buyers": tokens, "orderable": orderable, "address": address.pk}


# --- Server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, log) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "chemmall.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--graceful-timeout", "5"],
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        if server.poll() is not None:
            sys.exit(f"gunicorn exited early ({server.returncode}); see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit("gunicorn did not answer /healthz within 60 s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def worker_rss(server: subprocess.Popen) -> dict[int, int]:
    """pid -> resident set size in bytes of each gunicorn worker."""
    import psutil

    return {child.pid: child.memory_info().rss
            for child in psutil.Process(server.pid).children()}


def warm_up(port: int, plan: dict) -> None:
    """Every worker serves each kind of page and API read a few times before the first
    memory reading (imports, URL resolvers, templates, translations load on first use)."""
    base = f"http://127.0.0.1:{port}"
    paths = ["/", "/api/v1/categories/"]
    for n in range(8):
        paths += [f"/categories/{plan['categories'][n % len(plan['categories'])]}/",
                  f"/products/?q={urllib.request.quote(plan['queries'][n])}",
                  f"/products/{plan['products'][n]}/",
                  f"/api/v1/products/?q={urllib.request.quote(plan['queries'][n])}",
                  f"/api/v1/products/{plan['products'][n]}/"]
    for _ in range(WORKERS * 2):
        for path in paths:
            urllib.request.urlopen(base + path, timeout=30).read()


# --- Run --------------------------------------------------------------------------------------


def run_locust(*, port: int, users: int, duration: int, plan_path: str, prefix: str) -> int:
    command = [str(BIN / "locust"), "-f", str(ROOT / "benchmarks" / "locustfile.py"),
               "--headless", "--users", str(users), "--spawn-rate", str(users),
               "--run-time", f"{duration}s", "--host", f"http://127.0.0.1:{port}",
               "--csv", prefix, "--only-summary", "--loglevel", "WARNING",
               "--stop-timeout", "5"]
    env = {**os.environ, "LOAD_PLAN": plan_path}
    return subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL).returncode


def _ms(value: str) -> float:
    return float(value) if value not in ("", "N/A") else float("nan")


def report(prefix: str, *, duration: int, before: dict, after: dict) -> tuple[int, list[str]]:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    missed = []
    print(f"\n{'endpoint':<28} {'method':<6} {'requests':>9} {'fail':>5} {'req/s':>7} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    total = None
    for row in rows:
        if row["Name"] == "Aggregated":
            total = row
            continue
        p95 = _ms(row["95%"])
        read = row["Type"] == "GET"
        flag = ""
        if read and p95 > P95_TARGET_MS:
            flag = "  > target"
            missed.append(f"{row['Name']} p95 {p95:.0f} ms")
        print(f"{row['Name']:<28} {row['Type']:<6} {row['Request Count']:>9} "
              f"{row['Failure Count']:>5} {float(row['Requests/s']):>7.1f} "
              f"{_ms(row['50%']):>7.0f} {p95:>7.0f} {_ms(row['99%']):>7.0f} "
              f"{_ms(row['Max Response Time']):>7.0f}{flag}")
    errors = int(total["Failure Count"]) if total else 0
    if total:
        print(f"{'ALL':<28} {'':<6} {total['Request Count']:>9} {total['Failure Count']:>5} "
              f"{float(total['Requests/s']):>7.1f} {_ms(total['50%']):>7.0f} "
              f"{_ms(total['95%']):>7.0f} {_ms(total['99%']):>7.0f} "
              f"{_ms(total['Max Response Time']):>7.0f}")
        print(f"\nrequests/s: {float(total['Requests/s']):.1f} over {duration} s; "
              f"errors: {errors}")
    failures = Path(f"{prefix}_failures.csv")
    if errors and failures.exists():
        print("\nfailures:")
        with failures.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                print(f"  {row['Occurrences']:>5} × {row['Method']} {row['Name']}: "
                      f"{row['Error'][:200]}")

    print("\nworker RSS (MiB): before -> after (growth)")
    for pid, rss in sorted(before.items()):
        if pid not in after:
            print(f"  {pid}: {rss / 2**20:.1f} -> gone (restarted?)")
            missed.append(f"worker {pid} gone")
            continue
        growth = (after[pid] - rss) / rss * 100
        flag = "  > target" if growth >= MEMORY_GROWTH_TARGET else ""
        if flag:
            missed.append(f"worker {pid} memory +{growth:.1f} %")
        print(f"  {pid}: {rss / 2**20:.1f} -> {after[pid] / 2**20:.1f} ({growth:+.1f} %){flag}")
    return errors, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="8 users for 10 s on 1,000 extra products (CI)")
    parser.add_argument("--users", type=int)
    parser.add_argument("--duration", type=int, help="seconds")
    parser.add_argument("--products", type=int, help="extra products from seed_load")
    args = parser.parse_args()
    users = args.users or (8 if args.quick else 32)
    duration = args.duration or (10 if args.quick else 60)
    products = args.products if args.products is not None else (1000 if args.quick else 10000)

    workdir = Path(tempfile.mkdtemp(prefix="chemmall-load-"))
    os.environ["STATIC_ROOT"] = str(workdir / "static")
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    recreate_database()
    flush_broker()
    plan = load(products=products, buyers=users, static_root=os.environ["STATIC_ROOT"])
    plan_path = workdir / "plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    print(f"plan: {len(plan['products'])} products, {len(plan['queries'])} queries, "
          f"{len(plan['categories'])} categories, {len(plan['orderable'])} orderable, "
          f"{len(plan['buyers'])} buyers")

    port = free_port()
    with (workdir / "gunicorn.log").open("w") as log:
        server = start_gunicorn(port, log)
        try:
            warm_up(port, plan)
            before = worker_rss(server)
            print(f"gunicorn: {WORKERS} workers on 127.0.0.1:{port}; locust: {users} users, "
                  f"{duration} s; load average {os.getloadavg()[0]:.1f}")
            run_locust(port=port, users=users, duration=duration, plan_path=str(plan_path),
                       prefix=str(workdir / "locust"))
            after = worker_rss(server)
        finally:
            stop_gunicorn(server)
    flush_broker()
    print(f"load average after: {os.getloadavg()[0]:.1f}; files in {workdir}")
    errors, missed = report(str(workdir / "locust"), duration=duration, before=before,
                            after=after)
    if missed:
        print("\ntargets missed: " + "; ".join(missed))
    else:
        print("\nall targets met")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
