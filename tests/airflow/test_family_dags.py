"""The activity and planroom families run nightly through their DAGs, with checks, to
every destination type; and a warning-level anomaly is delivered and alerted."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import socket
from pathlib import Path

import pytest

from flatexport.airflow_support.runner import run_dag_for_day
from flatexport.control.store import ControlStore
from flatexport.seed.activity import seed_activity
from flatexport.seed.planroom import company_ids, seed_planroom
from tests.support.events import ev, load_events

pytestmark = pytest.mark.airflow
DAY = dt.date(2026, 11, 3)


@pytest.fixture
def platform_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"duckdb:///{tmp_path}/platform.duckdb"
    seed_activity(url, ["org_acme", "org_globex"], [DAY], events_per_org_day=400, seed=3)
    seed_planroom(url, ["org_acme", "org_globex"], [DAY - dt.timedelta(days=1), DAY], seed=3)
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", url)
    return url


def test_activity_and_planroom_families_deliver_to_s3_drive_and_folder(
    airflow_db, control_db, platform_warehouse, s3_conn, drive, tmp_path
):
    s3_conn.create_bucket(Bucket="acme-activity")
    folder = drive.add_folder(name="customer A plans")
    company_a, company_b, _ = company_ids(1)  # org_acme (the seeder counts orgs from 1)
    store = ControlStore(control_db)
    store.add_subscription(
        org_id="org_acme",
        report="activity",
        destination="s3://acme-activity/daily",
        conn_id="customer_s3",
        timezone="America/Chicago",
    )
    store.add_subscription(
        org_id="org_acme", report="unique_users", destination=(tmp_path / "users").as_uri()
    )
    store.add_subscription(
        org_id="org_acme",
        report="planroom_activity",
        destination=f"gdrive://{folder}",
        conn_id="customer_drive",
        scope={"company_id": company_a},
    )
    store.add_subscription(
        org_id="org_acme", report="planroom_summary", destination=(tmp_path / "owner").as_uri()
    )

    assert run_dag_for_day("activity_daily", DAY) == "success"
    assert run_dag_for_day("planroom_daily", DAY) == "success"

    body = (
        s3_conn.get_object(Bucket="acme-activity", Key="daily/activity_2026-11-03.csv")["Body"]
        .read()
        .decode()
    )
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and {"User ID", "Category", "Action", "Label", "Date/Time"} <= set(rows[0])
    assert all(r["Date/Time"].startswith("2026-11-03T") and r["Date/Time"][-6:] == "-06:00" for r in rows)

    users = (tmp_path / "users" / "unique_users_2026-11-03.csv").read_text()
    assert users.startswith("User ID,First,Last,Company,Email,Tags")

    (plans,) = [f for f in drive.files_in(folder) if f.name == "planroom_activity_2026-11-03.csv"]
    detail = list(csv.DictReader(io.StringIO(plans.content.decode())))
    assert detail and {r["Job Company ID"] for r in detail} == {str(company_a)}  # never company B's jobs

    summary = (tmp_path / "owner" / "planroom_summary_2026-11-03.csv").read_text()
    assert str(company_b) in summary  # the planroom owner sees every job

    statuses = {(d.report, d.status) for d in store.deliveries()}
    assert statuses == {
        (r, "delivered") for r in ("activity", "unique_users", "planroom_activity", "planroom_summary")
    }
    manifests = [
        json.loads(o["Body"].read())
        for o in [
            s3_conn.get_object(Bucket="acme-activity", Key="daily/activity_2026-11-03.csv.manifest.json")
        ]
    ]
    assert manifests[0]["data_quality"]["errors"] == 0


def test_a_warning_is_delivered_and_alerted(airflow_db, control_db, tmp_path, monkeypatch):
    """A value outside a column's value set is a warning: the customer still gets the
    file, and people hear about it (here through a Slack-compatible webhook)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    import flatexport.pipeline as pipeline

    posts: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server hook name
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", port), Hook)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_OPS_HOOK",
            json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{port}/hook"}),
        )
        monkeypatch.setenv("FLATEXPORT_ALERT_WEBHOOK_CONN_ID", "ops_hook")
        url = f"duckdb:///{tmp_path}/w.duckdb"
        load_events(
            url,
            [ev(1, "2024-11-04T10:00:00", "session_start"), ev(2, "2024-11-04T11:00:00", "session_start")],
        )
        monkeypatch.setenv("FLATEXPORT_SOURCE_URL", url)

        real_export = pipeline.export_step

        def odd_device(sub, ds, source_url=None, **staging):
            """A day where the tracker reported a device type outside desktop/mobile."""
            from dataclasses import replace

            from flatexport.hashing import sha256_file

            staged = real_export(sub, ds, source_url, **staging)
            path = Path(staged.path)
            lines = path.read_text().splitlines(keepends=True)
            cells = lines[1].split(",")
            cells[5] = "smart-fridge"  # device_type
            lines[1] = ",".join(cells)
            path.write_text("".join(lines))
            return replace(staged, sha256=sha256_file(path), bytes=path.stat().st_size)

        monkeypatch.setattr(pipeline, "export_step", odd_device)
        out = tmp_path / "out"
        store = ControlStore(control_db)
        sub = store.add_subscription(org_id="org_a", report="clickstream", destination=out.as_uri())

        assert run_dag_for_day("clickstream_daily", dt.date(2024, 11, 4)) == "success"
        assert "smart-fridge" in (out / "clickstream_2024-11-04.csv").read_text()  # delivered
        assert store.is_delivered(sub.id, dt.date(2024, 11, 4))
        (post,) = posts
        assert "device_type in value set" in post["text"] and "org_a" in post["text"]
        assert "smart-fridge" not in post["text"]  # counts and names only, never values
        (attempt,) = store.deliveries()
        assert attempt.quality["warnings"] == 1 and attempt.quality["errors"] == 0
    finally:
        server.shutdown()
