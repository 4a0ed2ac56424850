"""The DAGs as Airflow sees them: they import cleanly, list subscriptions at run time,
and a day's run delivers to S3 (moto over HTTP), Google Drive (a local Drive v3 server,
real client) and a local folder at once, isolating a failing destination."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import pytest

from flatexport.airflow_support.runner import run_dag_for_day
from flatexport.control.store import ControlStore
from flatexport.families import all_families
from flatexport.paths import PROJECT_ROOT
from tests.support.events import ev, load_events

DAY = dt.date(2024, 11, 4)
pytestmark = pytest.mark.airflow


def test_every_dag_file_imports_and_has_the_per_subscription_shape(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    # Parsing must not touch the control plane: subscriptions are read at run time.
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    # one DAG per report family, a new family's included by adding it; and the on-demand one
    families = sorted(f.dag_id for f in all_families())
    assert sorted(bag.dag_ids) == sorted([*families, "on_demand_export"])
    assert {"activity_daily", "clickstream_daily", "planroom_daily", "organizing_daily"} <= set(bag.dag_ids)
    assert bag.dags["on_demand_export"].timetable.can_be_scheduled is False  # triggered only
    for dag in (bag.dags[d] for d in families):
        assert {t.task_id for t in dag.tasks} == {
            "list_subscriptions",
            "subscription.wait_for_day_to_close",
            "subscription.export",
            "subscription.check",
            "subscription.deliver",
            "find_late_data",
            "restate",
            "cleanup_staging",  # beside the run: expired staged folders, dead attempts
        }
        assert dag.timetable.summary == "0 0 * * *"
        assert dag.catchup is False


def _org_events(org: str, base: int) -> list[dict]:
    return [
        ev(base + 1, "2024-11-04T09:00:00", "session_start", org=org),
        ev(
            base + 1,
            "2024-11-04T09:01:00",
            "widget.address_submitted",
            {"address": "221B Baker St, Cambridge, MA 02139", "email": f"x@{org}.example"},
            org=org,
        ),
        ev(base + 2, "2024-11-04T23:59:00", "tile_click", {"tile": "Pledge to vote"}, org=org),
    ]


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"duckdb:///{tmp_path}/warehouse.duckdb"
    load_events(url, _org_events("org_a", 100) + _org_events("org_b", 200) + _org_events("org_c", 300))
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", url)
    return url


def _csv_in_s3(client, bucket: str, key: str) -> str:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_a_day_delivers_to_s3_drive_and_folder_and_a_rerun_replaces(
    airflow_db, control_db, warehouse, s3_conn, drive, tmp_path
):
    s3_conn.create_bucket(Bucket="acme-exports")
    folder = drive.add_folder(name="civic exports")
    local = tmp_path / "tiny-deliveries"
    store = ControlStore(control_db)
    s3_sub = store.add_subscription(
        org_id="org_a", report="clickstream", destination="s3://acme-exports/daily", conn_id="customer_s3"
    )
    drive_sub = store.add_subscription(
        org_id="org_b", report="clickstream", destination=f"gdrive://{folder}", conn_id="customer_drive"
    )
    file_sub = store.add_subscription(org_id="org_c", report="clickstream", destination=local.as_uri())
    broken = store.add_subscription(
        org_id="org_a", report="clickstream", destination="s3://no-such-bucket/x", conn_id="customer_s3"
    )

    assert run_dag_for_day("clickstream_daily", DAY) == "failed"  # one mapped task failed...

    # ...and only that one: every other customer got a verified file.
    text_a = _csv_in_s3(s3_conn, "acme-exports", "daily/clickstream_2024-11-04.csv")
    assert text_a.count("\n") == 3 and "org_a.example" in text_a and "org_b" not in text_a
    manifest = json.loads(
        _csv_in_s3(s3_conn, "acme-exports", "daily/clickstream_2024-11-04.csv.manifest.json")
    )
    assert (manifest["org_id"], manifest["rows"], manifest["ds"]) == ("org_a", 2, "2024-11-04")
    assert manifest["data_quality"]["errors"] == 0

    drive_files = {f.name: f for f in drive.files_in(folder)}
    assert set(drive_files) == {"clickstream_2024-11-04.csv", "clickstream_2024-11-04.csv.manifest.json"}
    drive_csv = drive_files["clickstream_2024-11-04.csv"]
    assert drive_csv.mime_type == "text/csv"
    assert b"org_b.example" in drive_csv.content and b"org_a" not in drive_csv.content

    local_csv = (local / "clickstream_2024-11-04.csv").read_text()
    assert "org_c.example" in local_csv and "02139" in local_csv

    log = {(d.subscription_id, d.status) for d in store.deliveries(date_from=DAY, date_to=DAY)}
    assert log == {
        (s3_sub.id, "delivered"),
        (drive_sub.id, "delivered"),
        (file_sub.id, "delivered"),
        (broken.id, "failed"),
    }
    failure = next(d for d in store.deliveries() if d.subscription_id == broken.id)
    assert "no-such-bucket" in failure.error and "does not exist" in failure.error
    assert not store.is_delivered(broken.id, DAY)

    # A re-run replaces: still one object, one Drive file (updated in place), one local file.
    drive_id = drive_csv.id
    run_dag_for_day("clickstream_daily", DAY)
    keys = [o["Key"] for o in s3_conn.list_objects_v2(Bucket="acme-exports")["Contents"]]
    assert sorted(keys) == [
        "daily/clickstream_2024-11-04.csv",
        "daily/clickstream_2024-11-04.csv.manifest.json",
    ]
    again = [f for f in drive.files_in(folder) if f.name == "clickstream_2024-11-04.csv"]
    assert [f.id for f in again] == [drive_id]
    assert sorted(p.name for p in local.iterdir()) == [
        "clickstream_2024-11-04.csv",
        "clickstream_2024-11-04.csv.manifest.json",
    ]
    delivered = [d for d in store.deliveries() if d.status == "delivered"]
    assert len(delivered) == 6


def test_a_failed_check_blocks_delivery_alerts_without_pii_and_a_rerun_repairs(
    airflow_db, control_db, warehouse, tmp_path, monkeypatch
):
    from aiosmtpd.controller import Controller

    import flatexport.pipeline as pipeline

    received: list[bytes] = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
            received.append(envelope.content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_OPS_SMTP",
            json.dumps(
                {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {"to": "ops@example.com"}}
            ),
        )
        monkeypatch.setenv("FLATEXPORT_ALERT_SMTP_CONN_ID", "ops_smtp")

        real_export = pipeline.export_step

        def corrupting_export(sub, ds, source_url=None, **staging):
            """The export of a bad day: a session appears twice (a duplicated key)."""
            staged = real_export(sub, ds, source_url, **staging)
            path = Path(staged.path)
            lines = path.read_text().splitlines(keepends=True)
            path.write_text("".join([*lines, lines[1]]))
            from dataclasses import replace

            from flatexport.hashing import sha256_file

            return replace(staged, rows=staged.rows + 1, sha256=sha256_file(path), bytes=path.stat().st_size)

        monkeypatch.setattr(pipeline, "export_step", corrupting_export)
        out = tmp_path / "deliveries"
        store = ControlStore(control_db)
        sub = store.add_subscription(org_id="org_a", report="clickstream", destination=out.as_uri())

        assert run_dag_for_day("clickstream_daily", DAY) == "failed"
        assert not out.exists() or not any(out.iterdir())  # nothing reached the customer
        (attempt,) = store.deliveries()
        assert attempt.status == "blocked" and "session_id unique" in attempt.error
        assert not store.is_delivered(sub.id, DAY)
        assert len(received) == 1
        mail = received[0].decode()
        assert "session_id unique" in mail and "org_a" in mail
        assert "org_a.example" not in mail  # no email address (PII) in the alert

        monkeypatch.setattr(pipeline, "export_step", real_export)
        assert run_dag_for_day("clickstream_daily", DAY) == "success"
        assert (out / "clickstream_2024-11-04.csv").exists()
        assert store.is_delivered(sub.id, DAY)
    finally:
        smtp.stop()
