"""Text cells in Arrow: an empty string is a missing value.

A CSV cell holds no difference between '' and missing, so every format writes them alike
and the checks read both as missing. The writer, the typed formats' canonical batches and
the export's check tap all turn blanks into nulls here.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def blanks_to_null(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``text`` with its '' cells null; ``text`` itself when it has none."""
    empty = pc.equal(text, "")
    if not pc.any(empty).as_py():
        return text
    return pc.if_else(empty, pa.scalar(None, pa.string()), text)
