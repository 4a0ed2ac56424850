"""The organizing family runs nightly through its DAG (organizing_daily), with checks, to
folders, S3 and Drive: org-wide, action and list subscriptions, each file the history of
its scope up to 00:00 of the next day in the subscription's zone."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path

import pytest

from flatexport.airflow_support.runner import run_dag_for_day
from flatexport.control.store import ControlStore
from flatexport.seed.organizing import (
    LATE_USER,
    MAIN_LIST,
    P2P,
    VIDEO,
    Ids,
    OrganizingSizes,
    seed_organizing,
)

pytestmark = pytest.mark.airflow
DAY = dt.date(2024, 11, 4)  # the generator's late rows (2024-11-05 12:00 UTC) come after its cutoff
ACME = Ids(1)  # org_acme's catalogue ids (the generator counts orgs from 1)


@pytest.fixture
def organizing_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"duckdb:///{tmp_path}/organizing.duckdb"
    small = OrganizingSizes(users=10, contacts=40, actions=3, messages=200, reports=40, video_stories=3)
    seed_organizing(url, ["org_acme", "org_civic"], {"org_acme": small, "org_civic": small}, seed=3)
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", url)
    return url


def test_organizing_reports_deliver_nightly_to_folder_s3_and_drive(
    airflow_db, control_db, organizing_warehouse, s3_conn, drive, tmp_path
):
    s3_conn.create_bucket(Bucket="acme-organizing")
    folder = drive.add_folder(name="acme lists")
    store = ControlStore(control_db)
    store.add_subscription(
        org_id="org_acme",
        report="users",
        destination=(tmp_path / "users").as_uri(),
        timezone="America/Chicago",
    )
    store.add_subscription(
        org_id="org_acme",
        report="action_tags",
        destination="s3://acme-organizing/nightly",
        conn_id="customer_s3",
        scope={"action_id": ACME(P2P)},
    )
    store.add_subscription(
        org_id="org_acme",
        report="contacts",
        destination=f"gdrive://{folder}",
        conn_id="customer_drive",
        scope={"contact_list_id": ACME(MAIN_LIST)},
    )
    store.add_subscription(
        org_id="org_acme",
        report="video_stories",
        destination=(tmp_path / "stories").as_uri(),
        format="jsonl.gz",
        scope={"action_id": ACME(VIDEO)},
    )
    store.add_subscription(org_id="org_civic", report="messages", destination=(tmp_path / "civic").as_uri())

    assert run_dag_for_day("organizing_daily", DAY) == "success"

    users = list(csv.DictReader(io.StringIO((tmp_path / "users" / "users_2024-11-04.csv").read_text())))
    assert users and all(r["user_id"].startswith("1000") for r in users)  # org_acme's only
    assert str(ACME(LATE_USER)) not in {r["user_id"] for r in users}  # created after the cutoff
    assert all(r["created_at"][-6:] in ("-05:00", "-06:00") for r in users)  # shown in Chicago time
    manifest = json.loads((tmp_path / "users" / "users_2024-11-04.csv.manifest.json").read_text())
    assert manifest["window"] == {"start": None, "end": "2024-11-05T06:00:00+00:00"}  # 00:00 CST

    key = f"nightly/action_tags_action-{ACME(P2P)}_2024-11-04.csv"
    tags = s3_conn.get_object(Bucket="acme-organizing", Key=key)["Body"].read().decode()
    header = next(csv.reader(io.StringIO(tags)))
    assert header[:3] == ["action_id", "action_name", "reportable_type"]
    assert "'=SUM(A1)" in header and f"reportable_name ({ACME(7)})" in header  # guarded, suffixed

    (contacts,) = [
        f for f in drive.files_in(folder) if f.name == f"contacts_list-{ACME(MAIN_LIST)}_2024-11-04.csv"
    ]
    assert contacts.content.decode().startswith("contact_id,phone,first_name,last_name,full_name,")

    stories_file = tmp_path / "stories" / f"video_stories_action-{ACME(VIDEO)}_2024-11-04.jsonl.gz"
    stories = [json.loads(line) for line in gzip.decompress(stories_file.read_bytes()).splitlines()]
    assert stories and {s["action_name"] for s in stories} == {"Share your story"}

    civic = (tmp_path / "civic" / "messages_2024-11-04.csv").read_text()
    assert "org_acme" not in civic and civic.count("\n") > 100

    deliveries = store.deliveries()
    assert {(d.report, d.status) for d in deliveries} == {
        (r, "delivered") for r in ("users", "action_tags", "contacts", "video_stories", "messages")
    }
    assert all(d.quality["errors"] == 0 for d in deliveries)
