"""The subscription actions the CLI and the console share. add/enable/disable/remove/
test are covered through the CLI (tests/control/test_cli.py); edit has no CLI command
yet, so its rules are pinned here: every check of add, the same messages, and what an
edit may not change."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from flatexport.control import operations
from flatexport.control.cli import destinations
from flatexport.control.store import ControlStore
from flatexport.errors import InputError


@pytest.fixture
def db(sqlite_url: str, include_dir: Path, monkeypatch: pytest.MonkeyPatch) -> ControlStore:
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", sqlite_url)
    store = ControlStore(sqlite_url)
    yield store
    store.dispose()


def _add(store: ControlStore, folder: Path, **opts) -> int:
    return operations.add_subscription(store, "acme", "clickstream", folder.as_uri(), **opts).subscription.id


def test_edit_changes_settings_and_keeps_identity(db: ControlStore, tmp_path: Path) -> None:
    sub_id = _add(db, tmp_path / "old", columns="event_id,page_url", timezone="America/Chicago")
    operations.set_enabled(db, sub_id, False)

    outcome = operations.edit_subscription(
        db, str(sub_id), (tmp_path / "new").as_uri(), "jsonl.gz", timezone="Europe/Paris", exclude_pii=True
    )
    assert (
        outcome.message == f"updated subscription {sub_id}: acme clickstream -> {(tmp_path / 'new').as_uri()}"
    )
    sub = db.get(sub_id)
    assert (sub.org_id, sub.report, sub.enabled) == ("acme", "clickstream", False)
    assert (sub.format, sub.timezone, sub.exclude_pii) == ("jsonl.gz", "Europe/Paris", True)
    assert sub.columns is None  # a field left out of the edit is cleared, as in add


@pytest.mark.parametrize(
    ("url", "opts", "message"),
    [
        (None, {"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        (None, {"columns": "event_id,nope"}, "report 'clickstream' has no column(s): nope"),
        (None, {"start_date": "tomorrow"}, "--start-date 'tomorrow' is not a date"),
        (None, {"kms_key": "arn:aws:kms:x"}, "--kms-key applies to s3:// destinations only"),
        ("ftp://host/x", {}, "unsupported destination 'ftp://host/x'"),
    ],
)
def test_edit_runs_the_checks_of_add_with_its_messages(
    db: ControlStore, tmp_path: Path, url: str | None, opts: dict, message: str
) -> None:
    sub_id = _add(db, tmp_path / "a")
    before = db.get(sub_id)
    url = url or (tmp_path / "b").as_uri()
    with pytest.raises(InputError) as edit_error:
        operations.edit_subscription(db, sub_id, url, **opts)
    assert message in str(edit_error.value)
    assert db.get(sub_id) == before

    argv = ["add", "--org", "acme", "--report", "clickstream", url]
    for name, value in opts.items():
        argv += [f"--{name.replace('_', '-')}", value]
    cli = CliRunner().invoke(destinations, argv)
    assert cli.stderr.strip() == f"error: {edit_error.value}"  # the CLI says exactly the same


def test_edit_refuses_another_subscriptions_destination(db: ControlStore, tmp_path: Path) -> None:
    first = _add(db, tmp_path / "a")
    second = _add(db, tmp_path / "b")
    with pytest.raises(InputError, match=f"subscription {first}: acme clickstream .* already exists"):
        operations.edit_subscription(db, second, (tmp_path / "a").as_uri())
    # Saving a subscription unchanged is not a duplicate of itself.
    assert operations.edit_subscription(db, first, (tmp_path / "a").as_uri()).subscription.id == first


def test_probe_outcome_and_missing_ids(db: ControlStore, tmp_path: Path) -> None:
    sub_id = _add(db, tmp_path / "out")
    outcome = operations.probe_destination(db, sub_id)
    assert outcome.message.startswith(f"ok: subscription {sub_id}: acme clickstream")
    assert outcome.share_with is None  # only Drive has an address to share with
    for action in (operations.probe_destination, operations.remove_subscription):
        with pytest.raises(InputError, match="no subscription 77"):
            action(db, "77")
    with pytest.raises(InputError, match="subscription id must be a number, not '1; drop'"):
        operations.edit_subscription(db, "1; drop", (tmp_path / "x").as_uri())
