"""Delivery-time guarantees that do not depend on the destination type."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from flatexport.errors import DeliveryError, StagingError
from flatexport.hashing import sha256_file
from flatexport.pipeline import deliver_step
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription


@pytest.fixture
def staged_for_org_a(tmp_path: Path) -> StagedFile:
    path = tmp_path / "clickstream_2024-11-04.csv"
    path.write_text("session_id\n1\n")
    return StagedFile(
        path=str(path),
        name=path.name,
        report="clickstream",
        org_id="org_a",
        ds="2024-11-04",
        format="csv",
        rows=1,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        columns=["session_id"],
        subscription_id=1,
    )


def _sub(tmp_path: Path, **kw) -> Subscription:
    fields = {
        "id": 1,
        "org_id": "org_a",
        "report": "clickstream",
        "destination": (tmp_path / "dest").as_uri(),
    }
    return Subscription(**{**fields, **kw})


def test_a_file_goes_to_its_own_subscription(tmp_path, staged_for_org_a):
    receipt = deliver_step(_sub(tmp_path), staged_for_org_a)
    assert receipt["location"].endswith("/dest/clickstream_2024-11-04.csv")
    assert (tmp_path / "dest" / "clickstream_2024-11-04.csv.manifest.json").exists()


@pytest.mark.parametrize(
    "other",
    [
        {"id": 2, "org_id": "org_b"},  # another org's subscription
        {"id": 1, "org_id": "org_b"},  # same id, other org
        {"id": 2},  # same org, another subscription (other options, other destination)
        {"report": "activity"},  # another report of the same org
    ],
)
def test_a_file_is_never_delivered_to_another_subscription(tmp_path, staged_for_org_a, other):
    with pytest.raises(DeliveryError, match="refusing to deliver"):
        deliver_step(_sub(tmp_path, **other), staged_for_org_a)
    assert not (tmp_path / "dest").exists()


def test_a_file_changed_after_staging_never_replaces_the_delivered_one(tmp_path, staged_for_org_a):
    deliver_step(_sub(tmp_path), staged_for_org_a)
    Path(staged_for_org_a.path).write_text("session_id\n2\n")  # same size, other bytes
    with pytest.raises(StagingError, match="changed since it was staged .checksum mismatch"):
        deliver_step(_sub(tmp_path), replace(staged_for_org_a))
    delivered = tmp_path / "dest" / "clickstream_2024-11-04.csv"
    assert delivered.read_text() == "session_id\n1\n"  # the verified copy stays
    assert [p.name for p in (tmp_path / "dest").iterdir() if p.name.endswith(".part")] == []


def test_the_delivered_manifest_describes_the_delivered_file(tmp_path, staged_for_org_a):
    deliver_step(_sub(tmp_path), staged_for_org_a, quality={"errors": 0, "warnings": 1})

    dest = tmp_path / "dest"
    manifest = json.loads((dest / "clickstream_2024-11-04.csv.manifest.json").read_text())
    assert manifest["sha256"] == sha256_file(dest / "clickstream_2024-11-04.csv") == staged_for_org_a.sha256
    assert (manifest["org_id"], manifest["rows"], manifest["file"]) == (
        "org_a",
        1,
        "clickstream_2024-11-04.csv",
    )
    assert manifest["data_quality"] == {"errors": 0, "warnings": 1}
    assert not Path(staged_for_org_a.path + ".manifest.json").exists()  # nothing written beside staging


def test_an_endpoint_password_never_reaches_the_delivery_log(tmp_path, staged_for_org_a, monkeypatch):
    import socket

    from flatexport.control.store import ControlStore
    from flatexport.pipeline import outcome_recorded

    secret = "pw-" + uuid.uuid4().hex
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    extra = {"endpoint_url": f"http://minio:{secret}@127.0.0.1:{port}", "region_name": "us-east-1"}
    conn = {"conn_type": "aws", "login": "AKIAEXAMPLE", "password": "not-the-secret", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_MINIO_WITH_PASSWORD", json.dumps(conn))
    sub = _sub(tmp_path, destination="s3://acme-exports/daily", conn_id="minio_with_password")
    sub = sub.model_copy(update={"extra": {"max_attempts": 1}})
    db = tmp_path / "control.db"
    store = ControlStore(f"sqlite:///{db}")
    attempt = store.start_delivery("run-1", sub, dt.date(2024, 11, 4), staged_for_org_a.name)

    with pytest.raises(DeliveryError) as err, outcome_recorded(store, attempt, staged_for_org_a):
        deliver_step(sub, staged_for_org_a)
    store.dispose()

    assert f"http://minio:***@127.0.0.1:{port}" in str(err.value)
    [record] = ControlStore(f"sqlite:///{db}").deliveries()
    assert record.status == "failed" and "minio:***@" in (record.error or "")
    assert secret.encode() not in db.read_bytes()
