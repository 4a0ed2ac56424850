"""Write a report as a Parquet file typed from its spec, in row groups, zstd-compressed.

The schema is the spec's (:func:`parquet_type`): strings, int64, doubles, booleans,
dates, timestamps with the subscription's time zone, and arrays as ``list<string>``.
Timestamps are instants (Parquet's ``isAdjustedToUTC``): DuckDB reads them as
TIMESTAMP WITH TIME ZONE, pandas and pyarrow in the subscription's zone.

Deterministic bytes: rows are regrouped into row groups of a fixed size, so the file
depends on the rows alone, not on how the export chunked them or how many workers made
them; the schema is built from the spec (no pandas metadata with versions or index
details); Parquet's footer names the writer library, never a time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flatexport.specs import ColumnSpec

ROW_GROUP_ROWS = 65_536  # fixed, so bytes never depend on the export's chunk sizes
COMPRESSION = "zstd"

_SIMPLE = {
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "array": pa.list_(pa.string()),
    "string": pa.string(),
    "object": pa.string(),  # a JSON object's keys vary by row: compact JSON text, as in CSV
}


def parquet_type(col: ColumnSpec, timezone: str) -> pa.DataType:
    """The Parquet (Arrow) type of a column in files of a subscription in ``timezone``."""
    if col.type == "datetime":
        return pa.timestamp("us", tz=timezone)
    return _SIMPLE[col.type]


def parquet_type_name(col: ColumnSpec) -> str:
    """The type as the data dictionary shows it."""
    if col.type == "datetime":
        return "timestamp[us, tz=<subscription time zone>]"
    if col.type == "array":
        return "list<string>"
    if col.type == "object":
        return "string (JSON object text)"
    return str(_SIMPLE[col.type])


def parquet_schema(columns: list[ColumnSpec], timezone: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, parquet_type(c, timezone)) for c in columns])


def _per_value(arr: pa.Array, fn, out_type: pa.DataType) -> pa.Array:
    """``fn`` once per distinct text value, as an array of ``out_type``."""
    if arr.null_count == len(arr):
        return pa.nulls(len(arr), out_type)
    encoded = pc.dictionary_encode(arr)
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], type=out_type)
    return pc.take(mapped, encoded.indices)


def _epoch_us(text: str) -> int | None:
    try:
        ts = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if ts.tzinfo is None:  # the canonical text always has an offset; be safe
        ts = ts.replace(tzinfo=dt.UTC)
    delta = ts - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _text_items(text: str) -> list[str] | None:
    """A JSON array's items as text: strings as they are, anything else as its JSON."""
    try:
        items = json.loads(text)
    except ValueError:
        return None
    if not isinstance(items, list):
        items = [items]
    return [
        i if isinstance(i, str) else json.dumps(i, ensure_ascii=False, separators=(",", ":")) for i in items
    ]


class ParquetBody:
    """Canonical record batches -> one Parquet file, one row group per ``row_group_rows``."""

    def __init__(
        self, path: Path, columns: list[ColumnSpec], *, timezone: str, row_group_rows: int = ROW_GROUP_ROWS
    ) -> None:
        self.columns = columns
        self.timezone = timezone
        self.schema = parquet_schema(columns, timezone)
        self.row_group_rows = row_group_rows
        self._writer = pq.ParquetWriter(
            str(path),
            self.schema,
            compression=COMPRESSION,
            version="2.6",
            use_dictionary=True,
            write_statistics=True,
        )
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.row_groups = 0
        self.invalid: Counter[str] = Counter()  # values the column's type cannot hold: null

    def _typed(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = []
        for i, col in enumerate(self.columns):
            arr = batch.column(i)
            want = self.schema.field(i).type
            if col.type == "datetime":
                micros = _per_value(arr, _epoch_us, pa.int64())
                out = micros.cast(want)
            elif col.type == "date":
                out = _per_value(arr, _date, want)
            elif col.type == "array":
                out = _per_value(arr, _text_items, want)
            else:
                out = arr
            lost = out.null_count - arr.null_count
            if lost:
                self.invalid[col.name] += lost
            arrays.append(out)
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(self._typed(batch))
        self._pending_rows += batch.num_rows
        while self._pending_rows >= self.row_group_rows:
            table = pa.Table.from_batches(self._pending, schema=self.schema)
            self._write_group(table.slice(0, self.row_group_rows))
            rest = table.slice(self.row_group_rows)
            self._pending = rest.to_batches()
            self._pending_rows = rest.num_rows

    def _write_group(self, table: pa.Table) -> None:
        # contiguous arrays: the writer's pages then never depend on how rows were chunked
        self._writer.write_table(table.combine_chunks(), row_group_size=self.row_group_rows)
        self.row_groups += 1

    def close(self) -> dict[str, Any]:
        if self._pending_rows:
            self._write_group(pa.Table.from_batches(self._pending, schema=self.schema))
            self._pending = []
        self._writer.close()
        details: dict[str, Any] = {"row_groups": self.row_groups, "compression": COMPRESSION}
        if self.invalid:
            details["invalid_values_null"] = dict(sorted(self.invalid.items()))
        return details

    def abort(self) -> None:
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 - the file is being discarded anyway
            pass


__all__ = ["ROW_GROUP_ROWS", "ParquetBody", "parquet_schema", "parquet_type", "parquet_type_name"]
