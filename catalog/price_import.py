"""Price list import: an XLSX or CSV file of price tiers → price lists, all or nothing.

One row per price tier, under a header row naming the columns:

    sku, company_uscc, min_quantity, unit_price, valid_from, valid_until, tax_inclusive

`company_uscc` empty: the public list; `valid_until` empty: until a newer list replaces it;
`tax_inclusive` empty: yes. Rows with the same (company, valid_from, valid_until) become one
price list. Blank rows, and rows whose first cell starts with "#" (notes), are skipped.

Every row is checked before anything is written. With a single problem nothing is written and
the report names each problem with its row — the row number Excel shows — and its column.
Numbers are read as Decimal, never through float arithmetic.
"""

import csv
import datetime
import io
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Company, Organization
from accounts.selectors import companies_visible_to, organizations_visible_to
from chemmall.errors import DomainError

from . import services
from .models import PriceList, Product

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 30
# A run of this many empty rows ends the sheet: Excel files are often formatted far below
# their last value, and reading a million empty rows would only cost time.
BLANK_RUN_ENDS_SHEET = 1_000

COLUMNS = ("sku", "company_uscc", "min_quantity", "unit_price", "valid_from", "valid_until",
           "tax_inclusive")
REQUIRED_COLUMNS = ("sku", "min_quantity", "unit_price", "valid_from")
EXTENSIONS = (".xlsx", ".csv")

_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx is a zip archive
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
_YES = {"yes", "y", "true", "1", "是", "含税"}
_NO = {"no", "n", "false", "0", "否", "不含税"}
_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$|^[+-]?\.\d+$")
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$")
_FIRST_DATE = datetime.date(2000, 1, 1)
_LAST_DATE = datetime.date(2099, 12, 31)
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31


@dataclass(frozen=True)
class RowError:
    row_number: int | None  # as Excel shows it (the header is usually 1); None: the whole file
    column: str  # the column's name in the header; "" when it is about the row or file
    message: str


@dataclass
class ImportReport:
    price_lists: list[PriceList] = field(default_factory=list)
    tiers_count: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFileError(Exception):
    """The file cannot be read as a table at all."""


class _CellError(Exception):
    pass


@dataclass
class _Row:
    number: int
    product: Product
    company: Company | None
    min_quantity: Decimal
    unit_price: Decimal
    valid_from: datetime.date
    valid_until: datetime.date | None
    tax_inclusive: bool

    @property
    def list_key(self) -> tuple:
        return (self.company.pk if self.company else None, self.valid_from, self.valid_until)


def _today() -> datetime.date:
    return timezone.localdate()


# --- The service ------------------------------------------------------------------------------


@transaction.atomic
def price_list_import(*, seller: Organization, file, filename: str, user) -> ImportReport:
    """Check every row of an uploaded price list file; if all are fine, create its price lists
    (source IMPORT, each with its price history) — all of them, or none."""
    if not organizations_visible_to(user).filter(
            pk=seller.pk, kind=Organization.Kind.SUBSIDIARY).exists():
        raise DomainError(_("You cannot import prices for %(seller)s.") % {"seller": seller.name},
                          field="seller")
    # One import per seller at a time: two uploads of the same file must not both pass the
    # "a list with this start exists already" check before either has written its lists.
    Organization.objects.select_for_update().filter(pk=seller.pk).first()

    try:
        data = _read_bytes(file)
        table = read_table(data=data, filename=filename)
    except ImportFileError as error:
        return ImportReport(errors=[RowError(None, "", str(error))])
    rows, errors = _check_rows(table=table, seller=seller, user=user)
    if errors:
        return ImportReport(errors=errors)

    groups: dict[tuple, list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.list_key, []).append(row)
    name_of_file = os.path.basename(filename or "")[:40]
    created = []
    try:
        with transaction.atomic():
            for key in sorted(groups, key=_list_order):
                group = groups[key]
                first = group[0]
                created.append(services.price_list_create(
                    seller=seller, company=first.company,
                    name=_list_name(first, name_of_file),
                    valid_from=first.valid_from, valid_until=first.valid_until,
                    tiers=_tier_inputs(group), created_by=user,
                    source=PriceList.Source.IMPORT,
                ))
    except DomainError as error:  # checked above; only a concurrent change can get here
        return ImportReport(errors=[RowError(None, "", str(error.message))])
    return ImportReport(price_lists=created, tiers_count=len(rows))


def _list_order(key: tuple) -> tuple:
    company_id, valid_from, valid_until = key
    return (valid_from, company_id or 0, valid_until or datetime.date.max)


def _list_name(row: _Row, filename: str) -> str:
    scope = row.company.name if row.company else _("Public")
    name = _("%(scope)s prices from %(date)s (import of %(file)s)") % {
        "scope": scope, "date": row.valid_from.isoformat(), "file": filename}
    return name[:120]


def _tier_inputs(rows: list[_Row]) -> list[services.TierInput]:
    ordered = sorted(rows, key=lambda r: (r.product.sku, r.min_quantity))
    return [services.TierInput(product=r.product, min_quantity=r.min_quantity,
                               unit_price=r.unit_price, tax_inclusive=r.tax_inclusive)
            for r in ordered]


# --- Reading the file -------------------------------------------------------------------------


def _read_bytes(file) -> bytes:
    if isinstance(file, bytes | bytearray):
        data = bytes(file)
    else:
        size = getattr(file, "size", None)
        if size is not None and size > MAX_BYTES:
            raise ImportFileError(_too_big())
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportFileError(_too_big())
    return data


def _too_big() -> str:
    return _("The file is larger than %(size)d MB; split it into smaller files.") % {
        "size": MAX_BYTES // (1024 * 1024)}


def read_table(*, data: bytes, filename: str) -> list[tuple[int, tuple]]:
    """The file's non-blank rows as (row number as Excel shows it, cell values)."""
    extension = os.path.splitext(filename or "")[1].lower()
    if extension not in EXTENSIONS:
        raise ImportFileError(
            _("Upload an Excel workbook (.xlsx) or a CSV file (.csv); “%(name)s” is neither.")
            % {"name": os.path.basename(filename or "")})
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(_OLE_MAGIC):
        raise ImportFileError(
            _("This is an old Excel .xls file or a password-protected workbook. Save it as "
              "an .xlsx workbook without a password, or as CSV UTF-8."))
    if data.startswith(_ZIP_MAGIC):  # by content: an .xlsx renamed .csv still reads
        return _xlsx_rows(data)
    if extension == ".xlsx":
        raise ImportFileError(_("The file is named .xlsx but is not an Excel workbook."))
    return _csv_rows(data)


def _xlsx_rows(data: bytes) -> list[tuple[int, tuple]]:
    import openpyxl

    unreadable = _("The file cannot be read as an Excel workbook (.xlsx); it may be damaged. "
                   "Save it again from Excel, or as CSV UTF-8.")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a zip that is not a workbook
        raise ImportFileError(unreadable) from None
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("The workbook has no worksheet."))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the stored size may be wrong; read what is there
        rows, blank_run = [], 0
        values_by_row = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
        for number, values in enumerate(values_by_row, start=1):
            if _is_blank(values):
                blank_run += 1
                if blank_run >= BLANK_RUN_ENDS_SHEET:
                    break
                continue
            blank_run = 0
            rows.append((number, _trimmed(values)))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(unreadable) from None
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> list[tuple[int, tuple]]:
    not_utf8 = _("The file is neither an Excel workbook nor a UTF-8 CSV file. In Excel, save it "
                 "as “CSV UTF-8 (comma delimited)”, or upload the .xlsx workbook.")
    if b"\x00" in data:
        raise ImportFileError(not_utf8)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(not_utf8) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows = []
    try:
        # Records, not physical lines: a quoted cell with a line break is one row in Excel too.
        for number, values in enumerate(reader, start=1):
            if _is_blank(values):
                continue
            rows.append((number, tuple(values[:MAX_COLUMNS])))
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as error:
        raise ImportFileError(_("The CSV file is malformed near row %(row)d: %(error)s")
                              % {"row": reader.line_num, "error": error}) from None
    return rows


def _delimiter(text: str) -> str:
    """Comma, unless the header line clearly uses semicolons or tabs (Excel in some locales)."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith(("#", '"#')):
            counts = {d: line.count(d) for d in (",", ";", "\t")}
            best = max(counts, key=counts.get)
            return best if counts[best] else ","
    return ","


def _trimmed(values) -> tuple:
    values = list(values)
    while values and values[-1] is None:
        values.pop()
    return tuple(values)


def _is_blank(values) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _is_note(values) -> bool:
    first = next((v for v in values if v is not None and str(v).strip()), "")
    return isinstance(first, str) and first.strip().startswith("#")


# --- Checking the rows ------------------------------------------------------------------------


def _check_rows(*, table, seller: Organization, user) -> tuple[list[_Row], list[RowError]]:
    table = [(number, values) for number, values in table if not _is_note(values)]
    if not table:
        return [], [RowError(None, "", _("The file has no header row and no prices."))]
    (header_number, header), body = table[0], table[1:]
    columns, errors = _read_header(header_number, header)
    if errors:
        return [], errors
    if not body:
        return [], [RowError(None, "", _("The file has a header but no price rows."))]
    if len(body) > MAX_ROWS:
        return [], [RowError(None, "", _("The file has more than %(max)d price rows; split it "
                                         "into smaller files.") % {"max": MAX_ROWS})]

    def cell(values, name):
        index = columns.get(name)
        return values[index] if index is not None and index < len(values) else None

    skus = {_text(cell(v, "sku")) for _n, v in body}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus - {""})}
    usccs = {_text(cell(v, "company_uscc")).upper() for _n, v in body}
    companies = {c.uscc: c for c in companies_visible_to(user).filter(uscc__in=usccs - {""})}

    rows = []
    today = _today()
    for number, values in body:
        row_errors = []

        def fail(column, message, number=number, row_errors=row_errors):
            row_errors.append(RowError(number, column, message))

        def parse(column, convert, number=number, values=values, fail=fail):
            try:
                return convert(cell(values, column))
            except _CellError as error:
                fail(column, str(error))
                return None

        sku = _text(cell(values, "sku"))
        product = products.get(sku)
        if not sku:
            fail("sku", _("The SKU is empty."))
        elif product is None:
            fail("sku", _("Unknown SKU “%(sku)s”: no product has it.") % {"sku": sku})
        elif product.seller_id != seller.pk:
            fail("sku", _("%(sku)s is not a product of %(seller)s.")
                 % {"sku": sku, "seller": seller.name})

        uscc = _text(cell(values, "company_uscc")).upper()
        company = companies.get(uscc) if uscc else None
        if uscc and company is None:
            fail("company_uscc", _("Unknown company USCC “%(uscc)s”: none of your customer "
                                   "companies has it. Leave it empty for the public list.")
                 % {"uscc": uscc})

        min_quantity = parse("min_quantity", lambda v: _decimal(v, places=3, required=True))
        if min_quantity is not None and min_quantity < 0:
            fail("min_quantity", _("The quantity cannot be negative."))
        unit_price = parse("unit_price", lambda v: _decimal(v, places=2, required=True))
        if unit_price is not None and unit_price <= 0:
            fail("unit_price", _("The unit price must be more than zero."))
        valid_from = parse("valid_from", lambda v: _date(v, required=True))
        valid_until = parse("valid_until", lambda v: _date(v, required=False))
        if valid_from is not None and valid_from < today:
            fail("valid_from", _("The list cannot start in the past (%(date)s): prices in force "
                                 "are history. Start it today or later.")
                 % {"date": valid_from.isoformat()})
        if valid_from and valid_until and valid_until < valid_from:
            fail("valid_until", _("Valid until %(until)s is before valid from %(from)s.")
                 % {"until": valid_until.isoformat(), "from": valid_from.isoformat()})
        tax_inclusive = parse("tax_inclusive", _yes_no)

        if row_errors:
            errors += row_errors
        else:
            rows.append(_Row(number=number, product=product, company=company,
                             min_quantity=min_quantity, unit_price=unit_price,
                             valid_from=valid_from, valid_until=valid_until,
                             tax_inclusive=tax_inclusive))

    accepted, tier_errors = _check_tiers(rows)
    errors += tier_errors
    errors += _check_overlaps(accepted)
    errors += _check_existing(accepted, seller=seller)
    errors.sort(key=lambda e: (e.row_number or 0, COLUMNS.index(e.column)
                               if e.column in COLUMNS else -1))
    return rows, errors


def _read_header(number: int, header) -> tuple[dict[str, int], list[RowError]]:
    columns, errors = {}, []
    for index, value in enumerate(header):
        name = re.sub(r"[\s\-]+", "_", _text(value).lower())
        if not name:
            continue
        if name not in COLUMNS:
            errors.append(RowError(number, _text(value), _(
                "Unknown column “%(name)s”. The columns are: %(columns)s.")
                % {"name": _text(value), "columns": ", ".join(COLUMNS)}))
        elif name in columns:
            errors.append(RowError(number, name, _("The column “%(name)s” appears twice.")
                                   % {"name": name}))
        else:
            columns[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            errors.append(RowError(number, name, _("The column “%(name)s” is missing.")
                                   % {"name": name}))
    return columns, errors


def _check_tiers(rows: list[_Row]) -> tuple[list[_Row], list[RowError]]:
    """Within each list, a product's tiers: each quantity once, going up, never dearer."""
    accepted, errors = [], []
    previous: dict[tuple, _Row] = {}
    seen: dict[tuple, _Row] = {}
    for row in rows:
        key = (row.list_key, row.product.pk)
        quantity_key = (*key, row.min_quantity)
        before = previous.get(key)
        if quantity_key in seen:
            errors.append(RowError(row.number, "min_quantity", _(
                "Duplicate tier: row %(row)d already prices %(sku)s from %(quantity)s in the "
                "same list.") % {"row": seen[quantity_key].number, "sku": row.product.sku,
                                 "quantity": _plain(row.min_quantity)}))
            continue
        if before and row.min_quantity < before.min_quantity:
            errors.append(RowError(row.number, "min_quantity", _(
                "Tiers must go up in quantity: %(quantity)s comes after %(previous)s "
                "(row %(row)d) for %(sku)s.") % {
                "quantity": _plain(row.min_quantity), "previous": _plain(before.min_quantity),
                "row": before.number, "sku": row.product.sku}))
            continue
        if before and row.unit_price > before.unit_price:
            errors.append(RowError(row.number, "unit_price", _(
                "A larger quantity cannot cost more per unit: %(price)s from %(quantity)s is "
                "more than %(previous_price)s from %(previous)s (row %(row)d).") % {
                "price": _plain(row.unit_price), "quantity": _plain(row.min_quantity),
                "previous_price": _plain(before.unit_price),
                "previous": _plain(before.min_quantity), "row": before.number}))
            continue
        seen[quantity_key] = row
        previous[key] = row
        accepted.append(row)
    return accepted, errors


def _check_overlaps(rows: list[_Row]) -> list[RowError]:
    """A product may have one period per customer scope in a file: overlapping periods
    would leave it to the resolution rules which price holds on the common days."""
    first_rows: dict[tuple, dict[tuple, _Row]] = {}  # (product, company) → period → 1st row
    for row in rows:
        scope = (row.product.pk, row.list_key[0])
        first_rows.setdefault(scope, {}).setdefault(row.list_key, row)
    errors = []
    for periods in first_rows.values():
        ordered = sorted(periods.values(), key=lambda r: r.number)
        for i, later in enumerate(ordered):
            for earlier in ordered[:i]:
                if _overlap(earlier, later):
                    errors.append(RowError(later.number, "valid_from", _(
                        "%(sku)s has prices for the same customer in an overlapping period "
                        "on row %(row)d (%(period)s). Give each product one period per file, "
                        "or end one period before the other starts.") % {
                        "sku": later.product.sku, "row": earlier.number,
                        "period": _period(earlier)}))
                    break
    return errors


def _overlap(a: _Row, b: _Row) -> bool:
    a_end, b_end = a.valid_until or datetime.date.max, b.valid_until or datetime.date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


def _period(row: _Row) -> str:
    return _("%(start)s to %(end)s") % {
        "start": row.valid_from.isoformat(),
        "end": row.valid_until.isoformat() if row.valid_until else _("open end")}


def _check_existing(rows: list[_Row], *, seller: Organization) -> list[RowError]:
    """What the price list service would refuse — chiefly a list of this customer scope with
    the same start date already holding the product. Asked per list, then per product."""
    groups: dict[tuple, list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.list_key, []).append(row)
    errors = []
    for group in groups.values():
        first = group[0]

        def problems(group_rows, first=first):
            return services.price_list_problems(
                seller=seller, company=first.company, valid_from=first.valid_from,
                valid_until=first.valid_until, tiers=_tier_inputs(group_rows))

        if not problems(group):
            continue
        by_product: dict[int, list[_Row]] = {}
        for row in group:
            by_product.setdefault(row.product.pk, []).append(row)
        for product_rows in by_product.values():
            for message in problems(product_rows):
                errors.append(RowError(product_rows[0].number, "valid_from", message))
    return errors


# --- Cells ------------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _plain(value: Decimal) -> str:
    """12.50 → "12.5", 100.000 → "100": numbers in messages as people write them."""
    return format(value.normalize(), "f")


def _decimal(value, *, places: int, required: bool) -> Decimal | None:
    shown = _text(value)
    if not shown:
        if required:
            raise _CellError(_("This cell is empty; enter a number."))
        return None
    if isinstance(value, bool):
        raise _CellError(_("“%(value)s” is not a number.") % {"value": shown})
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        # An Excel number cell: repr() is the shortest text that reads back as the same
        # float, i.e. what was typed (12.5, not 12.4999…).
        number = Decimal(repr(value))
    else:
        text = shown.lstrip("¥￥").strip()
        if not _NUMBER.match(text):
            raise _CellError(_("“%(value)s” is not a number; write it like 1200.50 (thousands "
                               "separated by commas, or not at all).") % {"value": shown})
        number = Decimal(text.replace(",", ""))
    if not number.is_finite():
        raise _CellError(_("“%(value)s” is not a number.") % {"value": shown})
    if abs(number) >= Decimal(10) ** (14 - places):
        raise _CellError(_("%(value)s is too large.") % {"value": shown})
    try:
        exact = number == number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        exact = False
    if not exact:
        raise _CellError(_("%(value)s has more than %(places)d decimal places; round it in the "
                           "file.") % {"value": shown, "places": places})
    return number


def _date(value, *, required: bool) -> datetime.date | None:
    shown = _text(value)
    if not shown:
        if required:
            raise _CellError(_("This cell is empty; enter a date such as 2026-03-02."))
        return None
    bad = _("“%(value)s” is not a date; write it as 2026-03-02.") % {"value": shown}
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # An Excel date serial in a cell not formatted as a date.
        from openpyxl.utils.datetime import from_excel

        if not 1 <= value <= _EXCEL_MAX_SERIAL:
            raise _CellError(bad)
        day = from_excel(value).date()
    else:
        match = _DATE.match(shown)
        if not match:
            raise _CellError(bad)
        try:
            day = datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise _CellError(bad) from None
    if not _FIRST_DATE <= day <= _LAST_DATE:
        raise _CellError(_("%(date)s is not a plausible date for a price list.")
                         % {"date": day.isoformat()})
    return day


def _yes_no(value) -> bool:
    if isinstance(value, bool):
        return value
    shown = _text(value)
    if not shown:
        return True
    if shown.lower() in _YES:
        return True
    if shown.lower() in _NO:
        return False
    raise _CellError(_("“%(value)s” is neither yes nor no; write yes, no, true, false, 1, 0, "
                       "是 or 否.") % {"value": shown})
