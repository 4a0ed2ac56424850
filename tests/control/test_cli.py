"""The customer-success CLI: add/list/show/enable/disable/remove/test for file://
destinations, the delivery log table, and one clear line for every validation error."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flatexport.control.cli import deliveries, destinations, table
from flatexport.control.store import ControlStore
from flatexport.errors import InputError
from flatexport.paths import PROJECT_ROOT


@pytest.fixture
def db(sqlite_url: str, include_dir: Path, monkeypatch: pytest.MonkeyPatch) -> ControlStore:
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", sqlite_url)
    store = ControlStore(sqlite_url)
    yield store
    store.dispose()


def run(*args: str, command=destinations) -> Result:
    return CliRunner().invoke(command, list(args))


def assert_error(result: Result, *fragments: str) -> None:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.stdout == ""


def add(folder: Path, *extra: str, org: str = "acme", report: str = "clickstream") -> Result:
    return run("add", "--org", org, "--report", report, folder.as_uri(), *extra)


def test_add_list_show_enable_disable_remove(db: ControlStore, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = add(
        out,
        "--timezone",
        "America/Chicago",
        "--format",
        "csv.gz",
        "--columns",
        "event_id, page_url",
        "--exclude-pii",
        "--start-date",
        "2024-11-01",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"added subscription 1: acme clickstream -> {out.as_uri()}"
    sub = db.get(1)
    assert (sub.timezone, sub.format, sub.columns, sub.exclude_pii) == (
        "America/Chicago",
        "csv.gz",
        ["event_id", "page_url"],
        True,
    )
    assert sub.start_date == dt.date(2024, 11, 1) and sub.enabled

    assert add(tmp_path / "beta", "--disabled", org="beta").stdout.strip().endswith("(disabled)")
    assert db.get(2).enabled is False

    listing = run("list").stdout.splitlines()
    assert listing[0].split() == [
        "id",
        "org",
        "report",
        "format",
        "timezone",
        "enabled",
        "start",
        "destination",
    ]
    assert listing[2].split() == [
        "1",
        "acme",
        "clickstream",
        "csv.gz",
        "America/Chicago",
        "yes",
        "2024-11-01",
        out.as_uri(),
    ]
    assert listing[3].split()[:2] == ["2", "beta"] and "no" in listing[3].split()
    assert [line.split()[1] for line in run("list", "--org", "beta").stdout.splitlines()[2:]] == ["beta"]
    # (this include dir has no activity spec: a filter naming no report is a typo, issue 9)
    assert_error(run("list", "--report", "activity"), "unknown report 'activity'")

    shown = run("show", "1").stdout.splitlines()
    assert "columns: event_id,page_url" in shown
    assert "timezone: America/Chicago" in shown
    assert "conn_id: -" in shown

    assert run("disable", "1").stdout.startswith("disabled subscription 1")
    assert db.get(1).enabled is False
    assert run("enable", "1").stdout.startswith("enabled subscription 1")
    assert db.get(1).enabled is True

    assert run("remove", "2").stdout.startswith("removed subscription 2: beta")
    assert [s.id for s in db.list()] == [1]
    assert_error(run("show", "2"), "no subscription 2")


def test_add_activity_entries(db: ControlStore, tmp_path: Path, include_dir: Path) -> None:
    """Entries are checked against the activity kind map (of the real spec)."""
    real = PROJECT_ROOT / "include" / "report_specs" / "activity.yaml"
    shutil.copy(real, include_dir / "report_specs" / "activity.yaml")
    result = add(tmp_path, "--entries", "content.viewed,admin", report="activity")
    assert result.exit_code == 0, result.output
    sub = db.get(1)
    assert sub.scope == {"entries": ["content.viewed", "admin"]}
    assert "scope: entries=content.viewed,admin" in run("show", "1").stdout.splitlines()
    assert_error(
        add(tmp_path / "x", "--entries", "content.viewed,nosuch.kind", report="activity"),
        "unknown exporter entries: nosuch.kind",
    )
    # a scope option the report does not take is refused, never silently dropped
    assert_error(
        add(tmp_path / "y", "--entries", "admin", "--company", "42", report="activity"),
        "report 'activity' takes no company_id (--company)",
        "it takes entries (--entries)",
    )
    assert [s.id for s in db.list()] == [1]


def test_entries_need_a_kind_map(db: ControlStore, tmp_path: Path) -> None:
    assert_error(
        add(tmp_path, "--entries", "content.viewed"),
        "report 'clickstream' takes no entries (--entries)",
        "it takes no scope",
    )


def test_test_probes_a_file_destination(db: ControlStore, tmp_path: Path) -> None:
    out = tmp_path / "deliver" / "here"
    add(out)
    result = run("test", "1")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip()
        == f"ok: subscription 1: acme clickstream -> {out.as_uri()}: folder {out} is writable"
    )
    assert out.is_dir() and list(out.iterdir()) == []  # the probe file is gone


def test_test_reports_an_unwritable_destination(db: ControlStore, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    add(blocker / "sub")  # valid URL; the folder cannot be created under a file
    assert_error(run("test", "1"), "cannot create folder", str(blocker / "sub"))
    assert run("test", "1").exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--report", "nosuch"), "unknown report 'nosuch' (known: clickstream)"),
        (("--timezone", "Mars/Base"), "unknown time zone 'Mars/Base'"),
        (("--columns", "event_id,nope"), "report 'clickstream' has no column(s): nope"),
        (("--format", "xml"), "unknown format 'xml'"),
        (("--start-date", "tomorrow"), "--start-date 'tomorrow' is not a date"),
        (("--kms-key", "arn:aws:kms:x"), "--kms-key applies to s3:// destinations only"),
        (("--subject", "a@b.example"), "--subject applies to gdrive:// destinations only"),
        (("--conn-id", "fs"), "--conn-id is not used by file:// destinations"),
    ],
)
def test_add_validation_errors(db: ControlStore, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    report = args[1] if args[0] == "--report" else "clickstream"
    rest = args[2:] if args[0] == "--report" else args
    assert_error(add(tmp_path, *rest, report=report), message)
    assert db.list() == []


def test_add_pii_exclusion_that_leaves_nothing(db: ControlStore, tmp_path: Path) -> None:
    assert_error(add(tmp_path, "--columns", "email", "--exclude-pii"), "leaves no columns")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/path", "unsupported destination 'ftp://host/path'"),
        ("/srv/out", "unsupported destination '/srv/out'"),
        ("file://relative/path", "not a local folder URL"),
        ("file:///", "must name an absolute folder"),
    ],
)
def test_add_rejects_bad_urls(db: ControlStore, url: str, message: str) -> None:
    assert_error(run("add", "--org", "acme", "--report", "clickstream", url), message)
    assert db.list() == []


def test_add_refuses_a_duplicate(db: ControlStore, tmp_path: Path) -> None:
    assert add(tmp_path).exit_code == 0
    assert_error(add(tmp_path), "subscription 1: acme clickstream", "already exists")
    assert len(db.list()) == 1


def test_bad_ids(db: ControlStore) -> None:
    assert_error(run("show", "abc"), "subscription id must be a number, not 'abc'")
    for command in ("show", "test", "enable", "disable", "remove"):
        assert_error(run(command, "7"), "no subscription 7")


@pytest.fixture
def fake_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-ins for the s3/gdrive URL validators, so the CLI's use of them (and the
    connection check) is tested whatever state those modules are in."""

    def parse_s3_url(url: str) -> tuple[str, str]:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return bucket, prefix

    def validate_bucket_name(name: str) -> str:
        if not 3 <= len(name) <= 63 or name != name.lower():
            raise InputError(f"invalid S3 bucket name {name!r}")
        return name

    def parse_gdrive_url(url: str) -> str:
        return url.removeprefix("gdrive://").strip("/")

    def validate_folder_id(folder_id: str) -> str:
        if len(folder_id) < 10:
            raise InputError(f"invalid Drive folder id {folder_id!r}")
        return folder_id

    s3 = types.ModuleType("flatexport.destinations.s3")
    s3.parse_s3_url, s3.validate_bucket_name = parse_s3_url, validate_bucket_name
    gdrive = types.ModuleType("flatexport.destinations.gdrive")
    gdrive.parse_gdrive_url, gdrive.validate_folder_id = parse_gdrive_url, validate_folder_id
    monkeypatch.setitem(sys.modules, "flatexport.destinations.s3", s3)
    monkeypatch.setitem(sys.modules, "flatexport.destinations.gdrive", gdrive)


def test_cloud_urls_and_connections(
    db: ControlStore, fake_cloud: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ACME_DRIVE", '{"conn_type": "google_cloud_platform"}')
    base = ("add", "--org", "acme", "--report", "clickstream")

    # (a bucket's case is normalised first, issue 9: the stand-in refuses short names)
    assert_error(run(*base, "s3://ab/x"), "invalid S3 bucket name 'ab'")
    assert_error(
        run(*base, "s3://acme-bucket/x", "--conn-id", "missing_conn"),
        "Airflow connection 'missing_conn' is not defined",
    )
    assert_error(
        run(*base, "s3://acme-bucket/x", "--expected-bucket-owner", "12"), "not a 12-digit AWS account id"
    )
    ok = run(*base, "s3://acme-bucket/exports", "--expected-bucket-owner", "111122223333")
    assert ok.exit_code == 0, ok.output  # s3 may use the default credential chain

    assert_error(run(*base, "gdrive://short"), "invalid Drive folder id 'short'")
    assert_error(run(*base, "gdrive://1AbCdEfGhIjKlMnOp"), "gdrive:// destinations need --conn-id")
    assert_error(
        run(*base, "gdrive://1AbCdEfGhIjKlMnOp", "--conn-id", "nope_drive"),
        "Airflow connection 'nope_drive' is not defined",
    )
    ok = run(*base, "gdrive://1AbCdEfGhIjKlMnOp", "--conn-id", "acme_drive", "--subject", "ops@acme.example")
    assert ok.exit_code == 0, ok.output
    assert [s.scheme for s in db.list()] == ["s3", "gdrive"]


def _real(module: str, *names: str) -> None:
    mod = pytest.importorskip(module)
    if not all(hasattr(mod, n) for n in names):
        pytest.skip(f"{module} does not define {', '.join(names)} yet")


def test_real_s3_rules(db: ControlStore) -> None:
    _real("flatexport.destinations.s3", "parse_s3_url", "validate_bucket_name")
    base = ("add", "--org", "a", "--report", "clickstream")
    assert_error(run(*base, "s3://Not_A_Bucket/x"), "S3 bucket name 'Not_A_Bucket'")
    assert_error(run(*base, "s3://ab/x"), "must be 3 to 63 characters")
    result = run(*base, "s3://acme-exports/daily/", "--kms-key", "arn:aws:kms:us-east-1:111122223333:key/k")
    assert result.exit_code == 0, result.output
    assert db.get(1).destination == "s3://acme-exports/daily"  # one spelling per destination
    assert_error(run(*base, "s3://acme-exports/daily"), "already exists")


def test_real_gdrive_rules(db: ControlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _real("flatexport.destinations.gdrive", "parse_gdrive_url", "validate_folder_id")
    monkeypatch.setenv("AIRFLOW_CONN_ACME_DRIVE", '{"conn_type": "google_cloud_platform"}')
    base = ("add", "--org", "a", "--report", "clickstream", "--conn-id", "acme_drive")
    assert_error(run(*base, "gdrive://not a folder"), "not a Google Drive folder id")
    folder = "1AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    result = run(*base, f"https://drive.google.com/drive/folders/{folder}?usp=sharing")
    assert result.exit_code == 0, result.output
    assert db.get(1).destination == f"gdrive://{folder}"  # a pasted folder link is stored as gdrive://ID


# -- deliveries -------------------------------------------------------------------------


def test_deliveries_table(db: ControlStore, tmp_path: Path) -> None:
    add(tmp_path / "a")
    add(tmp_path / "b", org="beta")  # beside acme's folder: inside it would be refused
    acme, beta = db.get(1), db.get(2)
    first = db.start_delivery("r1", acme, dt.date(2024, 11, 4), "clickstream_2024-11-04.csv")
    db.finish_delivery(first, "delivered", rows=120, bytes=4096)
    second = db.start_delivery("r1", beta, dt.date(2024, 11, 5), "clickstream_2024-11-05.csv")
    db.finish_delivery(second, "failed", error="cannot write\n/srv: Permission denied")

    result = run(command=deliveries)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    headers = "ds org report sub status rows bytes file destination finished error"
    assert lines[0].split() == headers.split()
    delivered = "2024-11-04 acme clickstream 1 delivered 120 4096 clickstream_2024-11-04.csv"
    assert lines[2].split()[:8] == delivered.split()
    assert lines[2].split()[8] == (tmp_path / "a").as_uri()
    assert "failed" in lines[3] and lines[3].endswith("cannot write /srv: Permission denied")

    only_beta = run("--org", "beta", command=deliveries).stdout.splitlines()[2:]
    assert [line.split()[1] for line in only_beta] == ["beta"]
    ranged = run("--from", "2024-11-05", "--to", "2024-11-05", command=deliveries).stdout.splitlines()[2:]
    assert [line.split()[0] for line in ranged] == ["2024-11-05"]
    assert_error(run("--report", "activity", command=deliveries), "unknown report 'activity'")
    assert_error(run("--from", "11/04/2024", command=deliveries), "--from '11/04/2024' is not a date")
    assert_error(run("--from", "2024-11-06", "--to", "2024-11-05", command=deliveries), "is after --to")


def test_table_alignment() -> None:
    text = table(("a", "long"), [(1, None), ("wide-cell", "x")])
    assert text.splitlines() == ["a          long", "---------  ----", "1", "wide-cell  x"]
