"""Search benchmark: a fixed mixed set of 500 queries drawn from a seed_load catalog.

    createdb -h 127.0.0.1 -U postgres chemmall_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/chemmall_bench
    export DJANGO_SETTINGS_MODULE=chemmall.settings
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_load --products 100000
    .venv/bin/python benchmarks/search_bench.py            # --explain for the query plans

Ten classes of 50 queries (CAS with and without dashes, English names and synonyms,
Chinese names and synonyms, pinyin and its initials, formulas, typos), drawn with a fixed
seed from the generated chemicals; plus, reported apart, 50 broad queries (one common word,
a 2-3 letter prefix, one Chinese character) that match thousands of products.

Each query is timed as a page is served: `search_products(query=…)`, the first page
(`list(products[:20])`) and the count. "total" is the wall time in this process (ORM and
database); "db" is the time spent in the database calls alone. Everything runs once to warm
the caches, then `--rounds` times timed. "top1" / "page" say how often the chemical the
query was made from is the first result / on the first page (several chemicals share a
formula or a pinyin; the typo class counts how often "did you mean" gave the right spelling).
"""

import argparse
import os
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chemmall.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from pypinyin import Style, lazy_pinyin  # noqa: E402

from catalog.models import Chemical  # noqa: E402
from catalog.search import search_products  # noqa: E402

CLASSES = ["cas", "cas_compact", "name_en", "synonym_en", "name_zh", "synonym_zh", "pinyin",
           "initials", "formula", "typo"]
BROAD = "broad"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _typo(word: str, rng: random.Random) -> str:
    """One slip of the keyboard inside a long word: a swap, a lost or a doubled letter."""
    i = rng.randrange(2, len(word) - 2)
    kind = rng.choice(["swap", "drop", "double"])
    if kind == "swap" and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1:]


def build_queries(seed: int, per_class: int) -> list[tuple[str, str, int | None, str]]:
    """(class, query, id of the chemical it was made from, the right spelling of a typo)
    — the same list for a seed."""
    chemicals = list(
        Chemical.objects.filter(products__sku__startswith="LOAD-", products__is_active=True)
        .distinct().order_by("pk").values("pk", "cas", "name_en", "name_zh", "synonyms",
                                          "formula"))
    if not chemicals:
        sys.exit("No LOAD- products: run `manage.py seed_load --products 100000` first.")
    rng = random.Random(seed)
    queries: list[tuple[str, str, int | None, str]] = []
    for cls in CLASSES:
        for n, chem in enumerate(rng.sample(chemicals, per_class)):
            en_synonyms = [s for s in chem["synonyms"] if not CJK.search(s)]
            zh_synonyms = [s for s in chem["synonyms"] if CJK.search(s)]
            syllables = lazy_pinyin(chem["name_zh"], style=Style.NORMAL, errors="ignore")
            query = {
                "cas": chem["cas"],
                "cas_compact": chem["cas"].replace("-", ""),
                "name_en": chem["name_en"],
                "synonym_en": en_synonyms[0] if en_synonyms else chem["name_en"],
                "name_zh": chem["name_zh"],
                "synonym_zh": zh_synonyms[0] if zh_synonyms else chem["name_zh"],
                "pinyin": "".join(syllables),
                "initials": "".join(s[0] for s in syllables),
                "formula": chem["formula"],
                "typo": "",
            }[cls]
            right = ""
            if cls == "typo":  # half a misspelt word alone (tolune), half in the whole name
                name = chem["name_en"].lower()
                right = max(re.findall(r"[a-z]+", name), key=len)
                wrong = _typo(right, rng)
                query, right = (wrong, right) if n % 2 == 0 else (
                    name.replace(right, wrong, 1), name)
            queries.append((cls, query, chem["pk"], right))
    words = sorted({w for c in chemicals for w in re.findall(r"[a-z]{5,}", c["name_en"].lower())})
    broad = (["acid", "benzoic acid", "toluene", "pyridine", "酸", "苯", "ls", "be", "chl",
              "meth", "c8h", "800"]
             + rng.sample(words, min(len(words), per_class - 12)))
    queries += [(BROAD, q, None, "") for q in broad[:per_class]]
    return queries


class DbTimer:
    """connection.execute_wrapper: time in the database, and the last statements run."""

    def __init__(self):
        self.seconds = 0.0
        self.statements: list[tuple[str, tuple]] = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.statements.append((sql, params))


def run_one(query: str, timer: DbTimer) -> tuple[float, float, list, int, str | None]:
    timer.seconds, timer.statements = 0.0, []
    start = time.perf_counter()
    result = search_products(query=query)
    page = list(result.products[:20])
    count = result.products.count()
    return time.perf_counter() - start, timer.seconds, page, count, result.suggestion


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report_line(name: str, totals: list[float], dbs: list[float], top1: str, on_page: str,
                found: list[int]) -> str:
    ms = [t * 1000 for t in totals]
    db = [t * 1000 for t in dbs]
    return (f"| {name:<12} | {len(ms):>4} | {pct(ms, 50):6.2f} | {pct(ms, 95):6.2f} | "
            f"{pct(ms, 99):6.2f} | {max(ms):6.2f} | {pct(db, 50):6.2f} | {pct(db, 95):6.2f} | "
            f"{statistics.median(found):>8.0f} | {top1:>5} | {on_page:>5} |")


def explain(query: str, timer: DbTimer) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement one search ran."""
    run_one(query, timer)
    statements = list(timer.statements)
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            print("\n    " + sql[:160].replace("\n", " ") + (" …" if len(sql) > 160 else ""))
            for (line,) in cursor.fetchall():
                print("      " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of one query per class")
    args = parser.parse_args()

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog_product WHERE is_active")
        products = cursor.fetchone()[0]
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    queries = build_queries(args.seed, args.per_class)
    print(f"{products} active products, {version}, {len(queries)} queries "
          f"({len(queries) - args.per_class} mixed + {args.per_class} broad), "
          f"{args.rounds} timed rounds after one warm-up")

    timer = DbTimer()
    totals, dbs = defaultdict(list), defaultdict(list)
    hits, found, fixed = defaultdict(lambda: [0, 0]), defaultdict(list), defaultdict(int)
    with connection.execute_wrapper(timer):
        for _cls, query, _target, _right in queries:  # warm-up
            run_one(query, timer)
        for _round in range(args.rounds):
            for cls, query, target, right in queries:
                total, db, page, count, suggestion = run_one(query, timer)
                totals[cls].append(total)
                dbs[cls].append(db)
                if _round == 0:
                    found[cls].append(count)
                    chemicals = [p.chemical_id for p in page]
                    hits[cls][0] += bool(chemicals) and chemicals[0] == target
                    hits[cls][1] += target in chemicals
                    fixed[cls] += bool(right) and suggestion == right

        print("\n| class        |    n | p50 ms | p95 ms | p99 ms | max ms | db p50 | db p95 |"
              "  results |  top1 |  page |")
        print("|" + "|".join("-" * w for w in (14, 6, 8, 8, 8, 8, 8, 8, 10, 7, 7)) + "|")
        mixed_t, mixed_d, mixed_f = [], [], []
        for cls in [*CLASSES, BROAD]:
            n = len(found[cls])
            top1, on_page = ((f"{hits[cls][0] / n:.0%}", f"{hits[cls][1] / n:.0%}")
                             if cls != BROAD else ("-", "-"))
            print(report_line(cls, totals[cls], dbs[cls], top1, on_page, found[cls]))
            if cls != BROAD:
                mixed_t += totals[cls]
                mixed_d += dbs[cls]
                mixed_f += found[cls]
        print(report_line("ALL mixed", mixed_t, mixed_d, "", "", mixed_f))
        print(report_line("ALL + broad", mixed_t + totals[BROAD], mixed_d + dbs[BROAD], "",
                          "", mixed_f + found[BROAD]))
        print(f"\ntypos given the right spelling as the suggestion: "
              f"{fixed['typo']}/{len(found['typo'])}")

        if args.explain:
            seen = set()
            for cls, query, _target, _right in queries:
                if cls in seen:
                    continue
                seen.add(cls)
                print(f"\n=== {cls}: {query!r}")
                explain(query, timer)


if __name__ == "__main__":
    main()
