"""Excel export of any list: openpyxl's write-only mode keeps memory flat for big lists."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.http import FileResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, Decimal | int | float | dt.date):
        return value
    return str(value)


def write_xlsx(target: Any, *, sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write one sheet to a path or file object; returns the number of data rows."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet[:31])
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(worksheet, value=str(header))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    worksheet.append(header_cells)
    count = 0
    for row in rows:
        worksheet.append([_cell_value(value) for value in row])
        count += 1
    workbook.save(target)
    return count


def xlsx_response(
    *, filename: str, sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> FileResponse:
    """Stream an .xlsx download built in a temporary file (not in memory)."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    write_xlsx(handle, sheet=sheet, headers=headers, rows=rows)
    handle.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"{filename}-{stamp}.xlsx"
    response = FileResponse(handle, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{quote(name)}"
    return response
