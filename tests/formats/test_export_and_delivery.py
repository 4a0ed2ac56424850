"""xlsx and Parquet through the same export, manifest, delivery protocol and destinations
as CSV: time slices give the same bytes, the manifest carries the format's details, and
every destination stores the verified bytes under the format's content type."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flatexport.formats import REGISTRY, get_format
from flatexport.manifest import build_manifest
from flatexport.pipeline import deliver_step
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from tests.formats.conftest import DAY, ZONE, export
from tests.support.drive_server import DriveServer
from tests.support.moto_server import aws_connection_json, boto3_client, start_moto_server

CONTAINERS = [name for name, fmt in REGISTRY.items() if fmt.container]


def test_the_typed_formats_are_registered_without_gzip_variants() -> None:
    assert CONTAINERS == ["xlsx", "parquet"]
    assert "xlsx.gz" not in REGISTRY and "parquet.gz" not in REGISTRY
    xlsx, parquet = get_format("xlsx"), get_format("parquet")
    assert xlsx.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert parquet.content_type == "application/vnd.apache.parquet"
    assert (xlsx.keys, xlsx.guards_formulas, xlsx.content_encoding) == ("header", False, None)
    assert (parquet.keys, parquet.guards_formulas, parquet.content_encoding) == ("name", False, None)


def test_the_control_store_allows_every_registered_format() -> None:
    """The control database pins formats in a CHECK constraint: a new format needs a migration."""
    from flatexport.control.models import FORMATS

    assert set(FORMATS) == set(REGISTRY)


# Each slice is a spawned process (seconds each): one report per format covers both.
@pytest.mark.parametrize(("report", "fmt"), [("clickstream", "xlsx"), ("activity", "parquet")])
def test_parallel_time_slices_give_the_same_bytes(
    report: str, fmt: str, sample_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = export(sample_warehouse, report, fmt, tmp_path / f"one.{fmt}")
    monkeypatch.setenv("FLATEXPORT_EXPORT_WORKERS", "2")
    sliced = export(sample_warehouse, report, fmt, tmp_path / f"two.{fmt}")
    assert (sliced.rows, sliced.sha256, sliced.format_details) == (
        single.rows,
        single.sha256,
        single.format_details,
    )
    assert Path(sliced.path).read_bytes() == Path(single.path).read_bytes()
    assert {p.name for p in tmp_path.iterdir()} == {f"one.{fmt}", f"two.{fmt}"}  # no parts or temp folders


def test_a_rerun_gives_the_same_bytes_and_name(sample_warehouse: str, tmp_path: Path) -> None:
    for fmt in CONTAINERS:
        first = export(sample_warehouse, "clickstream", fmt, tmp_path / f"a.{fmt}")
        again = export(sample_warehouse, "clickstream", fmt, tmp_path / f"b.{fmt}")
        assert first.sha256 == again.sha256 and first.name == again.name == f"clickstream_{DAY}.{fmt}"


def test_the_manifest_says_which_sheets_hold_the_rows(sample_warehouse: str, tmp_path: Path) -> None:
    staged = export(sample_warehouse, "clickstream", "xlsx", tmp_path / "c.xlsx")
    manifest = build_manifest(staged)
    assert manifest["format"] == "xlsx"
    assert manifest["format_details"] == {"sheets": [{"name": "clickstream", "rows": staged.rows}]}
    parquet = build_manifest(export(sample_warehouse, "clickstream", "parquet", tmp_path / "c.parquet"))
    assert parquet["format_details"] == {"row_groups": 1, "compression": "zstd"}
    csv_manifest = build_manifest(export(sample_warehouse, "clickstream", "csv", tmp_path / "c.csv"))
    assert csv_manifest["format_details"] == {}


# --- destinations ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server, endpoint = start_moto_server()
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="module")
def drive() -> Iterator[DriveServer]:
    server = DriveServer().start()
    try:
        yield server
    finally:
        server.stop()


def _subscription(kind: str, fmt: str, tmp_path: Path, monkeypatch, moto_endpoint: str, drive: DriveServer):
    conn_id = f"fmt_{uuid.uuid4().hex[:8]}"
    if kind == "file":
        return Subscription(
            id=1,
            org_id="org_acme",
            report="clickstream",
            destination=f"file://{tmp_path / 'landed'}",
            format=fmt,
        ), None
    if kind == "s3":
        bucket = f"fx-{uuid.uuid4().hex[:12]}"
        boto3_client("s3", moto_endpoint).create_bucket(Bucket=bucket)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", aws_connection_json(moto_endpoint))
        sub = Subscription(
            id=1,
            org_id="org_acme",
            report="clickstream",
            destination=f"s3://{bucket}/acme",
            format=fmt,
            conn_id=conn_id,
        )
        return sub, bucket
    folder = drive.add_folder(name="acme exports")
    value = {"conn_type": "google_cloud_platform", "extra": drive.connection_extra()}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
    sub = Subscription(
        id=1,
        org_id="org_acme",
        report="clickstream",
        destination=f"gdrive://{folder}",
        format=fmt,
        conn_id=conn_id,
    )
    return sub, folder


@pytest.mark.parametrize("fmt", CONTAINERS)
@pytest.mark.parametrize("kind", ["file", "s3", "gdrive"])
def test_every_destination_stores_the_verified_file_and_its_manifest(
    kind: str,
    fmt: str,
    sample_warehouse: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    drive: DriveServer,
) -> None:
    sub, where = _subscription(kind, fmt, tmp_path, monkeypatch, moto_endpoint, drive)
    staged = export(sample_warehouse, "clickstream", fmt, tmp_path / f"staged.{fmt}", timezone=ZONE)
    staged = StagedFile.from_xcom(json.loads(json.dumps(staged.to_xcom())))  # as the DAG hands it on
    data = Path(staged.path).read_bytes()
    content_type = get_format(fmt).content_type

    receipt = deliver_step(sub, staged)

    assert receipt["bytes"] == len(data)
    if kind == "file":
        landed = tmp_path / "landed" / staged.name
        assert landed.read_bytes() == data
        manifest = json.loads((tmp_path / "landed" / f"{staged.name}.manifest.json").read_text())
    elif kind == "s3":
        s3 = boto3_client("s3", moto_endpoint)
        obj = s3.get_object(Bucket=where, Key=f"acme/{staged.name}")
        assert obj["Body"].read() == data
        assert obj["ContentType"] == content_type and "ContentEncoding" not in obj
        manifest = json.loads(
            s3.get_object(Bucket=where, Key=f"acme/{staged.name}.manifest.json")["Body"].read()
        )
    else:
        files = {f.name: f for f in drive.files_in(where)}
        assert files[staged.name].content == data
        assert files[staged.name].mime_type == content_type  # kept as xlsx/Parquet, not a Google type
        manifest = json.loads(files[f"{staged.name}.manifest.json"].content)
    assert manifest["sha256"] == staged.sha256 and manifest["format"] == fmt
    assert manifest["format_details"] == staged.format_details


@pytest.mark.parametrize("fmt", CONTAINERS)
def test_a_damaged_file_fails_the_readable_check_with_a_reason(
    fmt: str, sample_warehouse: str, tmp_path: Path
) -> None:
    from flatexport.quality.validate import validate_staged
    from flatexport.specs import load_spec

    staged = export(sample_warehouse, "clickstream", fmt, tmp_path / f"c.{fmt}")
    data = Path(staged.path).read_bytes()
    Path(staged.path).write_bytes(data[: len(data) // 2])  # cut off, as by a full disk
    sub = Subscription(id=1, org_id="org_acme", report="clickstream", destination="file:///x", format=fmt)
    report = validate_staged(load_spec("clickstream"), staged, sub, write_files=False)
    readable = next(c for c in report.checks if c.name == "file readable")
    assert not readable.success and readable.note.startswith("could not read the file (")
    assert "file readable" in [c.name for c in report.failed]
