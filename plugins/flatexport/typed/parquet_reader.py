"""Read a Parquet file back as the text cells the CSV of the same rows carries.

Rendering follows the file's own schema, so the gate checks what a warehouse loads:
integers as digits, booleans ``true``/``false``, dates ``YYYY-MM-DD``, timestamps with a
time zone as ``YYYY-MM-DDThh:mm:ss±hh:mm`` in that zone, lists as compact JSON arrays,
null as the empty cell.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_OFFSET = r"([+-][0-9]{2})([0-9]{2})$"


def _json_texts(arr: pa.Array) -> pa.Array:
    return pa.array(
        [
            None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
            for v in arr.to_pylist()
        ],
        type=pa.string(),
    )


def render(arr: pa.Array) -> pa.Array:
    """One column as text: what the CSV writer writes for the same values."""
    kind = arr.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        out = arr
    elif pa.types.is_timestamp(kind):
        if kind.tz:
            seconds = arr.cast(pa.timestamp("s", tz=kind.tz), safe=False)
            out = pc.replace_substring_regex(
                pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S%z"), pattern=_OFFSET, replacement=r"\1:\2"
            )
        else:
            out = pc.strftime(arr.cast(pa.timestamp("s"), safe=False), format="%Y-%m-%dT%H:%M:%S")
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_struct(kind):
        out = _json_texts(arr)
    elif pa.types.is_floating(kind):
        out = pa.array([None if v is None else _float_text(v) for v in arr.to_pylist()], type=pa.string())
    else:  # integers, booleans (true/false), dates (YYYY-MM-DD)
        out = arr.cast(pa.string())
    return out.fill_null("")


def _float_text(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


class ParquetTextReader:
    """``header`` and ``rows`` from the footer; ``chunks()`` yields text frames."""

    def __init__(self, path: str) -> None:
        self.file = pq.ParquetFile(path)
        self.header = list(self.file.schema_arrow.names)
        self.rows = self.file.metadata.num_rows

    def chunks(self, chunksize: int) -> Iterator[pd.DataFrame]:
        names = [f"_{i}" for i in range(len(self.header))]
        for batch in self.file.iter_batches(batch_size=chunksize, use_threads=False):
            columns = {name: render(batch.column(i)) for i, name in enumerate(names)}
            yield pa.table(columns).to_pandas().astype(str)
