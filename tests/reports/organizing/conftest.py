"""One warehouse per engine, loaded once with the hand-built rows of ``data.py``, and a
helper that runs a report the way the organizing family will: the report's SQL through
the engine's extract (bound parameters, DuckDB chunks or a PostgreSQL cursor), then the
pure functions of ``organizing_support``.

Every test that takes ``wh`` runs on DuckDB and on PostgreSQL. The warehouses are
read-only and shared by the session: loading them once keeps the suite light on a
machine shared by several engineers (a database per test would cost ~0.5 s each).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from flatexport.extract import iter_batches, read_sql_file
from flatexport.families.organizing_support import custom_field_pivot, tag_pivot, with_json_cells
from flatexport.paths import include_dir
from flatexport.seed.organizing import frames_from_rows, load_organizing
from tests.conftest import PG_ADMIN_URL
from tests.reports.organizing.contract import FIELD_PIVOTS, HEADERS, TAG_PIVOTS
from tests.reports.organizing.data import CUTOFF, ROWS

BACKENDS = ["duckdb", "postgres"]


def plain(value: Any) -> Any:
    """A cell as a plain Python value, whichever engine produced it: None for every kind of
    missing, int/bool for numpy scalars, lists for arrays, aware UTC datetimes."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return value


@dataclass
class Result:
    header: list[str]
    rows: list[dict[str, Any]]

    def column(self, name: str) -> list[Any]:
        return [r[name] for r in self.rows]

    def by(self, key: str) -> dict[Any, dict[str, Any]]:
        return {r[key]: r for r in self.rows}


@dataclass
class Warehouse:
    backend: str
    url: str

    def extract(
        self, report: str, org: str = "o1", cutoff: dt.datetime = CUTOFF, **scope: Any
    ) -> pd.DataFrame:
        """The report query's rows (None when it returned none)."""
        sql = read_sql_file(include_dir() / "sql" / report / "extract.sql")
        params = {"org_id": org, "cutoff": cutoff, "action_id": None, "contact_list_id": None, **scope}
        batches = list(iter_batches(sql, params, self.url))
        return pd.concat(batches, ignore_index=True) if batches else None

    def export(self, report: str, org: str = "o1", cutoff: dt.datetime = CUTOFF, **scope: Any) -> Result:
        """Rows as the file will hold them (before CSV rendering), keyed by header."""
        fixed = HEADERS[report]
        frame = self.extract(report, org, cutoff, **scope)
        if frame is None:
            return Result(list(fixed), [])
        if report in TAG_PIVOTS or report in FIELD_PIVOTS:
            pivot = tag_pivot if report in TAG_PIVOTS else custom_field_pivot
            columns, out = pivot(frame, fixed)
            out = out.rename(columns={c.key: c.header for c in columns})
        else:
            out = with_json_cells(frame, fixed)
        header = list(out.columns)
        rows = [
            {h: plain(v) for h, v in zip(header, values, strict=True)}
            for values in out.itertuples(index=False)
        ]
        return Result(header, rows)


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
def wh(request: pytest.FixtureRequest, organizing_urls: dict[str, str]) -> Warehouse:
    return Warehouse(request.param, organizing_urls[request.param])
