"""Activity report: every row of the reference's tables, label templates, unknown kinds,
entry selection, order, time zones, breakouts, tenant isolation and DuckDB/PostgreSQL parity.

The expected rows live in data/exporter_rows.csv, generated once from the reference guide
(shared/seeds/user-activity-exporter.txt) with the contract's typo fix and the decisions
for blank rows marked in its `origin` column, so CI does not read ../shared at run time.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from flatexport.export import flatten_context
from flatexport.families.activity_docs import render
from flatexport.families.activity_events import flatten_events
from flatexport.families.activity_map import fill_template, kind_map, template_parts
from flatexport.flatten import FlattenContext
from flatexport.flatten.coercion import to_datetime_text
from flatexport.seed.activity import create_tables
from flatexport.seed.load import open_sink
from flatexport.specs import load_spec
from flatexport.subscriptions import Subscription
from flatexport.window import day_window

ROWS_CSV = Path(__file__).parent / "data" / "exporter_rows.csv"
EXPECTED = list(csv.DictReader(ROWS_CSV.open(encoding="utf-8")))

# Sample payload and content values, and what each bracketed part must read with them
# (an oracle written independently of the spec's placeholder table).
PAYLOAD = {
    "text": "Great session!",
    "answer": "Blue",
    "rating": "4",
    "emoji": "Love",
    "post_id": "1001",
    "tag": "help",
    "topic": "Onboarding",
    "file": "agenda.pdf",
    "report": "Attendance",
    "tab": "Content",
    "certificate": "CE 2026",
    "notification": "Starts soon",
    "viewed_user": "Ana Smith",
    "slug": "speakers/ana",
    "url": "https://example.org/x?a=1",
    "progress": "40%",
}
CONTENT_NAME, CONTENT_SLUG = "Intro course", "intro-course"
ORACLE = {
    "[Report name]": "Attendance",
    "[Name of the tab viewed, such as “Content”]": "Content",
    "[Chat message text]": "Great session!",
    "[Question text]": "Great session!",
    "[Question text along with the answer text]": "Great session! / Blue",
    "[Emoji name]": "Love",
    "[Comment text]": "Great session!",
    "[Slug of the content that was completed to earn the credit]": CONTENT_SLUG,
    "[Certificate name]": "CE 2026",
    "[Course title]": CONTENT_NAME,
    "[Lesson title]": CONTENT_NAME,
    "[File name]": "agenda.pdf",
    "[Content of the post]": "Great session!",
    "[Post ID + Comment text]": "1001 Great session!",
    "[Post ID + Tag name]": "1001 help",
    "[Topic title]": "Onboarding",
    "[Message text]": "Great session!",
    "[Content of the notification]": "Starts soon",
    "[Answer text]": "Blue",
    "[Response text]": "Blue",
    "[Viewed user's name]": "Ana Smith",
    "[Page slug]": "speakers/ana",
    "[URL]": "https://example.org/x?a=1",
    "[Progress percent]": "40%",
}


def ctx_for(**sub_kw) -> FlattenContext:
    spec = load_spec("activity")
    sub = Subscription(id=1, org_id="org_a", report="activity", destination="file:///x", **sub_kw)
    return flatten_context(spec, sub, day_window("2026-11-02", sub.timezone))


def event(kind: str, content_type: str | None = "OTSession", event_id: int = 1, **payload) -> dict:
    row = {
        "event_id": event_id,
        "event_time": pd.Timestamp("2026-11-02 15:04:05.250", tz="UTC"),
        "user_id": 7,
        "first_name": "Ana",
        "last_name": "Smith",
        "company": "Acme",
        "email": "ana@example.com",
        "kind": kind,
        "content_id": 99 if content_type else None,
        "content_name": CONTENT_NAME if content_type else None,
        "content_slug": CONTENT_SLUG if content_type else None,
        "content_type": content_type,
    }
    keys = [*PAYLOAD, "question_type", "meeting_type"]
    row |= {f"p_{k}": payload.get(k) for k in keys}
    return row


def flatten(events: list[dict], **sub_kw) -> tuple[pd.DataFrame, Counter]:
    ctx = ctx_for(**sub_kw)
    out = flatten_events(pd.DataFrame(events), ctx)
    return out, ctx.warnings


def expected_for(row: dict[str, str]) -> tuple[dict, str, str]:
    """(event for this reference row, expected Category, expected Label)."""
    key, _, value = row["variant"].partition("=")
    others = [r for r in EXPECTED if r["kind"] == row["kind"] and r["variant"]]
    content_type = "OTSession"
    extra: dict[str, str] = {}
    if key == "content_type":
        content_type = value
    elif key:
        extra[key] = value
    elif others:  # the unconditional row of a split name: a value no other row names
        other_key = others[0]["variant"].partition("=")[0]
        if other_key == "content_type":
            content_type = "Video"
        else:
            extra[other_key] = "True or False"
    category = row["category"].replace("[content type]", content_type)
    category = category.replace("[Question type]", extra.get("question_type", ""))
    label = "" if row["label"] == "N/A" else row["label"]
    for placeholder, text in ORACLE.items():
        label = label.replace(placeholder, text)
    if row["label"] == "Rating: [Rating 1-5] / [Review text]":
        label = "Rating: 4 / Great session!"
    return event(row["kind"], content_type, **PAYLOAD, **extra), category, label


def test_spec_map_is_the_reference_table():
    """The spec holds exactly the reference's rows, in order (plus marked decisions)."""
    rows = kind_map(load_spec("activity")).rows
    got = [(r.kind, r.category, r.action, r.label or "N/A") for r in rows]
    want = [(e["kind"], e["category"], e["action"], e["label"]) for e in EXPECTED]
    assert got == want
    # seed: the reference; draft: entries only the older draft guide describes (issue 10)
    assert {e["origin"] for e in EXPECTED} == {"seed", "fixed", "decision", "draft"}
    assert not any("Content - Content" in r.category for r in rows)


@pytest.mark.parametrize("row", EXPECTED, ids=[f"{r['kind']}[{r['variant'] or '-'}]" for r in EXPECTED])
def test_every_reference_row(row):
    ev, category, label = expected_for(row)
    out, warnings = flatten([ev])
    assert out.loc[0, "category"] == category
    assert out.loc[0, "action"] == row["action"]
    assert (out.loc[0, "label"] or "") == label
    assert not warnings


@pytest.mark.parametrize(
    ("payload", "label"),
    [
        ({"rating": "4", "text": "great session!"}, "Rating: 4 / great session!"),
        ({"rating": "4"}, "Rating: 4"),
        ({"rating": "4", "text": "   "}, "Rating: 4"),
        ({"text": "great session!"}, "great session!"),
        ({}, None),
    ],
)
def test_review_label_without_dangling_separators(payload, label):
    out, _ = flatten([event("content.user_submitted_a_review", **payload)])
    assert out.loc[0, "label"] == label


@pytest.mark.parametrize(
    ("payload", "label"),
    [
        ({"post_id": "1001", "text": "Nice"}, "1001 Nice"),
        ({"post_id": "1001"}, "1001"),
        ({"text": "Nice"}, "Nice"),
        ({}, None),
    ],
)
def test_post_id_and_comment(payload, label):
    out, _ = flatten([event("feed.commented", None, **payload)])
    assert out.loc[0, "label"] == label
    assert out.loc[0, "category"] == "Feed"


def test_template_parts_and_fill():
    assert template_parts("N/A") == []
    assert template_parts("Rating: [Rating 1-5] / [Review text]") == [
        ("Rating: ", "[Rating 1-5]"),
        (" / ", "[Review text]"),
    ]
    frame = pd.DataFrame({"p_text": ["a", None, ""], "p_answer": ["b", "c", None]})
    placeholders = load_spec("activity").options.placeholders
    filled = fill_template("[Question text along with the answer text]", frame, placeholders)
    assert list(filled) == ["a / b", "c", ""]


def test_content_category_without_content_row():
    out, _ = flatten([event("content.viewed", None)])
    assert out.loc[0, "category"] == "Content"
    assert pd.isna(out.loc[0, "content_id"])


def test_unknown_kind_is_exported_and_warned():
    out, warnings = flatten([event("legacy.tile_clicked", text="x"), event("content.viewed", event_id=2)])
    assert list(out["category"]) == ["legacy.tile_clicked", "Content - OTSession"]
    assert pd.isna(out.loc[0, "action"]) and pd.isna(out.loc[0, "label"])
    assert warnings == Counter({"unknown kind legacy.tile_clicked": 1})


def test_unmatched_variant_falls_back_and_warns():
    out, warnings = flatten([event("message.meeting_scheduled", None, meeting_type="group")])
    assert out.loc[0, "action"] == "Meeting Scheduled"
    assert warnings == Counter({"unmatched variant message.meeting_scheduled": 1})


def test_entries_select_kinds_and_sections():
    events = [
        event("content.viewed", event_id=1),
        event("feed.posted", None, event_id=2, text="hi"),
        event("feed.tag", None, event_id=3, post_id="5", tag="x"),
        event("user.create", None, event_id=4),
        event("legacy.thing", None, event_id=5),
    ]
    out, warnings = flatten(events, scope={"entries": ["content.viewed", "feed"]})
    assert list(out["action"]) == ["View", "Post", "Tag"]
    assert warnings == Counter({"unknown kind legacy.thing": 1})
    all_rows, _ = flatten(events)
    assert len(all_rows) == 5
    with pytest.raises(ValidationError, match="unknown exporter entries: no.such"):
        flatten(events, scope={"entries": ["content.viewed", "no.such"]})


def test_local_time_crosses_dst():
    times = pd.Series(
        pd.to_datetime(["2026-11-01 06:30:00.9", "2026-11-01 07:30:00.0", None], utc=True, format="ISO8601")
    )
    assert list(to_datetime_text(times, "America/Chicago")) == [
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T01:30:00-06:00",
        None,
    ]


def test_docs_render_every_section_and_decision():
    spec = load_spec("activity")
    page = render(spec)
    for title in ["Admin", "Content", "Courses and lessons", "Messages and Meetings", "Questions (courses)"]:
        assert f"## {title}\n" in page
    assert page.count("| Name in exporter | Definition") == 15
    assert "| Chat Message |" in page and "*Decision:" in page
    assert "| Content - Content - Lesson |" not in page
    table_rows = [
        line for line in page.splitlines() if line.startswith("| ") and "Name in exporter" not in line
    ]
    assert len(table_rows) == len(EXPECTED)


# --------------------------------------------------------------------------- end to end
def _hand_warehouse(url: str) -> None:
    """Two orgs; a breakout; same-second events whose ids do not follow time; DST night."""
    users = pd.DataFrame(
        {
            "user_id": [1, 2],
            "org_id": ["org_a", "org_b"],
            "first_name": ["Ana", "Bo"],
            "last_name": ["Smith", "Okafor"],
            "company": ["Acme", "Globex"],
            "email": ["ana@a.example", "bo@b.example"],
            "tags": ['["vip"]', None],
            "dimensions": ['{"phone": "+1 555 0100"}', None],
            "created_at": pd.to_datetime(["2026-01-01", "2026-01-01"], utc=True),
        }
    )
    content = pd.DataFrame(
        {
            "content_id": [10, 11, 20],
            "org_id": ["org_a", "org_a", "org_b"],
            "name": ["Keynote", "ignored", "Other org"],
            "slug": ["keynote", "breakout-11", "other"],
            "content_type": ["OTSession", "BreakoutOTSession", "OTSession"],
            "parent_id": pd.array([None, 10, None], dtype="Int64"),
        }
    )
    times = pd.to_datetime(
        [
            "2026-11-01 06:30:00.900",  # 01:30 CDT
            "2026-11-01 06:30:00.100",  # same second, later id, earlier instant
            "2026-11-01 07:30:00",  # 01:30 CST, after the fall-back
            "2026-11-01 04:59:59",  # still Oct 31 in Chicago
            "2026-11-01 08:00:00",  # the other org
        ],
        utc=True,
        format="ISO8601",
    )
    events = pd.DataFrame(
        {
            "event_id": [5, 9, 3, 1, 7],
            "org_id": ["org_a", "org_a", "org_a", "org_a", "org_b"],
            "user_id": [1, 1, 1, 1, 2],
            "event_time": times,
            "kind": [
                "content.joined",
                "content.chat_message",
                "content.user_submitted_a_review",
                "page.viewed",
                "page.viewed",
            ],
            "content_id": pd.array([11, 11, 10, None, 20], dtype="Int64"),
            "payload": [None, '{"text": "hi, \\"all\\""}', '{"rating": 5}', "{}", None],
        }
    )
    with open_sink(url) as sink:
        create_tables(sink)
        sink.append("platform_users", users, ("tags", "dimensions"))
        sink.append("content", content)
        sink.append("activity_events", events, ("payload",))


def test_end_to_end_order_breakout_timezone_and_isolation(tmp_path, export):
    url = f"duckdb:///{tmp_path / 'hand.duckdb'}"
    _hand_warehouse(url)
    staged, rows, text = export("activity", url, ds="2026-11-01", org="org_a", timezone="America/Chicago")
    assert text.splitlines()[0] == (
        "User ID,First,Last,Company,Email,Category,Action,Label,Date/Time,"
        "Content ID,Content Name,Content Slug"
    )
    assert [r["Date/Time"] for r in rows] == [
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T01:30:00-06:00",
    ]
    assert [r["Action"] for r in rows] == ["Join", "Chat", "Review"]  # same second: event id 5 before 9
    assert rows[0]["Content Name"] == "Breakout from Keynote #11"
    assert rows[0]["Category"] == "Content - BreakoutOTSession"
    assert rows[1]["Label"] == 'hi, "all"'
    assert rows[2]["Label"] == "Rating: 5"
    assert "Other org" not in text and "bo@b.example" not in text
    assert staged.rows == 3 and staged.warnings == {}


def test_seeded_warehouse_covers_all_kinds(warehouse, export):
    staged, rows, text = export("activity", warehouse)
    assert staged.rows == len(rows) > 100
    assert all(r["Email"].endswith("@org_acme.example") for r in rows if r["Email"])
    assert "org_globex" not in text
    assert [r["Date/Time"] for r in rows] == sorted(r["Date/Time"] for r in rows)
    assert rows[0]["Date/Time"] == "2026-11-02T00:00:00+00:00"
    assert {"unknown kind legacy.tile_clicked"} <= set(staged.warnings)
    pairs = {(r["Category"].split(" - ")[0], r["Action"]) for r in rows}
    for e in EXPECTED:
        assert (e["category"].split(" - ")[0], e["action"]) in pairs, e
    breakouts = [r for r in rows if r["Category"] == "Content - BreakoutOTSession"]
    assert breakouts and all(r["Content Name"].startswith("Breakout from Keynote, day") for r in breakouts)


def test_same_day_rerun_is_byte_identical(warehouse, export):
    first, _, _ = export("activity", warehouse)
    again, _, _ = export("activity", warehouse)
    assert first.sha256 == again.sha256


@pytest.mark.postgres
def test_postgres_and_duckdb_files_are_identical(pg_database, warehouse, export, tmp_path):
    from tests.reports.conftest import seed_all

    seed_all(pg_database)
    for report, kw in [
        ("activity", {"timezone": "America/Chicago"}),
        ("activity", {"scope": {"entries": ["content", "feed.commented"]}}),
        ("unique_users", {}),
        ("planroom_activity", {}),
        ("planroom_activity", {"scope": {"company_id": 101}}),
        ("planroom_summary", {"timezone": "Asia/Kolkata"}),
    ]:
        duck, _, duck_text = export(report, warehouse, **kw)
        pg, _, pg_text = export(report, pg_database, **kw)
        assert duck.rows > 0, report
        assert pg_text == duck_text, (report, kw)
        assert pg.sha256 == duck.sha256


def test_window_is_the_subscription_day():
    window = day_window(dt.date(2026, 11, 1), "America/Chicago")
    assert window.end - window.start == dt.timedelta(hours=25)
