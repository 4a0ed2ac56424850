"""Late data, end to end through the nightly DAG (dag.test()): a delivered day whose source
gains rows afterwards is delivered again by a later night's run, and its manifest and the
delivery log say it restates the earlier delivery; a day whose source did not move, or
one beyond the look-back, is left alone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from flatexport.airflow_support.runner import ensure_metadata_db, load_dag
from flatexport.control.store import ControlStore
from tests.support.events import ev, load_events

pytestmark = pytest.mark.airflow

DAG_ID = "clickstream_daily"
DAY = dt.date(2024, 11, 4)
ON_TIME = [
    ev(1, "2024-11-04T09:00:00", "session_start"),
    ev(1, "2024-11-04T09:01:00", "tile_click", {"tile": "Pledge to vote"}),
    ev(2, "2024-11-05T10:00:00", "session_start"),  # the next day's
    ev(9, "2024-11-04T11:00:00", "session_start", org="org_b"),  # another customer's
]
LATE = [ev(3, "2024-11-04T18:30:00", "session_start"), ev(3, "2024-11-04T18:31:00", "tile_click")]


def _night(day: dt.date):
    """The nightly run for ``day`` (the run's report day, as the date field sets it)."""
    ensure_metadata_db()
    run = load_dag(DAG_ID).test(run_conf={"date": day.isoformat()})
    assert "success" in str(run.state).lower(), run.state
    return run


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = load_events(f"duckdb:///{tmp_path}/warehouse.duckdb", ON_TIME)
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", url)
    monkeypatch.setenv("FLATEXPORT_LATE_EVENT_GRACE_MINUTES", "0")
    monkeypatch.setenv("FLATEXPORT_RESTATEMENT_LOOKBACK_DAYS", "3")
    return url


def test_late_rows_restate_a_delivered_day_with_its_manifest_flag(
    airflow_db, control_db, warehouse, tmp_path
):
    store = ControlStore(control_db)
    out = tmp_path / "org_a"
    sub = store.add_subscription(org_id="org_a", report="clickstream", destination=out.as_uri())
    name = f"clickstream_{DAY}.csv"

    _night(DAY)
    (first,) = store.deliveries(date_from=DAY, date_to=DAY)
    assert (first.status, first.source_rows, first.restatement_of) == ("delivered", 2, None)
    assert first.source_newest == dt.datetime(2024, 11, 4, 9, 1, tzinfo=dt.UTC)
    assert json.loads((out / f"{name}.manifest.json").read_text())["restatement_of"] is None
    assert (out / name).read_text().count("\n") == 2  # header + one session

    # The night after, nothing moved: nothing is restated.
    _night(DAY + dt.timedelta(days=1))
    assert [d.id for d in store.deliveries(date_from=DAY, date_to=DAY)] == [first.id]

    # Late rows for the delivered day land in the source; the next night restates it.
    load_events(warehouse, [*ON_TIME, *LATE])
    run = _night(DAY + dt.timedelta(days=2))
    first_again, restated = store.deliveries(date_from=DAY, date_to=DAY)
    assert first_again == first
    assert restated.status == "delivered", restated.error
    assert (restated.restatement_of, restated.run_id, restated.subscription_id) == (
        first.id,
        run.run_id,
        sub.id,
    )
    assert (restated.source_rows, restated.rows) == (4, 2)
    assert restated.source_newest == dt.datetime(2024, 11, 4, 18, 31, tzinfo=dt.UTC)
    assert (out / name).read_text().count("\n") == 3  # the late session is in the file now
    manifest = json.loads((out / f"{name}.manifest.json").read_text())
    assert manifest["sha256"] == restated.sha256 != first.sha256
    assert manifest["restatement_of"] == {
        "delivery_id": first.id,
        "sha256": first.sha256,
        "rows": 1,
        "delivered_at": first.finished_at.isoformat(timespec="seconds"),
        "source_rows": 2,
    }
    # Each night also delivered its own day; only org_a's subscription exists.
    assert {d.org_id for d in store.deliveries()} == {"org_a"}

    # Restated once: the night after finds the source as the restatement left it.
    _night(DAY + dt.timedelta(days=3))
    assert len(store.deliveries(date_from=DAY, date_to=DAY)) == 2


def test_days_beyond_the_look_back_or_with_it_off_are_left_alone(
    airflow_db, control_db, warehouse, tmp_path, monkeypatch
):
    from flatexport.restatement import changed_days

    store = ControlStore(control_db)
    sub = store.add_subscription(org_id="org_a", report="clickstream", destination=(tmp_path / "a").as_uri())
    _night(DAY)
    load_events(warehouse, [*ON_TIME, *LATE])

    assert changed_days(store, [sub], DAY + dt.timedelta(days=1), days=1)[0]["ds"] == DAY.isoformat()
    assert changed_days(store, [sub], DAY + dt.timedelta(days=2), days=1) == []  # beyond it
    assert changed_days(store, [sub], DAY + dt.timedelta(days=1), days=0) == []  # off
    # the org filter of a run: another org's subscriptions are not asked about
    assert changed_days(store, [], DAY + dt.timedelta(days=1), days=3) == []
