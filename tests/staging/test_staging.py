"""Staged files through Airflow's object storage: a local folder by default, S3 (moto's
server over HTTP) when FLATEXPORT_STAGING_URL says so. One folder per attempt, checked
on every read, removed after a verified delivery, kept (0600) on failure until the
retention cleanup."""

from __future__ import annotations

import dataclasses
import datetime as dt
import stat
from pathlib import Path

import pytest

from flatexport import staging
from flatexport.errors import InputError, QualityError, StagingError
from flatexport.pipeline import check_step, deliver_step, export_step
from flatexport.subscriptions import Subscription
from tests.staging.conftest import DAY, NAME, ORG, staged_attempts
from tests.support.moto_server import aws_connection_json, boto3_client, start_moto_server

BUCKET = "fx-staging"


@pytest.fixture(scope="module")
def moto():
    server, endpoint = start_moto_server()
    boto3_client("s3", endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def local(tmp_path: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLATEXPORT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLATEXPORT_STAGING_DIR", str(tmp_path / "staging"))
    monkeypatch.delenv("FLATEXPORT_STAGING_URL", raising=False)
    return tmp_path / "staging"


@pytest.fixture
def s3_staging(tmp_path: Path, moto: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLATEXPORT_DATA_DIR", str(tmp_path / "worker-1"))
    monkeypatch.setenv("FLATEXPORT_STAGING_DIR", str(tmp_path / "worker-1" / "staging"))
    monkeypatch.setenv("FLATEXPORT_STAGING_URL", f"s3://{BUCKET}/{tmp_path.name}")
    monkeypatch.setenv("FLATEXPORT_STAGING_CONN_ID", "staging_s3")
    monkeypatch.setenv("AIRFLOW_CONN_STAGING_S3", aws_connection_json(moto))
    return boto3_client("s3", moto)


def _sub(dest: Path, **kw) -> Subscription:
    return Subscription(id=7, org_id=ORG, report="clickstream", destination=dest.as_uri(), **kw)


def _keys(s3, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_the_staging_root_is_an_object_storage_path_on_the_local_disk_by_default(local: Path):
    root = staging.staging_root()
    assert type(root).__name__ == "ObjectStoragePath" and root.protocol == "file"
    assert Path(root.path) == local.resolve()


def test_each_attempt_stages_into_its_own_private_folder(local: Path, warehouse: str, tmp_path: Path):
    sub = _sub(tmp_path / "dest")
    first = export_step(sub, DAY, warehouse, attempt=1)
    second = export_step(sub, DAY, warehouse, attempt=2)
    assert Path(first.path) == local / "clickstream" / ORG / str(DAY) / "7" / "attempt-1" / NAME
    assert Path(second.path).parent.name == "attempt-2"
    assert Path(first.path).read_bytes() == Path(second.path).read_bytes()  # same bytes, two files
    assert stat.S_IMODE(Path(first.path).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(first.path).parent.stat().st_mode) == 0o700


def test_a_verified_delivery_removes_the_staged_copy_and_a_failed_check_keeps_it(
    local: Path, warehouse: str, tmp_path: Path
):
    sub = _sub(tmp_path / "dest")
    staged = export_step(sub, DAY, warehouse, attempt=1)
    deliver_step(sub, staged, check_step(sub, staged))
    assert (tmp_path / "dest" / NAME).read_bytes() and staged_attempts(local) == []

    blocked = export_step(sub, DAY, warehouse, attempt=2)
    fake = dataclasses.replace(blocked, rows=blocked.rows + 5)  # the gate's row count fails
    with pytest.raises(QualityError):
        check_step(sub, fake)
    kept = Path(blocked.path)
    assert kept.exists() and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert Path(str(kept) + ".quality.json").exists()


def test_a_staged_file_changed_after_staging_is_refused_by_the_check_and_the_delivery(
    local: Path, warehouse: str, tmp_path: Path
):
    sub = _sub(tmp_path / "dest")
    staged = export_step(sub, DAY, warehouse, attempt=1)
    data = Path(staged.path).read_bytes()
    Path(staged.path).write_bytes(data.replace(b"Pledge", b"Hedge!"))  # same size
    for step in (lambda: check_step(sub, staged), lambda: deliver_step(sub, staged)):
        with pytest.raises(StagingError, match="changed since it was staged"):
            step()
    Path(staged.path).unlink()
    with pytest.raises(StagingError, match=r"staged file .* is gone; re-run the export"):
        check_step(sub, staged)
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("org", ["../../x", "..", ".hidden", "a/b", "a\x00b"])
def test_no_staging_path_is_built_from_a_value_that_could_leave_its_folder(local, warehouse, tmp_path, org):
    with pytest.raises(InputError, match="not a plain name"):
        export_step(_sub(tmp_path / "dest").model_copy(update={"org_id": org}), DAY, warehouse, attempt=1)
    assert not (tmp_path / "x").exists()


def test_s3_staging_is_read_by_another_worker_and_removed_after_delivery(
    s3_staging, warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Export on 'worker-1', then check and deliver on 'worker-2', whose disk has nothing
    of worker-1's: the staged file travels through S3 only."""
    s3 = s3_staging
    sub = _sub(tmp_path / "dest")
    staged = export_step(sub, DAY, warehouse, attempt=11)
    prefix = f"{tmp_path.name}/clickstream/{ORG}/{DAY}/7/attempt-11/"
    assert staged.path == f"s3://staging_s3@{BUCKET}/{prefix}{NAME}"
    # the file, and the tallies of the checks taken while it was written
    assert _keys(s3, prefix) == [prefix + NAME, prefix + NAME + ".quality-pass.json"]
    assert not list((tmp_path / "worker-1").rglob(NAME))  # the scratch copy is gone

    monkeypatch.setenv("FLATEXPORT_DATA_DIR", str(tmp_path / "worker-2"))
    monkeypatch.setenv("FLATEXPORT_STAGING_DIR", str(tmp_path / "worker-2" / "staging"))
    quality = check_step(sub, staged)
    # the gate's summary; no operator page, as every check passed
    kept = ("", ".quality-pass.json", ".quality.json")
    assert _keys(s3, prefix) == [prefix + NAME + suffix for suffix in kept]
    deliver_step(sub, staged, quality)
    assert "Pledge to vote #7" in (tmp_path / "dest" / NAME).read_text()
    assert _keys(s3, prefix) == []  # verified delivery: the staged copy is removed
    assert not list((tmp_path / "worker-2").rglob(NAME))


def test_an_s3_staged_object_that_changed_is_refused(s3_staging, warehouse: str, tmp_path: Path):
    s3 = s3_staging
    sub = _sub(tmp_path / "dest")
    staged = export_step(sub, DAY, warehouse, attempt=12)
    key = staged.path.split(f"{BUCKET}/", 1)[1]
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"session_id\n1\n")
    with pytest.raises(StagingError, match="changed since it was staged"):
        check_step(sub, staged)
    s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(StagingError, match="is gone; re-run the export"):
        deliver_step(sub, staged)
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("where", ["local", "s3"])
def test_cleanup_removes_attempt_folders_past_the_retention_only(
    where: str, request: pytest.FixtureRequest, warehouse: str, tmp_path: Path
):
    request.getfixturevalue("local" if where == "local" else "s3_staging")
    sub = _sub(tmp_path / "dest")
    failed = export_step(sub, DAY, warehouse, attempt=21)  # never delivered: kept
    now = dt.datetime.now(dt.UTC)
    assert staging.cleanup(retention_days=7, now=now) == []
    assert staging.staged_object(failed.path).exists()
    removed = staging.cleanup(retention_days=7, now=now + dt.timedelta(days=8))
    assert [r.rsplit("/", 1)[-1] for r in removed] == ["attempt-21"]
    assert not staging.staged_object(failed.path).exists()
    if where == "local":
        assert list((tmp_path / "staging").iterdir()) in ([], [tmp_path / "staging" / "duckdb-spill"])
