"""`import-subscriptions` runs exactly the checks of `destinations add` (one path, in
control.operations): each input issue 9 found silently accepted is refused by both,
with the same reason; a file with one bad entry saves none and names the entry's line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.hardening.conftest import DAY, World, invoke, refused

SMTP_CONN = json.dumps({"conn_type": "smtp", "host": "mail.example", "port": 25})
AWS_CONN = json.dumps({"conn_type": "aws"})

# (name, subscription entry fields, add options, what the refusal says)
SILENTLY_ACCEPTED: list[tuple[str, dict[str, Any], list[str], str]] = [
    ("upper-case bad bucket", {"destination": "s3://UPPER_bad/x"}, [], "S3 bucket name 'UPPER_bad'"),
    (
        "drive folder climbing",
        {"destination": "gdrive://../..", "conn_id": "drive"},
        ["--conn-id", "drive"],
        "Google Drive folder id",
    ),
    ("relative file URL", {"destination": "file://relative/path"}, [], "file:///absolute/path"),
    ("ftp", {"destination": "ftp://files.example/x"}, [], "unsupported destination"),
    ("system folder", {"destination": "file:///etc"}, [], "outside the allowed folders"),
    (
        "climbing out of the root",
        {"destination": "file://{root}/../../etc"},
        [],
        "outside the allowed folders",
    ),
    (
        "percent-escaped climb",
        {"destination": "file://{root}/%2e%2e/%2e%2e/etc"},
        [],
        "outside the allowed folders",
    ),
    ("unknown report", {"report": "no_such_report"}, [], "unknown report 'no_such_report'"),
    (
        "unknown column",
        {"columns": ["session_id", "no_such_column"]},
        ["--columns", "session_id,no_such_column"],
        "no_such_column",
    ),
    (
        "missing connection",
        {"destination": "s3://acme-exports/x", "conn_id": "nope"},
        ["--conn-id", "nope"],
        "Airflow connection 'nope' is not defined",
    ),
    (
        "smtp connection for s3",
        {"destination": "s3://acme-exports/x", "conn_id": "mail"},
        ["--conn-id", "mail"],
        "has type 'smtp'",
    ),
    ("company for clickstream", {"scope": {"company_id": 42}}, ["--company", "42"], "company"),
    ("empty time zone", {"timezone": ""}, ["--timezone", ""], "time zone"),
    ("unknown org", {"org_id": "org_nobody"}, [], "unknown org 'org_nobody'"),
    ("org id that is a path", {"org_id": "../../../x"}, [], "invalid org id '../../../x'"),
]

IMPORT_ONLY = [
    (
        "public ACL",
        {"destination": "s3://acme-exports/x", "conn_id": "aws", "extra": {"acl": "public-read"}},
        "S3 ACL 'public-read' is not allowed",
    ),
    ("empty columns", {"columns": []}, "columns"),
    ("unknown key", {"password": "x"}, "unknown key(s) password"),
    ("not a mapping", None, "not a mapping"),
]


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MAIL", SMTP_CONN)
    monkeypatch.setenv("AIRFLOW_CONN_AWS", AWS_CONN)
    monkeypatch.setenv("AIRFLOW_CONN_DRIVE", json.dumps({"conn_type": "google_cloud_platform"}))


def entry(world: World, **fields: Any) -> dict[str, Any]:
    base = {"org_id": "org_a", "report": "clickstream", "destination": (world.deliveries / "a").as_uri()}
    base.update(fields)
    if isinstance(base["destination"], str):
        base["destination"] = base["destination"].replace("{root}", str(world.deliveries))
    return base


def write(path: Path, entries: list[Any]) -> Path:
    path.write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "fields", "options", "message"), SILENTLY_ACCEPTED, ids=[c[0] for c in SILENTLY_ACCEPTED]
)
def test_import_and_add_refuse_the_same(
    world: World, tmp_path: Path, name: str, fields: dict[str, Any], options: list[str], message: str
) -> None:
    good = entry(world, destination=(world.deliveries / "good").as_uri())
    bad = entry(world, **fields)
    path = write(tmp_path / "subs.yaml", [good, bad])
    line = refused(invoke("import-subscriptions", str(path)), str(path), "line 4:", message, code=2)
    assert line.endswith("nothing imported")
    assert world.store().list() == []  # all or nothing: the good entry was not saved either

    argv = [
        "destinations",
        "add",
        "--org",
        bad["org_id"],
        "--report",
        bad["report"],
        *options,
        bad["destination"],
    ]
    refused(invoke(*argv), message, code=2)
    assert world.store().list() == []


@pytest.mark.parametrize(("name", "fields", "message"), IMPORT_ONLY, ids=[c[0] for c in IMPORT_ONLY])
def test_import_refuses_what_only_a_file_can_say(
    world: World, tmp_path: Path, name: str, fields: dict[str, Any] | None, message: str
) -> None:
    bad = entry(world, **fields) if fields is not None else "just text"
    path = write(tmp_path / "subs.yaml", [entry(world), bad])
    refused(invoke("import-subscriptions", str(path)), "line 4:", message, code=2)
    assert world.store().list() == []


def test_empty_columns_and_time_zone_are_refused_not_defaulted(world: World) -> None:
    base = ["run", "clickstream", "--date", DAY, "--org", "org_a", "--to", str(world.deliveries)]
    refused(invoke(*base, "--columns", ""), "--columns", code=2)
    refused(invoke(*base, "--columns", " , "), "--columns", code=2)
    refused(invoke(*base, "--timezone", ""), "time zone", code=2)
    refused(invoke(*base, "--company", "42"), "company", code=2)
    add = [
        "destinations",
        "add",
        "--org",
        "org_a",
        "--report",
        "clickstream",
        (world.deliveries / "x").as_uri(),
    ]
    refused(invoke(*add, "--columns", ""), "--columns", code=2)
    assert list(world.deliveries.iterdir()) == []


def test_a_good_file_imports_once_and_a_reimport_adds_nothing(world: World, tmp_path: Path) -> None:
    path = write(
        tmp_path / "subs.yaml",
        [
            entry(world),
            entry(world, org_id="org_b", destination=(world.deliveries / "b").as_uri(), format="csv.gz"),
        ],
    )
    first = invoke("import-subscriptions", str(path))
    assert first.exit_code == 0, first.output
    assert "imported 2 new" in first.stdout
    again = invoke("import-subscriptions", str(path))
    assert again.exit_code == 0 and "imported 0 new" in again.stdout
    assert [(s.org_id, s.format) for s in world.store().list()] == [("org_a", "csv"), ("org_b", "csv.gz")]


def test_the_demo_folders_are_allowed_by_default(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` delivers into <data dir>/deliveries/<org> (demo/make_subscriptions.py):
    an allowed root when FLATEXPORT_LOCAL_ROOTS is not set; /etc is not."""
    from flatexport.paths import data_dir

    monkeypatch.delenv("FLATEXPORT_LOCAL_ROOTS")
    subs = [
        {
            "org_id": org,
            "report": "clickstream",
            "destination": (data_dir() / "deliveries" / org).resolve().as_uri(),
        }
        for org in ("org_a", "org_b")
    ]
    result = invoke("import-subscriptions", str(write(tmp_path / "demo.yaml", subs)))
    assert result.exit_code == 0, result.output
    refused(
        invoke("destinations", "add", "--org", "org_a", "--report", "clickstream", "file:///etc/x"), "outside"
    )
