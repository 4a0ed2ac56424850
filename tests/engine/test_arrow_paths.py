"""The Arrow fast paths give what the object paths gave, value for value and byte for byte.

Speed work (issue 13) moved the extract to DuckDB's Arrow record batches and the CSV
writer's cell text to Arrow compute; a customer's file must not change by one byte, so
each fast path is compared with the path it replaced, on the cases that differ in kind:
missing and empty text, formula-like cells (guarded, or not: numbers, phone numbers),
non-ASCII text, integers with and without NULLs, booleans, timestamps.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flatexport.extract import _duckdb_df_chunks, iter_batches
from flatexport.specs import ColumnSpec
from flatexport.write import ReportWriter, csv_cells, csv_table


def _col(name: str, type_: str) -> ColumnSpec:
    return ColumnSpec(name=name, type=type_, definition=name)


COLUMNS = [
    _col("text", "string"),
    _col("count", "integer"),
    _col("flag", "boolean"),
    _col("day", "date"),
    _col("tags", "array"),
]
FRAME = pd.DataFrame(
    {
        "text": ["plain", "", None, "=SUM(A1)", "-1.5e3", "+1 555 0100", "@home", "\tx", 'héllo, "q"\n'],
        "count": pd.array([1, None, -5, 0, 7, 8, 9, 10, 11], dtype="Int64"),
        "flag": pd.array([True, False, None, True, False, None, True, True, False], dtype="boolean"),
        "day": ["2024-11-04", None, "2024-11-05", None, None, None, None, None, "2024-01-01"],
        "tags": ['["a","b"]', None, "[]", None, None, None, None, None, '["é"]'],
    }
)


def test_arrow_cells_are_the_object_cells() -> None:
    table = csv_table(FRAME, COLUMNS)
    assert table is not None
    arrow = [table.column(i).to_pylist() for i in range(len(COLUMNS))]
    objects = [[None if v is None else v for v in csv_cells(FRAME, COLUMNS)[c.name]] for c in COLUMNS]
    assert arrow == objects


def test_a_number_column_keeps_the_object_path() -> None:
    frame = pd.DataFrame({"n": [1.5, None]})
    assert csv_table(frame, [_col("n", "number")]) is None


@pytest.mark.parametrize("fmt", ["csv", "csv.gz"])
def test_csv_bytes_match_the_object_path(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def write(path: Path) -> bytes:
        writer = ReportWriter(path, fmt, COLUMNS)
        writer.write(FRAME)
        writer.write(FRAME.iloc[3:])
        writer.close()
        return path.read_bytes()

    fast = write(tmp_path / f"fast.{fmt}")
    monkeypatch.setattr("flatexport.write.csv_table", lambda frame, columns: None)
    assert write(tmp_path / f"slow.{fmt}") == fast


def test_extract_arrow_batches_are_duckdbs_pandas_chunks(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "w.duckdb"
    sql = (
        "SELECT * FROM (VALUES (1::BIGINT, NULL::BIGINT, 'a', NULL::VARCHAR, 2.5::DOUBLE,"
        " TIMESTAMPTZ '2024-11-03 06:30:00+00'),"
        " (2, 5, NULL, 'b', NULL, NULL)) t(i, ni, s, ns, d, ts) WHERE i >= :low ORDER BY i"
    )
    duckdb.connect(str(path)).close()
    frames = list(iter_batches(sql, {"low": 0}, f"duckdb:///{path}"))
    assert len(frames) == 1
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone='UTC'")
    con.execute(sql.replace(":low", "0"))
    expected = pd.concat(list(_duckdb_df_chunks(con, 1000)))
    pd.testing.assert_frame_equal(frames[0], expected)
