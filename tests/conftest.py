"""Shared test setup: every test session gets its own data folder and Airflow home, so
tests never touch a developer's warehouse, control DB or Airflow metadata."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="flatexport-tests-"))
# Always this session's own folder, never the checkout's (the Makefile exports
# FLATEXPORT_DATA_DIR for the demo): each pytest-xdist worker is a session of its own,
# so workers never share staging folders, whose attempt paths repeat from test to test.
os.environ["FLATEXPORT_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ.pop("FLATEXPORT_STAGING_DIR", None)
os.environ.pop("FLATEXPORT_STAGING_URL", None)
# The same for Airflow's home and so its SQLite metadata (the Makefile exports the
# checkout's for the demo): two workers' dag.test() runs of one DAG and day in one
# metadata database collide on dag_run's (dag_id, logical_date).
os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# file:// destinations must lie under FLATEXPORT_LOCAL_ROOTS: tests deliver into their tmp_path.
os.environ.setdefault("FLATEXPORT_LOCAL_ROOTS", os.pathsep.join([tempfile.gettempdir(), "/srv/exports"]))
# An empty plugins folder: Airflow's loader imports every .py file of its plugins folder
# as a top-level module, which must never be our package tree.
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(_SESSION_DIR / "airflow-plugins")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parent.parent / "dags"))
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.pop("FLATEXPORT_SOURCE_URL", None)
os.environ.pop("FLATEXPORT_CONTROL_DB_URL", None)

PG_ADMIN_URL = os.environ.get(
    "FLATEXPORT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder for one test (warehouse, control DB, staging)."""
    path = tmp_path / "data"
    monkeypatch.setenv("FLATEXPORT_DATA_DIR", str(path))
    monkeypatch.delenv("FLATEXPORT_STAGING_DIR", raising=False)
    return path


@pytest.fixture
def pg_database():
    """A throwaway PostgreSQL database on the local server; yields its SQLAlchemy URL."""
    import uuid

    import sqlalchemy as sa

    name = f"fx_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# The longest single file: started first, it overlaps the quick files; in xdist's own
# most-tests-first order it started last, after 26 minutes, and ran alone to the end.
_FIRST = ("test_backfill_scheduler.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files in xdist's order (most tests first, which spreads the few-test Airflow-cluster
    files over the run) except the ten-day backfill, first. The Makefile passes
    --no-loadscope-reorder so xdist keeps this order; a file's tests keep theirs."""
    counts = Counter(item.path for item in items)
    seen = {path: i for i, path in enumerate(dict.fromkeys(item.path for item in items))}
    items.sort(key=lambda item: (item.path.name not in _FIRST, -counts[item.path], seen[item.path]))


_EXIT_STATUS = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _EXIT_STATUS
    _EXIT_STATUS = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process once pytest is done, skipping interpreter finalization.

    DuckDB's nanobind bindings print dozens of harmless "leaked function" lines during
    finalization, after pytest's summary, which would bury the result line CI reads.
    An xdist worker ends normally: its controller reads its last messages first.
    """
    import sys

    if os.environ.get("PYTEST_XDIST_WORKER"):
        return

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS)
