"""Per-action and Engage exports: action_reports, engage_reports, action_users,
action_contacts and video_stories (contract §2, §2.1, §4)."""

from __future__ import annotations

from tests.reports.organizing.data import ts


def test_action_reports_rows_by_reportable_then_report(wh):
    rows = wh.export("action_reports", action_id=502).rows
    assert [(r["reportable_type"], r["reportable_id"], r["report_id"]) for r in rows] == [
        ("Contact", 301, 701),
        ("Contact", 301, 702),
        ("Contact", 301, 709),
        ("Contact", 301, 710),
        ("Contact", 301, 711),
        ("Contact", 302, 704),
        ("Contact", 304, 707),
        ("Contact", 399, 705),
        ("Contact", 1301, 708),
        ("User", 103, 703),
    ]


def test_action_report_row(wh):
    row = wh.export("action_reports", action_id=502).by("report_id")[701]
    assert row == {
        "action_id": 502,
        "action_name": 'Call the list, "now"',
        "user_full_name": "Ada Admin",
        "user_email": "ada@o1.example",
        "user_id": 101,
        "reportable_type": "Contact",
        "reportable_id": 301,
        "reportable_name": "Carla Contact",
        "reportable_email": "carla@contacts.example",
        "reportable_phone": "+15557770301",
        "reportable_van_id": "VAN301",
        "reportable_voterbase_id": "VB301",
        "synced_at": ts("2024-11-01 12:05:00"),
        "tags": '["Needs ride","VIP"]',
        "custom_fields": '{"Employer":"Acme"}',
        "notes": "Wants a ride",
        "report_id": 701,
    }


def test_reportable_user_comes_from_org_users(wh):
    row = wh.export("action_reports", action_id=502).by("report_id")[703]
    assert (row["reportable_type"], row["reportable_name"], row["reportable_email"]) == (
        "User",
        "Zoë Ünïcode",
        "zoë@o1.example",
    )
    assert (row["reportable_phone"], row["reportable_van_id"], row["reportable_voterbase_id"]) == (
        "+15551230103",
        "VAN103",
        None,
    )
    assert (row["tags"], row["custom_fields"]) == (None, None)  # no tags, no values: empty cells


def test_missing_person_leaves_reportable_cells_empty(wh):
    row = wh.export("action_reports", action_id=502).by("report_id")[705]
    person = [
        "reportable_name",
        "reportable_email",
        "reportable_phone",
        "reportable_van_id",
        "reportable_voterbase_id",
    ]
    assert [row[c] for c in person] == [None] * 5
    assert (row["reportable_id"], row["notes"]) == (399, "Nobody we know")


def test_contact_without_van_id_has_empty_reportable_van_id(wh):
    row = wh.export("action_reports", action_id=502).by("report_id")[704]
    assert (row["reportable_name"], row["reportable_van_id"]) == ("Noah NoVan", None)


def test_tags_cell_holds_normalised_names_in_code_point_order(wh):
    row = wh.export("action_reports", action_id=502).by("report_id")[704]
    # "VIP " is "VIP"; "" is tag_808; decomposed "Ünïcode ✓" is NFC; no (<id>) suffix in a list
    assert row["tags"] == (
        '["=SUM(A1)","Line break","Tab and bell","VIP","reportable_name","spaced out","tag_808","Ünïcode ✓"]'
    )


def test_custom_fields_cell_names_are_normalised_and_unique(wh):
    row = wh.export("action_reports", action_id=502).by("report_id")[704]
    # "Only empty" (value '') is left out; "Employer " collides with "Employer" (851, on
    # report 701 of the same file); "reportable_name" is a column of this file
    assert row["custom_fields"] == (
        '{"+Plus field":"=2+2","Employer (857)":"E2","Notes multi":"multi\\nline",'
        '"custom_field_856":"yes","reportable_name (855)":"x","Ünïcode ✓ field":"✓ oui"}'
    )


def test_report_with_only_empty_values_has_an_empty_custom_fields_cell(wh):
    row = wh.export("action_reports", action_id=502).by("report_id")[709]
    assert (row["custom_fields"], row["tags"], row["notes"]) == (None, None, None)


def test_reports_still_run_on_a_deleted_action(wh):
    rows = wh.export("action_reports", action_id=504).rows
    assert [(r["report_id"], r["action_name"], r["tags"]) for r in rows] == [
        (730, "Old campaign", '["Needs ride"]')
    ]


def test_action_without_reports_gives_no_rows(wh):
    for report in (
        "action_reports",
        "action_users",
        "action_contacts",
        "action_tags",
        "action_custom_fields",
    ):
        assert wh.export(report, action_id=505).rows == [], report


def test_engage_reports_are_those_without_action(wh):
    rows = wh.export("engage_reports").rows
    assert [(r["reportable_type"], r["reportable_id"], r["report_id"]) for r in rows] == [
        ("Contact", 301, 740),
        ("Contact", 301, 744),
        ("Contact", 303, 742),
        ("User", 102, 741),
    ]
    assert rows[0]["tags"] == '["VIP"]'  # tags 801 "VIP" and 806 "VIP " are one name
    assert rows[0]["custom_fields"] == '{"Employer":"Engage Inc"}'
    assert rows[2]["notes"] == "Line 1\nLine 2"
    assert "action_id" not in rows[0] and "action_name" not in rows[0]


def test_action_users_one_row_per_recipient(wh):
    rows = wh.export("action_users", action_id=502).rows
    assert [(r["user_id"], r["completed"], r["performed"]) for r in rows] == [
        (101, True, 180),
        (102, False, 0),
        (103, False, 0),
    ]
    assert rows[0] == {
        "action_id": 502,
        "action_name": 'Call the list, "now"',
        "first_name": "Ada",
        "last_name": "Admin",
        "phone": "+15551230101",
        "full_name": "Ada Admin",
        "last_seen_at": ts("2024-11-04 08:00:00"),
        "leaderboard_points": 120,
        "impressions": 10,
        "clicks": 4,
        "performed": 180,
        "completed": True,
        "user_id": 101,
    }


def test_action_users_recipient_who_is_not_a_user_keeps_the_row(wh):
    rows = wh.export("action_users", action_id=501).by("user_id")
    assert list(rows) == [101, 1101]
    assert (rows[1101]["full_name"], rows[1101]["completed"]) == (None, False)


def test_action_contacts_are_the_texted_contacts(wh):
    """Texted: a user's message of the action that is not an error. 304 only got an
    errored message; 399 is not a contact; 306 was texted after the cutoff; 303 (a friend)
    was texted in another action."""
    assert wh.export("action_contacts", action_id=502).column("contact_id") == [301, 302, 307]


def test_action_contacts_tags_values_and_notes_from_the_contacts_reports(wh):
    carla = wh.export("action_contacts", action_id=502).by("contact_id")[301]
    assert carla == {
        "phone": "+15557770301",
        "first_name": "Carla",
        "last_name": "Contact",
        "full_name": "Carla Contact",
        "voterbase_id": "VB301",
        "van_id": "VAN301",
        "tags": '["Needs ride","VIP"]',
        # Employer: 702's Globex (709's later '' does not count); Shirt size: 710 and 711 at
        # the same time, the higher id wins
        "custom_fields": '{"Employer":"Globex","Employer, City":"Springfield, IL","Shirt size":"M"}',
        "notes": "Wants a ride",  # 701's; 702's notes are empty
        "contact_id": 301,
    }


def test_action_contacts_names_against_their_own_columns(wh):
    noah = wh.export("action_contacts", action_id=502).by("contact_id")[302]
    assert noah["van_id"] is None
    # "reportable_name" is not a column of this file, so the key needs no suffix here
    assert noah["custom_fields"] == (
        '{"+Plus field":"=2+2","Employer (857)":"E2","Notes multi":"multi\\nline",'
        '"custom_field_856":"yes","reportable_name":"x","Ünïcode ✓ field":"✓ oui"}'
    )


def test_texted_contact_without_reports_has_empty_cells(wh):
    multi = wh.export("action_contacts", action_id=502).by("contact_id")[307]
    assert (multi["full_name"], multi["tags"], multi["custom_fields"], multi["notes"]) == (
        "Multi\nLine",
        None,
        None,
        None,
    )


def test_video_stories_by_time_then_id(wh):
    rows = wh.export("video_stories", action_id=503).rows
    # 901 (10:00:00.7) and 902 (10:00:00.2) share their second: the id decides
    assert [r["video_story_id"] for r in rows] == [901, 902, 904]
    assert rows[0] == {
        "user_id": 101,
        "user_email": "ada@o1.example",
        "user_full_name": "Ada Admin",
        "action_name": "Share your story",
        "created_at": ts("2024-11-03 10:00:00"),  # stored 10:00:00.7: the file shows the second
        "testimonial_first_name": "Maria",
        "testimonial_last_name": "Story",
        "testimonial_email": "maria@stories.example",
        "note": "'@channel watch this",  # formula-guarded
        "media_url": "https://media.example/901.mp4",
        "video_story_id": 901,
    }
