"""Tenant isolation and the cutoff (contract §1, §3, §4): rows of another org never appear,
also when reached through a join; rows created at or after the cutoff never appear; the
queries bind their parameters and filter every table they read by org."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from flatexport.errors import InputError
from flatexport.extract import read_sql_file
from flatexport.paths import include_dir
from flatexport.seed.organizing_schema import ORGANIZING_TABLES
from tests.reports.organizing.contract import ACTION_SCOPED, REPORTS
from tests.reports.organizing.data import CUTOFF, LATE

AFTER_LATE = LATE + dt.timedelta(hours=1)


def sql_of(report: str) -> str:
    return read_sql_file(include_dir() / "sql" / report / "extract.sql")


def _code(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


# --- the queries themselves -------------------------------------------------------------


@pytest.mark.parametrize("report", REPORTS)
def test_every_source_table_read_is_filtered_by_org(report):
    """Each ``FROM``/``JOIN`` of a source table names an alias, and that alias is filtered
    by ``<alias>.org_id = :org_id`` (in its ON or WHERE clause)."""
    code = _code(sql_of(report))
    tables = "|".join(ORGANIZING_TABLES)
    reads = re.findall(rf"\b(?:FROM|JOIN)\s+({tables})\b(?:\s+AS\s+(\w+))?", code)
    assert reads, "the query reads source tables"
    for table, alias in reads:
        assert alias, f"{report}: {table} is read without an alias"
        assert re.search(rf"\b{alias}\.org_id\s*=\s*:org_id\b", code), (
            f"{report}: {table} {alias} not filtered"
        )


@pytest.mark.parametrize("report", REPORTS)
def test_query_takes_only_bound_parameters(report):
    code = _code(sql_of(report))
    assert set(re.findall(r"(?<!:):(\w+)", code)) <= {"org_id", "cutoff", "action_id", "contact_list_id"}
    assert ":cutoff" in code and ":org_id" in code
    assert not re.search(r"\{\w*\}|%\(|%s", code), "no formatting placeholders"


# --- rows of another org ----------------------------------------------------------------


def test_messages_of_another_org_or_action_never_appear(wh):
    ids = wh.export("messages").column("message_id")
    assert 614 not in ids  # o1's row on o2's action
    assert not {1601, 1602} & set(ids)  # o2's rows, one of them on o1's action
    assert 1601 not in wh.export("messages", org="o2").column("message_id")  # its action is o1's
    assert wh.export("messages", org="o2").column("message_id") == [1602]


def test_other_orgs_recipients_do_not_count(wh):
    row = wh.export("actions").by("action_id")[502]
    assert (row["users_sent"], row["completed"], row["performed"]) == (3, 2, 180)  # o2's 9 / 999 left out
    assert 1102 not in wh.export("action_users", action_id=502).column("user_id")


def test_tag_and_value_links_of_another_org_are_ignored(wh):
    report = wh.export("action_reports", action_id=502).by("report_id")[701]
    assert report["tags"] == '["Needs ride","VIP"]'  # not o2's tag, not o2's link to "spaced out"
    assert report["custom_fields"] == '{"Employer":"Acme"}'  # not o2's field, not o2's link


def test_person_of_another_org_leaves_the_cells_empty(wh):
    row = wh.export("action_reports", action_id=502).by("report_id")[708]
    assert row["reportable_id"] == 1301
    assert [
        row[c] for c in ("reportable_name", "reportable_email", "reportable_phone", "reportable_van_id")
    ] == [None] * 4
    story = wh.export("video_stories", action_id=503).by("video_story_id")[904]
    assert (story["user_id"], story["user_email"], story["user_full_name"]) == (1101, None, None)


def test_contacts_and_memberships_pointing_across_orgs_are_not_listed(wh):
    assert 1302 not in wh.export("contacts", contact_list_id=341).column("contact_id")
    with pytest.raises(InputError, match="^unknown contact list 351 for org o1$"):
        wh.export("contacts", contact_list_id=351)  # o2's list, asked for by o1: refused, no file
    assert wh.extract("contacts", contact_list_id=351) is None  # and the query re-checks the list's org
    teams = [(r["user_id"], r["team_id"]) for r in wh.export("teams").rows]
    assert (102, 1201) not in teams and (1101, 201) not in teams
    assert [(r["user_id"], r["team_id"]) for r in wh.export("teams", org="o2").rows] == [(1101, 1201)]


def test_list_of_another_org_has_no_name(wh):
    row = wh.export("actions").by("action_id")[507]
    assert (row["contact_list_id"], row["contact_list_name"]) == (351, None)


@pytest.mark.parametrize("report", ACTION_SCOPED)
def test_action_of_another_org_is_refused_and_its_rows_never_read(wh, report):
    for action in (551, 552):  # o2's P2P and VideoStory actions
        with pytest.raises(InputError, match=f"^unknown action {action} for org o1$"):
            wh.export(report, action_id=action)
        assert not list(wh.out.glob(f"{report}_*"))  # no file, not even a header
        # the queries filter the action by org too, should a scope ever get past the check
        assert wh.extract(report, action_id=action) is None


def test_engage_files_hold_only_the_orgs_reports(wh):
    assert 1703 not in wh.export("engage_reports").column("report_id")
    theirs = wh.export("engage_reports", org="o2").by("report_id")[1703]
    assert theirs["reportable_id"] == 301 and theirs["reportable_name"] is None  # o1's contact stays hidden
    assert [(r["reportable_type"], r["reportable_id"]) for r in wh.export("engage_tags", org="o2").rows] == [
        ("Contact", 301)
    ]


def test_stories_on_another_orgs_action_never_appear(wh):
    # 1901: o2's row on o1's action; 905: o1's row on o2's action
    assert wh.export("video_stories", action_id=503).column("video_story_id") == [901, 902, 904]
    assert wh.export("video_stories", org="o2", action_id=552).column("video_story_id") == [1902]


# --- the cutoff ---------------------------------------------------------------------------

# report -> (scope, key column, keys that appear only once the cutoff passes LATE)
LATE_ROWS = {
    "users": ({}, "user_id", {105}),
    "contacts": ({"contact_list_id": 341}, "contact_id", {305}),
    "actions": ({}, "action_id", {506}),
    "messages": ({}, "message_id", {607, 616}),
    "action_reports": ({"action_id": 502}, "report_id", {706}),
    "action_users": ({"action_id": 502}, "user_id", {105}),
    "action_contacts": ({"action_id": 502}, "contact_id", {306}),
    "engage_reports": ({}, "report_id", {743}),
    "video_stories": ({"action_id": 503}, "video_story_id", {903}),
}


@pytest.mark.parametrize("report", sorted(LATE_ROWS))
def test_rows_created_after_the_cutoff_are_left_out(wh, report):
    scope, key, late = LATE_ROWS[report]
    before = set(wh.export(report, as_of=CUTOFF, **scope).column(key))
    after = set(wh.export(report, as_of=AFTER_LATE, **scope).column(key))
    assert not before & late
    assert after - before == late


def test_cutoff_is_exclusive(wh):
    assert 105 not in wh.export("users", as_of=LATE).column("user_id")
    assert 105 in wh.export("users", as_of=LATE + dt.timedelta(seconds=1)).column("user_id")


def test_late_memberships_and_pairs_are_left_out(wh):
    teams = {(r["user_id"], r["team_id"]) for r in wh.export("teams").rows}
    later = {(r["user_id"], r["team_id"]) for r in wh.export("teams", as_of=AFTER_LATE).rows}
    assert later - teams == {(102, 202), (105, 201)}
    pairs = {(r["action_id"], r["sender_user_id"], r["receiver_id"]) for r in wh.export("user_details").rows}
    assert (502, 101, 306) not in pairs
    assert (502, 101, 306) in {
        (r["action_id"], r["sender_user_id"], r["receiver_id"])
        for r in wh.export("user_details", as_of=AFTER_LATE).rows
    }


def test_late_recipients_do_not_count(wh):
    assert wh.export("actions").by("action_id")[502]["users_sent"] == 3
    assert wh.export("actions", as_of=AFTER_LATE).by("action_id")[502]["users_sent"] == 4


def test_late_reports_change_no_tag_or_value(wh):
    tags = wh.export("action_tags", action_id=502)
    assert "Late tag" not in tags.header
    assert "Late tag" in wh.export("action_tags", action_id=502, as_of=AFTER_LATE).header
    fields = wh.export("action_custom_fields", action_id=502).by("reportable_id")[301]
    assert fields["Employer"] == "Globex"
    later = wh.export("action_custom_fields", action_id=502, as_of=AFTER_LATE).by("reportable_id")[301]
    assert later["Employer"] == "Late Corp"
    engage = wh.export("engage_custom_fields").by("reportable_id")[301]
    assert engage["Employer"] == "Fair Corp"


def test_nightly_cutoff_is_midnight_of_the_next_day_in_the_subscription_zone(wh):
    """The nightly file for D in America/Chicago holds what was created before 00:00 CST of
    D+1 = 06:00 UTC: the message at 03:00 UTC is in, the one at 08:00 UTC is not; in UTC
    neither is. The file is named after D either way, and its manifest window ends at
    the cutoff, with no start."""
    chicago = wh.export("messages", timezone="America/Chicago", action_id=502)
    ids = chicago.column("message_id")
    assert 616 in ids and 607 not in ids
    assert 616 not in wh.export("messages", action_id=502).column("message_id")
    assert chicago.staged.name == "messages_action-502_2024-11-04.csv"
    assert (chicago.staged.window_start, chicago.staged.window_end) == ("", "2024-11-05T06:00:00+00:00")
    same = wh.export(
        "messages", as_of=dt.datetime(2024, 11, 5, tzinfo=ZoneInfo("America/Chicago")), action_id=502
    )
    assert same.column("message_id") == ids  # the same instant, asked for on demand


def test_on_demand_cutoff_is_the_moment_in_utc_and_names_its_utc_date(wh):
    """An on-demand request at 2024-11-04 23:30:00.6 in Chicago (05:30 UTC on the 5th) holds
    rows created before 05:30:00 UTC, shows times in UTC, and is named after the 5th."""
    moment = dt.datetime(2024, 11, 4, 23, 30, 0, 600000, tzinfo=ZoneInfo("America/Chicago"))
    result = wh.export("messages", as_of=moment, action_id=502)
    assert result.staged.name == "messages_action-502_2024-11-05.csv"
    assert result.staged.window_end == "2024-11-05T05:30:00+00:00"
    assert 616 in result.column("message_id")  # 03:00 UTC
    assert all(r["created_at"].utcoffset() == dt.timedelta(0) for r in result.rows)
