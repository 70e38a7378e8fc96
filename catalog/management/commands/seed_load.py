"""`manage.py seed_load --products 100000`: a large synthetic catalog for benchmarks.

Chemicals are built from substituents and parent compounds (4-chloro-2-methylbenzoic acid,
2-甲基-4-氯苯甲酸, C8H7ClO2) with valid CAS numbers in a range not yet assigned by CAS
(8000000-00-x and up); each gets about four products across the subsidiaries and grades,
with two price tiers in one public price list per seller and stock at a depot for most of
them; then the search index is rebuilt. Everything is inserted with bulk_create.

Generated rows are marked: SKUs start with LOAD-, categories and sellers it had to create
with load-, depots with LOAD-, chemicals have CAS numbers 8xxxxxx-xx-x; `--clear` removes
them. Not idempotent: a second run adds more products (and reuses the chemicals).
"""

import datetime
import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone
from stdnum import casrn

from accounts.models import Depot, Organization, Region, WorkingCalendar
from catalog import search
from catalog.models import (
    Category,
    Chemical,
    Grade,
    PriceList,
    PriceTier,
    Product,
    SalesUnit,
    SearchTerm,
    Stock,
)

SKU_PREFIX = "LOAD-"
KEY_PREFIX = "load-"
PRICE_LIST_NAME = "LOAD public prices"
CAS_FIRST = 8_000_000  # first group of the generated CAS numbers: 8000000 … 8999999
CAS_REGEX = r"^8[0-9]{6}-"
PRODUCTS_PER_CHEMICAL = 4
BATCH = 2000

# (English prefix, Chinese, atoms added when it replaces one hydrogen)
SUBSTITUENTS = [
    ("methyl", "甲基", {"C": 1, "H": 2}),
    ("ethyl", "乙基", {"C": 2, "H": 4}),
    ("propyl", "丙基", {"C": 3, "H": 6}),
    ("isopropyl", "异丙基", {"C": 3, "H": 6}),
    ("butyl", "丁基", {"C": 4, "H": 8}),
    ("tert-butyl", "叔丁基", {"C": 4, "H": 8}),
    ("vinyl", "乙烯基", {"C": 2, "H": 2}),
    ("phenyl", "苯基", {"C": 6, "H": 4}),
    ("benzyl", "苄基", {"C": 7, "H": 6}),
    ("fluoro", "氟", {"H": -1, "F": 1}),
    ("chloro", "氯", {"H": -1, "Cl": 1}),
    ("bromo", "溴", {"H": -1, "Br": 1}),
    ("iodo", "碘", {"H": -1, "I": 1}),
    ("nitro", "硝基", {"H": -1, "N": 1, "O": 2}),
    ("amino", "氨基", {"H": 1, "N": 1}),
    ("hydroxy", "羟基", {"O": 1}),
    ("methoxy", "甲氧基", {"C": 1, "H": 2, "O": 1}),
    ("ethoxy", "乙氧基", {"C": 2, "H": 4, "O": 1}),
    ("cyano", "氰基", {"C": 1, "H": -1, "N": 1}),
    ("formyl", "甲酰基", {"C": 1, "O": 1}),
    ("acetyl", "乙酰基", {"C": 2, "H": 2, "O": 1}),
    ("carboxy", "羧基", {"C": 1, "O": 2}),
    ("trifluoromethyl", "三氟甲基", {"C": 1, "H": -1, "F": 3}),
    ("sulfamoyl", "氨磺酰基", {"H": 1, "N": 1, "O": 2, "S": 1}),
    ("mercapto", "巯基", {"S": 1}),
    ("hydroxymethyl", "羟甲基", {"C": 1, "H": 2, "O": 1}),
]
# (English parent name, Chinese, formula)
PARENTS = [
    ("benzoic acid", "苯甲酸", {"C": 7, "H": 6, "O": 2}),
    ("toluene", "甲苯", {"C": 7, "H": 8}),
    ("phenol", "苯酚", {"C": 6, "H": 6, "O": 1}),
    ("aniline", "苯胺", {"C": 6, "H": 7, "N": 1}),
    ("pyridine", "吡啶", {"C": 5, "H": 5, "N": 1}),
    ("benzaldehyde", "苯甲醛", {"C": 7, "H": 6, "O": 1}),
    ("acetophenone", "苯乙酮", {"C": 8, "H": 8, "O": 1}),
    ("benzonitrile", "苯甲腈", {"C": 7, "H": 5, "N": 1}),
    ("naphthalene", "萘", {"C": 10, "H": 8}),
    ("pyrimidine", "嘧啶", {"C": 4, "H": 4, "N": 2}),
    ("pyrazole", "吡唑", {"C": 3, "H": 4, "N": 2}),
    ("imidazole", "咪唑", {"C": 3, "H": 4, "N": 2}),
    ("thiophene", "噻吩", {"C": 4, "H": 4, "S": 1}),
    ("furan", "呋喃", {"C": 4, "H": 4, "O": 1}),
    ("indole", "吲哚", {"C": 8, "H": 7, "N": 1}),
    ("quinoline", "喹啉", {"C": 9, "H": 7, "N": 1}),
    ("piperidine", "哌啶", {"C": 5, "H": 11, "N": 1}),
    ("morpholine", "吗啉", {"C": 4, "H": 9, "N": 1, "O": 1}),
    ("benzamide", "苯甲酰胺", {"C": 7, "H": 7, "N": 1, "O": 1}),
    ("anisole", "苯甲醚", {"C": 7, "H": 8, "O": 1}),
    ("benzyl alcohol", "苯甲醇", {"C": 7, "H": 8, "O": 1}),
    ("benzenesulfonic acid", "苯磺酸", {"C": 6, "H": 6, "O": 3, "S": 1}),
    ("phenylacetic acid", "苯乙酸", {"C": 8, "H": 8, "O": 2}),
    ("biphenyl", "联苯", {"C": 12, "H": 10}),
    ("benzophenone", "二苯甲酮", {"C": 13, "H": 10, "O": 1}),
    ("cinnamic acid", "肉桂酸", {"C": 9, "H": 8, "O": 2}),
]
SINGLE_LOCANTS = ["2", "3", "4"]
DOUBLE_LOCANTS = [("2", "4"), ("2", "5"), ("2", "6"), ("3", "4"), ("3", "5")]
ORTHO_META_PARA = {"2": ("o", "邻"), "3": ("m", "间"), "4": ("p", "对")}
GRADES = [Grade.INDUSTRIAL, Grade.REAGENT, Grade.PHARMACEUTICAL, Grade.FOOD, Grade.ELECTRONIC]
SERVICES = [  # (English, Chinese) testing services of the sellers
    ("GC-MS purity analysis", "气相色谱-质谱纯度分析"),
    ("HPLC assay", "高效液相色谱含量测定"),
    ("Heavy metals by ICP-MS", "电感耦合等离子体质谱重金属检测"),
    ("Karl Fischer water content", "卡尔费休水分测定"),
    ("Residual solvents", "残留溶剂检测"),
]


def hill(atoms: dict[str, int]) -> str:
    """Hill notation: C, H, then the others alphabetically; a count of 1 is not written."""
    order = (["C", "H"] if atoms.get("C") else []) + sorted(
        k for k in atoms if k not in ("C", "H") or not atoms.get("C"))
    return "".join(f"{el}{atoms[el] if atoms[el] != 1 else ''}" for el in order
                   if atoms.get(el, 0) > 0)


def make_cas(index: int) -> str:
    body = f"{CAS_FIRST + index}-{(index * 37) % 100:02d}"
    return f"{body}-{casrn.calc_check_digit(body)}"


def chemical_data(combo: int) -> dict:
    """The combo-th synthetic chemical: names, synonyms (English and Chinese), formula."""
    n_sub, n_par = len(SUBSTITUENTS), len(PARENTS)
    singles = len(SINGLE_LOCANTS) * n_sub * n_par
    if combo < singles:
        loc_i, rest = divmod(combo, n_sub * n_par)
        sub_i, par_i = divmod(rest, n_par)
        loc = SINGLE_LOCANTS[loc_i]
        (sub_en, sub_zh, delta), (par_en, par_zh, atoms) = SUBSTITUENTS[sub_i], PARENTS[par_i]
        name_en = f"{loc}-{sub_en}{par_en}"
        name_zh = f"{loc}-{sub_zh}{par_zh}"
        omp_en, omp_zh = ORTHO_META_PARA[loc]
        synonyms = [f"{omp_en}-{sub_en}{par_en}", f"{par_en.capitalize()}, {loc}-{sub_en}-",
                    f"{omp_zh}{sub_zh}{par_zh}"]
        deltas = [delta]
    else:
        loc_i, rest = divmod(combo - singles, n_sub * (n_sub - 1) * n_par)
        first_i, rest = divmod(rest, (n_sub - 1) * n_par)
        second_i, par_i = divmod(rest, n_par)
        second_i += second_i >= first_i  # two different substituents
        (l1, l2) = DOUBLE_LOCANTS[loc_i]
        s1, s2 = SUBSTITUENTS[first_i], SUBSTITUENTS[second_i]
        par_en, par_zh, atoms = PARENTS[par_i]
        name_en = f"{l1}-{s1[0]}-{l2}-{s2[0]}{par_en}"
        name_zh = f"{l1}-{s1[1]}-{l2}-{s2[1]}{par_zh}"
        synonyms = [f"{par_en.capitalize()}, {l2}-{s2[0]}-{l1}-{s1[0]}-",
                    f"{l2}-{s2[1]}-{l1}-{s1[1]}{par_zh}"]
        deltas = [s1[2], s2[2]]
    total = dict(atoms)
    for delta in deltas:
        for element, count in delta.items():
            total[element] = total.get(element, 0) + count
    return {"name_en": name_en[0].upper() + name_en[1:], "name_zh": name_zh,
            "synonyms": synonyms, "formula": hill(total)}


def combos_total() -> int:
    n_sub, n_par = len(SUBSTITUENTS), len(PARENTS)
    return (len(SINGLE_LOCANTS) * n_sub * n_par
            + len(DOUBLE_LOCANTS) * n_sub * (n_sub - 1) * n_par)


def offer_shape(grade: str, rng: random.Random) -> dict:
    if grade in (Grade.REAGENT, Grade.PHARMACEUTICAL, Grade.ELECTRONIC):
        return {"packaging": "500 g bottle", "sales_unit": SalesUnit.KG, "purity": "≥99.5%",
                "min_order_quantity": Decimal("0.5"), "quantity_step": Decimal("0.5")}
    if rng.random() < 0.2:
        return {"packaging": "bulk", "sales_unit": SalesUnit.TONNE, "purity": "≥98%",
                "min_order_quantity": Decimal("1"), "quantity_step": Decimal("0.5")}
    return {"packaging": "25 kg bag", "sales_unit": SalesUnit.KG, "purity": "≥98%",
            "min_order_quantity": Decimal("25"), "quantity_step": Decimal("25")}


PRICE_RANGE = {Grade.INDUSTRIAL: (3, 40), Grade.FOOD: (8, 60), Grade.REAGENT: (60, 400),
               Grade.PHARMACEUTICAL: (200, 1500), Grade.ELECTRONIC: (120, 800),
               Grade.SERVICE: (800, 6000)}


class Command(BaseCommand):
    help = ("Load a large synthetic catalog for benchmarks (SKUs LOAD-…), then rebuild the "
            "search index; --clear removes what it loaded.")

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=20261122,
                            help="Random seed: the same seed gives the same catalog.")
        parser.add_argument("--clear", action="store_true",
                            help="Remove the generated rows instead of loading.")

    def handle(self, *args, products: int, seed: int, clear: bool, **options):
        started = time.monotonic()
        if clear:
            self._clear()
        else:
            self._load(products, random.Random(seed), started)
        self._analyze()
        self.stdout.write(f"done in {time.monotonic() - started:.1f} s")

    def _step(self, label: str, started: float) -> None:
        self.stdout.write(f"{time.monotonic() - started:7.1f} s  {label}")

    # --- load --------------------------------------------------------------------------------

    @transaction.atomic
    def _load(self, count: int, rng: random.Random, started: float) -> None:
        sellers = self._sellers()
        depots = self._depots(sellers)
        categories = self._categories()
        n_chemicals = max(1, min(combos_total(), -(-count // PRODUCTS_PER_CHEMICAL)))
        chemicals = self._chemicals(n_chemicals, rng)
        self._step(f"{len(chemicals)} chemicals, {len(sellers)} sellers", started)

        today = timezone.localdate()
        price_lists = {
            seller.pk: PriceList.objects.create(
                seller=seller, company=None, name=PRICE_LIST_NAME,
                valid_from=today - datetime.timedelta(days=30), valid_until=None)
            for seller in sellers
        }
        first = Product.objects.filter(sku__startswith=SKU_PREFIX).count()
        made = 0
        for start in range(0, count, BATCH * 5):
            size = min(BATCH * 5, count - start)
            batch = [self._product(first + start + i, start + i, chemicals, sellers,
                                   categories, rng) for i in range(size)]
            Product.objects.bulk_create(batch, batch_size=BATCH)
            tiers, stocks = [], []
            for product in batch:
                low, high = PRICE_RANGE[product.grade]
                price = Decimal(rng.randint(low * 100, high * 100)) / 100
                if product.sales_unit == SalesUnit.TONNE:
                    price *= 1000
                price_list = price_lists[product.seller_id]
                tiers.append(PriceTier(price_list=price_list, product=product,
                                       min_quantity=product.min_order_quantity,
                                       unit_price=price))
                tiers.append(PriceTier(price_list=price_list, product=product,
                                       min_quantity=product.min_order_quantity * 10,
                                       unit_price=(price * Decimal("0.95")).quantize(
                                           Decimal("0.01"))))
                if not product.is_service and rng.random() < 0.7:
                    stocks.append(Stock(product=product, depot=depots[product.seller_id],
                                        on_hand=product.min_order_quantity
                                        * rng.choice([1, 4, 10, 40, 120])))
            PriceTier.objects.bulk_create(tiers, batch_size=BATCH * 2)
            Stock.objects.bulk_create(stocks, batch_size=BATCH * 2)
            made += size
        self._step(f"{made} products with prices and stock", started)
        search.index_all()
        self._step("search index rebuilt", started)

    def _product(self, number: int, index: int, chemicals: list[Chemical],
                 sellers: list[Organization], categories: list[Category],
                 rng: random.Random) -> Product:
        sku = f"{SKU_PREFIX}{number:07d}"
        seller = sellers[(index // len(chemicals) + index) % len(sellers)]
        if index % 200 == 199:  # a testing service now and then
            name_en, name_zh = SERVICES[index % len(SERVICES)]
            return Product(sku=sku, seller=seller, chemical=None, is_service=True,
                           category=categories[-1], grade=Grade.SERVICE,
                           name_en=name_en, name_zh=name_zh, sales_unit=SalesUnit.ITEM,
                           packaging="report", min_order_quantity=Decimal("1"),
                           quantity_step=Decimal("1"), lead_time_days=7)
        chemical = chemicals[index % len(chemicals)]
        grade = GRADES[(index // len(chemicals) + index) % len(GRADES)]
        return Product(sku=sku, seller=seller, chemical=chemical, grade=grade,
                       category=categories[chemical.pk % len(categories)],
                       lead_time_days=rng.choice([2, 3, 5, 7, 10]), **offer_shape(grade, rng))

    def _sellers(self) -> list[Organization]:
        sellers = list(Organization.objects.filter(kind=Organization.Kind.SUBSIDIARY,
                                                   is_active=True).order_by("pk"))
        if sellers:
            return sellers
        calendar, _created = WorkingCalendar.objects.get_or_create(name="Load calendar")
        hq = (Organization.objects.filter(kind=Organization.Kind.HQ).first()
              or Organization.objects.create(code=f"{KEY_PREFIX}hq", name_zh="压测集团",
                                             name_en="Load Group", calendar=calendar,
                                             kind=Organization.Kind.HQ))
        Organization.objects.bulk_create([
            Organization(code=f"{KEY_PREFIX}sub-{n:02d}", name_zh=f"压测子公司{n:02d}",
                         name_en=f"Load Subsidiary {n:02d}", parent=hq, calendar=calendar,
                         kind=Organization.Kind.SUBSIDIARY)
            for n in range(1, 11)
        ])
        return list(Organization.objects.filter(code__startswith=f"{KEY_PREFIX}sub-")
                    .order_by("pk"))

    def _depots(self, sellers: list[Organization]) -> dict[int, Depot]:
        depots: dict[int, Depot] = {}
        for depot in Depot.objects.filter(organization__in=sellers, is_active=True
                                          ).order_by("-pk"):
            depots[depot.organization_id] = depot
        region = Region.objects.filter(level="city").order_by("code").first()
        for seller in sellers:
            if seller.pk not in depots:
                depots[seller.pk] = Depot.objects.create(
                    code=f"LOAD-D{seller.pk}", name_zh=f"压测仓库{seller.pk}",
                    name_en=f"Load depot {seller.pk}", organization=seller, region=region,
                    address="压测地址 1 号")
        return depots

    def _categories(self) -> list[Category]:
        categories = list(Category.objects.order_by("pk"))
        if categories:
            return categories
        names = [("Organic intermediates", "有机中间体"), ("Reagents", "试剂"),
                 ("Pharmaceutical intermediates", "医药中间体"), ("Fine chemicals", "精细化学品"),
                 ("Testing services", "检测服务")]
        Category.objects.bulk_create([
            Category(key=f"{KEY_PREFIX}{n}", name_en=en, name_zh=zh, position=n)
            for n, (en, zh) in enumerate(names)
        ])
        return list(Category.objects.filter(key__startswith=KEY_PREFIX).order_by("pk"))

    def _chemicals(self, count: int, rng: random.Random) -> list[Chemical]:
        combos = rng.sample(range(combos_total()), count)
        rows = []
        for index, combo in enumerate(combos):
            data = chemical_data(combo)
            hazardous = rng.random() < 0.3
            rows.append(Chemical(
                cas=make_cas(index), **data,
                ghs_pictograms=rng.sample(["GHS05", "GHS06", "GHS07", "GHS08", "GHS09"], 1)
                if hazardous else [],
                signal_word=Chemical.SignalWord.WARNING if hazardous else "",
                un_number=rng.choice(["2811", "3077", "2923", "1993"]) if hazardous else "",
            ))
        Chemical.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        by_cas = dict(Chemical.objects.filter(cas__regex=CAS_REGEX).values_list("cas", "pk"))
        for chemical in rows:  # ignore_conflicts leaves pk unset: take it from the table
            chemical.pk = by_cas[chemical.cas]
        return rows

    # --- clear -------------------------------------------------------------------------------

    @transaction.atomic
    def _clear(self) -> None:
        products = Product.objects.filter(sku__startswith=SKU_PREFIX)
        tiers = PriceTier.objects.filter(product__in=products).delete()[0]
        count = products.delete()[1].get(Product._meta.label, 0)
        PriceList.objects.filter(name=PRICE_LIST_NAME, tiers__isnull=True).delete()
        chemicals = Chemical.objects.filter(cas__regex=CAS_REGEX,
                                            products__isnull=True).delete()[0]
        Depot.objects.filter(code__startswith="LOAD-", stocks__isnull=True).delete()
        Category.objects.filter(key__startswith=KEY_PREFIX, products__isnull=True,
                                children__isnull=True).delete()
        Organization.objects.filter(code__startswith=f"{KEY_PREFIX}sub-",
                                    products__isnull=True).delete()
        Organization.objects.filter(code=f"{KEY_PREFIX}hq", children__isnull=True).delete()
        WorkingCalendar.objects.filter(name="Load calendar", organizations__isnull=True).delete()
        search.index_all()  # the word table, without the generated words
        self.stdout.write(f"removed {count} products (with their stock), {tiers} price tiers, "
                          f"{chemicals} chemicals")

    def _analyze(self) -> None:
        """Fresh statistics to plan with. The index rebuild rewrote every product row:
        VACUUM FULL gives the table back its loaded size (half the pages to read for a
        search that matches thousands of products)."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in (Product, Chemical, PriceTier, Stock, SearchTerm):
                table = connection.ops.quote_name(model._meta.db_table)
                if connection.in_atomic_block:
                    cursor.execute(f"ANALYZE {table}")
                elif model is Product:
                    cursor.execute(f"VACUUM (FULL, ANALYZE) {table}")
                else:
                    cursor.execute(f"VACUUM (ANALYZE) {table}")
