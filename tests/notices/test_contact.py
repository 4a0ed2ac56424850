"""A subscription's contact: one email address, set and changed through the same path
by the CLI's add and edit, the YAML import and (tests/console) the console; blank clears it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flatexport.cli import main
from flatexport.control import operations
from flatexport.control.cli import destinations
from flatexport.control.store import ControlStore
from flatexport.errors import InputError


@pytest.fixture
def db(store: ControlStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ControlStore:
    from tests.support.events import ev, load_events

    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", store.url.render_as_string(hide_password=False))
    # A source that knows the orgs these tests add subscriptions for (checked at add).
    source = f"duckdb:///{tmp_path / 'source.duckdb'}"
    load_events(source, [ev(i, "2024-11-04T10:00:00", "session_start", org=o) for i, o in enumerate(ORGS, 1)])
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", source)
    return store


ORGS = ("acme", "beta", "gamma")


def run(*args: str) -> Result:
    return CliRunner().invoke(destinations, list(args))


def test_add_and_edit_set_change_and_clear_the_contact(db: ControlStore, tmp_path: Path) -> None:
    out = tmp_path / "out"
    added = run(
        "add",
        "--org",
        "acme",
        "--report",
        "clickstream",
        out.as_uri(),
        "--contact",
        " data@acme.test ",
        "--columns",
        "session_id",
    )
    assert added.exit_code == 0, added.output
    sub = db.list(org="acme")[0]
    assert sub.contact == "data@acme.test"
    assert "contact: data@acme.test" in run("show", str(sub.id)).stdout

    changed = run("edit", str(sub.id), "--contact", "ops@acme.test")
    assert changed.exit_code == 0, changed.output
    assert changed.stdout.strip() == f"updated subscription {sub.id}: acme clickstream -> {out.as_uri()}"
    after = db.get(sub.id)
    assert after.contact == "ops@acme.test"
    assert (after.columns, after.destination) == (["session_id"], sub.destination)  # the rest kept

    moved = run("edit", str(sub.id), "--url", (tmp_path / "moved").as_uri())
    assert moved.exit_code == 0, moved.output
    assert db.get(sub.id).contact == "ops@acme.test"  # an option left out keeps its value

    cleared = run("edit", str(sub.id), "--contact", "")
    assert cleared.exit_code == 0, cleared.output
    assert db.get(sub.id).contact is None


@pytest.mark.parametrize(
    "bad",
    [
        "not-an-address",
        "a@b",
        "two@acme.test, three@acme.test",
        "x@acme.test\r\nBcc: all@evil.test",
        "<a@b.test>",
    ],
)
def test_a_contact_that_is_not_one_address_is_refused_naming_the_option(
    db: ControlStore, tmp_path: Path, bad: str
) -> None:
    result = run("add", "--org", "acme", "--report", "clickstream", tmp_path.as_uri(), "--contact", bad)
    assert result.exit_code != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: --contact ") and "is not one email address" in line
    assert db.list() == []
    with pytest.raises(InputError, match="--contact .* is not one email address"):
        operations.add_subscription(db, "acme", "clickstream", tmp_path.as_uri(), contact=bad)


def test_edit_refuses_a_bad_contact_and_keeps_the_old_one(db: ControlStore, tmp_path: Path) -> None:
    sub = db.add_subscription(
        org_id="acme", report="clickstream", destination=tmp_path.as_uri(), contact="data@acme.test"
    )
    result = run("edit", str(sub.id), "--contact", "nobody")
    assert result.exit_code != 0 and "--contact 'nobody' is not one email address" in result.stderr
    assert db.get(sub.id).contact == "data@acme.test"


def test_import_subscriptions_reads_and_checks_the_contact(db: ControlStore, tmp_path: Path) -> None:
    path = tmp_path / "subs.yaml"
    path.write_text(
        f"- {{org: acme, report: clickstream, destination: {tmp_path.as_uri()}/a, contact: data@acme.test}}\n"
        f"- {{org: beta, report: clickstream, destination: {tmp_path.as_uri()}/b}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["import-subscriptions", str(path)])
    assert result.exit_code == 0, result.output
    assert {s.org_id: s.contact for s in db.list()} == {"acme": "data@acme.test", "beta": None}

    path.write_text(
        f"- {{org: gamma, report: clickstream, destination: {tmp_path.as_uri()}/g, contact: gamma}}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"subs\.yaml: entry 1: .*contact: 'gamma' is not one email address"):
        db.import_yaml(path)
