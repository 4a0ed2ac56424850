"""The canonical Arrow record batch the typed formats are written from.

Today the export hands pandas frames of canonical values (see
``flatten/coercion.py``); the typed writers take Arrow record batches, so when the engine
moves to Arrow end to end (issue 13) they need no change. One column per spec column:

=========================  ==========  =============================================
spec type                  Arrow type  value
=========================  ==========  =============================================
integer                    int64
number                     float64
boolean                    bool
string, date, datetime,    string      the text the CSV carries, before the formula
array                                  guard; missing and empty text are both null
=========================  ==========  =============================================

The same batches are what a time-slice worker leaves for the writer that joins the
slices (an Arrow IPC stream): container formats cannot be concatenated byte-wise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from flatexport.arrow_text import blanks_to_null
from flatexport.specs import ColumnSpec

_ARROW = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}


def canonical_type(col: ColumnSpec) -> pa.DataType:
    return _ARROW.get(col.type, pa.string())


def canonical_schema(columns: list[ColumnSpec]) -> pa.Schema:
    """Fields named by column name (unique in a spec), in the file's column order."""
    return pa.schema([pa.field(c.name, canonical_type(c)) for c in columns])


def _contiguous(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """pandas columns backed by Arrow (pandas 3's ``str``) convert to chunked arrays."""
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _text_array(values: pd.Series) -> pa.Array:
    """Text values as Arrow strings; '' and missing become null (one empty, as in CSV)."""
    try:
        arr = _contiguous(pa.array(values, type=pa.string(), from_pandas=True))
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # a non-text value in a text column is written as its text, like the CSV writer does
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = np.array([str(u) for u in uniques] + [None], dtype=object)
        arr = pa.array(texts[codes], type=pa.string(), from_pandas=True)
    if arr.null_count == len(arr):
        return arr
    return blanks_to_null(arr)


def canonical_batch(frame: pd.DataFrame, columns: list[ColumnSpec]) -> pa.RecordBatch:
    """A pandas frame of canonical values as the canonical record batch."""
    arrays = []
    for col in columns:
        values = frame[col.name]
        if col.type == "integer":
            arr = pa.array(values.astype("Int64"), type=pa.int64())
        elif col.type == "boolean":
            arr = pa.array(values.astype("boolean"), type=pa.bool_())
        elif col.type == "number":
            numbers = pd.to_numeric(values, errors="coerce").astype("float64")
            arr = pa.array(numbers, type=pa.float64(), from_pandas=True)
        else:
            arr = _text_array(values)
        arrays.append(_contiguous(arr))
    return pa.RecordBatch.from_arrays(arrays, schema=canonical_schema(columns))


class PartWriter:
    """Canonical batches into an Arrow IPC stream: one time slice's rows, for the writer
    that joins the slices in order (uncompressed: it is read once, on the same disk)."""

    def __init__(self, path: Path, columns: list[ColumnSpec]) -> None:
        self.path = path
        self.schema = canonical_schema(columns)
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()
        self._sink.close()

    def abort(self) -> None:
        try:
            self._sink.close()
        finally:
            self.path.unlink(missing_ok=True)


def read_part(path: Path) -> Iterator[pa.RecordBatch]:
    with pa.OSFile(str(path), "rb") as source:
        yield from pa.ipc.open_stream(source)
