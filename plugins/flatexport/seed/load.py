"""Bulk-write DataFrames into the warehouse named by a SQLAlchemy URL.

Seeding millions of events row by row through SQLAlchemy would take hours, so each
engine gets its native bulk path: DuckDB scans the registered DataFrame in an
``INSERT ... SELECT``; PostgreSQL receives a CSV stream through psycopg's ``COPY``.
JSON columns arrive as text and are cast (DuckDB) or parsed by the JSON input function
(PostgreSQL), so invalid JSON fails the load instead of landing in the warehouse.
A whole load runs in one transaction: a failed seed leaves the previous data in place.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_COPY_ROWS = 100_000
_PG_NULL = r"\N"


class Sink(Protocol):
    """What the seeders need from a warehouse connection."""

    dialect: str

    def execute(self, sql: str) -> None: ...

    def scalar(self, sql: str) -> Any: ...

    def append(self, table: str, frame: pd.DataFrame, json_columns: Sequence[str] = ()) -> None: ...


def _ident(name: str) -> str:
    """Table and column names are interpolated into SQL, so only plain identifiers pass."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


class DuckDbSink:
    """Native duckdb connection; DataFrames are scanned in place, no row conversion."""

    dialect = "duckdb"

    def __init__(self, path: str) -> None:
        import os

        import duckdb

        from flatexport.source import check_duckdb_file, duckdb_connect_args

        if path != ":memory:" and os.path.exists(path):
            check_duckdb_file(path)  # never overwrite, or read through an extension, a foreign file
        self.con = duckdb.connect(path, config=duckdb_connect_args(read_only=False)["config"])

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def scalar(self, sql: str) -> Any:
        rows = self.con.execute(sql).fetchall()  # fetch all: DuckDB 2 refuses new work on a pending result
        return rows[0][0] if rows else None

    def append(self, table: str, frame: pd.DataFrame, json_columns: Sequence[str] = ()) -> None:
        cols = [_ident(c) for c in frame.columns]
        select = ", ".join(f"CAST({c} AS JSON)" if c in json_columns else c for c in cols)
        self.con.register("_fx_seed_batch", frame)
        try:
            self.con.execute(
                f"INSERT INTO {_ident(table)} ({', '.join(cols)}) SELECT {select} FROM _fx_seed_batch"  # noqa: S608
            )
        finally:
            self.con.unregister("_fx_seed_batch")


class PostgresSink:
    """psycopg 3 connection under SQLAlchemy's pool; appends go through COPY ... CSV."""

    dialect = "postgresql"

    def __init__(self, engine: sa.Engine) -> None:
        self.raw = engine.raw_connection()
        self.con = self.raw.driver_connection

    def execute(self, sql: str) -> None:
        with self.con.cursor() as cur:
            cur.execute(sql)

    def scalar(self, sql: str) -> Any:
        with self.con.cursor() as cur:
            row = cur.execute(sql).fetchone()
        return None if row is None else row[0]

    def append(self, table: str, frame: pd.DataFrame, json_columns: Sequence[str] = ()) -> None:
        cols = ", ".join(_ident(c) for c in frame.columns)
        # NULL is \N so that an empty string stays an empty string (CSV's default NULL is
        # the empty field, which would merge the two).
        sql = f"COPY {_ident(table)} ({cols}) FROM STDIN (FORMAT csv, NULL '{_PG_NULL}')"
        with self.con.cursor() as cur, cur.copy(sql) as copy:
            for start in range(0, len(frame), _COPY_ROWS):
                copy.write(_to_csv(frame.iloc[start : start + _COPY_ROWS]))


def _to_csv(frame: pd.DataFrame) -> str:
    """CSV for COPY: timestamps with offset and microseconds, missing values as \\N."""
    buf = io.StringIO()
    frame.to_csv(
        buf,
        header=False,
        index=False,
        na_rep=_PG_NULL,
        quoting=csv.QUOTE_MINIMAL,
        lineterminator="\n",
        date_format="%Y-%m-%d %H:%M:%S.%f%z",
    )
    return buf.getvalue()


@contextmanager
def open_sink(url: str) -> Iterator[Sink]:
    """A sink for ``duckdb:///path`` or ``postgresql+psycopg://...`` inside one
    transaction, committed when the block ends without an exception."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "duckdb":
        sink = DuckDbSink(parsed.database or ":memory:")
        sink.execute("BEGIN TRANSACTION")
        try:
            yield sink
            sink.execute("COMMIT")
        except BaseException:
            sink.con.rollback()
            raise
        finally:
            sink.con.close()
        return
    if parsed.get_backend_name() == "postgresql":
        engine = sa.create_engine(parsed)
        pg = PostgresSink(engine)
        try:
            yield pg
            pg.raw.commit()
        except BaseException:
            pg.raw.rollback()
            raise
        finally:
            pg.raw.close()
            engine.dispose()
        return
    raise ValueError(f"unsupported warehouse URL (DuckDB or PostgreSQL only): {parsed!r}")
