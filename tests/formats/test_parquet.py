"""Parquet files: the spec's types as read by DuckDB, pyarrow and pandas; the same rows as
the CSV of the same day; row groups, zstd and deterministic bytes."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flatexport.specs import load_spec
from flatexport.typed.canonical import canonical_batch
from flatexport.typed.parquet import ParquetBody, parquet_schema
from tests.formats.conftest import COLUMNS, ZONE, export, typed_frame, write_file

DUCKDB_TYPES = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP WITH TIME ZONE",
    "array": "VARCHAR[]",
    "string": "VARCHAR",
}


@pytest.fixture(scope="module")
def clickstream_day(sample_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("day")
    return {
        fmt: Path(export(sample_warehouse, "clickstream", fmt, out / f"c.{fmt}").path)
        for fmt in ("csv", "parquet")
    }


def test_duckdb_reads_the_spec_types(clickstream_day: dict[str, Path]) -> None:
    spec = load_spec("clickstream")
    con = duckdb.connect()
    described = con.execute(
        "DESCRIBE SELECT * FROM read_parquet(?)", [str(clickstream_day["parquet"])]
    ).fetchall()
    assert [(name, kind) for name, kind, *_ in described] == [
        (c.name, DUCKDB_TYPES[c.type]) for c in spec.columns
    ]


def test_pyarrow_and_pandas_read_the_spec_types(clickstream_day: dict[str, Path]) -> None:
    spec = load_spec("clickstream")
    schema = pq.read_schema(clickstream_day["parquet"])
    assert schema.remove_metadata() == parquet_schema(spec.columns, ZONE)
    assert schema.field("session_start").type == pa.timestamp("us", tz=ZONE)
    assert schema.field("election_center_tiles").type == pa.list_(pa.string())
    frame = pd.read_parquet(clickstream_day["parquet"], dtype_backend="pyarrow")
    assert str(frame["session_start"].dtype) == f"timestamp[us, tz={ZONE}][pyarrow]"
    assert str(frame["session_id"].dtype) == "int64[pyarrow]"
    assert str(frame["opt_in"].dtype) == "bool[pyarrow]"
    assert str(frame["ds"].dtype) == "date32[day][pyarrow]"
    plain = pd.read_parquet(clickstream_day["parquet"])  # numpy-backed pandas
    assert str(plain["session_start"].dtype) == f"datetime64[us, {ZONE}]"


def _csv_text(value: object, kind: str) -> str:
    """A DuckDB value as the CSV of the same day writes it (before the formula guard)."""
    if value is None:
        return ""
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "datetime":
        return value.astimezone(ZoneInfo(ZONE)).isoformat(timespec="seconds")  # type: ignore[attr-defined]
    if kind == "date":
        return value.isoformat()  # type: ignore[attr-defined]
    if kind == "array":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _instant(text: str) -> object:
    return dt.datetime.fromisoformat(text) if text else ""


def test_duckdb_reads_the_same_rows_as_the_csv_of_the_same_day(clickstream_day: dict[str, Path]) -> None:
    spec = load_spec("clickstream")
    with open(clickstream_day["csv"], newline="", encoding="utf-8") as fh:
        csv_rows = list(csv.reader(fh))[1:]
    con = duckdb.connect()
    parquet_rows = con.execute("SELECT * FROM read_parquet(?)", [str(clickstream_day["parquet"])]).fetchall()
    assert len(parquet_rows) == len(csv_rows) > 100
    for got, want in zip(parquet_rows, csv_rows, strict=True):
        for c, value, cell in zip(spec.columns, got, want, strict=True):
            mine = _csv_text(value, c.type)
            if c.type == "datetime":  # same instant; the CSV may keep a source's own offset
                assert _instant(mine) == _instant(cell), c.name
            elif c.type == "string" and cell.startswith("'") and mine == cell[1:]:
                continue  # the CSV's formula guard; Parquet holds the value as it is
            else:
                assert mine == cell, c.name


def test_zip_codes_keep_their_zeros(clickstream_day: dict[str, Path]) -> None:
    zips = {z for (z,) in duckdb.sql(f"SELECT zipcode FROM '{clickstream_day['parquet']}'").fetchall()}
    assert {"02139", "06103", "00907"} <= zips


def test_row_groups_are_fixed_size_and_zstd(tmp_path: Path) -> None:
    frame = pd.concat([typed_frame()] * 5, ignore_index=True)  # 25 rows
    path = tmp_path / "g.parquet"
    body = ParquetBody(path, COLUMNS, timezone=ZONE, row_group_rows=10)
    for start in range(0, 25, 7):  # chunks of 7 rows
        body.write_batch(canonical_batch(frame.iloc[start : start + 7], COLUMNS))
    details = body.close()
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10, 10, 5]
    assert details == {"row_groups": 3, "compression": "zstd"}
    codecs = {meta.row_group(g).column(c).compression for g in range(3) for c in range(meta.num_columns)}
    assert codecs == {"ZSTD"}


def test_same_rows_give_the_same_bytes_however_chunked(tmp_path: Path) -> None:
    frame = pd.concat([typed_frame()] * 4, ignore_index=True)
    write_file(tmp_path / "a.parquet", "parquet", [frame])
    write_file(tmp_path / "b.parquet", "parquet", [frame.iloc[:3], frame.iloc[3:11], frame.iloc[11:]])
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert meta.created_by.startswith("parquet-cpp-arrow version")  # a library, never a time
    assert set(meta.metadata or {}) == {b"ARROW:schema"}  # no pandas metadata with versions


def test_values_as_the_typed_reader_gives_them_back(tmp_path: Path) -> None:
    from flatexport.quality.reader import StagedReader

    path = tmp_path / "v.parquet"
    *_, details = write_file(path, "parquet", [typed_frame()])
    reader = StagedReader(str(path), "parquet")
    assert reader.prepare() == [c.name for c in COLUMNS]
    back = pd.concat(list(reader.chunks()), ignore_index=True)
    assert reader.rows == 5
    assert back.iloc[0].tolist() == [
        "1",
        "02139",
        "+1 555 0100",
        '=HYPERLINK("http://x","y")',
        "2024-11-03T01:30:00-05:00",
        "2024-11-04",
        "true",
        "1.5",
        '["vote","register"]',
    ]
    assert back["_4"].tolist()[1:4] == [
        "2024-11-03T01:30:00-06:00",
        "2024-11-04T09:15:00-06:00",
        "2024-11-04T09:15:00-06:00",  # 15:15 UTC, in the subscription's zone
    ]
    assert back["_0"].tolist() == ["1", "2", "3", "12345678901234567", ""]  # int64 keeps every digit
    assert back["_8"].iloc[2] == '["a,b","c\\"d"]'
    assert back["_1"].tolist() == ["02139", "00907", "", "", "06103"]  # '' is null, like CSV's one empty
    assert details == {"row_groups": 1, "compression": "zstd"}


def test_arrays_are_lists_of_strings(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    write_file(path, "parquet", [typed_frame()])
    tiles = pq.read_table(path, columns=["tiles"]).column("tiles").to_pylist()
    assert tiles == [["vote", "register"], None, ["a,b", 'c"d'], None, ["x"]]
    unnested = duckdb.sql(f"SELECT count(*) FROM (SELECT unnest(tiles) FROM '{path}')").fetchall()
    assert unnested == [(5,)]
