"""The `flatexport` command as a customer-success engineer or data team uses it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from flatexport.cli import main
from flatexport.specs import load_spec
from tests.support.events import ev, load_events


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    url = f"duckdb:///{tmp_path}/w.duckdb"
    load_events(
        url,
        [
            ev(1, "2024-11-04T10:00:00", "session_start", org="org_a"),
            ev(2, "2024-11-04T11:00:00", "session_start", org="org_a"),
            ev(3, "2024-11-04T11:00:00", "session_start", org="org_b"),
        ],
    )
    return url


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_docs_lists_every_column_with_definition_type_and_pii():
    result = invoke("docs", "clickstream")
    assert result.exit_code == 0
    spec = load_spec("clickstream")
    for col in spec.columns:
        row = next(line for line in result.output.splitlines() if line.startswith(f"| `{col.name}` |"))
        assert f"| {col.type} |" in row
        assert col.definition.split()[0] in row
        assert ("| yes |" in row) == col.pii
    assert "**Inactive**" in result.output  # added_to_calendar, downloaded, printed, submitted_form
    assert "leading zeros" in result.output  # the recorded decisions are part of the dictionary


def test_docs_for_activity_renders_the_seed_style_table():
    result = invoke("docs", "activity")
    assert result.exit_code == 0
    assert "Name in exporter" in result.output and "Category" in result.output
    assert "Rating: [Rating 1-5] / [Review text]" in result.output


def test_run_writes_the_day_file_into_the_folder(warehouse, tmp_path, data_dir):
    out = tmp_path / "out"
    result = invoke(
        "run",
        "clickstream",
        "--date",
        "2024-11-04",
        "--org",
        "org_a",
        "--source",
        warehouse,
        "--to",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "rows=2" in result.output
    text = (out / "clickstream_2024-11-04.csv").read_text()
    assert text.count("\n") == 3
    assert (out / "clickstream_2024-11-04.csv.manifest.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2024-13-04", "--org", "org_a"], "invalid date '2024-13-04'"),
        (["--date", "2024-11-04", "--org", "org_zz"], "unknown org 'org_zz'"),
        (
            ["--date", "2024-11-04", "--org", "org_a", "--timezone", "Mars/Olympus"],
            "unknown time zone 'Mars/Olympus'",
        ),
        (["--date", "2024-11-04", "--org", "org_a", "--columns", "session_id,nope"], "no column(s): nope"),
    ],
)
def test_bad_input_gives_one_clear_line_and_a_failing_exit(warehouse, tmp_path, args, message):
    result = invoke("run", "clickstream", "--source", warehouse, "--to", str(tmp_path / "o"), *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_unknown_report_and_unreachable_source(tmp_path):
    result = invoke("run", "clickstreem", "--date", "2024-11-04", "--org", "a", "--to", str(tmp_path))
    assert result.exit_code != 0 and "unknown report 'clickstreem' (known: " in result.output
    result = invoke(
        "run",
        "clickstream",
        "--date",
        "2024-11-04",
        "--org",
        "a",
        "--to",
        str(tmp_path),
        "--source",
        "postgresql://exporter:s3cret@127.0.0.1:1/warehouse",
    )
    assert result.exit_code != 0
    assert "is unreachable" in result.output
    assert "s3cret" not in result.output  # the password never reaches the terminal
    assert len(result.output.strip().splitlines()) == 1


def test_run_without_to_delivers_to_the_orgs_subscriptions_and_logs_it(
    warehouse, tmp_path, monkeypatch, data_dir
):
    from flatexport.control.store import ControlStore

    url = f"sqlite:///{tmp_path}/control.db"
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", url)
    store = ControlStore(url)
    sub = store.add_subscription(org_id="org_a", report="clickstream", destination=(tmp_path / "a").as_uri())
    other = store.add_subscription(
        org_id="org_b", report="clickstream", destination=(tmp_path / "b").as_uri()
    )

    result = invoke("run", "clickstream", "--date", "2024-11-04", "--org", "org_a", "--source", warehouse)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "clickstream_2024-11-04.csv").read_text().count("\n") == 3
    assert not (tmp_path / "b").exists()  # only the named org's subscriptions
    (attempt,) = store.deliveries()
    assert (attempt.subscription_id, attempt.status, attempt.rows) == (sub.id, "delivered", 2)

    store.set_enabled(other.id, False)
    result = invoke("run", "clickstream", "--date", "2024-11-04", "--org", "org_b", "--source", warehouse)
    assert result.exit_code != 0
    assert "org 'org_b' has no enabled clickstream subscription" in result.output
    assert not (tmp_path / "b").exists()


@pytest.fixture(scope="module")
def platform_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Activity and planroom tables of org_acme and org_globex (companies 101/102, 201/202)."""
    from tests.reports.conftest import seed_all

    url = f"duckdb:///{tmp_path_factory.mktemp('platform') / 'w.duckdb'}"
    seed_all(url, events=150)
    return url


def _run(report: str, url: str, out: Path, *extra: str, org: str = "org_acme"):
    return invoke(
        "run", report, "--date", "2026-11-02", "--org", org, "--source", url, "--to", str(out), *extra
    )


def test_scope_options_come_from_the_reports_scope(platform_warehouse, tmp_path, data_dir):
    """--company narrows a planroom report to one of the org's companies; another org's
    company is refused before anything runs; a report that takes no --company refuses it."""
    out = tmp_path / "out"
    result = _run("planroom_activity", platform_warehouse, out, "--company", "101")
    assert result.exit_code == 0, result.output
    text = (out / "planroom_activity_2026-11-02.csv").read_text()
    assert {r["Job Company ID"] for r in csv.DictReader(io.StringIO(text))} == {"101"}

    result = _run("planroom_summary", platform_warehouse, tmp_path / "x", "--company", "201")
    assert result.exit_code != 0
    assert "company 201 is not a planroom company of org 'org_acme'" in result.output
    result = _run("unique_users", platform_warehouse, tmp_path / "x", "--company", "101")
    assert result.exit_code != 0
    assert "report 'unique_users' takes no company_id (--company) (it takes no scope)" in result.output
    assert not (tmp_path / "x").exists()
    assert "Traceback" not in result.output


def test_run_takes_entries_like_subscriptions(platform_warehouse, tmp_path, data_dir):
    out = tmp_path / "out"
    result = _run("activity", platform_warehouse, out, "--entries", "content.viewed,feed")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((out / "activity_2026-11-02.csv").read_text())))
    kinds = {(r["Category"].split(" - ")[0], r["Action"]) for r in rows}
    assert ("Content", "View") in kinds and any(category == "Feed" for category, _ in kinds)
    assert all(kind == ("Content", "View") or kind[0] == "Feed" for kind in kinds), kinds
    result = _run("activity", platform_warehouse, tmp_path / "x", "--entries", "content.viewed,nosuch")
    assert result.exit_code != 0 and "unknown exporter entries: nosuch" in result.output


def test_every_report_knows_whether_the_org_exists(platform_warehouse, tmp_path, data_dir):
    for report in ("activity", "unique_users", "planroom_activity", "planroom_summary"):
        result = _run(report, platform_warehouse, tmp_path / "x", org="org_zz")
        assert result.exit_code != 0
        assert f"unknown org 'org_zz': the source has no {report} data for it" in result.output


def test_run_with_a_scope_option_reruns_only_the_subscriptions_with_that_scope(
    platform_warehouse, tmp_path, monkeypatch, data_dir
):
    from flatexport.control.store import ControlStore

    url = f"sqlite:///{tmp_path}/control.db"
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", url)
    store = ControlStore(url)
    store.add_subscription(
        org_id="org_acme",
        report="planroom_summary",
        destination=(tmp_path / "a").as_uri(),
        scope={"company_id": 101},
    )
    store.add_subscription(
        org_id="org_acme", report="planroom_summary", destination=(tmp_path / "owner").as_uri()
    )
    args = [
        "run",
        "planroom_summary",
        "--date",
        "2026-11-02",
        "--org",
        "org_acme",
        "--source",
        platform_warehouse,
    ]
    result = invoke(*args, "--company", "101")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "planroom_summary_2026-11-02.csv").exists()
    assert not (tmp_path / "owner").exists()
    result = invoke(*args, "--company", "102")
    assert result.exit_code != 0
    assert "org 'org_acme' has no enabled planroom_summary subscription with company_id 102" in result.output
