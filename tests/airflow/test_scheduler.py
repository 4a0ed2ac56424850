"""clickstream_daily under a real Airflow deployment, not dag.test(): metadata on
PostgreSQL, the API server (execution API), the scheduler with the LocalExecutor and the
DAG processor as separate processes. A run triggered for a day delivers that day's file;
manual runs made the ways users make them (the CLI without a date, the trigger dialog's
Logical Date through the REST API) export the day they mean."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from pathlib import Path

import pytest

from flatexport.control.store import ControlStore
from tests.support.airflow_cluster import airflow_cluster
from tests.support.events import ev, load_events

DAY = dt.date(2024, 11, 4)
DAG_ID = "clickstream_daily"
RUN_ID = "manual__scheduler_test"

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
# A zone where the most recent complete UTC day has ended, session reach included, at any
# hour: the conf-less run never waits for its window to close.
EARLY_ZONE = "Pacific/Kiritimati"
_EVENTS = [
    ev(101, "2024-11-04T09:00:00", "session_start"),
    ev(101, "2024-11-04T09:01:00", "tile_click", {"tile": "Pledge to vote"}),
    ev(102, "2024-11-04T23:59:00", "tile_click", {"tile": "Find my polling place"}),
    ev(103, "2024-11-05T00:30:00", "session_start"),  # the next day: not in the file
    ev(201, "2024-11-04T10:00:00", "session_start", org="org_b"),  # another customer
]


def test_triggered_runs_export_the_day_users_mean_under_the_real_scheduler(pg_database: str, tmp_path: Path):
    warehouse = load_events(f"duckdb:///{tmp_path}/warehouse.duckdb", _EVENTS)
    control = f"sqlite:///{tmp_path}/control.db"
    out = tmp_path / "org_a-deliveries"
    latest = tmp_path / "org_c-deliveries"
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
            "FLATEXPORT_LATE_EVENT_GRACE_MINUTES": "0",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # REST calls without a login
        },
    ) as cluster:
        print(f"up in {time.monotonic() - started:.0f}s")
        cluster.wait_for_dag(DAG_ID)
        print(f"parsed at {time.monotonic() - started:.0f}s")
        # The day is the trigger form's date field, here through the CLI's conf.
        # A run triggered while paused stays queued until the unpause, so both go at once.
        cluster.cli_all(
            ["dags", "unpause", DAG_ID],
            ["dags", "trigger", DAG_ID, "--run-id", RUN_ID, "--conf", json.dumps({"date": DAY.isoformat()})],
        )
        print(f"triggered at {time.monotonic() - started:.0f}s")
        state = cluster.wait_for_run(DAG_ID, RUN_ID, timeout=240)
        facts = cluster.run_facts(DAG_ID, RUN_ID)
        report = cluster.diagnostics() if state != "success" else ""
        print(f"real-scheduler run finished {state} in {time.monotonic() - started:.0f}s: {facts}")

        # Two manual runs made as users make them, at once: the CLI without a date or conf
        # (no logical date, no data interval), and the trigger dialog's Logical Date picked
        # as Nov 4 (REST API; Airflow gives it the data interval of Nov 3).
        recent = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        load_events(
            warehouse,
            [*_EVENTS, ev(301, f"{recent}T05:00:00", "session_start", org="org_c")],
        )
        ControlStore(control).add_subscription(
            org_id="org_c", report="clickstream", destination=latest.as_uri(), timezone=EARLY_ZONE
        )
        # org_a's UTC day may still be open (session reach) shortly after midnight: keep it
        # out of the conf-less run, which lists subscriptions first thing.
        ControlStore(control).set_enabled(sub.id, False)
        cluster.cli("dags", "trigger", DAG_ID, "--run-id", "manual__no_date")
        cluster.wait_for(
            lambda: any(
                t["task_id"] == "list_subscriptions" and t["state"] == "success"
                for t in cluster.task_instances(DAG_ID, "manual__no_date")
            ),
            120,
            "the conf-less run never listed its subscriptions",
        )
        ControlStore(control).set_enabled(sub.id, True)
        dialog = _post(
            cluster,
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            {"dag_run_id": "manual__dialog", "logical_date": f"{DAY}T00:00:00Z", "conf": {"orgs": ["org_a"]}},
        )
        assert dialog["data_interval_start"].startswith("2024-11-03")  # Airflow's inference...
        states = {
            run: cluster.wait_for_run(DAG_ID, run, timeout=240)
            for run in ("manual__no_date", "manual__dialog")
        }
        report += "" if set(states.values()) == {"success"} else cluster.diagnostics()
        form = _get(cluster, f"/api/v2/dags/{DAG_ID}/details")["params"]
        # `airflow dags test DAG D` exports D (in-process, on the same metadata and control DB).
        # Paused first, so the live scheduler does not pick the test run's tasks up too.
        cluster.cli("dags", "pause", DAG_ID)
        cluster.cli("dags", "test", DAG_ID, "2024-11-05", timeout=300)

    assert state == "success", report
    assert facts["run_type"] == "manual"
    assert {(task, s) for task, _, s, _ in facts["tasks"]} == {
        ("list_subscriptions", "success"),
        ("subscription.wait_for_day_to_close", "success"),
        ("subscription.export", "success"),
        ("subscription.check", "success"),
        ("subscription.deliver", "success"),
        ("find_late_data", "success"),
        ("restate", "skipped"),  # no late data: mapped over nothing
        ("cleanup_staging", "success"),  # beside the run: expired staged folders, dead attempts
    }

    assert sorted(p.name for p in out.iterdir()) == [
        "clickstream_2024-11-04.csv",
        "clickstream_2024-11-04.csv.manifest.json",
        "clickstream_2024-11-05.csv",  # from `airflow dags test ... 2024-11-05`
        "clickstream_2024-11-05.csv.manifest.json",
    ]
    lines = (out / "clickstream_2024-11-04.csv").read_text().splitlines()
    assert len(lines) == 3  # the header and org_a's two sessions of Nov 4
    assert (out / "clickstream_2024-11-05.csv").read_text().count("\n") == 2  # its one session
    assert "Pledge to vote" in "\n".join(lines) and "org_b" not in "\n".join(lines)

    log = ControlStore(control).deliveries()
    (tested,) = {d.run_id for d in log} - {RUN_ID, "manual__dialog", "manual__no_date"}
    deliveries = {(d.run_id, d.org_id, d.ds, d.status) for d in log}
    assert deliveries == {
        (RUN_ID, "org_a", DAY, "delivered"),
        ("manual__dialog", "org_a", DAY, "delivered"),  # ...but the run exports the day picked
        ("manual__no_date", "org_c", recent, "delivered"),  # the most recent complete day
        (tested, "org_a", dt.date(2024, 11, 5), "delivered"),
        (tested, "org_c", dt.date(2024, 11, 5), "delivered"),
    }, report
    assert states == {"manual__no_date": "success", "manual__dialog": "success"}, report
    assert (latest / f"clickstream_{recent}.csv").read_text().count("\n") == 2  # header + its session

    # The trigger form the UI renders: a date picker and an org filter.
    assert form["date"]["schema"]["format"] == "date" and form["date"]["value"] is None
    assert form["orgs"]["schema"]["type"] == ["null", "array"]


def _post(cluster, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{cluster.port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def _get(cluster, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.port}{path}", timeout=30) as response:  # noqa: S310
        return json.loads(response.read())
