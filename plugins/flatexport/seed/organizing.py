"""Synthetic organizing tables: users, teams, contacts, actions, messages, outreach reports.

Why it looks the way it does: every org gets the same hand-made *catalogue* of the cases
the 15 organizing reports must get right (``_catalogue``), then bulk rows for volume
(``_bulk``). The catalogue has F2F, P2P and video-story actions (one Deleted, one with no
activity, one created late), messages both ways with errors, F2F rows with a stored
aasm_state and P2P rows with a stored sender number (both must be written empty), contacts
with and without VAN ids and a friend in no list, a user in two teams, admins and
volunteers, outreach reports with and without action about contacts and users, tags and
custom fields whose names need care (spaces, commas, newlines, control characters,
decomposed unicode, empty names, a fixed column's name, names that collide once
normalised), two reports of one person with different values, formula-like and
multi-line text, rows of the org that point at another org's rows (and the other way),
and rows created after the default report day's cutoff (``late``).

Ids: each org owns the block ``[k * ID_BLOCK, (k + 1) * ID_BLOCK)`` of every table (k =
the org's 1-based index); the catalogue uses ``block + 1 ..`` and bulk rows start at
``block + BULK_OFFSET``. Everything derives from ``numpy.random.default_rng((seed, k))``:
the same arguments give identical frames. ``generate_organizing`` returns the frames so a
test can add exact rows before ``load_organizing`` writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flatexport.seed.load import open_sink
from flatexport.seed.organizing_schema import ORGANIZING_DDL, ORGANIZING_INDEXES, ORGANIZING_TABLES, columns

if TYPE_CHECKING:
    from flatexport.specs import ReportSpec

ID_BLOCK = 10**8
BULK_OFFSET = 1000
DEFAULT_AS_OF = dt.date(2024, 11, 5)  # the last demo day; its rows come after the 2024-11-04 cutoff
HISTORY_DAYS = 90


@dataclass(frozen=True)
class OrganizingSizes:
    """Bulk rows per org, on top of the catalogue (a few dozen rows per table)."""

    users: int = 40
    contacts: int = 300
    actions: int = 8
    messages: int = 2000
    reports: int = 300
    video_stories: int = 10

    @classmethod
    def large(cls) -> OrganizingSizes:
        """A large org, for speed checks: a year of a busy national campaign."""
        return cls(
            users=50_000,
            contacts=500_000,
            actions=300,
            messages=2_000_000,
            reports=300_000,
            video_stories=5_000,
        )

    def scaled(self, factor: float) -> OrganizingSizes:
        def s(n: int) -> int:
            return max(1, int(n * factor))

        return OrganizingSizes(
            s(self.users),
            s(self.contacts),
            s(self.actions),
            s(self.messages),
            s(self.reports),
            s(self.video_stories),
        )


def default_orgs() -> list[str]:
    """The sample warehouse's tenants (the same as the other families')."""
    from flatexport.seed.clickstream import default_orgs as orgs

    return orgs()


def default_sizes(orgs: Sequence[str], base: OrganizingSizes | None = None) -> dict[str, OrganizingSizes]:
    """Every org at ``base``, except ``org_tiny``, which gets a twentieth: exports see a
    busy org and an almost empty one."""
    base = base or OrganizingSizes()
    return {org: base.scaled(0.05) if org == "org_tiny" else base for org in orgs}


# --- typed frames ---------------------------------------------------------------------


def typed(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's column order and types: integers as Int64 (nullable ids load as
    BIGINT, not floats), booleans as boolean, times as UTC, text as objects with None
    for NULL (so NULL and '' stay distinct)."""
    cols = columns(table)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: missing column(s) {', '.join(missing)}")
    out = pd.DataFrame(index=frame.index)
    for name, sql_type in cols.items():
        values = frame[name]
        if sql_type in ("BIGINT", "INTEGER"):
            out[name] = values.astype("Int64")
        elif sql_type == "BOOLEAN":
            out[name] = values.astype("boolean")
        elif sql_type == "TIMESTAMPTZ":
            out[name] = pd.to_datetime(values, utc=True).astype("datetime64[us, UTC]")
        else:
            obj = values.astype(object)
            out[name] = obj.where(values.notna(), None)
    return out.reset_index(drop=True)


def frames_from_rows(rows: Mapping[str, Sequence[Mapping[str, object]]]) -> dict[str, pd.DataFrame]:
    """Typed frames for every organizing table from plain row dicts (absent columns are
    NULL, absent tables empty)."""
    out = {}
    for table in ORGANIZING_TABLES:
        names = list(columns(table))
        frame = pd.DataFrame([{c: r.get(c) for c in names} for r in rows.get(table, [])], columns=names)
        out[table] = typed(table, frame)
    return out


def load_organizing(url: str, tables: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """(Re)create every organizing table at ``url`` and load ``tables`` in one transaction."""
    with open_sink(url) as sink:
        for name in ORGANIZING_TABLES:
            sink.execute(f"DROP TABLE IF EXISTS {name}")
            sink.execute(ORGANIZING_DDL[name])
        for name in ORGANIZING_TABLES:
            frame = tables.get(name)
            if frame is not None and len(frame):
                sink.append(name, typed(name, frame))
        for statement in ORGANIZING_INDEXES:
            sink.execute(statement)
    return {name: len(tables[name]) if name in tables else 0 for name in ORGANIZING_TABLES}


# --- the catalogue --------------------------------------------------------------------


@dataclass(frozen=True)
class Ids:
    """The catalogue's ids of one org (``block`` + a small number per row)."""

    k: int

    @property
    def block(self) -> int:
        return self.k * ID_BLOCK

    def __call__(self, n: int) -> int:
        return self.block + n


# Catalogue row numbers, shared by the generator and the tests that look for them.
ADMIN, VOLUNTEER, UNICODE_USER, FORMULA_USER, SECOND_ADMIN, LATE_USER = 1, 2, 3, 4, 5, 6
FIELD_TEAM, PHONE_BANK, EMPTY_TEAM = 1, 2, 3
MAIN_LIST, EMPTY_LIST = 1, 2
CARLA, NOAH_NO_VAN, MULTILINE, FRIEND, ERRORED_ONLY, LATE_CONTACT, NEVER_TEXTED, AT_SIGN = range(1, 9)
MISSING_PERSON = 900  # a reportable id that is nobody
F2F, P2P, VIDEO, DELETED_P2P, QUIET_P2P, LATE_F2F = range(1, 7)

TAG_NAMES: dict[int, str] = {
    1: "VIP",
    2: "Needs ride",
    3: "  spaced   out  ",
    4: "Line\nbreak",
    5: "Tab\tand\x07bell",
    6: "",
    7: "reportable_name",
    8: "VIP ",
    9: "U\u0308nïcode ✓",  # decomposed: NFC gives "Ünïcode ✓"
    10: "=SUM(A1)",
    11: "Employer, City",
    12: "Late tag",
    13: "Unused tag",
}
FIELD_NAMES: dict[int, str] = {
    1: "Employer",
    2: "Employer, City",
    3: "U\u0308nïcode ✓ field",
    4: "reportable_name",
    5: "",
    6: "Employer ",
    7: "Notes\r\nmulti",
    8: "\x1fctrl\x85",
    9: "+Plus field",
    10: "Only empty",
    11: "Shirt size",
}


def _catalogue(org: str, k: int, previous: int, as_of: dt.date) -> dict[str, list[dict[str, object]]]:
    """The hand-made rows of org ``k``; ``previous`` is another org's index, for rows that
    point across orgs (each org does it to another, so every org has both directions)."""
    i, other = Ids(k), Ids(previous)
    t0 = pd.Timestamp(as_of, tz="UTC") - pd.Timedelta(days=30)
    late = pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(hours=12)

    def at(days: float) -> pd.Timestamp:
        return t0 + pd.Timedelta(days=days).round("s")

    def user(n, first, last, role, van, **kw):
        full = kw.pop("full_name", f"{first} {last}")
        return {
            "id": i(n),
            "org_id": org,
            "first_name": first,
            "last_name": last,
            "full_name": full,
            "email": kw.pop("email", f"{first.lower()}.{n}@{org}.example"),
            "phone": kw.pop("phone", f"+1555123{n:04d}"),
            "role": role,
            "van_id": van,
            "created_at": kw.pop("created_at", at(-20 + n)),
            "updated_at": at(n),
            "last_seen_at": at(25 + n / 10),
            "last_active_at": at(24 + n / 10),
            **kw,
        }

    users = [
        user(
            ADMIN,
            "Ada",
            "Admin",
            "admin",
            "VAN1001",
            email=f"ada.admin@{org}.example",
            city="Springfield",
            state="IL",
            supplied_city="Chatham",
            supplied_state="IL",
            supplied_zip="62629",
            leaderboard_points=120,
        ),
        user(VOLUNTEER, "Vic", "Volunteer", "volunteer", None, phone="(555) 010-0199", supplied_zip="02134"),
        user(
            UNICODE_USER, "Zoë", "Ünïcode", "volunteer", "VAN1003", city="Zürich", supplied_city="São Paulo"
        ),
        user(
            FORMULA_USER,
            '=HYPERLINK("http://x.example")',
            "-Minus",
            "volunteer",
            "VAN1004",
            leaderboard_points=-3,
        ),
        user(SECOND_ADMIN, "Second", "Admin", "admin", None, email=f" Second.Admin@{org.upper()}.Example "),
        user(LATE_USER, "Lee", "Late", "volunteer", "VAN1006", created_at=late),
    ]
    teams = [
        {"id": i(FIELD_TEAM), "org_id": org, "name": "Field Team", "created_at": at(-25)},
        {"id": i(PHONE_BANK), "org_id": org, "name": "Phone Bank, North", "created_at": at(-25)},
        {"id": i(EMPTY_TEAM), "org_id": org, "name": "Empty team", "created_at": at(-25)},
    ]
    memberships = [
        {"team_id": i(FIELD_TEAM), "user_id": i(ADMIN), "org_id": org, "created_at": at(-10)},
        {"team_id": i(PHONE_BANK), "user_id": i(ADMIN), "org_id": org, "created_at": at(-9)},
        {"team_id": i(FIELD_TEAM), "user_id": i(VOLUNTEER), "org_id": org, "created_at": at(-8)},
        {"team_id": i(PHONE_BANK), "user_id": i(FORMULA_USER), "org_id": org, "created_at": at(-7)},
        {"team_id": i(FIELD_TEAM), "user_id": i(LATE_USER), "org_id": org, "created_at": late},
        # this org's row in another org's team: in neither org's file
        {"team_id": other(FIELD_TEAM), "user_id": i(VOLUNTEER), "org_id": org, "created_at": at(-6)},
    ]
    lists = [
        {"id": i(MAIN_LIST), "org_id": org, "name": "Main list", "created_at": at(-28)},
        {"id": i(EMPTY_LIST), "org_id": org, "name": "Empty list", "created_at": at(-28)},
    ]

    def contact(n, first, last, lst, van, **kw):
        return {
            "id": i(n),
            "org_id": org,
            "contact_list_id": lst,
            "first_name": first,
            "last_name": last,
            "full_name": kw.pop("full_name", f"{first} {last}"),
            "phone": kw.pop("phone", f"+1555777{n:04d}"),
            "email": kw.pop("email", f"{first.lower()}@contacts.example"),
            "voterbase_id": kw.pop("voterbase_id", f"VB{2000 + n}" if van else None),
            "van_id": van,
            "created_at": kw.pop("created_at", at(-15 + n / 10)),
        }

    main = i(MAIN_LIST)
    contacts = [
        contact(CARLA, "Carla", "Contact", main, "VAN2001"),
        contact(NOAH_NO_VAN, "Noah", "NoVan", main, None),
        contact(MULTILINE, "Multi", "Line", main, "VAN2003", full_name="Multi\nLine"),
        contact(FRIEND, "Frank", "Friend", None, None),
        contact(ERRORED_ONLY, "Erin", "Errored", main, "VAN2005"),
        contact(LATE_CONTACT, "Lana", "Late", main, "VAN2006", created_at=late),
        contact(NEVER_TEXTED, "Nora", "Never", main, "VAN2007"),
        contact(AT_SIGN, "@home", "-dash", main, "VAN2008", phone="+15557770008"),
        # this org's contact in another org's list: in neither org's contacts file
        contact(20, "Cross", "Org", other(MAIN_LIST), "VAN2020"),
    ]

    def action(n, title, kind, state, privacy, lst, created):
        return {
            "id": i(n),
            "org_id": org,
            "title": title,
            "description": f"{title}: a {kind} action",
            "action_type": kind,
            "aasm_state": state,
            "privacy": privacy,
            "contact_list_id": lst,
            "created_at": created,
            "updated_at": created + pd.Timedelta(days=1),
            "published_at": None if state == "Deleted" else created + pd.Timedelta(hours=2),
        }

    actions = [
        action(F2F, "Text your friends", "TextaFriend", "Published", "Public", None, at(-12)),
        action(P2P, 'Call the list, "now"', "TextaList", "Published", "Private", main, at(-11)),
        action(VIDEO, "Share your story", "VideoStory", "Closed", "Public", None, at(-10)),
        action(DELETED_P2P, "Old campaign", "TextaList", "Deleted", "Private", main, at(-9)),
        action(QUIET_P2P, "Quiet action", "TextaList", "Published", "Public", i(EMPTY_LIST), at(-8)),
        action(LATE_F2F, "Late action", "TextaFriend", "Published", "Public", None, late),
    ]

    def recipient(a, u, saw, started, completed, performed, imp, clicks, created=None):
        return {
            "action_id": a,
            "user_id": u,
            "org_id": org,
            "saw": saw,
            "started": started,
            "completed_count": completed,
            "performed_count": performed,
            "impressions": imp,
            "clicks": clicks,
            "created_at": created if created is not None else at(-5),
        }

    recipients = [
        recipient(i(P2P), i(ADMIN), True, True, 2, 180, 10, 4),
        recipient(i(P2P), i(VOLUNTEER), True, False, 0, 0, 3, 0),
        recipient(i(P2P), i(UNICODE_USER), False, False, 0, 0, 0, 0),
        recipient(i(P2P), i(LATE_USER), True, True, 1, 5, 1, 1, late),
        recipient(i(F2F), i(ADMIN), True, True, 1, 12, 5, 2),
        recipient(i(F2F), i(VOLUNTEER), True, True, 1, 3, 2, 1),
        recipient(i(DELETED_P2P), i(VOLUNTEER), True, True, 1, 40, 2, 2),
        recipient(i(VIDEO), i(ADMIN), True, True, 1, 1, 1, 1),
        # this org's row on another org's action: counted for neither
        recipient(other(P2P), i(ADMIN), True, True, 9, 999, 9, 9),
    ]
    u, c = i, i

    def U(n: int) -> tuple[str, int]:  # noqa: N802 - reads like the table it fills
        return ("User", i(n))

    def C(n: int) -> tuple[str, int]:  # noqa: N802
        return ("Contact", i(n))

    pool = "+15550009999"  # the P2P pool number: stored, never exported
    ada, vic, carla, noah, erin, frank = (
        "Ada Admin",
        "Vic Volunteer",
        "Carla Contact",
        "Noah NoVan",
        "Erin Errored",
        "Frank Friend",
    )
    # fmt: off
    message_rows = [
        # n, action, sender, receiver, body, script_type, aasm_state, day, then sender_name,
        # sender_number, receiver_name, receiver_number, receiver_van_id, error_code, twilio_status
        (1, i(P2P), U(ADMIN), C(CARLA), "Hi Carla, will you vote on Tuesday?", "Initial", "sent", 1,
         ada, pool, carla, "+15557770001", "VAN2001", None, "delivered"),
        (2, i(P2P), C(CARLA), U(ADMIN), "=1+1", None, "received", 1.1,
         carla, "+15557770001", ada, None, None, None, None),
        (3, i(P2P), U(ADMIN), C(CARLA), "-5 degrees outside,\nstill voting!", "Response", "sent", 1.2,
         ada, pool, "Carla C.", "+15557770001", "VAN2001", None, "delivered"),
        (4, i(P2P), U(ADMIN), C(ERRORED_ONLY), "Hi Erin", "Initial", "error", 1.3,
         ada, pool, erin, "+15557770005", "VAN2005", "30003", "undelivered"),
        (5, i(P2P), U(VOLUNTEER), C(NOAH_NO_VAN), "+1 more reason: polls open at 7", "Initial", "sent", 2,
         vic, None, noah, "+15557770002", None, None, "sent"),
        (6, i(P2P), U(VOLUNTEER), C(NOAH_NO_VAN), "@Noah see you there", "Response", "sent", 2.1,
         vic, None, noah, "+15557770002", None, None, "delivered"),
        (7, i(P2P), U(ADMIN), C(NEVER_TEXTED), "Hi Nora", "Initial", "sent", late,
         ada, pool, "Nora Never", "+15557770007", "VAN2007", None, "delivered"),
        (8, i(P2P), U(VOLUNTEER), C(MULTILINE), "Line one\r\nLine two", "Initial", "sent", 2.2,
         vic, pool, "Multi\nLine", None, "VAN2003", None, "delivered"),
        (9, i(F2F), U(ADMIN), C(FRIEND), "Hey Frank, voting Tuesday?", "Initial", "sent", 3,
         ada, "+15551230001", frank, "+15557770004", None, None, "delivered"),
        (10, i(F2F), C(FRIEND), U(ADMIN), "Sure!", None, "received", 3.1,
         frank, "+15557770004", ada, "+15551230001", None, None, None),
        (11, i(F2F), U(VOLUNTEER), C(FRIEND), "Hi Frank", "Initial", "error", 3.2,
         vic, "+15550100199", frank, "+15557770004", None, "21610", "undelivered"),
        (12, i(DELETED_P2P), U(VOLUNTEER), C(NOAH_NO_VAN), "Old news", "Initial", "sent", 0.5,
         vic, pool, noah, "+15557770002", None, None, "delivered"),
        # this org's message on another org's action: in neither org's files
        (13, other(P2P), U(ADMIN), C(CARLA), "cross-org message", "Initial", "sent", 2,
         ada, pool, carla, "+15557770001", "VAN2001", None, "delivered"),
    ]
    # fmt: on
    messages = [
        {
            "id": i(n),
            "org_id": org,
            "action_id": action_id,
            "sender_type": sender[0],
            "sender_id": sender[1],
            "sender_name": s_name,
            "sender_number": s_number,
            "receiver_type": receiver[0],
            "receiver_id": receiver[1],
            "receiver_name": r_name,
            "receiver_number": r_number,
            "receiver_van_id": r_van,
            "body": body,
            "script_type": script,
            "aasm_state": state,
            "error_code": error,
            "twilio_status": twilio,
            "created_at": day if isinstance(day, pd.Timestamp) else at(day),
        }
        for (
            n,
            action_id,
            sender,
            receiver,
            body,
            script,
            state,
            day,
            s_name,
            s_number,
            r_name,
            r_number,
            r_van,
            error,
            twilio,
        ) in message_rows
    ]  # fmt: skip

    def report(n, a, filer, r_type, r_id, notes, day, synced=True):
        created = day if isinstance(day, pd.Timestamp) else at(day)
        return {
            "id": i(n),
            "org_id": org,
            "action_id": a,
            "user_id": filer,
            "reportable_type": r_type,
            "reportable_id": r_id,
            "notes": notes,
            "synced_at": created + pd.Timedelta(minutes=5) if synced else None,
            "created_at": created,
        }

    reports = [
        report(1, i(P2P), u(ADMIN), "Contact", c(CARLA), "Wants a ride", 1.5),
        report(2, i(P2P), u(VOLUNTEER), "Contact", c(CARLA), "", 2.5, synced=False),
        report(3, i(P2P), u(ADMIN), "User", u(UNICODE_USER), "Volunteer follow-up", 2.6),
        report(4, i(P2P), u(VOLUNTEER), "Contact", c(NOAH_NO_VAN), "=cmd|' /C calc'!A0", 2.7),
        report(5, i(P2P), u(ADMIN), "Contact", c(MISSING_PERSON), "Nobody we know", 2.8),
        report(6, i(P2P), u(ADMIN), "Contact", c(CARLA), "late notes", late),
        report(7, i(P2P), u(ADMIN), "Contact", c(ERRORED_ONLY), "Never got the text", 2.9),
        report(8, i(P2P), u(ADMIN), "Contact", other(CARLA), "another org's contact", 3.0),
        report(9, i(P2P), u(VOLUNTEER), "Contact", c(CARLA), None, 3.5),
        report(10, i(F2F), u(ADMIN), "Contact", c(FRIEND), "Friend says yes", 3.6),
        report(11, i(DELETED_P2P), u(VOLUNTEER), "Contact", c(NOAH_NO_VAN), "old", 0.6),
        report(12, None, u(ADMIN), "Contact", c(CARLA), "Met at the fair", 4),
        report(13, None, u(VOLUNTEER), "User", u(VOLUNTEER), "Self report", 4.1),
        report(14, None, u(ADMIN), "Contact", c(FRIEND), "Line 1\nLine 2", 4.2),
        report(15, None, u(ADMIN), "Contact", c(CARLA), "late engage", late),
        report(16, None, u(VOLUNTEER), "Contact", c(CARLA), "", 4.3),
    ]
    tags = [{"id": i(n), "org_id": org, "name": name} for n, name in TAG_NAMES.items()]
    fields = [{"id": i(n), "org_id": org, "name": name} for n, name in FIELD_NAMES.items()]
    tag_links = [
        (1, 1), (1, 2), (2, 1), (4, 3), (4, 4), (4, 5), (4, 6), (4, 7), (4, 8), (4, 9), (4, 10), (4, 11),
        (6, 12), (7, 2), (10, 1), (11, 2), (12, 1), (12, 8), (14, 4),
    ]  # fmt: skip
    report_tags = [{"report_id": i(r), "tag_id": i(t), "org_id": org} for r, t in tag_links]
    report_tags += [
        # another org's tag on this org's report, and this org's link on another org's report
        {"report_id": i(1), "tag_id": other(3), "org_id": org},
        {"report_id": other(1), "tag_id": i(4), "org_id": org},
    ]
    values = [
        (1, 1, "Acme"), (2, 1, "Globex"), (2, 4, "x"), (4, 2, "Springfield, IL"), (4, 3, "✓ oui"),
        (4, 5, "yes"), (4, 6, "Employer with a space"), (4, 7, "multi\nline value"), (4, 8, "ctrl"),
        (4, 9, "=2+2"), (4, 10, ""), (1, 10, None), (6, 1, "Late Corp"), (9, 1, ""), (9, 11, "L"),
        (12, 1, "Engage Inc"), (13, 11, "M"), (14, 10, None), (16, 1, "Fair Corp"),
    ]  # fmt: skip
    report_fields = [
        {"report_id": i(r), "custom_field_id": i(f), "org_id": org, "value": v} for r, f, v in values
    ]
    report_fields += [
        {"report_id": i(1), "custom_field_id": other(11), "org_id": org, "value": "other org's field"},
        {"report_id": other(1), "custom_field_id": i(10), "org_id": org, "value": "on another org's report"},
    ]

    def story(n, a, who, first, note, day):
        return {
            "id": i(n),
            "org_id": org,
            "action_id": a,
            "user_id": who,
            "testimonial_first_name": first,
            "testimonial_last_name": "Story",
            "testimonial_email": f"{first.lower()}@stories.example",
            "note": note,
            "media_url": f"https://media.example/{org}/{n}.mp4",
            "created_at": day if isinstance(day, pd.Timestamp) else at(day),
        }

    stories = [
        story(1, i(VIDEO), u(ADMIN), "Maria", "@channel watch this", 5),
        story(2, i(VIDEO), u(VOLUNTEER), "Omar", "Line 1\nLine 2", 5),  # same second as story 1
        story(3, i(VIDEO), u(ADMIN), "Lateo", "late", late),
        story(4, i(VIDEO), other(ADMIN), "Ghost", "recorded by another org's user", 5.5),
        story(5, other(VIDEO), u(ADMIN), "Cross", "on another org's action", 5.6),
    ]
    return {
        "org_users": users,
        "teams": teams,
        "team_memberships": memberships,
        "contact_lists": lists,
        "contacts": contacts,
        "actions": actions,
        "action_recipients": recipients,
        "messages": messages,
        "outreach_reports": reports,
        "tags": tags,
        "custom_fields": fields,
        "report_tags": report_tags,
        "report_custom_fields": report_fields,
        "video_stories": stories,
    }


# --- bulk rows ------------------------------------------------------------------------

FIRST_NAMES = np.array(
    ["Ana", "Ben", "Chloé", "Dmitri", "Ema", "Farid", "Grace", "Hiro", "Ines", "José", "Kai"]
)
LAST_NAMES = np.array(["Lopez", "Smith", "O'Brien", "Nguyen", "Müller", "Okafor", "Kim", "Rossi", "Cohen"])
CITIES = np.array(["Springfield", "Riverside", "Fairview", "Madison", "Georgetown", "Salem"])
STATES = np.array(["IL", "CA", "TX", "NY", "OR", "GA"])
BODIES = np.array(
    [
        "Hi {name}, will you vote on Tuesday?",
        "Thanks! Your polling place is open 7am-8pm.",
        "Can we count on you?",
        "Reply STOP to opt out",
        "Yes, count me in",
        "Who is this?",
        "- not sure yet",
        "Voting early, see you there\nThanks",
    ],
    dtype=object,
)


def _stamp(rng: np.random.Generator, n: int, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    span = int((end - start).total_seconds() * 1e6)
    return pd.Series(start + pd.to_timedelta(rng.integers(0, span, size=n), unit="us"))


def _pick(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.integers(0, len(pool), size=n)]


def _bulk(org: str, k: int, sizes: OrganizingSizes, as_of: dt.date, seed: int) -> dict[str, pd.DataFrame]:
    """Volume rows with numpy: every org's history over ``HISTORY_DAYS`` before ``as_of``."""
    rng = np.random.default_rng((seed, k))
    base = k * ID_BLOCK + BULK_OFFSET
    end = pd.Timestamp(as_of, tz="UTC")
    start = end - pd.Timedelta(days=HISTORY_DAYS)
    nu, nc, na = sizes.users, sizes.contacts, sizes.actions
    out: dict[str, pd.DataFrame] = {}

    uid = base + np.arange(nu, dtype=np.int64)
    first, last = _pick(rng, FIRST_NAMES, nu), _pick(rng, LAST_NAMES, nu)
    created = _stamp(rng, nu, start, end - pd.Timedelta(days=HISTORY_DAYS // 2))
    has_van = rng.random(nu) < 0.7
    out["org_users"] = pd.DataFrame(
        {
            "id": uid,
            "org_id": org,
            "first_name": first,
            "last_name": last,
            "full_name": first + " " + last,
            "email": [f"user{n}@{org}.example" for n in uid],
            "phone": [f"+1555{n % 10**7:07d}" for n in uid],
            "role": np.where(rng.random(nu) < 0.03, "admin", "volunteer"),
            "van_id": np.where(has_van, [f"VAN{n % 10**8}" for n in uid], None),
            "city": _pick(rng, CITIES, nu),
            "state": _pick(rng, STATES, nu),
            "supplied_city": _pick(rng, CITIES, nu),
            "supplied_state": _pick(rng, STATES, nu),
            "supplied_zip": [f"{z:05d}" for z in rng.integers(501, 99950, size=nu)],
            "leaderboard_points": rng.integers(0, 500, size=nu),
            "created_at": created,
            "updated_at": created + pd.to_timedelta(rng.integers(0, 86400, size=nu), unit="s"),
            "last_seen_at": _stamp(rng, nu, end - pd.Timedelta(days=20), end),
            "last_active_at": _stamp(rng, nu, end - pd.Timedelta(days=30), end),
        }
    )
    nt = max(2, nu // 25)
    team_ids = base + np.arange(nt, dtype=np.int64)
    out["teams"] = pd.DataFrame(
        {
            "id": team_ids,
            "org_id": org,
            "name": [f"Team {n - base + 1}" for n in team_ids],
            "created_at": start,
        }
    )
    member = np.concatenate([np.arange(nu), rng.integers(0, nu, size=nu // 3)])
    memberships = pd.DataFrame(
        {"team_id": _pick(rng, team_ids, len(member)), "user_id": uid[member], "org_id": org}
    ).drop_duplicates(["team_id", "user_id"])
    memberships = memberships.reset_index(drop=True)
    memberships["created_at"] = _stamp(rng, len(memberships), start, end)
    out["team_memberships"] = memberships

    nl = max(1, nc // 5000)
    list_ids = base + np.arange(nl, dtype=np.int64)
    out["contact_lists"] = pd.DataFrame(
        {
            "id": list_ids,
            "org_id": org,
            "name": [f"List {n - base + 1}" for n in list_ids],
            "created_at": start,
        }
    )
    cid = base + np.arange(nc, dtype=np.int64)
    cfirst, clast = _pick(rng, FIRST_NAMES, nc), _pick(rng, LAST_NAMES, nc)
    friend = rng.random(nc) < 0.1
    cvan = rng.random(nc) < 0.6
    out["contacts"] = pd.DataFrame(
        {
            "id": cid,
            "org_id": org,
            "contact_list_id": pd.array(np.where(friend, -1, _pick(rng, list_ids, nc)), dtype="Int64"),
            "first_name": cfirst,
            "last_name": clast,
            "full_name": cfirst + " " + clast,
            "phone": [f"+1666{n % 10**7:07d}" for n in cid],
            "email": [f"contact{n}@example.net" for n in cid],
            "voterbase_id": np.where(cvan, [f"VB{n % 10**8}" for n in cid], None),
            "van_id": np.where(cvan, [f"VAN{n % 10**8}" for n in cid], None),
            "created_at": _stamp(rng, nc, start, end),
        }
    )
    out["contacts"]["contact_list_id"] = out["contacts"]["contact_list_id"].mask(friend)

    aid = base + np.arange(na, dtype=np.int64)
    kinds = np.array(["TextaFriend", "TextaList", "VideoStory"])[np.arange(na) % 3]
    a_created = _stamp(rng, na, start, start + pd.Timedelta(days=HISTORY_DAYS // 3))
    state = np.where(rng.random(na) < 0.1, "Deleted", np.where(rng.random(na) < 0.3, "Closed", "Published"))
    out["actions"] = pd.DataFrame(
        {
            "id": aid,
            "org_id": org,
            "title": [f"Action {n - base + 1}" for n in aid],
            "description": "Bulk action",
            "action_type": kinds,
            "aasm_state": state,
            "privacy": np.where(rng.random(na) < 0.5, "Public", "Private"),
            "contact_list_id": pd.array(
                np.where(kinds == "TextaList", _pick(rng, list_ids, na), -1), dtype="Int64"
            ),
            "created_at": a_created,
            "updated_at": a_created + pd.Timedelta(days=1),
            "published_at": (a_created + pd.Timedelta(hours=1)).where(state != "Deleted"),
        }
    )
    out["actions"]["contact_list_id"] = out["actions"]["contact_list_id"].mask(kinds != "TextaList")

    per_action = min(nu, max(1, 4 * nu // max(na, 1)))
    rec_actions = np.repeat(aid, per_action)
    rec_users = np.concatenate([rng.choice(uid, size=per_action, replace=False) for _ in range(na)])
    completed = rng.integers(0, 3, size=len(rec_actions))
    out["action_recipients"] = pd.DataFrame(
        {
            "action_id": rec_actions,
            "user_id": rec_users,
            "org_id": org,
            "saw": rng.random(len(rec_actions)) < 0.8,
            "started": rng.random(len(rec_actions)) < 0.5,
            "completed_count": completed,
            "performed_count": completed * rng.integers(0, 60, size=len(rec_actions)),
            "impressions": rng.integers(0, 30, size=len(rec_actions)),
            "clicks": rng.integers(0, 10, size=len(rec_actions)),
            "created_at": _stamp(rng, len(rec_actions), start + pd.Timedelta(days=HISTORY_DAYS // 3), end),
        }
    )

    texting = aid[kinds != "VideoStory"]
    nm = sizes.messages if len(texting) else 0
    m_action = _pick(rng, texting, nm) if nm else np.array([], dtype=np.int64)
    m_user = _pick(rng, uid, nm)
    m_contact = _pick(rng, cid, nm)
    inbound = rng.random(nm) < 0.3
    m_state = np.where(inbound, "received", np.where(rng.random(nm) < 0.05, "error", "sent"))
    user_name = out["org_users"].set_index("id")["full_name"]
    contact_name = out["contacts"].set_index("id")["full_name"]
    contact_phone = out["contacts"].set_index("id")["phone"]
    contact_van = out["contacts"].set_index("id")["van_id"]
    u_names = user_name.reindex(m_user).to_numpy(dtype=object)
    c_names = contact_name.reindex(m_contact).to_numpy(dtype=object)
    c_phones = contact_phone.reindex(m_contact).to_numpy(dtype=object)
    out["messages"] = pd.DataFrame(
        {
            "id": base + np.arange(nm, dtype=np.int64),
            "org_id": org,
            "action_id": m_action,
            "sender_type": np.where(inbound, "Contact", "User"),
            "sender_id": np.where(inbound, m_contact, m_user),
            "sender_name": np.where(inbound, c_names, u_names),
            "sender_number": np.where(inbound, c_phones, "+15550009999"),
            "receiver_type": np.where(inbound, "User", "Contact"),
            "receiver_id": np.where(inbound, m_user, m_contact),
            "receiver_name": np.where(inbound, u_names, c_names),
            "receiver_number": np.where(inbound, None, c_phones),
            "receiver_van_id": np.where(inbound, None, contact_van.reindex(m_contact).to_numpy(dtype=object)),
            "body": _pick(rng, BODIES, nm),
            "script_type": np.where(inbound, None, np.where(rng.random(nm) < 0.6, "Initial", "Response")),
            "aasm_state": m_state,
            "error_code": np.where(m_state == "error", "30007", None),
            "twilio_status": np.where(
                m_state == "error",
                "undelivered",
                np.where(inbound, None, np.where(rng.random(nm) < 0.9, "delivered", "sent")),
            ),
            "created_at": _stamp(rng, nm, start + pd.Timedelta(days=HISTORY_DAYS // 3), end),
        }
    )

    ntag, nfield = 12, 8
    tag_ids = base + np.arange(ntag, dtype=np.int64)
    field_ids = base + np.arange(nfield, dtype=np.int64)
    out["tags"] = pd.DataFrame({"id": tag_ids, "org_id": org, "name": [f"Tag {n}" for n in range(ntag)]})
    out["custom_fields"] = pd.DataFrame(
        {"id": field_ids, "org_id": org, "name": [f"Field {n}" for n in range(nfield)]}
    )
    nr = sizes.reports
    about_user = rng.random(nr) < 0.15
    engage = rng.random(nr) < 0.3
    r_ids = base + np.arange(nr, dtype=np.int64)
    r_created = _stamp(rng, nr, start + pd.Timedelta(days=HISTORY_DAYS // 3), end)
    out["outreach_reports"] = pd.DataFrame(
        {
            "id": r_ids,
            "org_id": org,
            "action_id": pd.array(
                np.where(engage, -1, _pick(rng, texting if len(texting) else aid, nr)), dtype="Int64"
            ),
            "user_id": _pick(rng, uid, nr),
            "reportable_type": np.where(about_user, "User", "Contact"),
            "reportable_id": np.where(about_user, _pick(rng, uid, nr), _pick(rng, cid, nr)),
            "notes": np.where(rng.random(nr) < 0.5, _pick(rng, BODIES, nr), None),
            "synced_at": r_created.where(rng.random(nr) < 0.7),
            "created_at": r_created,
        }
    )
    out["outreach_reports"]["action_id"] = out["outreach_reports"]["action_id"].mask(engage)
    links = pd.DataFrame(
        {"report_id": np.repeat(r_ids, 2), "tag_id": _pick(rng, tag_ids, 2 * nr), "org_id": org}
    )
    out["report_tags"] = links.drop_duplicates(["report_id", "tag_id"]).reset_index(drop=True)
    vals = pd.DataFrame(
        {
            "report_id": np.repeat(r_ids, 2),
            "custom_field_id": _pick(rng, field_ids, 2 * nr),
            "org_id": org,
            "value": _pick(rng, np.array(["Yes", "No", "Maybe", "", "42"], dtype=object), 2 * nr),
        }
    )
    out["report_custom_fields"] = vals.drop_duplicates(["report_id", "custom_field_id"]).reset_index(
        drop=True
    )

    stories = aid[kinds == "VideoStory"]
    nv = sizes.video_stories if len(stories) else 0
    v_ids = base + np.arange(nv, dtype=np.int64)
    out["video_stories"] = pd.DataFrame(
        {
            "id": v_ids,
            "org_id": org,
            "action_id": _pick(rng, stories, nv) if nv else np.array([], dtype=np.int64),
            "user_id": _pick(rng, uid, nv),
            "testimonial_first_name": _pick(rng, FIRST_NAMES, nv),
            "testimonial_last_name": _pick(rng, LAST_NAMES, nv),
            "testimonial_email": [f"story{n}@example.org" for n in v_ids],
            "note": _pick(rng, BODIES, nv),
            "media_url": [f"https://media.example/{org}/{n}.mp4" for n in v_ids],
            "created_at": _stamp(rng, nv, start + pd.Timedelta(days=HISTORY_DAYS // 3), end),
        }
    )
    return out


def generate_organizing(
    orgs: Sequence[str] | None = None,
    sizes: Mapping[str, OrganizingSizes] | None = None,
    as_of: dt.date = DEFAULT_AS_OF,
    seed: int = 7,
) -> dict[str, pd.DataFrame]:
    """Every organizing table as a typed frame: each org's catalogue, then its bulk rows."""
    orgs = default_orgs() if orgs is None else list(orgs)
    sizes = default_sizes(orgs) if sizes is None else sizes
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in ORGANIZING_TABLES}
    for k, org in enumerate(orgs, start=1):
        # cross-org rows point at the previous org (the first at the last); a lone org's
        # point at block 0, which no org owns
        previous = 0 if len(orgs) == 1 else len(orgs) if k == 1 else k - 1
        catalogue = frames_from_rows(_catalogue(org, k, previous, as_of))
        bulk = _bulk(org, k, sizes.get(org, OrganizingSizes()), as_of, seed)
        for table in ORGANIZING_TABLES:
            parts[table] += [catalogue[table], typed(table, bulk[table])]
    return {
        t: typed(t, pd.concat([f for f in frames if len(f)], ignore_index=True))
        for t, frames in parts.items()
    }


def sample_scope(spec: ReportSpec, org: str, orgs: Sequence[str] | None = None) -> dict[str, int]:
    """A scope of an organizing report with rows in the generated data of ``org``: the
    catalogue's main list, or the action of the type the report runs on (any action
    report: the P2P action, which has every kind of row). {} for an org-wide report."""
    ids = Ids((default_orgs() if orgs is None else list(orgs)).index(org) + 1)
    scope = spec.options.scope
    if scope == "contact_list":
        return {"contact_list_id": ids(MAIN_LIST)}
    if scope == "action":
        return {"action_id": ids(VIDEO if spec.options.action_type == "VideoStory" else P2P)}
    return {}


def seed_organizing(
    url: str,
    orgs: Sequence[str] | None = None,
    sizes: Mapping[str, OrganizingSizes] | None = None,
    as_of: dt.date = DEFAULT_AS_OF,
    seed: int = 7,
) -> dict[str, int]:
    """Generate and load the organizing tables at ``url``; returns the row count per table."""
    return load_organizing(url, generate_organizing(orgs, sizes, as_of, seed))
