"""The file formats a subscription can choose, each declared once.

A format says what its files are called, how a destination should label them, how a
column is named inside them (CSV and xlsx carry the spec's header, "User ID", for people;
JSON Lines and Parquet the column name, "user_id", for programs), and whether
spreadsheet formulas must be guarded (CSV is opened in spreadsheets; JSON Lines and
Parquet are loaded by programs, which want the value as it is; xlsx types every cell, so
text is never run as a formula and needs no guard character).

Text formats (CSV, JSON Lines) are streams of lines: their bodies can be concatenated and
gzipped. Container formats (xlsx, Parquet) are zip archives or footer-indexed files that
compress inside: they have no gzip variant, and their parts cannot be joined byte-wise.

The writer, the quality gate, the manifest and the destinations all read these facts
from here, so a new format is one entry (plus its writer and reader), not a hunt for
``startswith("csv")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from flatexport.errors import InputError
from flatexport.formula import guard

if TYPE_CHECKING:
    from flatexport.specs import ColumnSpec


@dataclass(frozen=True)
class FileFormat:
    name: str  # as subscriptions spell it, and the file's extension: "csv.gz"
    base: str  # the encoding of the rows: "csv", "jsonl"
    gzip: bool
    content_type: str
    keys: Literal["header", "name"]  # how a column is named in the file
    guards_formulas: bool  # cells a spreadsheet would run get the formula guard
    container: bool = False  # a zip/footer-indexed file: no gzip, parts never concatenated

    @property
    def extension(self) -> str:
        return self.name

    @property
    def content_encoding(self) -> str | None:
        return "gzip" if self.gzip else None

    @property
    def uncompressed(self) -> FileFormat:
        return get_format(self.base)

    def column_key(self, col: ColumnSpec) -> str:
        """The column's name inside files of this format. A header cell is text a
        spreadsheet reads like any other, so it gets the formula guard too (a column named
        by the data, such as a tag called ``=SUM(A1)``, is written ``'=SUM(A1)``)."""
        if self.keys == "name":
            return col.name
        return guard(col.out_header) if self.guards_formulas else col.out_header


def _pair(base: str, content_type: str, keys: Literal["header", "name"], guards: bool) -> list[FileFormat]:
    return [
        FileFormat(base, base, False, content_type, keys, guards),
        FileFormat(f"{base}.gz", base, True, content_type, keys, guards),
    ]


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Registered with IANA in 2024; S3 and Drive store any type, and a specific one lets a
# browser or a data tool pick the right handler where application/octet-stream cannot.
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"

_ALL = [
    *_pair("csv", "text/csv", "header", True),
    *_pair("jsonl", "application/x-ndjson", "name", False),
    # Already compressed inside: a gzip variant would only cost time.
    FileFormat("xlsx", "xlsx", False, XLSX_CONTENT_TYPE, "header", False, container=True),
    FileFormat("parquet", "parquet", False, PARQUET_CONTENT_TYPE, "name", False, container=True),
]
REGISTRY: dict[str, FileFormat] = {f.name: f for f in _ALL}
FORMATS: tuple[str, ...] = tuple(REGISTRY)

__all__ = ["FORMATS", "REGISTRY", "FileFormat", "format_of_file", "get_format"]


def get_format(name: str) -> FileFormat:
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown format {name!r} (use one of: {', '.join(FORMATS)})") from None


def format_of_file(file_name: str) -> FileFormat | None:
    """The format whose extension ends the name (longest first: .csv.gz before .csv)."""
    for fmt in sorted(REGISTRY.values(), key=lambda f: -len(f.name)):
        if file_name.endswith("." + fmt.name):
            return fmt
    return None
