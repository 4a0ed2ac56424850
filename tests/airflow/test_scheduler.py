"""clickstream_daily under a real Airflow deployment, not dag.test(): metadata on
PostgreSQL, the API server (execution API), the scheduler with the LocalExecutor and the
DAG processor as separate processes. A triggered run for one day delivers the file."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from flatexport.control.store import ControlStore
from tests.support.airflow_cluster import airflow_cluster
from tests.support.events import ev, load_events

DAY = dt.date(2024, 11, 4)
DAG_ID = "clickstream_daily"
RUN_ID = "manual__scheduler_test"

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_a_triggered_run_delivers_under_the_real_scheduler(pg_database: str, tmp_path: Path):
    warehouse = load_events(
        f"duckdb:///{tmp_path}/warehouse.duckdb",
        [
            ev(101, "2024-11-04T09:00:00", "session_start"),
            ev(101, "2024-11-04T09:01:00", "tile_click", {"tile": "Pledge to vote"}),
            ev(102, "2024-11-04T23:59:00", "tile_click", {"tile": "Find my polling place"}),
            ev(103, "2024-11-05T00:30:00", "session_start"),  # the next day: not in the file
            ev(201, "2024-11-04T10:00:00", "session_start", org="org_b"),  # another customer
        ],
    )
    control = f"sqlite:///{tmp_path}/control.db"
    out = tmp_path / "org_a-deliveries"
    sub = ControlStore(control).add_subscription(
        org_id="org_a", report="clickstream", destination=out.as_uri()
    )

    started = time.monotonic()
    with airflow_cluster(
        tmp_path / "airflow",
        pg_database,
        {
            "FLATEXPORT_DATA_DIR": str(tmp_path / "data"),
            "FLATEXPORT_SOURCE_URL": warehouse,
            "FLATEXPORT_CONTROL_DB_URL": control,
            "FLATEXPORT_TASK_RETRIES": "0",
        },
    ) as cluster:
        print(f"up in {time.monotonic() - started:.0f}s")
        cluster.wait_for_dag(DAG_ID)
        print(f"parsed at {time.monotonic() - started:.0f}s")
        # Airflow 3 infers a CLI-triggered run's data interval from the trigger time, whatever
        # its logical date, so the day is named in the conf (tasks.report_day honours it).
        # A run triggered while paused stays queued until the unpause, so both go at once.
        cluster.cli_all(
            ["dags", "unpause", DAG_ID],
            ["dags", "trigger", DAG_ID, "--run-id", RUN_ID, "--conf", json.dumps({"ds": DAY.isoformat()})],
        )
        print(f"triggered at {time.monotonic() - started:.0f}s")
        state = cluster.wait_for_run(DAG_ID, RUN_ID, timeout=240)
        facts = cluster.run_facts(DAG_ID, RUN_ID)
        report = cluster.diagnostics() if state != "success" else ""
    print(f"real-scheduler run finished {state} in {time.monotonic() - started:.0f}s: {facts}")

    assert state == "success", report
    assert facts["run_type"] == "manual"
    assert {(task, s) for task, _, s, _ in facts["tasks"]} == {
        ("list_subscriptions", "success"),
        ("subscription.wait_for_day_to_close", "success"),
        ("subscription.export", "success"),
        ("subscription.check", "success"),
        ("subscription.deliver", "success"),
    }

    assert sorted(p.name for p in out.iterdir()) == [
        "clickstream_2024-11-04.csv",
        "clickstream_2024-11-04.csv.manifest.json",
    ]
    lines = (out / "clickstream_2024-11-04.csv").read_text().splitlines()
    assert len(lines) == 3  # the header and org_a's two sessions of Nov 4
    assert "Pledge to vote" in "\n".join(lines) and "org_b" not in "\n".join(lines)

    (delivery,) = ControlStore(control).deliveries()
    assert (delivery.subscription_id, delivery.ds, delivery.run_id) == (sub.id, DAY, RUN_ID)
    assert (delivery.status, delivery.rows) == ("delivered", 2)
