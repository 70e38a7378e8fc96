"""What every benchmark script needs: its own database (dropped and created, never one that
is not chemmall_bench*), a Redis database no worker reads, Django set up, percentiles.

Import it first, after choosing the database: `common.environment("chemmall_bench_x")`.
"""

import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment(database: str) -> None:
    """The settings a benchmark runs with; DATABASE_URL and REDIS_URL may override."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chemmall.settings")
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    # Outbox sends go to a Redis database of their own, emptied by the script.
    os.environ["REDIS_URL"] = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/13"
    os.environ.setdefault("EMAIL_URL", "dummymail://")
    os.environ.setdefault("DEBUG", "false")


def _database() -> tuple[str, str]:
    """(server URL ending in /postgres, database name) of DATABASE_URL."""
    url = os.environ["DATABASE_URL"]
    base, name = url.rsplit("/", 1)
    return f"{base}/postgres", name.split("?", 1)[0]


def database_name() -> str:
    return _database()[1]


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


def setup_django(*, migrate: bool) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def backend_cpu_seconds(connection) -> float:
    """CPU seconds the PostgreSQL backend of this Django connection has used so far (read
    from /proc, so only for a server on this machine; 0 otherwise): with the worker's own
    CPU it tells where an operation's time goes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        values = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_split(*, operations: int, cpu: float, database_cpu: float, what: str) -> str:
    """'CPU per order: clients 8.5 ms, PostgreSQL 5.9 ms; 2 cores allow 140/s at most'."""
    if not operations or not cpu:
        return f"CPU per {what}: not measured"
    cores = os.cpu_count() or 1
    return (f"CPU per {what}: clients {cpu / operations * 1000:.1f} ms, PostgreSQL "
            f"{database_cpu / operations * 1000:.1f} ms; {cores} cores allow "
            f"{cores * operations / (cpu + database_cpu):.0f}/s at most")


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_values:
        return float("nan")
    k = math.ceil(p / 100 * len(sorted_values)) - 1
    return sorted_values[max(0, min(len(sorted_values) - 1, k))]
