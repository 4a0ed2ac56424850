"""`flatexport backfill` through the real scheduler: a ten-day backfill for two orgs of
three, created as an Airflow backfill (metadata on PostgreSQL, API server, scheduler and
DAG processor as separate processes), followed day by day to its summary; a second,
overlapping backfill is refused in words while the first runs."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from flatexport.control.store import ControlStore
from tests.support.airflow_cluster import airflow_cluster
from tests.support.events import ev, load_events

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAG_ID = "clickstream_daily"
DAYS = [dt.date(2024, 11, 1) + dt.timedelta(days=n) for n in range(10)]
ORGS = ("org_a", "org_b", "org_c")  # org_c has a subscription but is not asked for
FLATEXPORT = str(Path(sys.executable).with_name("flatexport"))


def _events() -> list[dict]:
    return [
        ev(day.toordinal() * 10 + i, f"{day}T09:{i:02d}:00", "session_start", org=org)
        for day in DAYS
        for i, org in enumerate(ORGS)
    ]


def _flatexport(cluster, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FLATEXPORT, *args], env=cluster.env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_ten_day_backfill_for_two_orgs_runs_through_the_scheduler_with_progress_and_summary(
    pg_database: str, tmp_path: Path
):
    warehouse = load_events(f"duckdb:///{tmp_path}/warehouse.duckdb", _events())
    control = f"sqlite:///{tmp_path}/control.db"
    store = ControlStore(control)
    folders = {org: tmp_path / org for org in ORGS}
    for org in ORGS:
        store.add_subscription(org_id=org, report="clickstream", destination=folders[org].as_uri())

    started = time.monotonic()
    with airflow_cluster(
        tmp_path / "airflow",
        pg_database,
        {
            "FLATEXPORT_DATA_DIR": str(tmp_path / "data"),
            "FLATEXPORT_SOURCE_URL": warehouse,
            "FLATEXPORT_CONTROL_DB_URL": control,
            "FLATEXPORT_TASK_RETRIES": "0",
            "FLATEXPORT_LATE_EVENT_GRACE_MINUTES": "0",
            # a task parses its DAG file first; on a busy test machine that outlasts 30 s
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
        },
    ) as cluster:
        cluster.wait_for_dag(DAG_ID)
        cluster.cli("dags", "unpause", DAG_ID)
        backfill = subprocess.Popen(
            [FLATEXPORT, "backfill", "clickstream", "--from", str(DAYS[0]), "--to", str(DAYS[-1]),
             "--org", "org_a", "--org", "org_b"],
            env=cluster.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            backfill_id = cluster.wait_for(
                lambda: _active_backfill(cluster), 120, "flatexport backfill created no Airflow backfill"
            )
            # While it runs, an overlapping range is refused, naming the running backfill.
            overlapping = _flatexport(
                cluster,
                "backfill",
                "clickstream",
                "--from",
                "2024-11-09",
                "--to",
                "2024-11-12",
                "--org",
                "org_a",
            )
            out, err = backfill.communicate(timeout=2700)
        finally:
            if backfill.poll() is None:
                backfill.kill()
        elapsed = time.monotonic() - started
        report = cluster.diagnostics() if backfill.returncode != 0 else ""
        runs = _backfill_runs(cluster, backfill_id)

    print(out)
    print(f"ten-day backfill for two orgs: {elapsed:.0f}s from cluster start")
    assert overlapping.returncode == 1
    assert overlapping.stderr.strip().splitlines()[-1] == (
        f"error: 2024-11-09 to 2024-11-12 overlaps backfill {backfill_id} of {DAG_ID} "
        "(2024-11-01 to 2024-11-10), which is still running: wait for it to finish, "
        "or cancel it in Airflow (the DAG's Backfills tab), "
        "then try again"
    )
    assert backfill.returncode == 0, f"{out}\n{err}\n{report}"

    said = [line for line in out.splitlines() if line.startswith(("Airflow backfill", "2024-", "summary"))]
    assert said[0] == (
        f"Airflow backfill {backfill_id} of {DAG_ID} created: clickstream 2024-11-01 to 2024-11-10 "
        "(10 day(s), org_a, org_b)"
    )
    # progress: one line per day as each day's run ends (not a terminal), then the summary
    assert sorted(said[1:-1]) == [f"{day}  delivered  2 file(s)" for day in DAYS]
    assert said[-1] == "summary: 10 day(s): 10 delivered (20 file(s)), 0 skipped, 0 failed"

    # Scheduler-managed backfill runs, one per day, limited to the two orgs by their conf.
    assert sorted(day for day, _, _ in runs) == DAYS
    assert {(run_type, state) for _, run_type, state in runs} == {("backfill", "success")}
    for org in ("org_a", "org_b"):
        assert sorted(p.name for p in folders[org].glob("*.csv")) == [f"clickstream_{d}.csv" for d in DAYS]
    assert not folders["org_c"].exists()
    log = ControlStore(control).deliveries()
    assert len(log) == 20
    assert {(d.org_id, d.status) for d in log} == {("org_a", "delivered"), ("org_b", "delivered")}
    assert all(d.run_id.startswith("backfill__") for d in log)


def _active_backfill(cluster) -> int | None:
    with cluster.engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT id FROM backfill WHERE dag_id = :d AND completed_at IS NULL"), {"d": DAG_ID}
        ).scalar()


def _backfill_runs(cluster, backfill_id: int) -> list[tuple[dt.date, str, str]]:
    with cluster.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT logical_date, run_type, state FROM dag_run WHERE backfill_id = :b"),
            {"b": backfill_id},
        ).all()
    return [(logical.date(), run_type, state) for logical, run_type, state in rows]
