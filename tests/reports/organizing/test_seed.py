"""The organizing sample data: deterministic, holding every case the contract's edge-case
table names, loadable into DuckDB and PostgreSQL, and sized by configuration; every
report gives the same rows on both engines over it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from flatexport.families.organizing_support import normalise_name
from flatexport.seed.organizing import (
    BULK_OFFSET,
    DEFAULT_AS_OF,
    DELETED_P2P,
    F2F,
    ID_BLOCK,
    MAIN_LIST,
    P2P,
    VIDEO,
    OrganizingSizes,
    default_sizes,
    generate_organizing,
    load_organizing,
)
from flatexport.seed.organizing_schema import ORGANIZING_TABLES
from tests.reports.organizing.conftest import Warehouse
from tests.reports.organizing.contract import REPORTS

SMALL = OrganizingSizes(users=30, contacts=120, actions=6, messages=400, reports=120, video_stories=6)
ORGS = ["org_a", "org_b"]
AS_OF = pd.Timestamp(DEFAULT_AS_OF, tz="UTC")


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return generate_organizing(ORGS, {o: SMALL for o in ORGS}, seed=3)


def test_deterministic_for_a_seed(frames):
    again = generate_organizing(ORGS, {o: SMALL for o in ORGS}, seed=3)
    other = generate_organizing(ORGS, {o: SMALL for o in ORGS}, seed=4)
    for table in ORGANIZING_TABLES:
        pd.testing.assert_frame_equal(frames[table], again[table])
    assert not frames["messages"]["body"].equals(other["messages"]["body"])


def test_every_table_is_filled_with_unique_ids(frames):
    for table in ORGANIZING_TABLES:
        assert len(frames[table]) > 0, table
    for table in (
        "org_users",
        "teams",
        "contact_lists",
        "contacts",
        "actions",
        "messages",
        "outreach_reports",
    ):
        assert frames[table]["id"].is_unique, table
    assert not frames["team_memberships"].duplicated(["team_id", "user_id"]).any()
    assert not frames["report_tags"].duplicated(["report_id", "tag_id"]).any()
    assert not frames["report_custom_fields"].duplicated(["report_id", "custom_field_id"]).any()


def test_sizes_are_configurable(frames):
    per_org = frames["messages"].groupby("org_id").size()
    assert (per_org >= SMALL.messages).all()
    bigger = generate_organizing(["org_a"], {"org_a": SMALL.scaled(3)}, seed=3)
    assert len(bigger["messages"]) - len(frames["messages"][frames["messages"]["org_id"] == "org_a"]) == 800
    sizes = default_sizes(["org_acme", "org_tiny"])
    assert sizes["org_tiny"].messages * 20 == sizes["org_acme"].messages
    assert OrganizingSizes.large().messages >= 1_000_000


def test_actions_of_every_type_state_and_a_late_one(frames):
    actions = frames["actions"]
    assert set(actions["action_type"]) == {"TextaFriend", "TextaList", "VideoStory"}
    assert {"Published", "Closed", "Deleted"} <= set(actions["aasm_state"])
    assert (actions["created_at"] >= AS_OF).any()


def test_messages_hold_the_p2p_and_f2f_cases(frames):
    m = frames["messages"].merge(
        frames["actions"][["id", "action_type"]].rename(columns={"id": "action_id"}), on="action_id"
    )
    p2p, f2f = m[m["action_type"] == "TextaList"], m[m["action_type"] == "TextaFriend"]
    assert p2p["sender_number"].notna().any()  # stored, to be written empty
    assert f2f["aasm_state"].notna().all()  # stored, to be written empty
    errors = m[m["aasm_state"] == "error"]
    assert errors["error_code"].notna().all() and set(errors["twilio_status"]) == {"undelivered"}
    assert ((m["sender_type"] == "Contact") & m["script_type"].isna()).any()
    first = m["body"].dropna().str[0]
    assert {"=", "+", "-", "@"} <= set(first)
    assert m["body"].str.contains("\n", na=False).any()


def test_people_cases(frames):
    contacts, users = frames["contacts"], frames["org_users"]
    assert contacts["van_id"].isna().any() and contacts["van_id"].notna().any()
    assert contacts["contact_list_id"].isna().any()  # friends in no list
    assert set(users["role"]) == {"admin", "volunteer"}
    per_user = frames["team_memberships"].groupby("user_id").size()
    assert (per_user >= 2).any()


def test_reports_tags_and_fields_that_need_care(frames):
    reports = frames["outreach_reports"]
    assert reports["action_id"].isna().any() and reports["action_id"].notna().any()
    assert set(reports["reportable_type"]) == {"Contact", "User"}
    for table, kind in (("tags", "tag"), ("custom_fields", "custom_field")):
        names = frames[table][frames[table]["org_id"] == "org_a"]
        raw = names["name"].tolist()
        assert "" in raw and "reportable_name" in raw
        assert any(any(ord(ch) < 32 for ch in n) for n in raw)
        assert any("," in n for n in raw) and any(not n.isascii() for n in raw)
        normalised = [normalise_name(n, i, kind) for i, n in zip(names["id"], raw, strict=True)]
        assert len(set(normalised)) < len(normalised)  # names that collide once normalised
    values = frames["report_custom_fields"].merge(
        reports[["id", "reportable_type", "reportable_id"]].rename(columns={"id": "report_id"}),
        on="report_id",
    )
    values = values[values["value"].fillna("") != ""]
    per_person = values.groupby(["reportable_type", "reportable_id", "custom_field_id"])["value"].nunique()
    assert (per_person > 1).any()  # two reports of one person with different values


def test_rows_point_across_orgs_and_after_the_cutoff(frames):
    a, b = 1 * ID_BLOCK, 2 * ID_BLOCK
    messages = frames["messages"]
    assert ((messages["org_id"] == "org_b") & (messages["action_id"] == a + P2P)).any()
    assert (
        (frames["report_tags"]["org_id"] == "org_a") & (frames["report_tags"]["tag_id"] // ID_BLOCK == 2)
    ).any()
    assert (
        (frames["contacts"]["org_id"] == "org_a") & (frames["contacts"]["contact_list_id"] == b + MAIN_LIST)
    ).any()
    for table in (
        "org_users",
        "contacts",
        "messages",
        "outreach_reports",
        "video_stories",
        "team_memberships",
    ):
        assert (frames[table]["created_at"] >= AS_OF).any(), table


def test_loads_into_duckdb_and_postgresql_with_the_same_output(tmp_path, pg_database, data_dir):
    """Every report, for one org, is the same on both engines over the generated data."""
    data = generate_organizing(["org_acme", "org_civic"], {"org_acme": SMALL, "org_civic": SMALL}, seed=5)
    duck = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    counts = load_organizing(duck, data)
    assert load_organizing(pg_database, data) == counts
    assert counts["messages"] == len(data["messages"])
    day = DEFAULT_AS_OF - dt.timedelta(
        days=1
    )  # its cutoff, 00:00 of the default as-of day, keeps late rows out
    scope = {
        "contacts": {"contact_list_id": ID_BLOCK + MAIN_LIST},
        "video_stories": {"action_id": ID_BLOCK + VIDEO},
        "action_contacts": {"action_id": ID_BLOCK + P2P},
    }
    for report in REPORTS:
        if report.startswith("action_") and report not in scope:
            actions = [F2F, P2P, DELETED_P2P, BULK_OFFSET + 1]
        else:
            actions = [None]
        for action in actions:
            kw = scope.get(report, {"action_id": ID_BLOCK + action} if action else {})
            on_duck = Warehouse("duckdb", duck, tmp_path).export(report, "org_acme", day, **kw)
            on_pg = Warehouse("postgres", pg_database, tmp_path).export(report, "org_acme", day, **kw)
            assert on_duck.text == on_pg.text, report  # byte for byte the same file
            assert on_duck.rows, report
    from flatexport.source import engine_for

    engine_for.cache_clear()  # the fixture drops the database next


def test_a_single_org_loads(tmp_path):
    """Its cross-org rows point at ids no org owns, so keys stay unique."""
    data = generate_organizing(["solo"], {"solo": SMALL.scaled(0.1)}, seed=1)
    assert load_organizing(f"duckdb:///{tmp_path / 'solo.duckdb'}", data)["team_memberships"] > 0
