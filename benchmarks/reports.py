"""Reports benchmark: a generated year, one day's CCO report, the dashboards, the export.

    .venv/bin/python benchmarks/reports.py            # the full year: 1,000,000 inquiries,
                                                      # 2,000,000 order lines (~10 minutes)
    .venv/bin/python benchmarks/reports.py --quick    # a tenth of it (CI-sized)
    .venv/bin/python benchmarks/reports.py --reuse    # keep the database of a run before

The database named by DATABASE_URL (default chemmall_bench_reports) is dropped, created
and migrated. The data: 100 subsidiaries with one CCO each and four with a second (104
CCOs), 100 buyer companies with an address each in a different city, 2,000 products
(`seed_load`), then with INSERT … SELECT over generate_series: the inquiries spread evenly
over the 365 days before today (Asia/Shanghai), 90 % answered within 0–5 hours, 80 % quoted
(a tenth of those revised), 30 % won with an order, 30 % lost with a reason, 5 % a missed
deadline, three timeline events each; 500,000 orders of 4 lines over the same year (5 %
cancelled), delivered to the buyers' cities. Then ANALYZE.

Timed (targets of the reports issue, "Speed"):
- `cco_daily_report_compute` for one day in the middle of the year, three runs: <= 2 s;
- every dashboard page (HQ manager: the whole group; a subsidiary manager: its own), 30
  requests each after a warm-up, through Django's test client: p95 <= 100 ms — after the
  rollups of the year were refreshed (their time is printed too);
- the leaderboard of the full year as XLSX: <= 30 s.
"""

import argparse
import datetime
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

common.environment("chemmall_bench_reports")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")  # Django's test client
os.environ.setdefault("REQUEST_LOG_LEVEL", "WARNING")

DAY_TARGET_S = 2.0
PAGE_P95_TARGET_MS = 100.0
EXPORT_TARGET_S = 30.0
SUBSIDIARIES = 100
EXTRA_CCOS = 4
COMPANIES = 100
PRODUCTS = 2000
DAYS = 365


def _sql(statement: str) -> int:
    """Run one statement as written (no parameters: `%` is the modulo operator here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.rowcount


def load_people() -> dict:
    """Subsidiaries, CCOs with routing profiles, managers, buyer companies with addresses."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from accounts.models import (
        Company,
        Membership,
        Organization,
        Region,
        Role,
        User,
        WorkingCalendar,
    )
    from accounts.services import roles_sync
    from inquiries.models import CcoProfile
    from orders.models import Address
    from tests.factories import valid_uscc

    roles_sync()
    calendar = WorkingCalendar.objects.create(name="China standard (bench)")
    hq = Organization.objects.create(code="hq", name_zh="集团总部", name_en="HQ",
                                     kind=Organization.Kind.HQ, calendar=calendar)
    Organization.objects.bulk_create([
        Organization(code=f"sub-{n:03d}", name_zh=f"子公司{n:03d}", name_en=f"Sub {n:03d}",
                     kind=Organization.Kind.SUBSIDIARY, parent=hq, calendar=calendar)
        for n in range(SUBSIDIARIES)])
    subsidiaries = list(Organization.objects.filter(kind=Organization.Kind.SUBSIDIARY)
                        .order_by("pk"))
    password = make_password("bench-pass-2026")
    started = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    people = [User(email=f"cco{n}@bench.example", full_name=f"CCO {n}", password=password,
                   organization=subsidiaries[n % SUBSIDIARIES], is_staff=True,
                   date_joined=started)
              for n in range(SUBSIDIARIES + EXTRA_CCOS)]
    people += [User(email=f"manager{n}@bench.example", full_name=f"Manager {n}",
                    password=password, organization=org, is_staff=True, date_joined=started)
               for n, org in enumerate(subsidiaries)]
    people.append(User(email="hq.manager@bench.example", full_name="HQ manager",
                       password=password, organization=hq, is_staff=True))
    User.objects.bulk_create(people)
    ccos = list(User.objects.filter(email__startswith="cco").order_by("pk"))
    managers = list(User.objects.filter(email__startswith="manager").order_by("pk"))
    from django.contrib.auth.models import Group

    Group.objects.get(name=Role.CCO).user_set.add(*ccos)
    Group.objects.get(name=Role.SUBSIDIARY_MANAGER).user_set.add(*managers)
    hq_manager = User.objects.get(email="hq.manager@bench.example")
    Group.objects.get(name=Role.HQ_MANAGER).user_set.add(hq_manager)
    CcoProfile.objects.bulk_create([
        CcoProfile(user=user, organization_id=user.organization_id,
                   started_on=datetime.date(2024, 1, 1)) for user in ccos])
    cities = list(Region.objects.filter(level=Region.Level.CITY).order_by("code")
                  [:COMPANIES])
    Company.objects.bulk_create([
        Company(name=f"买家公司{n:03d}", uscc=valid_uscc(9000 + n), province_id=city.parent_id,
                city=city) for n, city in enumerate(cities)])
    companies = list(Company.objects.order_by("pk"))
    buyers = [User(email=f"buyer{n}@bench.example", full_name=f"Buyer {n}", password=password)
              for n in range(COMPANIES)]
    User.objects.bulk_create(buyers)
    buyers = list(User.objects.filter(email__startswith="buyer").order_by("pk"))
    Membership.objects.bulk_create([Membership(user=b, company=c)
                                    for b, c in zip(buyers, companies, strict=True)])
    Address.objects.bulk_create([
        Address(company=c, recipient="张三", phone="13800000000", region=city, line="1 号",
                is_default=True) for c, city in zip(companies, cities, strict=True)])
    call_command("seed_load", products=PRODUCTS, stdout=io.StringIO())
    return {"hq_manager": hq_manager, "manager": managers[0], "ccos": len(ccos)}


def load_year(*, inquiries: int, orders: int, today: datetime.date) -> None:
    """The inquiries, quotes, events, misses, orders and lines of the year, in SQL."""
    start = datetime.datetime.combine(today - datetime.timedelta(days=DAYS), datetime.time(),
                                      tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    at = f"'{start.isoformat()}'::timestamptz"
    span = DAYS * 86400.0
    _sql("CREATE TEMP TABLE bench_cco AS SELECT row_number() OVER (ORDER BY u.id) - 1 AS n, "
         "u.id AS user_id, u.organization_id AS org_id FROM accounts_user u "
         "WHERE u.email LIKE 'cco%@bench.example'")
    _sql("CREATE TEMP TABLE bench_buyer AS SELECT row_number() OVER (ORDER BY m.id) - 1 AS n,"
         " m.user_id, m.company_id, a.id AS address_id FROM accounts_membership m "
         "JOIN orders_address a ON a.company_id = m.company_id")
    _sql("CREATE TEMP TABLE bench_product AS SELECT row_number() OVER (ORDER BY id) - 1 AS n,"
         " id, sales_unit FROM catalog_product WHERE NOT is_service")
    products = _sql("SELECT 1 FROM bench_product")
    ccos = _sql("SELECT 1 FROM bench_cco")
    # Orders first: won inquiries point at them.
    _sql(f"""
        INSERT INTO orders_order (number, status, fulfilment, payment_method, po_number, notes,
            subtotal, vat, vat_rate, total, pickup_code, placed_at, company_id, placed_by_id,
            seller_id, tracking_number, address_id, paid_at)
        SELECT 'BO' || i, CASE WHEN i % 20 = 0 THEN 'cancelled' ELSE 'completed' END,
            'delivery', 'prepayment', '', '', 4000.00, 520.00, 0.1300, 4520.00, '',
            {at} + (i * {span} / {orders}) * interval '1 second',
            b.company_id, b.user_id, c.org_id, '', b.address_id,
            {at} + (i * {span} / {orders} + 3600) * interval '1 second'
        FROM generate_series(0, {orders - 1}) i
        JOIN bench_buyer b ON b.n = i % {COMPANIES}
        JOIN bench_cco c ON c.n = i % {ccos}""")
    _sql(f"""
        INSERT INTO orders_orderline (order_id, product_id, quantity, unit, unit_price,
            tax_inclusive, line_total, picked_up)
        SELECT o.id, p.id, 10, p.sales_unit, 113.00, true, 1130.00, 0
        FROM orders_order o CROSS JOIN generate_series(0, 3) k
        JOIN bench_product p ON p.n = (o.id * 4 + k) % {products}""")
    _sql(f"""
        INSERT INTO inquiries_inquiry (number, status, channel, requested_name, requested_cas,
            is_unlisted, quantity, unit, message, contact_name, contact_company, contact_email,
            contact_phone, access_token, routing_reason, received_at, escalation_count,
            lost_reason, lost_note, seller_id, wants_local_service, owner_id, company_id,
            buyer_id, assigned_at, response_due_at, first_response_at, closed_at, order_id,
            delivery_region_id)
        SELECT 'BI' || i,
            CASE WHEN i % 10 < 3 THEN 'won' WHEN i % 10 < 6 THEN 'lost'
                 WHEN i % 10 < 8 THEN 'quoted' ELSE 'assigned' END,
            (ARRAY['web','api','phone','wechat','exhibition'])[1 + i % 5],
            CASE WHEN i % 25 = 0 THEN 'Unlisted chemical ' || (i % 300) ELSE 'Chemical' END,
            CASE WHEN i % 25 = 0 THEN '' ELSE '' END, i % 25 = 0, 100, 'kg', '', '', '', '',
            '', md5('bi' || i), '', t.at, 0,
            CASE WHEN i % 10 BETWEEN 3 AND 5
                 THEN (ARRAY['price','lead_time','competitor'])[1 + i % 3] ELSE '' END,
            '', c.org_id, false, c.user_id, b.company_id, b.user_id, t.at,
            t.at + interval '4 hours',
            CASE WHEN i % 10 < 9 THEN t.at + ((i::bigint * 7919) % 300) * interval '1 minute' END,
            CASE WHEN i % 10 < 6 THEN t.at + interval '2 days' END,
            CASE WHEN i % 10 < 3 THEN 1 + (i / 10 * 3 + i % 10) % {orders} END,
            a.region_id
        FROM generate_series(0, {inquiries - 1}) i
        CROSS JOIN LATERAL (SELECT {at} + (i * {span} / {inquiries}) * interval '1 second'
                            AS at) t
        JOIN bench_cco c ON c.n = i % {ccos}
        JOIN bench_buyer b ON b.n = i % {COMPANIES}
        JOIN orders_address a ON a.id = b.address_id""")
    _sql(f"""
        INSERT INTO inquiries_quote (inquiry_id, version, status, quantity, unit, unit_price,
            tax_inclusive, valid_until, lead_time_days, incoterm, payment_terms, note,
            created_at, decline_reason, created_by_id, product_id)
        SELECT q.id, v, CASE WHEN v = 1 AND q.id % 10 = 0 THEN 'superseded'
                             WHEN q.status = 'won' THEN 'accepted' ELSE 'sent' END,
            100, 'kg', 110.00, true, (q.received_at + interval '30 days')::date, 3, 'DAP',
            'prepayment', '', q.first_response_at + (v - 1) * interval '1 day', '', q.owner_id,
            p.id
        FROM inquiries_inquiry q
        JOIN bench_product p ON p.n = q.id % {products}
        CROSS JOIN LATERAL generate_series(1, CASE WHEN q.id % 10 = 0 THEN 2 ELSE 1 END) v
        WHERE q.first_response_at IS NOT NULL AND q.status IN ('won', 'lost', 'quoted')""")
    _sql("""
        INSERT INTO inquiries_inquiryevent (inquiry_id, kind, body, attachment, from_status,
            to_status, is_public, created_at, actor_id)
        SELECT q.id, k.kind, '', '', '', '', k.kind <> 'assigned', q.received_at + k.after,
            CASE WHEN k.kind = 'received' THEN q.buyer_id ELSE q.owner_id END
        FROM inquiries_inquiry q
        CROSS JOIN (VALUES ('received', interval '0'), ('assigned', interval '1 second'),
                           ('message_out', interval '90 minutes')) k(kind, after)""")
    _sql("""
        INSERT INTO inquiries_responsemiss (inquiry_id, owner_id, due_at, recorded_at)
        SELECT id, owner_id, response_due_at, response_due_at + interval '1 minute'
        FROM inquiries_inquiry WHERE id % 20 = 7""")
    _sql("SELECT setval(pg_get_serial_sequence('orders_order', 'id'), "
         "(SELECT max(id) FROM orders_order))")


def time_day(day: datetime.date) -> list[float]:
    from reports import services

    runs = []
    for _run in range(3):
        started = time.perf_counter()
        rows = services.cco_daily_report_compute(day=day)
        runs.append(time.perf_counter() - started)
    verdict = "met" if max(runs) <= DAY_TARGET_S else "MISSED"
    print(f"  one day's CCO report ({day}, {rows} rows): "
          + ", ".join(f"{r:.2f} s" for r in runs)
          + f"  (target <= {DAY_TARGET_S:.0f} s: {verdict})")
    return runs


def backfill(today: datetime.date) -> None:
    """The snapshot rows and rollups of the whole year, as the nightly tasks leave them."""
    from reports import services

    started = time.perf_counter()
    day = today - datetime.timedelta(days=DAYS)
    refresh = getattr(services, "rollups_refresh", None)
    while day < today:
        services.cco_daily_report_compute(day=day)
        if refresh is not None:
            refresh(day=day)
        day += datetime.timedelta(days=1)
    print(f"  the year's snapshots{' and rollups' if refresh else ''}: "
          f"{time.perf_counter() - started:.0f} s for {DAYS} days")


def time_pages(people: dict, paths: list[str], *, requests: int) -> bool:
    from django.test import Client

    ok = True
    for who in ("hq_manager", "manager"):
        client = Client()
        client.force_login(people[who])
        for path in paths:
            response = client.get(path)  # warm-up (and a check that it answers)
            if response.status_code != 200:
                print(f"  {who} {path}: HTTP {response.status_code}")
                ok = False
                continue
            timings = []
            for _i in range(requests):
                started = time.perf_counter()
                client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p95 = common.percentile(timings, 95)
            met = p95 <= PAGE_P95_TARGET_MS
            ok &= met
            print(f"  {who:<11} {path:<48} p50 {statistics.median(timings):6.1f} ms  "
                  f"p95 {p95:6.1f} ms  {'met' if met else 'MISSED'}")
    return ok


def time_export(user, *, today: datetime.date) -> bool:
    """The leaderboard of the whole year as an Excel workbook, as the export writes it."""
    from reports import exports, tables
    from reports.selectors import Period

    started = time.perf_counter()
    table = tables.load("leaderboard", user=user, today=today,
                        period=Period(start=today - datetime.timedelta(days=DAYS), end=today))
    response = exports.as_xlsx(table, filename="leaderboard-year")
    took = time.perf_counter() - started
    met = took <= EXPORT_TARGET_S
    print(f"  full-year leaderboard XLSX: {took:.1f} s, {len(table.rows)} rows, "
          f"{len(response.content) / 1024:.0f} KiB "
          f"(target <= {EXPORT_TARGET_S:.0f} s: {'met' if met else 'MISSED'})")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the year's volume")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    inquiries, orders = (100_000, 50_000) if args.quick else (1_000_000, 500_000)
    started = time.perf_counter()
    if not args.reuse:
        common.recreate_database()
    common.flush_broker()
    common.setup_django(migrate=not args.reuse)
    from django.utils import timezone

    from accounts.models import User

    today = timezone.localdate()
    if not args.reuse:
        people = load_people()
        load_year(inquiries=inquiries, orders=orders, today=today)
        _sql("VACUUM ANALYZE")
        print(f"database {common.database_name()} ready: {inquiries:,} inquiries, "
              f"{orders * 4:,} order lines, {people['ccos']} CCOs; "
              f"{time.perf_counter() - started:.0f} s")
    people = {"hq_manager": User.objects.get(email="hq.manager@bench.example"),
              "manager": User.objects.get(email="manager0@bench.example")}
    ok = max(time_day(today - datetime.timedelta(days=DAYS // 2))) <= DAY_TARGET_S
    if not args.reuse:
        backfill(today)
    from django.urls import NoReverseMatch, reverse

    paths = []
    for name in ("reports:dashboard", "reports:leaderboard"):
        try:
            paths.append(reverse(name))
        except NoReverseMatch:
            print(f"  (no page {name} yet)")
    if paths:
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # the manifest, DEBUG off
        ok &= time_pages(people, paths, requests=args.requests)
    ok &= time_export(people["hq_manager"], today=today)
    common.flush_broker()
    print(f"\ntotal {time.perf_counter() - started:.0f} s; "
          f"{'all targets met' if ok else 'a target was MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
