"""Write catalog/data/sample_price_list.csv and .xlsx — the price list import's samples.

    .venv/bin/python scripts/build_sample_price_list.py

Both files hold the same rows. DEMO-0001…DEMO-0003 and the USCC are placeholders: an import
accepts only SKUs of the subsidiary it is for and USCCs of its customers (the tests create
products and a company with exactly these).
"""

import csv
import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

DATA = Path(__file__).resolve().parent.parent / "catalog" / "data"
NOTE = ("# ChemMall price list import sample. One row per price tier. SKUs must be products of "
        "the subsidiary you import for (DEMO-0001..DEMO-0003 are placeholders); company_uscc "
        "empty = public list, else a customer's USCC; valid_until empty = open-ended; "
        "tax_inclusive yes/no (empty = yes). Rows starting with # are ignored.")
HEADER = ["sku", "company_uscc", "min_quantity", "unit_price", "valid_from", "valid_until",
          "tax_inclusive"]
START = datetime.date(2027, 1, 4)
COMPANY_END = datetime.date(2027, 3, 31)
USCC = "91320500000999001T"
ROWS = [
    ("DEMO-0001", "", 1, Decimal("128.00"), START, None, "yes"),
    ("DEMO-0001", "", 10, Decimal("124.00"), START, None, "yes"),
    ("DEMO-0001", "", 40, Decimal("120.50"), START, None, "yes"),
    ("DEMO-0002", "", 25, Decimal("36.80"), START, None, "yes"),
    ("DEMO-0002", "", 500, Decimal("34.20"), START, None, "yes"),
    ("DEMO-0003", "", 1, Decimal("2450.00"), START, None, "no"),
    ("DEMO-0001", USCC, 10, Decimal("118.00"), START, COMPANY_END, "是"),
    ("DEMO-0001", USCC, 100, Decimal("112.00"), START, COMPANY_END, "是"),
]


def write_csv(path: Path) -> None:
    # utf-8-sig: the byte order mark makes Excel open the Chinese text correctly.
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([NOTE])
        writer.writerow(HEADER)
        for sku, uscc, quantity, price, start, end, tax in ROWS:
            writer.writerow([sku, uscc, quantity, f"{price:.2f}", start.isoformat(),
                             end.isoformat() if end else "", tax])


def write_xlsx(path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "prices"
    sheet.append([NOTE])
    sheet.append(HEADER)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for sku, uscc, quantity, price, start, end, tax in ROWS:
        sheet.append([sku, uscc or None, quantity, float(price), start, end, tax])
    for row in sheet.iter_rows(min_row=3):
        row[3].number_format = "0.00"
        row[4].number_format = row[5].number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEFG", (14, 22, 14, 12, 12, 12, 14), strict=True):
        sheet.column_dimensions[column].width = width
    # A fixed timestamp: regenerating without changes gives the same file content.
    workbook.properties.created = workbook.properties.modified = datetime.datetime(2026, 11, 23)
    workbook.save(path)


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    write_csv(DATA / "sample_price_list.csv")
    write_xlsx(DATA / "sample_price_list.xlsx")
    print("wrote", DATA / "sample_price_list.csv", "and", DATA / "sample_price_list.xlsx")
