"""Load China's province-level divisions and prefecture-level cities (GB/T 2260).

The CSV is generated once by scripts/build_regions.py from the dataset shipped in cpca
and committed; reference data every environment needs, so it is a migration.
"""

import csv
from pathlib import Path

from django.db import migrations

CSV_PATH = Path(__file__).resolve().parent.parent / "data" / "regions.csv"


def load_regions(apps, schema_editor):
    Region = apps.get_model("accounts", "Region")
    with CSV_PATH.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # Provinces first so that every city's parent exists.
    for level in ("province", "city"):
        Region.objects.bulk_create(
            [
                Region(code=r["code"], level=r["level"], parent_id=r["parent_code"] or None,
                       name_zh=r["name_zh"], name_en=r["name_en"])
                for r in rows
                if r["level"] == level
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]
