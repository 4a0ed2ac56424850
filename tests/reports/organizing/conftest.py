"""One warehouse per engine, loaded once with the hand-built rows of ``data.py``, and a
helper that exports a report the way a customer gets it: ``run_export`` (the engine's one
path: scope check, the report's SQL with bound parameters, the organizing family's
flattening, the writer) into a real file, read back with an RFC 4180 reader.

Every test that takes ``wh`` runs on DuckDB and on PostgreSQL. The warehouses are
read-only and shared by the session: loading them once keeps the suite light on a
machine shared by several engineers (a database per test would cost ~0.5 s each).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from flatexport.export import run_export, run_export_as_of
from flatexport.extract import iter_batches, read_sql_file
from flatexport.formats import get_format
from flatexport.paths import include_dir
from flatexport.seed.organizing import frames_from_rows, load_organizing
from flatexport.specs import ColumnSpec, load_spec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from tests.conftest import PG_ADMIN_URL
from tests.reports.organizing.data import CUTOFF, ROWS

BACKENDS = ["duckdb", "postgres"]
DS = (CUTOFF - dt.timedelta(days=1)).date()  # the report day whose nightly cutoff is CUTOFF
_RUN = itertools.count()


def typed_cell(text: str, col: ColumnSpec) -> Any:
    """A CSV cell as a Python value by its column's type, to state expectations simply:
    None for an empty cell, int, bool (``true``/``false``), an aware datetime; text (JSON
    cells included) exactly as the file has it."""
    if text == "":
        return None
    if col.type == "integer":
        return int(text)
    if col.type == "boolean":
        return {"true": True, "false": False}[text]
    if col.type == "datetime":
        return dt.datetime.fromisoformat(text)
    return text


@dataclass
class Result:
    staged: StagedFile
    text: str  # the file as written (decompressed)
    header: list[str]  # the header row as written (CSV) or the keys (JSON Lines)
    rows: list[dict[str, Any]]  # header -> typed cell (CSV) or the JSON value (JSON Lines)

    def column(self, name: str) -> list[Any]:
        return [r[name] for r in self.rows]

    def by(self, key: str) -> dict[Any, dict[str, Any]]:
        return {r[key]: r for r in self.rows}


@dataclass
class Warehouse:
    backend: str
    url: str
    out: Path

    def extract(
        self, report: str, org: str = "o1", cutoff: dt.datetime = CUTOFF, **scope: Any
    ) -> pd.DataFrame | None:
        """The report query's rows as the engine extracts them (None when it returned none)."""
        sql = read_sql_file(include_dir() / "sql" / report / "extract.sql")
        params = {"org_id": org, "cutoff": cutoff, "action_id": None, "contact_list_id": None, **scope}
        batches = list(iter_batches(sql, params, self.url))
        return pd.concat(batches, ignore_index=True) if batches else None

    def subscription(
        self, report: str, org: str = "o1", fmt: str = "csv", timezone: str = "UTC", **scope: Any
    ):
        return Subscription(
            id=next(_RUN),
            org_id=org,
            report=report,
            destination="file:///unused",
            format=fmt,
            timezone=timezone,
            scope=scope,
        )

    def export(
        self,
        report: str,
        org: str = "o1",
        ds: dt.date | str = DS,
        *,
        as_of: dt.datetime | None = None,
        fmt: str = "csv",
        timezone: str = "UTC",
        **scope: Any,
    ) -> Result:
        """The file a customer gets: the nightly file for ``ds`` in ``timezone``, or the
        on-demand file as of ``as_of``; rows keyed by the header as written."""
        sub = self.subscription(report, org, fmt, timezone, **scope)
        out = self.out / f"{report}_{sub.id}.{fmt}"
        if as_of is None:
            staged = run_export(sub, ds, source_url=self.url, out_path=out)
        else:
            staged = run_export_as_of(sub, as_of, source_url=self.url, out_path=out)
        return read_result(staged)


def read_result(staged: StagedFile) -> Result:
    fmt = get_format(staged.format)
    raw = Path(staged.path).read_bytes()
    text = (gzip.decompress(raw) if fmt.gzip else raw).decode("utf-8")
    if fmt.base == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()]
        return Result(staged, text, list(staged.columns), rows)
    spec = load_spec(staged.report)
    by_header = {fmt.column_key(c): c for c in spec.columns}
    pivot = next((c for c in spec.columns if c.rule_kind.endswith("_pivot")), None)
    table = list(csv.reader(io.StringIO(text, newline="")))
    header = table[0]
    types = [by_header.get(h, pivot) for h in header]
    rows = [
        {h: typed_cell(cell, col) for h, cell, col in zip(header, line, types, strict=True)}
        for line in table[1:]
    ]
    return Result(staged, text, header, rows)


def _create_pg_database() -> str:
    name = f"fx_test_org_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    finally:
        admin.dispose()
    return name


def _drop_pg_database(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def organizing_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The hand-built rows loaded into one DuckDB file and one PostgreSQL database."""
    frames = frames_from_rows(ROWS)
    duck = f"duckdb:///{tmp_path_factory.mktemp('organizing') / 'warehouse.duckdb'}"
    load_organizing(duck, frames)
    name = _create_pg_database()
    pg = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        load_organizing(pg, frames)
        yield {"duckdb": duck, "postgres": pg}
    finally:
        from flatexport.source import engine_for

        engine_for.cache_clear()  # pooled connections would block the drop
        _drop_pg_database(name)


@pytest.fixture(params=BACKENDS)
def wh(request: pytest.FixtureRequest, organizing_urls: dict[str, str], tmp_path: Path) -> Warehouse:
    return Warehouse(request.param, organizing_urls[request.param], tmp_path)
