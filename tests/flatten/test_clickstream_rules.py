"""One test per column rule of the clickstream contract, on small hand-made sessions."""

from __future__ import annotations

import json

from flatexport.specs import load_spec
from tests.support.events import IPAD, IPHONE, MAC, WIN7, WIN10, ev


def test_header_is_the_contract_column_order(export_events):
    out = export_events([ev(1, "2024-11-04T10:00:00", "session_start")])
    header = out.text.splitlines()[0].split(",")
    assert header == load_spec("clickstream").column_names
    assert len(header) == 68


def test_key_start_and_ds_come_from_the_first_event_of_any_name(export_events):
    out = export_events(
        [
            ev(7, "2024-11-04T10:00:05.900", "tile_click", {"tile": "Pledge to vote"}),
            ev(7, "2024-11-04T10:00:09", "session_start"),
        ]
    )
    (row,) = out.rows
    assert row["session_id"] == "7"
    assert row["session_start"] == "2024-11-04T10:00:05+00:00"
    assert row["ds"] == "2024-11-04"


def test_context_columns_take_the_first_non_empty_value(export_events):
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "session_start", locale="", referrer=None),
            ev(
                1,
                "2024-11-04T10:00:01",
                "tile_click",
                {"tile": "A"},
                locale="es-US",
                referrer="https://news.example/",
            ),
            ev(
                1,
                "2024-11-04T10:00:02",
                "tile_click",
                {"tile": "B"},
                locale="en-US",
                referrer="https://other.example/",
            ),
        ]
    )
    row = out.rows[0]
    assert row["locale"] == "es-US"
    assert row["initial_referrer"] == "https://news.example/"


def test_device_type_and_operating_system(export_events):
    agents = {1: WIN10, 2: WIN7, 3: MAC, 4: IPHONE, 5: IPAD, 6: None}
    out = export_events(
        [ev(s, f"2024-11-04T10:0{s}:00", "session_start", user_agent=ua) for s, ua in agents.items()]
    )
    got = {r["session_id"]: (r["device_type"], r["operating_system"]) for r in out.rows}
    assert got == {
        "1": ("desktop", "Windows 10"),
        "2": ("desktop", "Windows 7"),
        "3": ("desktop", "Mac OS"),
        "4": ("mobile", "iOS"),
        "5": ("mobile", "iOS"),  # tablets count as mobile
        "6": ("", ""),
    }


def test_utm_parameters_come_from_the_page_url_decoded(export_events):
    url = "https://vote.example/?utm_source=fb&utm_medium=social&utm_campaign=gotv%202024&utm_content=a%2Bb&utm_term=x"
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "session_start", page_url="https://vote.example/"),
            ev(1, "2024-11-04T10:00:01", "tile_click", {"tile": "A"}, page_url=url),
        ]
    )
    row = out.rows[0]
    assert [row[f"utm_{k}"] for k in ("source", "medium", "campaign", "content", "term")] == [
        "fb",
        "social",
        "gotv 2024",
        "a+b",
        "x",
    ]


def test_tiles_in_first_click_order_each_once_and_empty_when_none(export_events):
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "tile_click", {"tile": "Research your ballot"}),
            ev(1, "2024-11-04T10:00:01", "tile_click", {"tile": "Pledge to vote"}),
            ev(1, "2024-11-04T10:00:02", "tile_click", {"tile": "Research your ballot"}),
            ev(2, "2024-11-04T11:00:00", "session_start"),
        ]
    )
    rows = out.by_session()
    assert rows["1"]["election_center_tiles"] == '["Research your ballot","Pledge to vote"]'
    assert rows["2"]["election_center_tiles"] == ""
    assert '"[""Research your ballot"",""Pledge to vote""]"' in out.text  # RFC 4180 quoting


def test_address_form_counts_and_takes_the_last_submission(export_events):
    first = {
        "address": "1 Elm St, Boston, MA 02108",
        "first_name": "Ann",
        "phone": "555-0100",
        "opt_in": True,
        "ballot_id": 111,
    }
    last = {
        "address": "221B Baker St, Cambridge, MA 02139",
        "first_name": "Bea",
        "email": "bea@example.com",
        "ballot_id": 222,
    }
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "widget.address_submitted", first),
            ev(1, "2024-11-04T10:05:00", "widget.address_submitted", last),
            ev(2, "2024-11-04T11:00:00", "session_start"),
        ]
    )
    rows = out.by_session()
    one = rows["1"]
    assert one["address_form_submitted"] == "2"
    assert (one["first_name"], one["email"], one["ballot_id"]) == ("Bea", "bea@example.com", "222")
    assert one["phone"] == ""  # the last submission had no phone: its value, not an older one
    assert one["opt_in"] == ""  # opt-in absent from the last widget submission: blank
    assert (one["street_number"], one["street"], one["city"], one["state"], one["zipcode"]) == (
        "221B",
        "Baker St",
        "Cambridge",
        "MA",
        "02139",
    )
    assert rows["2"]["address_form_submitted"] == "0"


def test_address_that_does_not_split_leaves_parts_blank(export_events):
    out = export_events(
        [ev(1, "2024-11-04T10:00:00", "widget.address_submitted", {"address": "PO Box 12, Springfield"})]
    )
    row = out.rows[0]
    assert row["address"] == "PO Box 12, Springfield"
    assert [row[k] for k in ("street_number", "street", "city", "state", "zipcode")] == [""] * 5


def test_ballot_counts_are_distinct_ids_and_engine_empty_without_ballot_events(export_events):
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "ballot.candidate_viewed", {"id": "c1"}),
            ev(1, "2024-11-04T10:00:01", "ballot.candidate_viewed", {"id": "c1"}),
            ev(1, "2024-11-04T10:00:02", "ballot.candidate_viewed", {"id": "c2"}),
            ev(1, "2024-11-04T10:00:03", "ballot.measure_viewed", {"id": 9}),
            ev(2, "2024-11-04T11:00:00", "session_start"),
        ]
    )
    rows = out.by_session()
    assert [rows["1"][f"n_{k}_viewed"] for k in ("positions", "candidates", "issues", "measures")] == [
        "0",
        "2",
        "0",
        "1",
    ]
    assert [rows["2"][f"n_{k}_viewed"] for k in ("positions", "candidates", "issues", "measures")] == [""] * 4


def test_turnout_booleans_last_click_and_plan(export_events):
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "turnout.get_started_clicked"),
            ev(1, "2024-11-04T10:00:01", "turnout.method_clicked", {"method": "mail"}),
            ev(1, "2024-11-04T10:00:02", "turnout.method_clicked", {"method": "in_person"}),
            ev(
                1,
                "2024-11-04T10:00:03",
                "turnout.date_selected",
                {"polling_date": "2024-11-01", "early_voting": True},
            ),
            ev(
                1,
                "2024-11-04T10:00:04",
                "turnout.date_selected",
                {"polling_date": "2024-11-05", "early_voting": False},
            ),
            ev(
                1,
                "2024-11-04T10:00:05",
                "turnout.location_selected",
                {"polling_place_name": "Lincoln Elementary"},
            ),
            ev(
                1,
                "2024-11-04T10:00:06",
                "turnout.plan_created",
                {"vote_at": "2024-11-05T08:00:00-06:00", "drop_off": False},
            ),
            ev(1, "2024-11-04T10:00:07", "turnout.added_to_calendar"),
            ev(2, "2024-11-04T11:00:00", "turnout.method_clicked", {"method": "mail"}),
            ev(3, "2024-11-04T12:00:00", "session_start"),
        ]
    )
    rows = out.by_session()
    one, two, three = rows["1"], rows["2"], rows["3"]
    assert (one["intro_step_get_started_clicked"], one["maptv_by_mail"], one["maptv_in_person"]) == (
        "true",
        "true",
        "true",
    )
    assert one["last_clicked"] == "in person"
    assert (one["polling_date"], one["early_voting"]) == ("2024-11-05", "false")
    assert one["polling_place_name"] == "Lincoln Elementary"
    assert (one["voting_plan_created"], one["voting_plan_vote_at"], one["voting_plan_drop_off"]) == (
        "true",
        "2024-11-05T08:00:00-06:00",
        "false",
    )
    assert one["added_to_calendar"] == ""  # inactive even though the event happened
    assert (one["return_dropbox"], one["date_step_next"], one["maptv_return_ballot"]) == (
        "false",
        "false",
        "false",
    )
    assert (two["maptv_by_mail"], two["maptv_in_person"], two["last_clicked"]) == ("true", "false", "by mail")
    assert two["voting_plan_created"] == "false"
    assert three["maptv_by_mail"] == three["voting_plan_created"] == three["last_clicked"] == ""


def test_vote_at_without_offset_is_read_in_the_subscription_zone(export_events):
    out = export_events(
        [ev(1, "2024-11-04T15:00:00", "turnout.plan_created", {"vote_at": "2024-11-05T08:00:00"})],
        timezone="America/Chicago",
    )
    assert out.rows[0]["voting_plan_vote_at"] == "2024-11-05T08:00:00-06:00"


def test_registration_engine(export_events):
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "registration.started", {"choice": "Check my registration"}),
            ev(
                1,
                "2024-11-04T10:00:01",
                "registration.check_submitted",
                {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "1990-02-03"},
            ),
            ev(
                1,
                "2024-11-04T10:00:02",
                "registration.match_result",
                {"matched": False, "voter_id": "007", "voterbase_id": "TS-1"},
            ),
            ev(1, "2024-11-04T10:00:03", "registration.not_matched_clicked", {"button_text": "Try again"}),
            ev(1, "2024-11-04T10:00:04", "registration.register_by_mail_chosen"),
            ev(
                1,
                "2024-11-04T10:00:05",
                "registration.reminders_submitted",
                {"email": "a@example.com", "phone": "+1 555 0100"},
            ),
            ev(1, "2024-11-04T10:00:06", "registration.flow_completed"),
        ]
    )
    row = out.rows[0]
    assert row["are_you_registered"] == "Check my registration"
    assert (row["chose_register_online"], row["chose_register_by_mail"]) == ("false", "true")
    assert (row["first_name_registration"], row["last_name_registration"], row["date_of_birth"]) == (
        "Ann",
        "Lee",
        "1990-02-03",
    )
    assert (row["voter_file_match"], row["voter_id"], row["voterbase_id"]) == ("false", "007", "TS-1")
    assert row["not_matched"] == "Try again"
    assert (row["email_reminders"], row["phone_reminders"]) == ("a@example.com", "+1 555 0100")
    assert row["registration_flow_complete"] == "true"


def test_vbm_engine_and_its_inactive_columns(export_events):
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "vbm.downloaded"),
            ev(1, "2024-11-04T10:00:01", "vbm.portal_clicked"),
            ev(1, "2024-11-04T10:00:02", "vbm.printed"),
            ev(1, "2024-11-04T10:00:03", "vbm.form_submitted"),
        ]
    )
    row = out.rows[0]
    assert (row["emailed"], row["portal"], row["summary_page"]) == ("false", "true", "false")
    assert row["downloaded"] == row["printed"] == row["submitted_form"] == ""


def test_pledge_engine_array_and_names(export_events):
    out = export_events(
        [
            ev(
                1,
                "2024-11-04T10:00:00",
                "pledge.completed",
                {
                    "reasons": ["My family", "Education, schools"],
                    "name_entered": "Ann Lee",
                    "name_signed": "A. Lee",
                },
            )
        ]
    )
    row = out.rows[0]
    assert json.loads(row["pledge_reasons"]) == ["My family", "Education, schools"]
    assert row["pledge_reasons"] == '["My family","Education, schools"]'
    assert (row["pledged_name_entered"], row["pledged_name_signed"]) == ("Ann Lee", "A. Lee")


def test_unknown_events_are_counted_not_fatal(export_events):
    out = export_events(
        [
            ev(1, "2024-11-04T10:00:00", "session_start"),
            ev(1, "2024-11-04T10:00:01", "widget.opened"),
            ev(1, "2024-11-04T10:00:02", "widget.opened"),
            ev(2, "2024-11-04T10:00:03", "experiment.assigned", {"arm": "b"}),
        ]
    )
    assert len(out.rows) == 2
    assert out.staged.warnings == {"unknown event experiment.assigned": 1, "unknown event widget.opened": 2}


def test_invalid_values_become_empty_and_are_counted(export_events):
    out = export_events(
        [
            ev(
                1,
                "2024-11-04T10:00:00",
                "turnout.date_selected",
                {"polling_date": "next tuesday", "early_voting": "maybe"},
            )
        ]
    )
    row = out.rows[0]
    assert row["polling_date"] == row["early_voting"] == ""
    assert out.staged.warnings == {"invalid boolean in early_voting": 1, "invalid date in polling_date": 1}
