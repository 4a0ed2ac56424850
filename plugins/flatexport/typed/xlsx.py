"""Write a report as a typed .xlsx workbook, streamed in constant memory.

Every cell's type comes from the report spec (:func:`cell_kind`), never from guessing at
the value: text stays text (zip ``02139`` keeps its zero), numbers are numbers, booleans
booleans, dates and datetimes real date cells. Text is always written with
``write_string``, so a value such as ``=HYPERLINK(...)`` is a text cell that no
spreadsheet runs, and needs no guard character.

Datetimes are instants with an offset; a spreadsheet cell has no time zone. Each is
written as the wall-clock time in the subscription's zone, with a number format that
shows its UTC offset (``2024-11-04 09:15:00 -06:00``), so the two 01:30s of a
daylight-saving night stay distinguishable and the reader can give back the exact ISO
text. The header cell's note names the zone.

Deterministic bytes: document created/modified are the report day (fixed), XlsxWriter
dates every zip entry 1980-01-31, and styles are added in the order values first appear.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flatexport.specs import ColumnSpec

MAX_SHEET_ROWS = 1_048_576  # rows per sheet, header included (Excel's limit)
MAX_TEXT = 32_767  # characters per cell (Excel's limit)
EXACT_INTEGER = 10**15  # Excel keeps 15 significant digits; larger integers become text
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 0 on Excel's 1900 date system
FIRST_SERIAL_DATE = dt.date(1900, 3, 1)  # before it, Excel's 1900 leap-year bug shifts days
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss" {offset}"'
SLICE_ROWS = 8_192  # rows turned into Python values at a time
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class CellKind:
    name: str  # text, number, boolean, date, datetime
    label: str  # for the data dictionary
    width: float  # column width in characters


_KINDS = {
    "integer": CellKind("number", "number (whole; 16+ digits as text)", 12),
    "number": CellKind("number", "number", 12),
    "boolean": CellKind("boolean", "boolean (TRUE / FALSE)", 8),
    "date": CellKind("date", "date (`yyyy-mm-dd`)", 11),
    "datetime": CellKind("datetime", "date and time in the subscription's zone, offset shown", 27),
    "array": CellKind("text", "text (JSON array)", 30),
    "object": CellKind("text", "text (JSON object)", 30),
    "string": CellKind("text", "text", 0),
}


def cell_kind(col: ColumnSpec) -> CellKind:
    """The cell type a column's values get in xlsx files (the data dictionary shows it)."""
    return _KINDS[col.type]


def sheet_name(title: str, part: int) -> str:
    """``clickstream``, then ``clickstream (2)``, ...: at most 31 characters, none that
    Excel forbids in a sheet name."""
    base = SHEET_NAME_BAD.sub("_", title).strip("'") or "data"
    suffix = "" if part == 1 else f" ({part})"
    return base[: 31 - len(suffix)] + suffix


def _per_value(arr: pa.Array, fn) -> list[Any]:
    """``fn`` once per distinct value (a day's values repeat a lot); None stays None."""
    if arr.null_count == len(arr):
        return [None] * len(arr)
    encoded = pc.dictionary_encode(arr)
    mapped = np.array([fn(v) for v in encoded.dictionary.to_pylist()] + [None], dtype=object)
    codes = encoded.indices.fill_null(len(mapped) - 1).to_numpy(zero_copy_only=False)
    return mapped[codes].tolist()


class XlsxBody:
    """Canonical record batches -> one workbook; rows past a sheet's limit continue on a
    new sheet with the same header. ``close()`` returns the format details for the
    manifest: the sheets with their data rows, and any text cut to Excel's cell limit."""

    def __init__(
        self,
        path: Path,
        columns: list[ColumnSpec],
        headers: list[str],
        *,
        title: str,
        timezone: str,
        created: dt.datetime,
        sheet_rows: int = MAX_SHEET_ROWS,
    ) -> None:
        import xlsxwriter

        if sheet_rows < 2:
            raise ValueError("a sheet holds the header and at least one row")
        self.columns = columns
        self.headers = headers
        self.title = title
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.sheet_rows = sheet_rows
        # XlsxWriter's row files live beside the staged file (not in a small /tmp), in a
        # folder of their own so an aborted export leaves nothing behind.
        self._tmpdir = path.with_name(f".{path.name}.tmp")
        self._tmpdir.mkdir(exist_ok=True)
        self._book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,  # one row in memory; rows go to a temp file
                "tmpdir": str(self._tmpdir),
                "use_zip64": True,  # a 1M-row sheet can pass 4 GB uncompressed
            },
        )
        self._book.set_properties({"title": title, "created": created})
        self._header_format = self._book.add_format({"bold": True})
        self._date_format = self._book.add_format({"num_format": DATE_FORMAT})
        self._blank_format = self._book.add_format({})
        self._offset_formats: dict[str, Any] = {}
        self._sheet: Any = None
        self._row = 0
        self.sheets: list[dict[str, Any]] = []
        self.truncated: Counter[str] = Counter()

    # -- sheets -------------------------------------------------------------------------

    def _new_sheet(self) -> None:
        self._finish_sheet()
        sheet = self._book.add_worksheet(sheet_name(self.title, len(self.sheets) + 1))
        sheet.freeze_panes(1, 0)
        for c, (col, header) in enumerate(zip(self.columns, self.headers, strict=True)):
            width = cell_kind(col).width or min(max(len(header) + 2, 10), 40)
            sheet.set_column(c, c, width)
            sheet.write_string(0, c, header, self._header_format)
            if col.type == "datetime":
                sheet.write_comment(
                    0, c, f"Local time in {self.timezone}; each time shows its offset from UTC."
                )
        self._sheet = sheet
        self._row = 1
        self.sheets.append({"name": sheet.name, "rows": 0})

    def _finish_sheet(self) -> None:
        if self._sheet is not None and self.columns:
            rows = self.sheets[-1]["rows"]
            self._sheet.autofilter(0, 0, rows, len(self.columns) - 1)

    # -- cells --------------------------------------------------------------------------

    def _offset_format(self, offset: str) -> Any:
        fmt = self._offset_formats.get(offset)
        if fmt is None:
            fmt = self._book.add_format({"num_format": DATETIME_FORMAT.format(offset=offset)})
            self._offset_formats[offset] = fmt
        return fmt

    def _date_cell(self, text: str) -> Any:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return text
        if day < FIRST_SERIAL_DATE:
            return text
        return ((day - EXCEL_EPOCH.date()).days, self._date_format)

    def _datetime_cell(self, text: str) -> Any:
        try:
            ts = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
        local = ts.astimezone(self.zone) if ts.tzinfo else ts.replace(tzinfo=self.zone)
        if local.date() < FIRST_SERIAL_DATE:
            return text
        wall = local.replace(tzinfo=None) - EXCEL_EPOCH
        serial = wall.days + (wall.seconds + wall.microseconds / 1e6) / 86400
        offset = local.isoformat()[-6:]  # +hh:mm (isoformat always gives it for aware times)
        return (serial, self._offset_format(offset))

    def _text_values(self, name: str, arr: pa.Array) -> list[Any]:
        too_long = pc.greater(pc.utf8_length(arr), MAX_TEXT)
        cut = pc.sum(too_long).as_py() or 0
        if cut:
            self.truncated[name] += cut
            arr = pc.utf8_slice_codeunits(arr, 0, MAX_TEXT)
        return arr.to_pylist()

    def _cells(self, col: ColumnSpec, arr: pa.Array) -> list[Any]:
        """A column's cells: str (text cell), bool, int/float (number), (serial, format)
        (date cell), None (no cell)."""
        if col.type == "integer":
            return [v if v is None or -EXACT_INTEGER < v < EXACT_INTEGER else str(v) for v in arr.to_pylist()]
        if col.type == "number":
            return [v if v is None or math.isfinite(v) else repr(v) for v in arr.to_pylist()]
        if col.type == "boolean":
            return arr.to_pylist()
        if col.type == "date":
            return _per_value(arr, self._date_cell)
        if col.type == "datetime":
            return _per_value(arr, self._datetime_cell)
        return self._text_values(col.name, arr)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows and self._sheet is None:
            self._new_sheet()
        # Python values for a slice at a time: a whole chunk's cells as objects would cost
        # hundreds of MB at 68 columns; XlsxWriter itself holds one row.
        for start in range(0, batch.num_rows, SLICE_ROWS):
            self._write_rows(batch.slice(start, SLICE_ROWS))

    def _write_rows(self, batch: pa.RecordBatch) -> None:
        n = batch.num_rows
        cells = [self._cells(col, batch.column(i)) for i, col in enumerate(self.columns)]
        present = np.zeros(n, dtype=bool)
        for i in range(batch.num_columns):
            present |= batch.column(i).is_valid().to_numpy(zero_copy_only=False)
        empty_rows = set(np.flatnonzero(~present).tolist())
        width = range(len(cells))
        for r in range(n):
            if self._row == self.sheet_rows:
                self._new_sheet()
            sheet, row = self._sheet, self._row
            write_string, write_number, write_boolean = (
                sheet.write_string,
                sheet.write_number,
                sheet.write_boolean,
            )
            for c in width:
                v = cells[c][r]
                if v is None:
                    continue
                t = type(v)
                if t is str:
                    write_string(row, c, v)
                elif t is tuple:
                    write_number(row, c, v[0], v[1])
                elif t is bool:
                    write_boolean(row, c, v)
                else:
                    write_number(row, c, v)
            if r in empty_rows:  # an all-empty row still exists in the file
                sheet.write_blank(row, 0, None, self._blank_format)
            self._row += 1
            self.sheets[-1]["rows"] += 1

    def close(self) -> dict[str, Any]:
        if self._sheet is None:
            self._new_sheet()  # a day without rows is a sheet with its header
        self._finish_sheet()
        try:
            self._book.close()
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        details: dict[str, Any] = {"sheets": self.sheets}
        if self.truncated:
            details["truncated_cells"] = dict(sorted(self.truncated.items()))
        return details

    def abort(self) -> None:
        """Drop the workbook unwritten: its row files go with their folder."""
        for sheet in self._book.worksheets():
            handle = getattr(sheet, "row_data_fh", None)  # XlsxWriter's open row file
            if handle is not None and not handle.closed:
                handle.close()
        shutil.rmtree(self._tmpdir, ignore_errors=True)
