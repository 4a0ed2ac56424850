"""Write canonical frames to the file a customer receives, byte-for-byte reproducibly.

Same rows in, same bytes out: fixed column order, '\n' line ends, minimal RFC 4180
quoting, gzip with no timestamp or name in its header. For the text formats the SHA-256
and size are computed from the bytes as they are written, so no second pass over a
large file. The container formats (xlsx, Parquet) are written by their libraries from
canonical Arrow record batches (``flatexport.typed``) and hashed once closed (the zip
writer seeks back into its file; both are compressed, so that pass is short).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from flatexport.arrow_text import blanks_to_null
from flatexport.formats import FileFormat, get_format
from flatexport.formula import RISKY_FIRST, guard
from flatexport.hashing import HashingWriter, file_digests
from flatexport.source import sql_literal
from flatexport.specs import ColumnSpec

_RISKY = pa.array(sorted(RISKY_FIRST), type=pa.string())


def text_cells(values: pd.Series) -> pd.Series:
    """Text cells in one pass: missing and empty text become None (one empty cell), and
    cells a spreadsheet would run as a formula get a leading apostrophe."""
    cells: list[str | None] = []
    append = cells.append
    for v in values.to_numpy(dtype=object):
        if v is None or v is pd.NA or v != v or v == "":
            append(None)
            continue
        if type(v) is not str:
            v = str(v)
        append(guard(v) if v[0] in RISKY_FIRST else v)
    return pd.Series(cells, index=values.index, dtype=object)


def csv_cells(frame: pd.DataFrame, columns: list[ColumnSpec]) -> pd.DataFrame:
    """Canonical values -> the exact cell text of the contract; None where the cell is
    empty (missing and empty text alike: the contract has one empty)."""
    cells = {}
    for col in columns:
        values = frame[col.name]
        if col.type == "boolean":
            arr = values.astype("boolean")
            out = np.where(arr.isna(), None, np.where(arr.fillna(False), "true", "false"))
            cells[col.name] = pd.Series(out, index=frame.index, dtype=object)
            continue
        if col.type == "integer":
            ints = values.astype("Int64")
            cells[col.name] = ints.astype(str).astype(object).where(ints.notna(), None)
            continue
        if col.type == "string":
            cells[col.name] = text_cells(values)
        else:  # dates, datetimes, arrays and objects are already their file text
            cells[col.name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(cells, index=frame.index)


_TEXT_TYPES = {"string", "date", "datetime", "array", "object"}


def csv_table(frame: pd.DataFrame, columns: list[ColumnSpec]) -> pa.Table | None:
    """``csv_cells`` as an Arrow table of text, computed in Arrow: no Python object per
    cell beyond the values the frame already holds, and the only Python-level work is the
    formula guard of the (rare) cells that start with a risky character. None when a
    column is not text, integer or boolean (a number keeps DuckDB's own formatting)."""
    if any(col.type not in _TEXT_TYPES | {"integer", "boolean"} for col in columns):
        return None
    arrays = []
    for col in columns:
        cells = _arrow_cells(frame[col.name], col)
        if cells is None:
            return None
        arrays.append(cells)
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(columns))])


def _arrow_cells(values: pd.Series, col: ColumnSpec) -> pa.Array | None:
    if col.type == "boolean":
        flags = pa.array(values.astype("boolean"), type=pa.bool_())
        return pc.if_else(flags, "true", "false")
    if col.type == "integer":
        return pc.cast(pa.array(values.astype("Int64"), type=pa.int64()), pa.string())
    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: the cell-by-cell path
        return None
    if col.type != "string":  # dates, datetimes, arrays and objects are already their file text
        return text
    text = blanks_to_null(text)
    risky = pc.fill_null(pc.is_in(pc.utf8_slice_codeunits(text, 0, 1), value_set=_RISKY), False)
    if not pc.any(risky).as_py():
        return text
    cells = text.to_pylist()
    for i in np.flatnonzero(np.asarray(risky)):
        cells[i] = guard(cells[i])
    return pa.array(cells, type=pa.string())


def jsonl_records(frame: pd.DataFrame, columns: list[ColumnSpec], keys: list[str] | None = None) -> list[str]:
    """Native JSON types per column: numbers, booleans, arrays, objects, null; ``keys``
    name them in the file (default: the column names)."""
    converted: dict[str, list] = {}
    for col in columns:
        values = frame[col.name]
        if col.type == "integer":
            converted[col.name] = [None if pd.isna(v) else int(v) for v in values.astype("Int64")]
        elif col.type == "boolean":
            converted[col.name] = [None if pd.isna(v) else bool(v) for v in values.astype("boolean")]
        elif col.type in ("array", "object"):
            converted[col.name] = [None if v is None or v is pd.NA else json.loads(v) for v in values]
        elif col.type == "number":
            converted[col.name] = [None if pd.isna(v) else float(v) for v in values]
        else:
            converted[col.name] = [None if v is None or v is pd.NA else str(v) for v in values]
    names = [c.name for c in columns]
    out_keys = keys or names
    return [
        json.dumps(dict(zip(out_keys, row, strict=True)), ensure_ascii=False, separators=(",", ":"))
        for row in zip(*(converted[n] for n in names), strict=True)
    ]


class _FixedBlocks(io.RawIOBase):
    """Hands bytes on in blocks of one fixed size. zlib's output depends on how its input
    is split across calls, so feeding gzip fixed blocks makes a .gz file's bytes depend on
    its content alone, not on chunk sizes or on how many workers produced it."""

    BLOCK = 1 << 20

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.pending += data
        while len(self.pending) >= self.BLOCK:
            self.raw.write(bytes(self.pending[: self.BLOCK]))
            del self.pending[: self.BLOCK]
        return len(data)

    def drain(self) -> None:
        if self.pending:
            self.raw.write(bytes(self.pending))
            self.pending.clear()


@dataclass(frozen=True)
class FileInfo:
    """What a typed file says beyond its rows: the sheet's name and the document's title
    (the report), the zone its times are shown in (the subscription's), and the day it
    describes (its fixed created/modified date, so re-runs give the same bytes)."""

    title: str = "report"
    timezone: str = "UTC"
    day: dt.date = dt.date(2000, 1, 1)

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(), tzinfo=dt.UTC)


class ReportWriter:
    """Streams chunks into one file; ``close()`` returns (rows, sha256, bytes), and
    ``details`` then holds what the format adds to the manifest (xlsx: its sheets).

    ``header=False`` writes a part for another writer's ``append_body`` (a time slice of
    the export): for text formats the uncompressed, headerless body; for container
    formats the canonical Arrow batches, which the joining writer types and writes.
    ``sheet_rows`` lowers the xlsx rows per sheet (tests; default: Excel's limit).
    ``tap`` (a ``flatexport.quality.in_pass.PassChecks``) gets the header and each batch's
    cells exactly as written, so the quality checks need not read the file back; only a
    CSV file with its header has them (other writers tell the tap to give up).
    """

    def __init__(
        self,
        path: Path,
        fmt: str,
        columns: list[ColumnSpec],
        header: bool = True,
        *,
        info: FileInfo | None = None,
        sheet_rows: int | None = None,
        tap: Any = None,
    ) -> None:
        self.path = path
        self.fmt = get_format(fmt)
        self.columns = columns
        self.rows = 0
        self.details: dict[str, Any] = {}
        self._body: Any = None
        self._tap = tap
        if tap is not None and not (self.fmt.base == "csv" and header):
            tap.give_up(f"the {self.fmt.name} writer does not hand on its cells")
            self._tap = None
        if self.fmt.container:
            self._body = _container_body(path, self.fmt, columns, header, info or FileInfo(), sheet_rows)
            return
        self._raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._sink = HashingWriter(self._raw)
        stream: BinaryIO = self._sink  # type: ignore[assignment]
        self._gzip = None
        self._blocks = None
        if self.fmt.gzip:
            self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0, compresslevel=6)
            self._blocks = _FixedBlocks(self._gzip)  # type: ignore[arg-type]
            stream = self._blocks  # type: ignore[assignment]
        self._binary = stream
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
        self._duck = None
        if self.fmt.base == "csv":
            if header:
                names = [self.fmt.column_key(c) for c in columns]
                csv.writer(self._text, lineterminator="\n").writerow(names)
                self._text.flush()
                if self._tap is not None:
                    self._tap.start(names)
            self._part = path.with_name(path.name + ".chunk")

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        if self._body is not None:
            from flatexport.typed.canonical import canonical_batch

            self._body.write_batch(canonical_batch(frame, self.columns))
        elif self.fmt.base == "csv":
            self._write_csv(frame)
        else:
            keys = [self.fmt.column_key(c) for c in self.columns]
            self._text.write("\n".join(jsonl_records(frame, self.columns, keys)) + "\n")
        self.rows += len(frame)

    def append_body(self, part: Path, rows: int) -> None:
        """Append rows another writer (same columns, ``header=False``) produced."""
        if self._body is not None:
            from flatexport.typed.canonical import read_part

            for batch in read_part(part):
                self._body.write_batch(batch)
            self.rows += rows
            return
        self._text.flush()
        with open(part, "rb") as fh:
            shutil.copyfileobj(fh, self._binary, 1 << 20)
        self.rows += rows

    def _write_csv(self, frame: pd.DataFrame) -> None:
        """DuckDB's CSV writer (C++, RFC 4180): faster than Python's csv module, and it
        quotes a cell holding a bare carriage return, which Python's does not when lines
        end in '\n' (Excel would split the row there). Its quoting is deterministic; it
        also quotes some cells that need no quotes (e.g. ones with '#'), which RFC 4180
        allows. Each chunk goes to a scratch file, then through the hashing stream."""
        import duckdb

        if self._duck is None:
            self._duck = duckdb.connect()
        cells = csv_table(frame, self.columns)
        if self._tap is not None:
            self._tap.add(cells)
        self._duck.register("chunk", csv_cells(frame, self.columns) if cells is None else cells)
        try:
            self._duck.execute(
                "COPY chunk TO " + sql_literal(str(self._part)) + " (FORMAT csv, HEADER false, "
                "DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULLSTR '', NEW_LINE '\n')"
            )
        finally:
            self._duck.unregister("chunk")
        with open(self._part, "rb") as part:
            shutil.copyfileobj(part, self._binary, 1 << 20)
        self._part.unlink()

    def close(self) -> tuple[int, str, int]:
        if self._body is not None:
            self.details = self._body.close() or {}
            digests, size = file_digests(self.path)
            return self.rows, digests["sha256"], size
        self._text.flush()
        self._text.detach()
        if self._duck is not None:
            self._duck.close()
        if self._gzip is not None:
            self._blocks.drain()
            self._gzip.close()
        self._raw.close()
        return self.rows, self._sink.digest.hexdigest(), self._sink.size

    def abort(self) -> None:
        if self._body is not None:
            try:
                self._body.abort()
            finally:
                self.path.unlink(missing_ok=True)
            return
        try:
            self._raw.close()
        finally:
            self.path.unlink(missing_ok=True)
            if self.fmt.base == "csv":
                self._part.unlink(missing_ok=True)


def _container_body(
    path: Path,
    fmt: FileFormat,
    columns: list[ColumnSpec],
    header: bool,
    info: FileInfo,
    sheet_rows: int | None,
) -> Any:
    """The writer of an xlsx or Parquet file, or of a slice's canonical part."""
    if not header:
        from flatexport.typed.canonical import PartWriter

        return PartWriter(path, columns)
    if fmt.base == "xlsx":
        from flatexport.typed.xlsx import MAX_SHEET_ROWS, XlsxBody

        return XlsxBody(
            path,
            columns,
            [fmt.column_key(c) for c in columns],
            title=info.title,
            timezone=info.timezone,
            created=info.created,
            sheet_rows=sheet_rows or MAX_SHEET_ROWS,
        )
    if fmt.base == "parquet":
        from flatexport.typed.parquet import ParquetBody

        return ParquetBody(path, columns, timezone=info.timezone)
    raise ValueError(f"no writer for format {fmt.name!r}")
