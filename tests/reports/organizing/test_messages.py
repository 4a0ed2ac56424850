"""messages and user_details (contract §2, §2.1, §4): both directions, the P2P/F2F rules,
errors, the pairs and their latest message."""

from __future__ import annotations

from tests.reports.organizing.data import ts


def test_messages_both_directions_any_state_by_time_then_id(wh):
    # 605 (09:00:00.9) and 606 (09:00:00.1) share their second: the id decides, as the
    # file shows whole seconds
    assert wh.export("messages").column("message_id") == [
        612,
        601,
        602,
        603,
        604,
        613,
        605,
        606,
        608,
        609,
        610,
        611,
        615,
    ]


def test_messages_of_one_action(wh):
    assert wh.export("messages", action_id=502).column("message_id") == [
        601,
        602,
        603,
        604,
        613,
        605,
        606,
        608,
    ]
    assert wh.export("messages", action_id=505).rows == []  # an action without messages: header only


def test_p2p_sender_number_is_always_empty(wh):
    rows = wh.export("messages").by("message_id")
    # 601/603 stored the pool number, 602 the contact's own number: all written empty
    assert [rows[m]["sender_number"] for m in (601, 602, 603, 604, 612)] == [None] * 5


def test_sender_number_kept_for_other_action_types(wh):
    rows = wh.export("messages").by("message_id")
    assert rows[609]["sender_number"] == "+15551230001"  # F2F
    assert rows[610]["sender_number"] == "+15557770303"  # F2F, the friend's own reply
    assert rows[615]["sender_number"] == "+15551230001"  # VideoStory


def test_aasm_state_only_for_p2p(wh):
    rows = wh.export("messages").by("message_id")
    assert [rows[m]["aasm_state"] for m in (601, 602, 604)] == ["sent", "received", "error"]
    # F2F rows stored sent / received / error; a video story's message stored sent
    assert [rows[m]["aasm_state"] for m in (609, 610, 611, 615)] == [None] * 4


def test_errored_message_keeps_its_error(wh):
    rows = wh.export("messages").by("message_id")
    p2p, f2f = rows[604], rows[611]
    assert (p2p["aasm_state"], p2p["error_code"], p2p["twilio_status"]) == ("error", "30003", "undelivered")
    assert (f2f["aasm_state"], f2f["error_code"], f2f["twilio_status"]) == (None, "21610", "undelivered")


def test_contacts_own_message_has_no_script_type(wh):
    reply = wh.export("messages").by("message_id")[602]
    assert (reply["sender_type"], reply["sender_id"], reply["receiver_type"], reply["receiver_id"]) == (
        "Contact",
        301,
        "User",
        101,
    )
    assert reply["script_type"] is None
    assert reply["body"] == "'=1+1"  # formula-guarded in the file


def test_message_row_columns(wh):
    row = wh.export("messages").by("message_id")[603]
    assert row == {
        "action_id": 502,
        "action_name": 'Call the list, "now"',
        "action_type": "TextaList",
        "action_published_at": ts("2024-10-21 11:00:00"),
        "sender_name": "Ada Admin",
        "sender_id": 101,
        "sender_type": "User",
        "sender_number": None,
        "receiver_name": "Carla C.",
        "receiver_id": 301,
        "receiver_type": "Contact",
        "receiver_number": "+15557770399",
        "receiver_van_id": "VAN301",
        "aasm_state": "sent",
        "error_code": None,
        "twilio_status": "delivered",
        "body": "'-5 degrees,\nstill voting!",  # formula-guarded, the new line kept in the cell
        "script_type": "Response",
        "message_id": 603,
        "created_at": ts("2024-11-01 10:10:00"),
    }


def test_deleted_actions_messages_stay_in_the_org_file(wh):
    old = wh.export("messages").by("message_id")[612]
    assert (old["action_id"], old["action_published_at"]) == (504, None)


def test_friend_in_no_list_and_contact_without_van_id_are_in_messages(wh):
    rows = wh.export("messages").by("message_id")
    assert rows[609]["receiver_id"] == 303 and rows[609]["receiver_van_id"] is None
    assert rows[605]["receiver_van_id"] is None


def test_user_details_one_row_per_action_user_contact(wh):
    pairs = [(r["action_id"], r["sender_user_id"], r["receiver_id"]) for r in wh.export("user_details").rows]
    assert pairs == [
        (501, 101, 303),
        (501, 102, 303),
        (502, 101, 301),
        (502, 101, 304),
        (502, 101, 399),
        (502, 102, 302),
        (502, 102, 307),
        (503, 101, 301),
        (504, 102, 302),
    ]  # 602 and 610 (a contact writing to a user) make no pair


def test_user_details_receiver_from_the_latest_message(wh):
    rows = {
        (r["action_id"], r["sender_user_id"], r["receiver_id"]): r for r in wh.export("user_details").rows
    }
    carla = rows[(502, 101, 301)]
    assert (carla["receiver_name"], carla["receiver_number"], carla["receiver_van_id"]) == (
        "Carla C.",
        "+15557770399",
        "VAN301",
    )
    # 605 is later than 606 within the same second: its name wins
    assert rows[(502, 102, 302)]["receiver_name"] == "Noah N."


def test_user_details_message_types_and_count(wh):
    rows = {
        (r["action_id"], r["sender_user_id"], r["receiver_id"]): r for r in wh.export("user_details").rows
    }
    assert rows[(502, 101, 301)]["message_types"] == '["Initial","Response"]'
    assert rows[(502, 101, 301)]["messages_sent"] == 2
    # errored messages count: 604 (P2P) and 611 (F2F) are the pairs' only messages
    assert rows[(502, 101, 304)]["messages_sent"] == 1
    assert rows[(501, 102, 303)]["messages_sent"] == 1


def test_user_details_user_columns_are_the_senders(wh):
    rows = {
        (r["action_id"], r["sender_user_id"], r["receiver_id"]): r for r in wh.export("user_details").rows
    }
    assert rows[(502, 102, 302)] == {
        "action_name": 'Call the list, "now"',
        "action_type": "TextaList",
        "sender_name": "Vic Volunteer",
        "sender_user_id": 102,
        "sender_van_id": None,
        "receiver_name": "Noah N.",
        "receiver_number": "+15557770302",
        "receiver_van_id": None,
        "message_types": '["Initial","Response"]',
        "created_at": ts("2024-10-06 09:00:00"),  # the user's account, not a message
        "updated_at": ts("2024-11-03 10:00:00"),
        "last_seen_at": ts("2024-11-04 08:00:00"),
        "last_active_at": ts("2024-11-02 07:00:00"),
        "city": None,
        "state": None,
        "supplied_city": "Boston",
        "supplied_state": "MA",
        "messages_sent": 2,
        "action_id": 502,
        "receiver_id": 302,
    }
