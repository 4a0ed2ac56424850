"""The organizing reports on the command line (contract §2 "Scope and file name", §3
"Refusals"): `flatexport run` with --action / --contact-list, the file names, the
refusals word for word (one `error:` line on stderr, a failing exit, no traceback, no
file), and subscriptions whose scope is checked against the org when they are added or
imported. On DuckDB and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flatexport.cli import main
from flatexport.control.store import ControlStore
from tests.reports.organizing.contract import HEADERS

DAY = "2024-11-04"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def run(wh, report: str, out: Path, *extra: str, org: str = "o1") -> Result:
    return invoke("run", report, "--date", DAY, "--org", org, "--source", wh.url, "--to", str(out), *extra)


def assert_refused(result: Result, message: str, out: Path | None = None) -> None:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stderr == f"error: {message}\n"  # the whole of stderr: one line, these words
    assert result.stdout == ""
    assert out is None or not out.exists() or not any(out.iterdir())  # no file, not even a header


@pytest.mark.parametrize(
    ("report", "scope", "name"),
    [
        ("users", [], "users_2024-11-04.csv"),
        ("messages", [], "messages_2024-11-04.csv"),
        ("messages", ["--action", "502"], "messages_action-502_2024-11-04.csv"),
        ("action_users", ["--action", "502"], "action_users_action-502_2024-11-04.csv"),
        ("video_stories", ["--action", "503"], "video_stories_action-503_2024-11-04.csv"),
        ("contacts", ["--contact-list", "341"], "contacts_list-341_2024-11-04.csv"),
        ("action_contacts", ["--action", "505"], "action_contacts_action-505_2024-11-04.csv"),  # no rows
        ("contacts", ["--contact-list", "342"], "contacts_list-342_2024-11-04.csv"),  # an empty list
    ],
)
def test_run_names_the_file_by_report_scope_and_day(wh, tmp_path, data_dir, report, scope, name):
    out = tmp_path / "out"
    result = run(wh, report, out, *scope)
    assert result.exit_code == 0, result.output
    data = out / name
    assert data.read_text(encoding="utf-8").split("\n", 1)[0] == ",".join(HEADERS[report])
    assert ("rows=0" in result.stdout) == name.endswith(("505_2024-11-04.csv", "342_2024-11-04.csv"))
    manifest = json.loads((out / f"{name}.manifest.json").read_text())
    assert manifest["window"] == {"start": None, "end": "2024-11-05T00:00:00+00:00"}  # the cutoff
    assert sorted(p.name for p in out.iterdir()) == [name, f"{name}.manifest.json"]


def test_a_rerun_replaces_the_file(wh, tmp_path, data_dir):
    out = tmp_path / "out"
    assert run(wh, "action_tags", out, "--action", "502", "--format", "csv.gz").exit_code == 0
    first = (out / "action_tags_action-502_2024-11-04.csv.gz").read_bytes()
    assert run(wh, "action_tags", out, "--action", "502", "--format", "csv.gz").exit_code == 0
    assert (out / "action_tags_action-502_2024-11-04.csv.gz").read_bytes() == first  # same bytes
    assert len(list(out.iterdir())) == 2  # the file and its manifest, never a duplicate


@pytest.mark.parametrize(
    ("report", "scope", "message"),
    [
        ("action_users", ["--action", "551"], "unknown action 551 for org o1"),  # o2's action
        ("action_reports", ["--action", "9999"], "unknown action 9999 for org o1"),  # nobody's
        ("messages", ["--action", "552"], "unknown action 552 for org o1"),
        ("contacts", ["--contact-list", "351"], "unknown contact list 351 for org o1"),  # o2's list
        ("contacts", ["--contact-list", "9999"], "unknown contact list 9999 for org o1"),
        (
            "action_contacts",
            ["--action", "501"],
            "action_contacts needs a peer-to-peer (TextaList) action; action 501 is TextaFriend",
        ),
        (
            "video_stories",
            ["--action", "502"],
            "video_stories needs a VideoStory action; action 502 is TextaList",
        ),
        ("action_users", [], "action_users needs --action"),
        ("contacts", [], "contacts needs --contact-list"),
        ("users", ["--action", "502"], "users is an org-wide report; --action is not accepted"),
        (
            "engage_tags",
            ["--contact-list", "341"],
            "engage_tags is an org-wide report; --contact-list is not accepted",
        ),
        (
            "action_users",
            ["--action", "502", "--contact-list", "341"],
            "action_users is a report on one action (--action); --contact-list is not accepted",
        ),
        (
            "messages",
            ["--contact-list", "341"],
            "messages is a report on the org or one action (--action); --contact-list is not accepted",
        ),
        (
            "contacts",
            ["--action", "502"],
            "contacts is a report on one contact list (--contact-list); --action is not accepted",
        ),
        ("users", ["--company", "5"], "users is an org-wide report; --company is not accepted"),
    ],
)
def test_refusals_are_the_contracts_words(wh, tmp_path, data_dir, report, scope, message):
    out = tmp_path / "out"
    assert_refused(run(wh, report, out, *scope), message, out)


def test_an_unknown_org_is_refused_before_its_scope(wh, tmp_path, data_dir):
    out = tmp_path / "out"
    result = run(wh, "action_users", out, "--action", "502", org="o9")
    assert_refused(result, "unknown org 'o9': the source has no action_users data for it", out)


def test_a_deleted_action_still_runs(wh, tmp_path, data_dir):
    out = tmp_path / "out"
    result = run(wh, "action_reports", out, "--action", "504")
    assert result.exit_code == 0, result.output
    assert (out / "action_reports_action-504_2024-11-04.csv").exists()


# --- subscriptions ----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ControlStore:
    url = f"sqlite:///{tmp_path}/control.db"
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", url)
    store = ControlStore(url)
    yield store
    store.dispose()


def add(wh, report: str, folder: Path, *extra: str, org: str = "o1") -> Result:
    return invoke("destinations", "add", "--org", org, "--report", report, folder.as_uri(), *extra)


def test_destinations_add_checks_the_scope_against_the_org(wh, store, tmp_path, monkeypatch):
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", wh.url)  # the source the nightly run reads
    folder = tmp_path / "acme"
    assert_refused(add(wh, "action_users", folder, "--action", "551"), "unknown action 551 for org o1")
    assert_refused(
        add(wh, "action_contacts", folder, "--action", "501"),
        "action_contacts needs a peer-to-peer (TextaList) action; action 501 is TextaFriend",
    )
    assert_refused(add(wh, "contacts", folder), "contacts needs --contact-list")
    assert_refused(
        add(wh, "users", folder, "--action", "502"), "users is an org-wide report; --action is not accepted"
    )
    assert store.list() == []

    # two actions of one report to one folder are two files, so two subscriptions
    assert add(wh, "action_users", folder, "--action", "502").exit_code == 0
    assert add(wh, "action_users", folder, "--action", "504").exit_code == 0
    result = add(wh, "action_users", folder, "--action", "502")
    assert result.exit_code != 0 and "already exists" in result.stderr
    assert [s.scope for s in store.list()] == [{"action_id": 502}, {"action_id": 504}]
    shown = invoke("destinations", "show", "1").stdout
    assert "scope: action_id=502" in shown


def test_import_subscriptions_checks_every_scope_before_saving_any(wh, store, tmp_path):
    good = {
        "org_id": "o1",
        "report": "contacts",
        "destination": (tmp_path / "a").as_uri(),
        "scope": {"contact_list_id": 341},
    }
    bad = {
        "org_id": "o1",
        "report": "messages",
        "destination": (tmp_path / "b").as_uri(),
        "scope": {"action_id": 551},
    }
    path = tmp_path / "subs.yaml"
    import yaml

    path.write_text(yaml.safe_dump([good, bad]))
    result = invoke("import-subscriptions", str(path), "--source", wh.url)
    assert_refused(result, f"{path}: line 6: unknown action 551 for org o1; nothing imported")
    assert store.list() == []
    path.write_text(yaml.safe_dump([good]))
    assert invoke("import-subscriptions", str(path), "--source", wh.url).exit_code == 0
    assert [(s.report, s.scope) for s in store.list()] == [("contacts", {"contact_list_id": 341})]


def test_run_delivers_to_the_subscriptions_with_that_action(wh, store, tmp_path, data_dir):
    store.add_subscription(
        org_id="o1", report="action_users", destination=(tmp_path / "a").as_uri(), scope={"action_id": 502}
    )
    store.add_subscription(
        org_id="o1", report="action_users", destination=(tmp_path / "b").as_uri(), scope={"action_id": 501}
    )
    args = ["run", "action_users", "--date", DAY, "--org", "o1", "--source", wh.url]
    result = invoke(*args, "--action", "502")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "action_users_action-502_2024-11-04.csv").exists()
    assert not (tmp_path / "b").exists()
    (attempt,) = store.deliveries()
    assert (attempt.status, attempt.file_name) == ("delivered", "action_users_action-502_2024-11-04.csv")
    assert_refused(
        invoke(*args, "--action", "505"),
        "org 'o1' has no enabled action_users subscription with action_id 505 (add one, or pass --to DIR)",
    )


def test_a_scope_edited_into_the_store_is_refused_at_export(wh, store, tmp_path, data_dir):
    """A subscription naming another org's action (written to the store without the CLI's
    checks) fails when the nightly step exports it, before anything is read; the delivery
    log says why."""
    import datetime as dt

    from flatexport.errors import InputError
    from flatexport.pipeline import run_subscription

    sub = store.add_subscription(
        org_id="o1", report="action_reports", destination=(tmp_path / "x").as_uri(), scope={"action_id": 551}
    )
    with pytest.raises(InputError, match="^unknown action 551 for org o1$"):
        run_subscription(sub, dt.date(2024, 11, 4), "nightly", wh.url, store=store)
    assert not (tmp_path / "x").exists()
    (attempt,) = store.deliveries()
    assert (attempt.status, attempt.error) == ("failed", "unknown action 551 for org o1")
