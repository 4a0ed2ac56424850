"""Hand-built organizing rows for the report tests: org ``o1`` and another org ``o2``.

The tests state their expected output from these rows directly, not by re-running any
query. Times are UTC; the report day is D = 2024-11-04, so a file for D covers rows created
before ``CUTOFF`` (2024-11-05 00:00 UTC); ``LATE`` rows come after it. Ids follow the
contract's examples: action 501 is F2F, 502 P2P, 551 belongs to o2, list 351 belongs to
o2, tag 805 is named ``reportable_name``.
"""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC
CUTOFF = dt.datetime(2024, 11, 5, tzinfo=UTC)
LATE = dt.datetime(2024, 11, 5, 8, 0, tzinfo=UTC)
IN_CHICAGO_DAY = dt.datetime(2024, 11, 5, 3, 0, tzinfo=UTC)  # before 2024-11-05 00:00 CST (06:00 UTC)


def ts(text: str) -> dt.datetime:
    """'2024-11-01 10:00:00[.ffffff]' as an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _user(uid, org, first, last, role, **kw):
    row = {
        "id": uid,
        "org_id": org,
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "email": f"{first.lower()}@{org}.example",
        "phone": f"+1555123{uid:04d}",
        "role": role,
        "van_id": f"VAN{uid}",
        "city": None,
        "state": None,
        "supplied_city": None,
        "supplied_state": None,
        "supplied_zip": None,
        "leaderboard_points": 0,
        "created_at": ts("2024-10-05 09:00:00"),
        "updated_at": ts("2024-11-03 10:00:00"),
        "last_seen_at": ts("2024-11-04 08:00:00"),
        "last_active_at": ts("2024-11-02 07:00:00"),
    }
    row.update(kw)
    return row


USERS = [
    _user(
        101,
        "o1",
        "Ada",
        "Admin",
        "admin",
        email="ada@o1.example",
        city="Springfield",
        state="IL",
        supplied_city="Chatham",
        supplied_state="IL",
        supplied_zip="62629",
        leaderboard_points=120,
    ),
    _user(
        102,
        "o1",
        "Vic",
        "Volunteer",
        "volunteer",
        van_id=None,
        supplied_city="Boston",
        supplied_state="MA",
        supplied_zip="02134",
        leaderboard_points=5,
        created_at=ts("2024-10-06 09:00:00"),
    ),
    _user(103, "o1", "Zoë", "Ünïcode", "volunteer", city="Zürich", created_at=ts("2024-10-07 09:00:00")),
    _user(
        104, "o1", "Tom", "Two", "volunteer", leaderboard_points=None, created_at=ts("2024-10-08 09:00:00")
    ),
    _user(105, "o1", "Lee", "Late", "volunteer", created_at=LATE),
    _user(1101, "o2", "Olga", "Other", "admin"),
    _user(1102, "o2", "Oscar", "Other", "volunteer"),
]

TEAMS = [
    {"id": 201, "org_id": "o1", "name": "Field Team", "created_at": ts("2024-10-01 00:00:00")},
    {"id": 202, "org_id": "o1", "name": "Phone Bank, North", "created_at": ts("2024-10-01 00:00:00")},
    {"id": 203, "org_id": "o1", "name": "Empty team", "created_at": ts("2024-10-01 00:00:00")},
    {"id": 1201, "org_id": "o2", "name": "O2 team", "created_at": ts("2024-10-01 00:00:00")},
]

TEAM_MEMBERSHIPS = [
    {"team_id": 201, "user_id": 101, "org_id": "o1", "created_at": ts("2024-10-25 10:00:00")},
    {"team_id": 202, "user_id": 101, "org_id": "o1", "created_at": ts("2024-10-26 10:00:00")},
    {"team_id": 201, "user_id": 102, "org_id": "o1", "created_at": ts("2024-10-27 10:00:00")},
    {"team_id": 202, "user_id": 104, "org_id": "o1", "created_at": ts("2024-10-28 10:00:00")},
    {"team_id": 202, "user_id": 102, "org_id": "o1", "created_at": LATE},  # joined after the cutoff
    {"team_id": 201, "user_id": 105, "org_id": "o1", "created_at": LATE},
    {"team_id": 1201, "user_id": 102, "org_id": "o1", "created_at": ts("2024-10-28 10:00:00")},  # o2's team
    {"team_id": 201, "user_id": 1101, "org_id": "o1", "created_at": ts("2024-10-28 10:00:00")},  # o2's user
    {"team_id": 201, "user_id": 1102, "org_id": "o2", "created_at": ts("2024-10-28 10:00:00")},  # o2's row
    {"team_id": 1201, "user_id": 1101, "org_id": "o2", "created_at": ts("2024-10-28 10:00:00")},
]

CONTACT_LISTS = [
    {"id": 341, "org_id": "o1", "name": "Main list", "created_at": ts("2024-10-01 00:00:00")},
    {"id": 342, "org_id": "o1", "name": "Empty list", "created_at": ts("2024-10-01 00:00:00")},
    {"id": 351, "org_id": "o2", "name": "O2 list", "created_at": ts("2024-10-01 00:00:00")},
]


def _contact(cid, org, lst, first, last, **kw):
    row = {
        "id": cid,
        "org_id": org,
        "contact_list_id": lst,
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "phone": f"+1555777{cid:04d}",
        "email": f"{first.lower()}@contacts.example",
        "voterbase_id": f"VB{cid}",
        "van_id": f"VAN{cid}",
        "created_at": ts("2024-10-15 09:00:00"),
    }
    row.update(kw)
    return row


CONTACTS = [
    _contact(301, "o1", 341, "Carla", "Contact"),
    _contact(302, "o1", 341, "Noah", "NoVan", van_id=None, voterbase_id=None),
    _contact(303, "o1", None, "Frank", "Friend", van_id=None),  # a volunteer's friend, in no list
    _contact(304, "o1", 341, "Erin", "Errored"),
    _contact(305, "o1", 341, "Lana", "Late", created_at=LATE),
    _contact(306, "o1", 341, "Nora", "Never"),
    _contact(307, "o1", 341, "Multi", "Line", full_name="Multi\nLine"),
    _contact(1301, "o2", 351, "Otto", "Other"),
    _contact(1302, "o2", 341, "Olivia", "Other"),  # o2's row naming o1's list
]


def _action(aid, org, title, kind, state, privacy, lst, created, published=True):
    return {
        "id": aid,
        "org_id": org,
        "title": title,
        "description": f"About {title}",
        "action_type": kind,
        "aasm_state": state,
        "privacy": privacy,
        "contact_list_id": lst,
        "created_at": created,
        "updated_at": created + dt.timedelta(days=1),
        "published_at": created + dt.timedelta(hours=2) if published else None,
    }


ACTIONS = [
    _action(
        501, "o1", "Text your friends", "TextaFriend", "Published", "Public", None, ts("2024-10-20 09:00:00")
    ),
    _action(
        502, "o1", 'Call the list, "now"', "TextaList", "Published", "Private", 341, ts("2024-10-21 09:00:00")
    ),
    _action(503, "o1", "Share your story", "VideoStory", "Closed", "Public", None, ts("2024-10-22 09:00:00")),
    _action(
        504,
        "o1",
        "Old campaign",
        "TextaList",
        "Deleted",
        "Private",
        342,
        ts("2024-10-10 09:00:00"),
        published=False,
    ),
    _action(505, "o1", "Quiet action", "TextaList", "Published", "Public", 341, ts("2024-10-23 09:00:00")),
    _action(506, "o1", "Late action", "TextaFriend", "Published", "Public", None, LATE),
    _action(507, "o1", "Borrowed list", "TextaList", "Published", "Public", 351, ts("2024-10-24 09:00:00")),
    _action(551, "o2", "O2 action", "TextaList", "Published", "Public", 351, ts("2024-10-20 09:00:00")),
    _action(552, "o2", "O2 stories", "VideoStory", "Published", "Public", None, ts("2024-10-20 09:00:00")),
]


def _recipient(aid, uid, org, saw, started, completed, performed, impressions, clicks, created=None):
    return {
        "action_id": aid,
        "user_id": uid,
        "org_id": org,
        "saw": saw,
        "started": started,
        "completed_count": completed,
        "performed_count": performed,
        "impressions": impressions,
        "clicks": clicks,
        "created_at": created or ts("2024-10-30 09:00:00"),
    }


ACTION_RECIPIENTS = [
    _recipient(502, 101, "o1", True, True, 2, 180, 10, 4),
    _recipient(502, 102, "o1", True, False, 0, 0, 3, 0),
    _recipient(502, 103, "o1", False, False, 0, 0, 0, 0),
    _recipient(502, 105, "o1", True, True, 1, 5, 1, 1, created=LATE),
    _recipient(501, 101, "o1", True, True, 1, 12, 5, 2),
    _recipient(501, 1101, "o1", False, False, 0, 0, 0, 0),  # o1's row naming o2's user
    _recipient(504, 102, "o1", True, True, 1, 40, 2, 2),
    _recipient(502, 1102, "o2", True, True, 9, 999, 9, 9),  # o2's row on o1's action
    _recipient(551, 1101, "o2", True, True, 1, 1, 1, 1),
]


def _message(mid, org, aid, sender, receiver, body, script, state, created, **kw):
    row = {
        "id": mid,
        "org_id": org,
        "action_id": aid,
        "sender_type": sender[0],
        "sender_id": sender[1],
        "sender_name": None,
        "sender_number": None,
        "receiver_type": receiver[0],
        "receiver_id": receiver[1],
        "receiver_name": None,
        "receiver_number": None,
        "receiver_van_id": None,
        "body": body,
        "script_type": script,
        "aasm_state": state,
        "error_code": None,
        "twilio_status": None,
        "created_at": created,
    }
    row.update(kw)
    return row


def U(n: int) -> tuple[str, int]:  # noqa: N802 - reads like the rows it builds
    return ("User", n)


def C(n: int) -> tuple[str, int]:  # noqa: N802
    return ("Contact", n)


POOL = "+15550009999"  # the P2P pool number stored on P2P messages: never exported

MESSAGES = [
    _message(
        601,
        "o1",
        502,
        U(101),
        C(301),
        "Hi Carla, will you vote?",
        "Initial",
        "sent",
        ts("2024-11-01 10:00:00"),
        sender_name="Ada Admin",
        sender_number=POOL,
        receiver_name="Carla Contact",
        receiver_number="+15557770301",
        receiver_van_id="VAN301",
        twilio_status="delivered",
    ),
    _message(
        602,
        "o1",
        502,
        C(301),
        U(101),
        "=1+1",
        None,
        "received",
        ts("2024-11-01 10:05:00"),
        sender_name="Carla Contact",
        sender_number="+15557770301",
        receiver_name="Ada Admin",
    ),
    _message(
        603,
        "o1",
        502,
        U(101),
        C(301),
        "-5 degrees,\nstill voting!",
        "Response",
        "sent",
        ts("2024-11-01 10:10:00"),
        sender_name="Ada Admin",
        sender_number=POOL,
        receiver_name="Carla C.",
        receiver_number="+15557770399",
        receiver_van_id="VAN301",
        twilio_status="delivered",
    ),
    _message(
        604,
        "o1",
        502,
        U(101),
        C(304),
        "Hi Erin",
        "Initial",
        "error",
        ts("2024-11-01 11:00:00"),
        sender_name="Ada Admin",
        sender_number=POOL,
        receiver_name="Erin Errored",
        receiver_number="+15557770304",
        receiver_van_id="VAN304",
        error_code="30003",
        twilio_status="undelivered",
    ),
    _message(
        605,
        "o1",
        502,
        U(102),
        C(302),
        "+1 more reason",
        "Initial",
        "sent",
        ts("2024-11-02 09:00:00.900000"),
        sender_name="Vic Volunteer",
        receiver_name="Noah N.",
        receiver_number="+15557770302",
        twilio_status="sent",
    ),
    _message(
        606,
        "o1",
        502,
        U(102),
        C(302),
        "@Noah see you",
        "Response",
        "sent",
        ts("2024-11-02 09:00:00.100000"),
        sender_name="Vic Volunteer",
        receiver_name="Noah NoVan",
        receiver_number="+15557770302",
        twilio_status="delivered",
    ),
    _message(607, "o1", 502, U(101), C(306), "Hi Nora", "Initial", "sent", LATE, sender_name="Ada Admin"),
    _message(
        608,
        "o1",
        502,
        U(102),
        C(307),
        "Line one\r\nLine two",
        "Initial",
        "sent",
        ts("2024-11-02 10:00:00"),
        sender_name="Vic Volunteer",
        receiver_name="Multi\nLine",
        receiver_van_id="VAN307",
    ),
    _message(
        609,
        "o1",
        501,
        U(101),
        C(303),
        "Hey Frank",
        "Initial",
        "sent",
        ts("2024-11-03 12:00:00"),
        sender_name="Ada Admin",
        sender_number="+15551230001",
        receiver_name="Frank Friend",
        receiver_number="+15557770303",
        twilio_status="delivered",
    ),
    _message(
        610,
        "o1",
        501,
        C(303),
        U(101),
        "Sure!",
        None,
        "received",
        ts("2024-11-03 12:05:00"),
        sender_name="Frank Friend",
        sender_number="+15557770303",
        receiver_name="Ada Admin",
    ),
    _message(
        611,
        "o1",
        501,
        U(102),
        C(303),
        "Hi Frank",
        "Initial",
        "error",
        ts("2024-11-03 12:10:00"),
        sender_name="Vic Volunteer",
        sender_number="+15550100199",
        receiver_name="Frank Friend",
        error_code="21610",
        twilio_status="undelivered",
    ),
    _message(
        612,
        "o1",
        504,
        U(102),
        C(302),
        "Old news",
        "Initial",
        "sent",
        ts("2024-10-31 09:00:00"),
        sender_name="Vic Volunteer",
        sender_number=POOL,
        twilio_status="delivered",
    ),
    _message(
        613,
        "o1",
        502,
        U(101),
        C(399),
        "Hi stranger",
        "Initial",
        "sent",
        ts("2024-11-01 12:00:00"),
        sender_name="Ada Admin",
        receiver_name="Nobody",
    ),
    _message(
        614, "o1", 551, U(101), C(301), "o1 row on o2's action", "Initial", "sent", ts("2024-11-01 12:00:00")
    ),
    _message(
        615,
        "o1",
        503,
        U(101),
        C(301),
        "Watch my story",
        "Initial",
        "sent",
        ts("2024-11-03 13:00:00"),
        sender_name="Ada Admin",
        sender_number="+15551230001",
    ),
    _message(616, "o1", 502, U(101), C(306), "Late in UTC", "Initial", "sent", IN_CHICAGO_DAY),
    _message(
        1601,
        "o2",
        502,
        U(1101),
        C(1301),
        "o2 row on o1's action",
        "Initial",
        "sent",
        ts("2024-11-01 12:00:00"),
    ),
    _message(1602, "o2", 551, U(1101), C(1301), "o2 message", "Initial", "sent", ts("2024-11-01 12:00:00")),
]


def _report(rid, org, aid, filer, reportable, created, notes=None, synced=None):
    return {
        "id": rid,
        "org_id": org,
        "action_id": aid,
        "user_id": filer,
        "reportable_type": reportable[0],
        "reportable_id": reportable[1],
        "notes": notes,
        "synced_at": synced,
        "created_at": created,
    }


OUTREACH_REPORTS = [
    _report(
        701,
        "o1",
        502,
        101,
        C(301),
        ts("2024-11-01 12:00:00"),
        "Wants a ride",
        synced=ts("2024-11-01 12:05:00"),
    ),
    _report(702, "o1", 502, 102, C(301), ts("2024-11-02 12:00:00"), ""),
    _report(703, "o1", 502, 101, U(103), ts("2024-11-02 13:00:00"), "Volunteer follow-up"),
    _report(704, "o1", 502, 102, C(302), ts("2024-11-02 14:00:00"), "=cmd|' /C calc'!A0"),
    _report(705, "o1", 502, 101, C(399), ts("2024-11-02 15:00:00"), "Nobody we know"),
    _report(706, "o1", 502, 101, C(301), LATE, "late notes"),
    _report(707, "o1", 502, 101, C(304), ts("2024-11-02 16:00:00"), "Never got the text"),
    _report(708, "o1", 502, 101, C(1301), ts("2024-11-02 17:00:00"), "o2's contact"),
    _report(709, "o1", 502, 102, C(301), ts("2024-11-03 12:00:00")),
    _report(710, "o1", 502, 101, C(301), ts("2024-11-03 12:00:00")),
    _report(711, "o1", 502, 102, C(301), ts("2024-11-03 12:00:00")),
    _report(720, "o1", 501, 101, C(303), ts("2024-11-03 12:30:00"), "Friend says yes"),
    _report(730, "o1", 504, 102, C(302), ts("2024-10-31 10:00:00"), "old"),
    _report(740, "o1", None, 101, C(301), ts("2024-11-01 09:00:00"), "Met at the fair"),
    _report(741, "o1", None, 102, U(102), ts("2024-11-01 10:00:00"), "Self report"),
    _report(742, "o1", None, 101, C(303), ts("2024-11-01 11:00:00"), "Line 1\nLine 2"),
    _report(743, "o1", None, 101, C(301), LATE, "late engage"),
    _report(744, "o1", None, 102, C(301), ts("2024-11-02 09:00:00"), ""),
    _report(1701, "o2", 551, 1101, C(1301), ts("2024-11-01 12:00:00"), "o2 report"),
    _report(1702, "o2", 502, 1101, C(301), ts("2024-11-01 12:00:00"), "o2 row on o1's action"),
    _report(1703, "o2", None, 1101, C(301), ts("2024-11-01 12:00:00"), "o2 engage row about o1's contact"),
]

TAGS = [
    {"id": 801, "org_id": "o1", "name": "VIP"},
    {"id": 802, "org_id": "o1", "name": "Needs ride"},
    {"id": 803, "org_id": "o1", "name": "  spaced   out  "},
    {"id": 804, "org_id": "o1", "name": "Line\nbreak"},
    {"id": 805, "org_id": "o1", "name": "reportable_name"},
    {"id": 806, "org_id": "o1", "name": "VIP "},
    {"id": 807, "org_id": "o1", "name": "U\u0308ni\u0308code ✓"},  # decomposed; NFC gives "Ünïcode ✓"
    {"id": 808, "org_id": "o1", "name": ""},
    {"id": 809, "org_id": "o1", "name": "=SUM(A1)"},
    {"id": 810, "org_id": "o1", "name": "Tab\tand\x07bell"},
    {"id": 811, "org_id": "o1", "name": "Late tag"},
    {"id": 812, "org_id": "o1", "name": "Unused"},
    {"id": 1801, "org_id": "o2", "name": "O2 tag"},
]

REPORT_TAGS = [
    {"report_id": r, "tag_id": t, "org_id": "o1"}
    for r, t in [
        (701, 801),
        (701, 802),
        *((704, t) for t in range(803, 811)),
        (706, 811),
        (707, 802),
        (720, 801),
        (730, 802),
        (740, 801),
        (740, 806),
        (743, 811),
        (701, 1801),  # o2's tag on o1's report
    ]
] + [
    {"report_id": 701, "tag_id": 803, "org_id": "o2"},  # o2's link on o1's report
    {"report_id": 1701, "tag_id": 1801, "org_id": "o2"},
    {"report_id": 1703, "tag_id": 1801, "org_id": "o2"},
]

CUSTOM_FIELDS = [
    {"id": 851, "org_id": "o1", "name": "Employer"},
    {"id": 852, "org_id": "o1", "name": "Unused field"},
    {"id": 853, "org_id": "o1", "name": "Employer, City"},
    {"id": 854, "org_id": "o1", "name": "U\u0308nïcode ✓ field"},  # NFC gives "Ünïcode ✓ field"
    {"id": 855, "org_id": "o1", "name": "reportable_name"},
    {"id": 856, "org_id": "o1", "name": ""},
    {"id": 857, "org_id": "o1", "name": "Employer "},
    {"id": 858, "org_id": "o1", "name": "Notes\r\nmulti"},
    {"id": 859, "org_id": "o1", "name": "+Plus field"},
    {"id": 860, "org_id": "o1", "name": "Only empty"},
    {"id": 861, "org_id": "o1", "name": "Shirt size"},
    {"id": 1851, "org_id": "o2", "name": "O2 field"},
]

REPORT_CUSTOM_FIELDS = [
    {"report_id": r, "custom_field_id": f, "org_id": org, "value": v}
    for r, f, v, org in [
        (701, 851, "Acme", "o1"),
        (702, 851, "Globex", "o1"),
        (702, 853, "Springfield, IL", "o1"),
        (704, 854, "✓ oui", "o1"),
        (704, 855, "x", "o1"),
        (704, 856, "yes", "o1"),
        (704, 857, "E2", "o1"),
        (704, 858, "multi\nline", "o1"),
        (704, 859, "=2+2", "o1"),
        (704, 860, "", "o1"),
        (706, 851, "Late Corp", "o1"),
        (709, 851, "", "o1"),
        (709, 860, None, "o1"),
        (710, 861, "L", "o1"),
        (711, 861, "M", "o1"),
        (740, 851, "Engage Inc", "o1"),
        (741, 861, "M", "o1"),
        (743, 851, "Late Engage", "o1"),
        (744, 851, "Fair Corp", "o1"),
        (701, 1851, "o2 field on o1's report", "o1"),
        (701, 853, "o2 link on o1's report", "o2"),
        (1701, 1851, "o2 value", "o2"),
        (1703, 1851, "o2 value", "o2"),
    ]
]


def _story(sid, org, aid, uid, first, note, created):
    return {
        "id": sid,
        "org_id": org,
        "action_id": aid,
        "user_id": uid,
        "testimonial_first_name": first,
        "testimonial_last_name": "Story",
        "testimonial_email": f"{first.lower()}@stories.example",
        "note": note,
        "media_url": f"https://media.example/{sid}.mp4",
        "created_at": created,
    }


VIDEO_STORIES = [
    _story(901, "o1", 503, 101, "Maria", "@channel watch this", ts("2024-11-03 10:00:00.700000")),
    _story(902, "o1", 503, 102, "Omar", "Line 1\nLine 2", ts("2024-11-03 10:00:00.200000")),
    _story(903, "o1", 503, 101, "Lateo", "late", LATE),
    _story(904, "o1", 503, 1101, "Ghost", "recorded by o2's user", ts("2024-11-03 11:00:00")),
    _story(905, "o1", 552, 101, "Cross", "o1 row on o2's action", ts("2024-11-03 11:00:00")),
    _story(1901, "o2", 503, 1101, "Other", "o2 row on o1's action", ts("2024-11-03 11:00:00")),
    _story(1902, "o2", 552, 1101, "Other", "o2 story", ts("2024-11-03 11:00:00")),
]

ROWS = {
    "org_users": USERS,
    "teams": TEAMS,
    "team_memberships": TEAM_MEMBERSHIPS,
    "contact_lists": CONTACT_LISTS,
    "contacts": CONTACTS,
    "actions": ACTIONS,
    "action_recipients": ACTION_RECIPIENTS,
    "messages": MESSAGES,
    "outreach_reports": OUTREACH_REPORTS,
    "tags": TAGS,
    "custom_fields": CUSTOM_FIELDS,
    "report_tags": REPORT_TAGS,
    "report_custom_fields": REPORT_CUSTOM_FIELDS,
    "video_stories": VIDEO_STORIES,
}
