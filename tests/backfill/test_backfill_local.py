"""`flatexport backfill --local` and `--dry-run`: a range of days in this process, with a
line per day and a summary (delivered, skipped, failed with reasons); a dry run that
asks each destination which files exist and changes nothing; refusals in words."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from flatexport.backfill import DayOutcome, Progress
from flatexport.cli import main
from flatexport.control.store import ControlStore
from tests.support.events import ev, load_events

D1, D2, D3, D4 = (dt.date(2024, 11, d) for d in (4, 5, 6, 7))


def invoke(*args: str):
    return CliRunner().invoke(main, ["backfill", "clickstream", *args])


OWN_LINE = re.compile(r"^(backfill in this process|dry run|summary|\d{4}-\d\d-\d\d  |  \d{4}-|\d+ file)")


def said(result) -> list[str]:
    """The command's own lines (log lines of Airflow, Alembic and GX left out)."""
    return [line for line in result.output.splitlines() if OWN_LINE.match(line)]


@pytest.fixture
def orgs(tmp_path: Path, control_db: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """org_a and org_b have a session on each of D1..D3; org_c too, but is not asked for.
    org_b's subscription starts on D2; org_c's folder is a file (every delivery fails)."""
    events = [
        ev(n * 10 + i, f"{day}T09:00:00", "session_start", org=org)
        for n, day in enumerate((D1, D2, D3))
        for i, org in enumerate(("org_a", "org_b", "org_c"))
    ]
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", load_events(f"duckdb:///{tmp_path}/wh.duckdb", events))
    monkeypatch.setenv("FLATEXPORT_LATE_EVENT_GRACE_MINUTES", "0")
    store = ControlStore(control_db)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where org_c's folder should be")
    folders = {org: tmp_path / org for org in ("org_a", "org_b")}
    store.add_subscription(org_id="org_a", report="clickstream", destination=folders["org_a"].as_uri())
    store.add_subscription(
        org_id="org_b", report="clickstream", destination=folders["org_b"].as_uri(), start_date=D2
    )
    store.add_subscription(org_id="org_c", report="clickstream", destination=blocked.as_uri())
    return {"store": store, "folders": folders}


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".manifest.json"))


def test_local_backfill_delivers_each_day_for_the_orgs_asked_with_a_summary(orgs) -> None:
    result = invoke("--from", str(D1), "--to", str(D2), "--org", "org_a", "--org", "org_b", "--local")

    assert result.exit_code == 0, result.output
    lines = said(result)
    assert lines == [
        "backfill in this process: clickstream 2024-11-04 to 2024-11-05 (2 day(s), org_a, org_b)",
        # one plain line per day (not a terminal), in order; org_b's subscription starts on D2
        "2024-11-04  delivered  1 file(s)",
        "2024-11-05  delivered  2 file(s)",
        "summary: 2 day(s): 2 delivered (3 file(s)), 0 skipped, 0 failed",
    ]
    assert _files(orgs["folders"]["org_a"]) == [f"clickstream_{d}.csv" for d in (D1, D2)]
    assert _files(orgs["folders"]["org_b"]) == [f"clickstream_{D2}.csv"]
    log = orgs["store"].deliveries()
    assert {(d.org_id, d.status) for d in log} == {("org_a", "delivered"), ("org_b", "delivered")}
    assert {d.run_id for d in log} == {f"backfill_local__{d}" for d in (D1, D2)}
    assert all(d.source_rows == 1 for d in log)  # fingerprints kept, as in a DAG run


def test_failed_and_skipped_days_are_summarised_with_their_reasons(orgs) -> None:
    result = invoke("--from", str(D1), "--to", str(D2), "--org", "org_b", "--org", "org_c", "--local")

    assert result.exit_code == 1, result.output
    day1, day2 = said(result)[1:3]
    assert day1.startswith("2024-11-04  failed") and "org_c:" in day1  # org_b has not started
    assert day2.startswith("2024-11-05  failed     1 file(s)") and "org_c:" in day2
    summary = "\n".join(said(result)[3:])
    assert summary.splitlines()[0] == "summary: 2 day(s): 0 delivered (1 file(s)), 0 skipped, 2 failed"
    assert "2024-11-04 failed: org_c:" in summary and "not-a-folder" in summary
    # the failures are in the delivery log, as for a DAG run; a re-run repairs them
    assert {(d.org_id, d.status) for d in orgs["store"].deliveries()} == {
        ("org_b", "delivered"),
        ("org_c", "failed"),
    }

    skipped = invoke("--from", str(D1), "--to", str(D1), "--org", "org_b", "--local")
    assert skipped.exit_code == 0, skipped.output
    assert "2024-11-04  skipped    no enabled subscription for the day" in skipped.output
    assert "summary: 1 day(s): 0 delivered (0 file(s)), 1 skipped, 0 failed" in skipped.output


def test_dry_run_lists_what_would_go_where_and_what_it_replaces_writing_nothing(orgs) -> None:
    assert invoke("--from", str(D1), "--to", str(D1), "--org", "org_a", "--local").exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in orgs["folders"]["org_a"].iterdir()}
    attempts = len(orgs["store"].deliveries())

    result = invoke("--from", str(D1), "--to", str(D2), "--org", "org_a", "--org", "org_b", "--dry-run")

    assert result.exit_code == 0, result.output
    a, b = orgs["folders"]["org_a"].as_uri(), orgs["folders"]["org_b"].as_uri()
    assert said(result) == [
        "dry run: clickstream 2024-11-04 to 2024-11-05 (2 day(s), org_a, org_b); nothing is written",
        f"2024-11-04  org_a  clickstream_2024-11-04.csv -> {a}  [replaces the existing file]",
        f"2024-11-05  org_a  clickstream_2024-11-05.csv -> {a}  [new]",
        f"2024-11-05  org_b  clickstream_2024-11-05.csv -> {b}  [new]",
        "3 file(s) would be delivered, 1 of them replacing an existing file",
    ]
    assert {p: p.stat().st_mtime_ns for p in orgs["folders"]["org_a"].iterdir()} == before
    assert not orgs["folders"]["org_b"].exists()
    assert len(orgs["store"].deliveries()) == attempts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024-11-04", "--to", "2024-11-03"], "--to 2024-11-03 is before --from 2024-11-04"),
        (["--from", "2024-11-04", "--to", "2099-01-01"], "--to 2099-01-01 has not ended yet"),
        (["--from", "2024-11-04", "--to", "2024-11-05", "--org", "org_typo"], "for org(s) org_typo"),
        (["--from", "2024-11-4x", "--to", "2024-11-05"], "2024-11-4x"),
    ],
)
def test_bad_requests_are_refused_in_one_line(orgs, args, message) -> None:
    result = invoke(*args, "--local")
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert orgs["store"].deliveries() == []


def test_on_a_terminal_progress_is_a_bar() -> None:
    out = io.StringIO()
    with Progress(2, out=out, terminal=True) as progress:
        progress.working_on(D1)
        progress.done(DayOutcome(D1, "delivered", 2))
    text = out.getvalue()
    assert "2024-11-04  delivered  2 file(s)" in text
    assert "━" in text and "1/2" in text  # rich's bar and its count


def test_a_local_range_overlapping_a_running_airflow_backfill_is_refused(airflow_db, orgs) -> None:
    from airflow.models.backfill import Backfill
    from airflow.utils.session import create_session

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)

    with create_session() as session:
        running = Backfill(
            dag_id="clickstream_daily", from_date=midnight(D2), to_date=midnight(D4), dag_run_conf={}
        )
        session.add(running)
        session.flush()
        backfill_id = running.id
    try:
        result = invoke("--from", str(D1), "--to", str(D2), "--org", "org_a", "--local")
        assert result.exit_code == 1
        assert result.output.strip().splitlines()[-1] == (
            f"error: 2024-11-04 to 2024-11-05 overlaps backfill {backfill_id} of clickstream_daily "
            "(2024-11-05 to 2024-11-07), which is still running: wait for it to finish, or cancel it "
            "in Airflow (the DAG's Backfills tab), then try again"
        )
        assert orgs["store"].deliveries() == []
        # a range it does not cover is this process's own business
        assert invoke("--from", str(D1), "--to", str(D1), "--org", "org_a", "--local").exit_code == 0
    finally:
        with create_session() as session:
            session.delete(session.get(Backfill, backfill_id))
