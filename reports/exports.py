"""A dashboard table as a download: CSV (UTF-8 with a byte order mark, so Excel reads the
Chinese) or XLSX (openpyxl; numbers stay numbers, shares formatted as percentages). The first
row holds the column titles, one row per table row after it."""

import csv
import io
import re

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from .tables import Table

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NUMBER_FORMATS = {"int": "0", "money": "#,##0.00", "rate": "0.00%", "number": "0.####",
                  "date": "yyyy-mm-dd"}
_SHEET_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")


def _cell(value):
    return "" if value is None else value


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def as_csv(table: Table, *, filename: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(column.title) for column in table.columns])
    for row in table.rows:
        writer.writerow([_cell(value) for value in row])
    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode("utf-8"),
                            content_type="text/csv; charset=utf-8")
    return _attachment(response, f"{filename}.csv")


def as_xlsx(table: Table, *, filename: str) -> HttpResponse:
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = _SHEET_FORBIDDEN.sub(" ", str(table.title))[:31]
    sheet.append([str(column.title) for column in table.columns])
    for row in table.rows:
        sheet.append([_cell(value) for value in row])
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, min(40, len(str(column.title)) + 4))
        number_format = NUMBER_FORMATS.get(column.kind)
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return _attachment(HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE),
                       f"{filename}.xlsx")


def download(table: Table, *, fmt: str, filename: str) -> HttpResponse:
    return as_xlsx(table, filename=filename) if fmt == "xlsx" else as_csv(table,
                                                                           filename=filename)


# --- Into a file, a chunk of rows at a time (the background exports) ----------------------------

CHUNK_ROWS = 1000


def _chunks(rows, size: int):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def write_csv(table: Table, out, *, on_progress=None, chunk_rows: int = CHUNK_ROWS) -> None:
    """The same file as `as_csv`, written to the binary file `out` chunk by chunk;
    `on_progress(rows_written)` after each chunk."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow([str(column.title) for column in table.columns])
    written = 0
    for chunk in _chunks(table.rows, chunk_rows):
        writer.writerows([[_cell(value) for value in row] for row in chunk])
        written += len(chunk)
        if on_progress:
            on_progress(written)
    text.flush()
    text.detach()  # leave `out` open for the caller


def write_xlsx(table: Table, out, *, on_progress=None, chunk_rows: int = CHUNK_ROWS) -> None:
    """The same sheet as `as_xlsx`, streamed (openpyxl's write-only mode keeps memory flat
    for a year of the leaderboard) into the binary file `out`."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_SHEET_FORBIDDEN.sub(" ", str(table.title))[:31])
    sheet.freeze_panes = "A2"
    formats = [NUMBER_FORMATS.get(column.kind) for column in table.columns]
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(
            12, min(40, len(str(column.title)) + 4))
    sheet.append([str(column.title) for column in table.columns])
    written = 0
    for chunk in _chunks(table.rows, chunk_rows):
        for row in chunk:
            cells = []
            for value, number_format in zip(row, formats, strict=True):
                cell = WriteOnlyCell(sheet, value=_cell(value))
                if number_format and value is not None:
                    cell.number_format = number_format
                cells.append(cell)
            sheet.append(cells)
        written += len(chunk)
        if on_progress:
            on_progress(written)
    book.save(out)


def write(table: Table, out, *, fmt: str, on_progress=None,
          chunk_rows: int = CHUNK_ROWS) -> None:
    writer = write_xlsx if fmt == "xlsx" else write_csv
    writer(table, out, on_progress=on_progress, chunk_rows=chunk_rows)
