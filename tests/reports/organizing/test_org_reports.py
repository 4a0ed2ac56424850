"""users, teams, contacts and actions (contract §2, §2.1, §4)."""

from __future__ import annotations

from tests.reports.organizing.data import ts


def test_users_one_row_per_user_by_id(wh):
    assert wh.export("users").column("user_id") == [101, 102, 103, 104]


def test_users_columns_from_org_users(wh):
    ada = wh.export("users").by("user_id")[101]
    assert ada == {
        "user_id": 101,
        "first_name": "Ada",
        "last_name": "Admin",
        "full_name": "Ada Admin",
        "email": "ada@o1.example",
        "phone": "+15551230101",
        "role": "admin",
        "van_id": "VAN101",
        "created_at": ts("2024-10-05 09:00:00"),
        "updated_at": ts("2024-11-03 10:00:00"),
        "last_seen_at": ts("2024-11-04 08:00:00"),
        "last_active_at": ts("2024-11-02 07:00:00"),
        "city": "Springfield",
        "state": "IL",
        "supplied_city": "Chatham",
        "supplied_state": "IL",
        "supplied_zip": "62629",
        "leaderboard_points": 120,
    }


def test_voter_file_and_supplied_location_are_never_merged(wh):
    vic = wh.export("users").by("user_id")[102]
    assert (vic["city"], vic["state"]) == (None, None)  # no voter-file match: not filled from supplied_*
    assert (vic["supplied_city"], vic["supplied_state"], vic["supplied_zip"]) == ("Boston", "MA", "02134")
    zoe = wh.export("users").by("user_id")[103]
    assert (zoe["city"], zoe["supplied_city"]) == ("Zürich", None)


def test_user_without_van_id_or_points_keeps_the_row(wh):
    users = wh.export("users").by("user_id")
    assert users[102]["van_id"] is None
    assert users[104]["leaderboard_points"] is None


def test_teams_user_in_two_teams_has_two_rows(wh):
    rows = wh.export("teams").rows
    assert [(r["user_id"], r["team_id"]) for r in rows] == [(101, 201), (101, 202), (102, 201), (104, 202)]
    ada = [r for r in rows if r["user_id"] == 101]
    assert [r["team_name"] for r in ada] == ["Field Team", "Phone Bank, North"]


def test_teams_user_in_no_team_is_absent(wh):
    assert 103 not in wh.export("teams").column("user_id")
    assert 203 not in wh.export("teams").column("team_id")  # a team without members has no row


def test_teams_joined_at_is_the_membership_time(wh):
    row = wh.export("teams").rows[1]
    assert row == {
        "user_id": 101,
        "first_name": "Ada",
        "last_name": "Admin",
        "full_name": "Ada Admin",
        "email": "ada@o1.example",
        "team_id": 202,
        "team_name": "Phone Bank, North",
        "joined_at": ts("2024-10-26 10:00:00"),
    }


def test_contacts_of_the_list_by_id(wh):
    assert wh.export("contacts", contact_list_id=341).column("contact_id") == [301, 302, 304, 306, 307]


def test_friend_in_no_list_is_in_no_contacts_file(wh):
    for lst in (341, 342):
        assert 303 not in wh.export("contacts", contact_list_id=lst).column("contact_id")
    assert wh.export("contacts", contact_list_id=342).rows == []


def test_contact_without_van_id_keeps_the_row(wh):
    noah = wh.export("contacts", contact_list_id=341).by("contact_id")[302]
    assert noah == {
        "contact_id": 302,
        "phone": "+15557770302",
        "first_name": "Noah",
        "last_name": "NoVan",
        "full_name": "Noah NoVan",
        "email": "noah@contacts.example",
        "voterbase_id": None,
        "van_id": None,
        "created_at": ts("2024-10-15 09:00:00"),
    }


def test_actions_include_deleted_ones(wh):
    actions = wh.export("actions")
    assert actions.column("action_id") == [501, 502, 503, 504, 505, 507]
    old = actions.by("action_id")[504]
    assert (old["aasm_state"], old["published_at"], old["contact_list_name"]) == (
        "Deleted",
        None,
        "Empty list",
    )


def test_actions_counters(wh):
    """502 went to 101 (saw, started, completed twice, reached 180), 102 (saw) and 103."""
    counts = {
        r["action_id"]: (r["users_sent"], r["users_saw"], r["users_started"], r["completed"], r["performed"])
        for r in wh.export("actions").rows
    }
    assert counts[502] == (3, 2, 1, 2, 180)
    assert counts[501] == (2, 1, 1, 1, 12)
    assert counts[504] == (1, 1, 1, 1, 40)
    assert counts[503] == counts[505] == (0, 0, 0, 0, 0)  # sent to nobody: zeros, not empty


def test_actions_columns_as_stored(wh):
    row = wh.export("actions").by("action_id")[502]
    assert {k: v for k, v in row.items() if k not in ("users_sent", "users_saw", "users_started")} == {
        "action_id": 502,
        "created_at": ts("2024-10-21 09:00:00"),
        "updated_at": ts("2024-10-22 09:00:00"),
        "published_at": ts("2024-10-21 11:00:00"),
        "title": 'Call the list, "now"',
        "description": 'About Call the list, "now"',
        "action_type": "TextaList",
        "aasm_state": "Published",
        "privacy": "Private",
        "contact_list_id": 341,
        "contact_list_name": "Main list",
        "completed": 2,
        "performed": 180,
    }
    assert wh.export("actions").by("action_id")[501]["contact_list_name"] is None  # no list: empty
