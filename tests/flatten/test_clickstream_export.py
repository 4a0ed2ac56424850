"""Whole-file behaviour customers rely on: which sessions land in which day's file,
formats, determinism, tenant isolation, and the same file from DuckDB and PostgreSQL."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from flatexport.errors import InputError
from tests.support.events import ev


def test_session_crossing_midnight_belongs_to_its_start_day_only(export_events):
    events = [
        ev(1, "2024-11-03T23:30:00", "session_start"),  # previous day's session, still running at midnight
        ev(1, "2024-11-04T00:40:00", "turnout.get_started_clicked"),
        ev(2, "2024-11-04T23:50:00", "session_start"),  # today's, crosses into tomorrow
        ev(2, "2024-11-05T01:10:00", "turnout.plan_created", {"vote_at": "2024-11-05T08:00:00-05:00"}),
    ]
    today = export_events(events)
    assert [r["session_id"] for r in today.rows] == ["2"]
    assert today.rows[0]["voting_plan_created"] == "true"  # the after-midnight event counted
    yesterday = export_events(events, ds="2024-11-03")
    assert [r["session_id"] for r in yesterday.rows] == ["1"]
    assert yesterday.rows[0]["intro_step_get_started_clicked"] == "true"
    tomorrow = export_events(events, ds="2024-11-05")
    assert tomorrow.rows == []
    assert tomorrow.text.count("\n") == 1  # header only


def test_dst_fall_back_day_in_chicago_has_25_hours(export_events):
    events = [
        ev(1, "2024-11-03T04:30:00", "session_start"),  # 23:30 CDT on Nov 2: previous day
        ev(2, "2024-11-03T06:30:00", "session_start"),  # 01:30 CDT (first pass)
        ev(3, "2024-11-03T07:30:00", "session_start"),  # 01:30 CST (second pass)
        ev(4, "2024-11-04T05:30:00", "session_start"),  # 23:30 CST on Nov 3, hour 25
        ev(5, "2024-11-04T06:00:00", "session_start"),  # 00:00 CST Nov 4: next day
    ]
    out = export_events(events, ds="2024-11-03", timezone="America/Chicago")
    assert [(r["session_id"], r["session_start"], r["ds"]) for r in out.rows] == [
        ("2", "2024-11-03T01:30:00-05:00", "2024-11-03"),
        ("3", "2024-11-03T01:30:00-06:00", "2024-11-03"),
        ("4", "2024-11-03T23:30:00-06:00", "2024-11-03"),
    ]
    assert out.staged.window_start == "2024-11-03T05:00:00+00:00"
    assert out.staged.window_end == "2024-11-04T06:00:00+00:00"


def test_rows_ordered_by_session_start_then_session_id(export_events):
    out = export_events(
        [
            ev(30, "2024-11-04T12:00:00", "session_start"),
            ev(20, "2024-11-04T09:00:00.700", "session_start"),
            ev(10, "2024-11-04T09:00:00.100", "session_start"),
            ev(5, "2024-11-04T15:00:00", "session_start"),
        ]
    )
    assert [r["session_id"] for r in out.rows] == ["10", "20", "30", "5"]


def test_zip_leading_zero_and_alphanumeric_house_number_survive(export_events):
    out = export_events(
        [
            ev(
                1,
                "2024-11-04T10:00:00",
                "widget.address_submitted",
                {"address": "221B Baker St, Cambridge, MA 02139"},
            )
        ]
    )
    assert ",221B,Baker St,Cambridge,MA,02139," in out.text


def test_formula_cells_are_neutralised_but_phone_numbers_and_numbers_are_not(export_events):
    out = export_events(
        [
            ev(
                1,
                "2024-11-04T10:00:00",
                "widget.address_submitted",
                {
                    "first_name": '=HYPERLINK("http://evil")',
                    "last_name": "@SUM(A1)",
                    "phone": "+1 555 0100",
                    "email": "-2+3",
                    "ballot_id": "-12",
                },
            ),
            ev(
                2,
                "2024-11-04T10:01:00",
                "registration.reminders_submitted",
                {"phone": "+15550100", "email": "\tx"},
            ),
        ]
    )
    rows = out.by_session()
    assert rows["1"]["first_name"] == '\'=HYPERLINK("http://evil")'
    assert rows["1"]["last_name"] == "'@SUM(A1)"
    assert rows["1"]["phone"] == "+1 555 0100"
    assert rows["1"]["email"] == "'-2+3"
    assert rows["1"]["ballot_id"] == "-12"  # a plain number
    assert rows["2"]["phone_reminders"] == "+15550100"
    assert rows["2"]["email_reminders"] == "'\tx"


def test_line_breaks_inside_cells_are_quoted_and_empty_text_is_an_empty_cell(export_events):
    props = {"first_name": "Ann\rLee", "last_name": "Two\nLines", "phone": "a\r\nb", "email": ""}
    out = export_events([ev(1, "2024-11-04T10:00:00", "widget.address_submitted", props)])
    # first_name, last_name, phone, email, opt_in: a bare CR is quoted too (Excel splits
    # rows on it), and empty text is an empty cell, not "".
    assert ',"Ann\rLee","Two\nLines","a\r\nb",,,' in out.text
    (row,) = out.rows
    assert (row["first_name"], row["last_name"], row["phone"], row["email"]) == (
        "Ann\rLee",
        "Two\nLines",
        "a\r\nb",
        "",
    )


def test_another_orgs_events_never_appear(export_events):
    events = [
        ev(1, "2024-11-04T10:00:00", "widget.address_submitted", {"email": "a@org-a.example"}, org="org_a"),
        ev(2, "2024-11-04T10:00:00", "widget.address_submitted", {"email": "b@org-b.example"}, org="org_b"),
        # a session id reused by another tenant's tracker must not merge into org_a's session
        ev(1, "2024-11-04T10:05:00", "pledge.completed", {"name_entered": "B"}, org="org_b"),
    ]
    out = export_events(events, org="org_a")
    assert [r["email"] for r in out.rows] == ["a@org-a.example"]
    assert out.rows[0]["pledged_name_entered"] == ""
    assert "org-b" not in out.text


def _busy_day() -> list[dict]:
    events = []
    for s in range(1, 301):
        minute = s % 1400
        at = f"2024-11-04T{minute // 60:02d}:{minute % 60:02d}:00"
        events += [
            ev(s, at, "session_start", locale="en-US", page_url=f"https://v.example/?utm_source=s{s % 3}"),
            ev(s, at, "tile_click", {"tile": f"T{s % 4}"}),
            ev(
                s,
                at,
                "widget.address_submitted",
                {"address": f"{s} Main St, Newark, NJ 07102", "opt_in": s % 2 == 0},
            ),
            ev(s, at, "pledge.completed", {"reasons": ["x", "y"]}),
        ]
    return events


def test_same_input_gives_byte_identical_files_and_chunking_does_not_matter(export_events, tmp_path):
    from flatexport.export import run_export
    from flatexport.subscriptions import Subscription

    first = export_events(_busy_day())
    second = export_events(_busy_day())
    assert Path(first.staged.path).read_bytes() == Path(second.staged.path).read_bytes()
    assert first.staged.sha256 == second.staged.sha256
    assert first.staged.rows == 300

    # Tiny batches split sessions across fetches; whole-session regrouping must hide that.
    sub = Subscription(id="c", org_id="org_a", report="clickstream", destination="file:///tmp/x")
    url = f"duckdb:///{tmp_path}/w1.duckdb"
    small = run_export(sub, "2024-11-04", source_url=url, out_path=tmp_path / "small.csv", batch_rows=7)
    assert small.sha256 == first.staged.sha256


def test_gzip_is_deterministic_and_jsonl_has_native_types(export_events):
    a = export_events(_busy_day(), format="csv.gz")
    b = export_events(_busy_day(), format="csv.gz")
    plain = export_events(_busy_day())
    assert Path(a.staged.path).read_bytes() == Path(b.staged.path).read_bytes()
    assert gzip.decompress(Path(a.staged.path).read_bytes()).decode() == plain.text
    assert a.staged.name == "clickstream_2024-11-04.csv.gz"

    j = export_events(_busy_day(), format="jsonl")
    lines = Path(j.staged.path).read_text().splitlines()
    first = json.loads(lines[0])
    assert list(first)[:3] == ["session_id", "session_start", "ds"]
    assert first["session_id"] == 1 and first["address_form_submitted"] == 1
    assert first["opt_in"] is False and first["pledge_reasons"] == ["x", "y"]
    assert first["n_positions_viewed"] is None  # no ballot engine in the session
    assert j.staged.name == "clickstream_2024-11-04.jsonl"


def test_column_subset_and_pii_exclusion(export_events):
    out = export_events(_busy_day()[:8], columns=["session_id", "email", "zipcode", "city"], exclude_pii=True)
    assert out.text.splitlines()[0] == "session_id,zipcode"
    with pytest.raises(InputError, match="no column.*nope"):
        export_events(_busy_day()[:4], columns=["session_id", "nope"])


@pytest.mark.postgres
def test_duckdb_and_postgresql_give_identical_files(export_events, pg_database):
    events = _busy_day() + [
        ev(
            999,
            "2024-11-04T20:00:00",
            "turnout.date_selected",
            {"polling_date": "2024-11-05", "early_voting": True},
        ),
        ev(999, "2024-11-04T20:00:01", "pledge.completed", {"reasons": ["Ünïcode, ok", 'quote " here']}),
        ev(999, "2024-11-04T20:00:02", "ballot.issue_viewed", {"id": 12}),
    ]
    duck = export_events(events)
    pg = export_events(events, url=pg_database)
    assert pg.staged.rows == duck.staged.rows == 301
    assert pg.text == duck.text
    assert pg.staged.sha256 == duck.staged.sha256


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "jsonl"])
def test_parallel_time_slices_give_the_same_bytes(export_events, monkeypatch, fmt):
    events = _busy_day() + [ev(5000, "2024-11-04T12:00:00", "widget.opened")]  # on the slice boundary
    single = export_events(events, format=fmt)
    monkeypatch.setenv("FLATEXPORT_EXPORT_WORKERS", "2")
    sliced = export_events(events, format=fmt)
    assert Path(sliced.staged.path).read_bytes() == Path(single.staged.path).read_bytes()
    assert (sliced.staged.rows, sliced.staged.sha256) == (single.staged.rows, single.staged.sha256)
    assert sliced.staged.warnings == single.staged.warnings == {"unknown event widget.opened": 1}


def test_text_cells_one_pass_guard():
    import pandas as pd

    from flatexport.write import text_cells

    values = pd.Series(["a", None, "", "=1+1", "+1 555 0100", "-12", 7, float("nan"), pd.NA, "@x", "\tt"])
    assert text_cells(values.astype(object)).tolist() == [
        "a",
        None,
        None,
        "'=1+1",
        "+1 555 0100",
        "-12",
        "7",
        None,
        None,
        "'@x",
        "'\tt",
    ]
