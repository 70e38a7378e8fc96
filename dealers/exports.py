"""A statement as an Excel workbook (openpyxl): one row per commission line, the total."""

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from .models import Statement

MONEY = "#,##0.00"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def statement_filename(statement: Statement) -> str:
    return f"statement-{statement.dealer_id}-{statement.month:%Y-%m}.xlsx"


def statement_xlsx(statement: Statement) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"{statement.month:%Y-%m}"
    sheet.append([_("Commission statement"), statement.dealer.name,
                  f"{statement.month:%Y-%m}", statement.get_status_display()])
    sheet["A1"].font = Font(bold=True)
    sheet.append([])
    header = [_("Accrued"), _("Order"), _("Category"), _("Kind"), _("Basis"),
              _("Base amount (CNY)"), _("Rate (%)"), _("Commission (CNY)"), _("Note")]
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    lines = statement.lines.select_related("order", "category").order_by("created_at", "pk")
    for line in lines:
        sheet.append([timezone.localtime(line.created_at).replace(tzinfo=None), line.order.number,
                      line.category.name, line.get_kind_display(), line.get_basis_display(),
                      line.base_amount, line.rate, line.amount, line.note])
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "yyyy-mm-dd hh:mm"
        for column in (6, 8):
            sheet.cell(row=row, column=column).number_format = MONEY
    sheet.append([])
    sheet.append([_("Total"), "", "", "", "", "", "", statement.total])
    total_row = sheet.max_row
    sheet.cell(row=total_row, column=1).font = Font(bold=True)
    sheet.cell(row=total_row, column=8).number_format = MONEY
    for column, width in zip("ABCDEFGHI", (17, 22, 20, 10, 24, 16, 9, 16, 40), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
