"""Fixtures for the control store and CLI: a small report spec in a temp include dir
(the real specs are written elsewhere and may change), and stores on SQLite and on a
throwaway PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from flatexport.control.store import ControlStore

SPEC = """\
report: clickstream
title: Clickstream
description: One row per page view.
family: clickstream
source_document: tests
file_stem: clickstream
sql: clickstream/extract.sql
order_by: [event_id]
columns:
  - {name: event_id, type: string, definition: Event id., rule: {kind: copy}}
  - {name: org_id, type: string, definition: Org., rule: {kind: copy}}
  - {name: page_url, type: string, definition: Page., rule: {kind: copy}}
  - {name: email, type: string, definition: User email., pii: true, rule: {kind: copy}}
"""


# The source these tests check orgs against knows every org: they are about the control
# store and its CLI (tests/hardening checks that an unknown org is refused).
ORG_EXISTS = "SELECT 1 AS found WHERE CAST(:org_id AS VARCHAR) <> ''\n"


@pytest.fixture
def include_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import duckdb

    path = tmp_path / "include"
    (path / "report_specs").mkdir(parents=True)
    (path / "report_specs" / "clickstream.yaml").write_text(SPEC, encoding="utf-8")
    for report in ("clickstream", "activity"):  # tests copy the real activity spec in
        (path / "sql" / report).mkdir(parents=True)
        (path / "sql" / report / "org_exists.sql").write_text(ORG_EXISTS, encoding="utf-8")
    warehouse = tmp_path / "source.duckdb"
    duckdb.connect(str(warehouse)).close()
    monkeypatch.setenv("FLATEXPORT_INCLUDE_DIR", str(path))
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", f"duckdb:///{warehouse}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'control.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("pg_database")
    return f"sqlite:///{tmp_path / 'control.db'}"


@pytest.fixture
def store(db_url: str):
    store = ControlStore(db_url)
    yield store
    store.dispose()
