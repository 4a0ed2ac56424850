"""`flatexport run` reads the warehouse the DAG's tasks read: the `flatexport_source`
Airflow connection when Airflow has it, else FLATEXPORT_SOURCE_URL, else the embedded one.
The connection points at a real PostgreSQL database; the environment at a DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flatexport.cli import main
from tests.support.events import ev, load_events

pytestmark = pytest.mark.postgres


def _run_rows(out: Path) -> int:
    result = CliRunner().invoke(
        main, ["run", "clickstream", "--date", "2024-11-04", "--org", "org_a", "--to", str(out)]
    )
    assert result.exit_code == 0, result.output
    return len((out / "clickstream_2024-11-04.csv").read_text().splitlines()) - 1


def test_run_reads_the_airflow_connection_first_then_the_environment(
    pg_database, tmp_path, data_dir, monkeypatch
):
    # production: three sessions on PostgreSQL; the environment's DuckDB file has one
    load_events(pg_database, [ev(n, "2024-11-04T10:00:00", "session_start", org="org_a") for n in (1, 2, 3)])
    local = load_events(f"duckdb:///{tmp_path}/w.duckdb", [ev(9, "2024-11-04T10:00:00", "session_start")])
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", local)
    url = sa.make_url(pg_database)
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLATEXPORT_SOURCE",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": url.host,
                "port": url.port,
                "login": url.username,
                "schema": url.database,
            }
        ),
    )
    assert _run_rows(tmp_path / "with-connection") == 3

    monkeypatch.delenv("AIRFLOW_CONN_FLATEXPORT_SOURCE")
    assert _run_rows(tmp_path / "without") == 1
