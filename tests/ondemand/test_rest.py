"""on_demand_export under a real Airflow deployment (API server, scheduler with the
LocalExecutor, DAG processor; metadata on PostgreSQL): a request triggered through the
REST API as the trigger dialog does, one queued by `flatexport request` without --local,
and a refused one. The mailbox is a real SMTP server in this test process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from flatexport.control.store import ControlStore
from tests.ondemand.conftest import ADMIN, VOLUNTEER
from tests.support.airflow_cluster import airflow_cluster
from tests.support.smtp_server import smtp_connection_json

DAG_ID = "on_demand_export"
pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def _call(cluster: Any, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{cluster.port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def test_requests_through_the_rest_api_and_the_cli_reach_the_admin(
    pg_database: str, source_url: str, mailbox, tmp_path: Path
) -> None:
    control = f"sqlite:///{tmp_path}/control.db"
    smtp = smtp_connection_json(mailbox.port)
    started = time.monotonic()
    with airflow_cluster(
        tmp_path / "airflow",
        pg_database,
        {
            "FLATEXPORT_DATA_DIR": str(tmp_path / "data"),
            "FLATEXPORT_SOURCE_URL": source_url,
            "FLATEXPORT_CONTROL_DB_URL": control,
            "FLATEXPORT_TASK_RETRIES": "0",
            "AIRFLOW_CONN_FLATEXPORT_SMTP": smtp,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # REST calls without a login
        },
    ) as cluster:
        cluster.wait_for_dag(DAG_ID)
        cluster.cli("dags", "unpause", DAG_ID)
        form = _call(cluster, "GET", f"/api/v2/dags/{DAG_ID}/details")["params"]
        conf = {"report": "messages", "org_id": "o1", "action_id": 502, "contact_list_id": None}
        _call(
            cluster,
            "POST",
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            {"dag_run_id": "rest_ok", "logical_date": None, "conf": {**conf, "requester_email": ADMIN}},
        )
        _call(
            cluster,
            "POST",
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            {
                "dag_run_id": "rest_refused",
                "logical_date": None,
                "conf": {**conf, "requester_email": VOLUNTEER},
            },
        )
        # The CLI queues its request in the same Airflow (the metadata database it is configured for).
        queued = subprocess.run(
            [
                str(Path(sys.executable).with_name("flatexport")),
                "request",
                "users",
                "--org",
                "o1",
                "--email",
                ADMIN,
            ],
            env={**cluster.env, "FLATEXPORT_SOURCE_URL": source_url, "FLATEXPORT_CONTROL_DB_URL": control},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert queued.returncode == 0, queued.stderr[-3000:]
        cli_run = queued.stdout.strip().splitlines()[-1].rsplit("Airflow DAG run ", 1)[1].rstrip(")")
        outcome = {
            run: cluster.wait_for_run(DAG_ID, run, timeout=300)
            for run in ("rest_ok", "rest_refused", cli_run)
        }
        report = (
            cluster.diagnostics()
            if outcome != {"rest_ok": "success", "rest_refused": "failed", cli_run: "success"}
            else ""
        )
        print(f"three requests done in {time.monotonic() - started:.0f}s: {outcome}")

    assert outcome == {"rest_ok": "success", "rest_refused": "failed", cli_run: "success"}, report
    assert {"report", "org_id", "requester_email", "action_id", "contact_list_id", "date", "format"} <= set(
        form
    )
    subjects = sorted(m.subject.split(", as of")[0] for m in mailbox.messages)
    assert subjects == [
        "[flatexport] messages for org o1, action 502",
        "[flatexport] users for org o1, all",
    ]
    assert all(m.rcpt_tos == [ADMIN] for m in mailbox.messages)
    logged = {(d.run_id, d.report, d.status) for d in ControlStore(control).deliveries()}
    assert logged == {("rest_ok", "messages", "delivered"), (cli_run, "users", "delivered")}
