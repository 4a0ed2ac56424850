"""The file formats a subscription can choose, each declared once.

A format says what its files are called, how a destination should label them, how a
column is named inside them (CSV carries the spec's header, "User ID"; JSON Lines the
column name, "user_id"), and whether spreadsheet formulas must be guarded (CSV is opened
in spreadsheets; JSON Lines is loaded by programs, which want the value as it is).

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


_ALL = [
    *_pair("csv", "text/csv", "header", True),
    *_pair("jsonl", "application/x-ndjson", "name", False),
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
