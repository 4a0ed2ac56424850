"""Read an .xlsx workbook back as the text cells the CSV of the same rows carries.

The quality gate checks every format with one suite of text expectations, so this
reader turns each cell into the CSV's text: text cells as they are, whole numbers as
digits, booleans ``true``/``false``, date cells ``YYYY-MM-DD``, date-and-time cells
``YYYY-MM-DDThh:mm:ss±hh:mm`` with the offset their number format shows. It streams the
sheet XML (rows are dropped once read), follows the sheets in workbook order (a sheet
after the first repeats the header, which is not data), and counts what the gate must
know: rows, rows wider than the header, and formula cells (flatexport never writes one).
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from flatexport.typed.xlsx import EXCEL_EPOCH

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
ROW, CELL, VALUE, INLINE, TEXT, FORMULA = (MAIN + t for t in ("row", "c", "v", "is", "t", "f"))

# Excel's built-in number formats that show dates (14-17, 22) or times (18-21, 45-47).
_BUILTIN = {14: "yyyy-mm-dd", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 22: "m/d/yy h:mm"}
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')
_OFFSET = re.compile(r'"\s*([+-][0-9]{2}:[0-9]{2})"')
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DIGITS = re.compile(r"-?[0-9]+\Z")


@dataclass(frozen=True)
class _Style:
    kind: str | None  # None (general/number), "date", "datetime"
    offset: str = ""  # "+hh:mm" shown by a datetime format


def _classify(code: str | None) -> _Style:
    if not code:
        return _Style(None)
    bare = _QUOTED.sub("", code).lower()
    if "y" not in bare and "d" not in bare:
        return _Style(None)
    if "h" in bare or "s" in bare:
        found = _OFFSET.search(code)
        return _Style("datetime", found.group(1) if found else "")
    return _Style("date")


def _unescape(text: str) -> str:
    """OOXML writes control characters as ``_xHHHH_`` (and a literal ``_x`` as ``_x005F_x``)."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _column_index(ref: str, cache: dict[str, int]) -> int:
    letters = ref.rstrip("0123456789")
    index = cache.get(letters)
    if index is None:
        index = 0
        for ch in letters:
            index = index * 26 + (ord(ch.upper()) - 64)
        index -= 1
        cache[letters] = index
    return index


def _number_text(v: str) -> str:
    if _DIGITS.match(v):
        return v
    x = float(v)
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


def _serial_text(v: str, style: _Style) -> str:
    serial = float(v)
    if style.kind == "date":
        return (EXCEL_EPOCH + dt.timedelta(days=round(serial))).date().isoformat()
    wall = EXCEL_EPOCH + dt.timedelta(seconds=round(serial * 86_400))
    return wall.isoformat(timespec="seconds") + style.offset


class XlsxTextReader:
    """``header``, then ``rows()`` yields each data row as a list of text cells (padded to
    the header's width). After iterating: ``rows_read``, ``ragged``, ``formulas``, and
    ``sheets`` (data rows per sheet)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.header: list[str] = []
        self.rows_read = 0
        self.ragged = 0
        self.formulas = 0
        self.sheets: list[tuple[str, int]] = []
        with zipfile.ZipFile(path) as zf:
            self._sheet_paths = self._sheet_order(zf)
            self._styles = self._read_styles(zf)
            self._shared = self._read_shared(zf)
        self._cols: dict[str, int] = {}

    # -- package parts ------------------------------------------------------------------

    @staticmethod
    def _sheet_order(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(PKG_REL + "Relationship")}
        out = []
        for sheet in book.iter(MAIN + "sheet"):
            target = targets[sheet.get(DOC_REL + "id")]
            part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            out.append((sheet.get("name", ""), posixpath.normpath(part)))
        return out

    @staticmethod
    def _read_styles(zf: zipfile.ZipFile) -> list[_Style]:
        try:
            root = ET.fromstring(zf.read("xl/styles.xml"))
        except KeyError:
            return []
        codes = dict(_BUILTIN)
        for fmt in root.iter(MAIN + "numFmt"):
            codes[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
        xfs = root.find(MAIN + "cellXfs")
        if xfs is None:
            return []
        return [_classify(codes.get(int(xf.get("numFmtId", "0")))) for xf in xfs.iter(MAIN + "xf")]

    @staticmethod
    def _read_shared(zf: zipfile.ZipFile) -> list[str]:
        try:
            root = ET.fromstring(zf.read("xl/sharedStrings.xml"))
        except KeyError:
            return []  # flatexport writes inline strings; other writers share them
        return [_unescape("".join(t.text or "" for t in si.iter(TEXT))) for si in root.iter(MAIN + "si")]

    # -- cells --------------------------------------------------------------------------

    def _cells(self, row: ET.Element) -> dict[int, str]:
        styles, shared = self._styles, self._shared
        out: dict[int, str] = {}
        for c in row:
            if c.tag != CELL:
                continue
            kind = c.get("t")
            value: str | None = None
            for child in c:
                tag = child.tag
                if tag == VALUE:
                    value = child.text or ""
                elif tag == INLINE:
                    value = "".join(t.text or "" for t in child.iter(TEXT))
                elif tag == FORMULA:
                    self.formulas += 1
            if value is None:
                continue  # a styled blank
            if kind == "inlineStr" or kind == "str":
                text = _unescape(value)
            elif kind == "s":
                text = shared[int(value)]
            elif kind == "b":
                text = "true" if value == "1" else "false"
            elif kind == "e":
                text = value
            else:
                s = c.get("s")
                style = styles[int(s)] if s and int(s) < len(styles) else None
                text = _serial_text(value, style) if style and style.kind else _number_text(value)
            ref = c.get("r")
            index = _column_index(ref, self._cols) if ref else len(out)
            out[index] = text
        return out

    def _sheet_rows(self, zf: zipfile.ZipFile, part: str) -> Iterator[tuple[int, dict[int, str]]]:
        """(1-based row number, cells) per row element, dropping each once read."""
        with zf.open(part) as fh:
            parent: ET.Element | None = None
            for event, elem in ET.iterparse(fh, events=("start", "end")):
                if event == "start":
                    if elem.tag == MAIN + "sheetData":
                        parent = elem
                    continue
                if elem.tag != ROW:
                    continue
                number = int(elem.get("r", "0"))
                cells = self._cells(elem)
                if parent is not None:
                    parent.clear()
                yield number, cells

    def read_header(self) -> list[str]:
        if not self._sheet_paths:
            return []
        with zipfile.ZipFile(self.path) as zf:
            for number, cells in self._sheet_rows(zf, self._sheet_paths[0][1]):
                if number == 1:
                    self.header = [cells.get(i, "") for i in range(max(cells, default=-1) + 1)]
                break
        return self.header

    def rows(self) -> Iterator[list[str]]:
        width = len(self.header)
        with zipfile.ZipFile(self.path) as zf:
            for name, part in self._sheet_paths:
                count = 0
                last = 1  # the header row
                for number, cells in self._sheet_rows(zf, part):
                    if number <= 1:
                        if [cells.get(i, "") for i in range(max(cells, default=-1) + 1)] != self.header:
                            self.ragged += 1  # a continuation sheet must repeat the header
                        continue
                    for _ in range(last + 1, number):  # rows with no cells at all
                        count += 1
                        yield [""] * width
                    last = number
                    if cells and max(cells) >= width:
                        self.ragged += 1
                    count += 1
                    yield [cells.get(i, "") for i in range(width)]
                self.sheets.append((name, count))
                self.rows_read += count
