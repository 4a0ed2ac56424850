"""Read a staged file as text, chunk by chunk, the way it was delivered.

Every value stays a string ('' = missing), so leading zeros and formats are checked as
the customer gets them. JSON Lines values, xlsx cells and Parquet columns are rendered
like the CSV writer renders them (true/false, digits, ISO dates and datetimes with
offset, compact JSON arrays), so one suite serves every format; the typed formats'
readers live beside their writers (``flatexport.typed``). An xlsx formula cell, which
flatexport never writes, makes the file unreadable for the gate.
Structural facts (header, rows, short/long rows, unreadable input) are collected on
the way, because pandas silently pads short CSV rows.
"""

from __future__ import annotations

import csv
import gzip
import json
import zipfile
from collections.abc import Iterator
from typing import Any, TextIO

import pandas as pd

from flatexport.formats import FileFormat, format_of_file, get_format

DEFAULT_CHUNKSIZE = 200_000


def file_format(path: str, declared: str | None = None) -> FileFormat:
    if declared:
        return get_format(declared)
    return format_of_file(path) or get_format("csv")


def open_text(path: str, fmt: FileFormat) -> TextIO:
    if fmt.gzip:
        return gzip.open(path, "rt", encoding="utf-8", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8", newline="")


def render(value: Any) -> str:
    """A JSON value as the CSV writer would have written it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


class StagedReader:
    """Yields DataFrames whose columns are positions ``_0, _1, ...`` of the header.

    After iterating: ``rows`` (data rows seen), ``ragged`` (rows whose fields do not
    match the header), ``unreadable`` (lines or the rest of the file that could not be
    decoded/parsed) and ``error`` (the exception's type name, never its message, which
    may quote data).
    """

    def __init__(self, path: str, fmt: str | None = None, chunksize: int = DEFAULT_CHUNKSIZE) -> None:
        self.path = path
        self.format = file_format(path, fmt)
        self.chunksize = max(1, int(chunksize))
        self.header: list[str] = []
        self.rows = 0
        self.ragged = 0
        self.unreadable = 0
        self.error: str | None = None
        self._width = 0
        self._prepared = False
        self._typed: Any = None  # the xlsx or Parquet reader

    @property
    def is_jsonl(self) -> bool:
        return self.format.base == "jsonl"

    @property
    def is_typed(self) -> bool:
        return self.format.base in ("xlsx", "parquet")

    def prepare(self) -> list[str]:
        """Read the header (CSV: also a structural pass over all rows)."""
        if self._prepared:
            return self.header
        self._prepared = True
        try:
            if self.is_jsonl:
                self._jsonl_header()
            elif self.is_typed:
                self._typed_header()
            else:
                self._csv_structure()
        except (
            OSError,
            EOFError,
            UnicodeDecodeError,
            csv.Error,
            ValueError,
            KeyError,
            zipfile.BadZipFile,
        ) as exc:
            self.error = type(exc).__name__
            self.unreadable += 1
        return self.header

    def _csv_structure(self) -> None:
        with open_text(self.path, self.format) as fh:
            reader = csv.reader(fh, strict=True)
            self.header = next(reader, [])
            width = n = len(self.header)
            for row in reader:
                self.rows += 1
                if len(row) != n:
                    self.ragged += 1
                    width = max(width, len(row))
            self._width = width

    def _jsonl_header(self) -> None:
        with open_text(self.path, self.format) as fh:
            for line in fh:
                if line.strip():
                    rec = json.loads(line)
                    if isinstance(rec, dict):
                        self.header = list(rec)
                    return

    def chunks(self) -> Iterator[pd.DataFrame]:
        self.prepare()
        if self.error:
            return
        try:
            if self.is_jsonl:
                yield from self._jsonl_chunks()
            elif self.format.base == "xlsx":
                yield from self._xlsx_chunks()
            elif self.is_typed:
                yield from self._parquet_chunks()
            else:
                yield from self._csv_chunks()
        except (
            OSError,
            EOFError,
            UnicodeDecodeError,
            ValueError,
            KeyError,
            zipfile.BadZipFile,
            pd.errors.ParserError,
        ) as exc:
            self.error = type(exc).__name__
            self.unreadable += 1

    def _typed_header(self) -> None:
        if self.format.base == "xlsx":
            from flatexport.typed.xlsx_reader import XlsxTextReader

            self._typed = XlsxTextReader(self.path)
            self.header = self._typed.read_header()
        else:
            from flatexport.typed.parquet_reader import ParquetTextReader

            self._typed = ParquetTextReader(self.path)
            self.header = self._typed.header

    def _xlsx_chunks(self) -> Iterator[pd.DataFrame]:
        reader = self._typed
        names = [f"_{i}" for i in range(len(self.header))]
        buf: list[list[str]] = []
        try:
            for row in reader.rows():
                self.rows += 1
                buf.append(row)
                if len(buf) >= self.chunksize:
                    yield pd.DataFrame(buf, columns=names, dtype=str)
                    buf = []
            if buf:
                yield pd.DataFrame(buf, columns=names, dtype=str)
        finally:
            self.ragged += reader.ragged
            if reader.formulas:
                self.unreadable += reader.formulas
                self.error = self.error or "formula cells"

    def _parquet_chunks(self) -> Iterator[pd.DataFrame]:
        for frame in self._typed.chunks(self.chunksize):
            self.rows += len(frame)
            yield frame

    def _csv_chunks(self) -> Iterator[pd.DataFrame]:
        if not self.header or self.rows == 0:
            return
        names = [f"_{i}" for i in range(self._width)]
        with open_text(self.path, self.format) as fh:
            fh.readline()  # the header, already read
            yield from pd.read_csv(
                fh,
                header=None,
                names=names,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                chunksize=self.chunksize,
                index_col=False,
                skip_blank_lines=False,
            )

    def _jsonl_chunks(self) -> Iterator[pd.DataFrame]:
        names = [f"_{i}" for i in range(len(self.header))]
        header = self.header
        buf: list[list[str]] = []
        with open_text(self.path, self.format) as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    self.unreadable += 1
                    continue
                if not isinstance(rec, dict):
                    self.unreadable += 1
                    continue
                self.rows += 1
                if list(rec) != header:
                    self.ragged += 1
                buf.append([render(rec.get(h)) for h in header])
                if len(buf) >= self.chunksize:
                    yield pd.DataFrame(buf, columns=names, dtype=str)
                    buf = []
        if buf:
            yield pd.DataFrame(buf, columns=names, dtype=str)
