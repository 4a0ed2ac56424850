"""DDL of the organizing source tables, declared once.

The statements are the contract's (``shared/contracts/organizing.md`` section 1), verbatim,
comments included: both DuckDB and PostgreSQL 15+ accept them unchanged, so the seeder,
the report queries and the tests see the same columns and types on either engine.
Column names and types are read back from these statements (:func:`columns`), so there
is no second list to keep in step.
"""

from __future__ import annotations

import re
from functools import cache

ORGANIZING_DDL: dict[str, str] = {
    "org_users": """\
CREATE TABLE org_users (                  -- volunteers and admins of one org
    id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL,
    first_name TEXT, last_name TEXT, full_name TEXT, email TEXT, phone TEXT,
    role TEXT NOT NULL,                   -- admin | volunteer
    van_id TEXT,
    city TEXT, state TEXT,                -- matched from the voter file
    supplied_city TEXT, supplied_state TEXT, supplied_zip TEXT,  -- from the zip the user typed
    leaderboard_points INTEGER,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ,
    last_seen_at TIMESTAMPTZ,             -- last log-in
    last_active_at TIMESTAMPTZ            -- last time the user completed an action
)""",
    "teams": """\
CREATE TABLE teams (id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL)""",
    "team_memberships": """\
CREATE TABLE team_memberships (team_id BIGINT NOT NULL, user_id BIGINT NOT NULL,
    org_id TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (team_id, user_id))""",
    "contact_lists": """\
CREATE TABLE contact_lists (id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL,
    name TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)""",
    "contacts": """\
CREATE TABLE contacts (
    id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL,
    contact_list_id BIGINT,               -- NULL: a volunteer's own friend (F2F), in no list
    first_name TEXT, last_name TEXT, full_name TEXT, phone TEXT, email TEXT,
    voterbase_id TEXT, van_id TEXT, created_at TIMESTAMPTZ NOT NULL
)""",
    "actions": """\
CREATE TABLE actions (
    id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL, title TEXT NOT NULL, description TEXT,
    action_type TEXT NOT NULL,            -- TextaFriend (F2F) | TextaList (P2P) | VideoStory
    aasm_state TEXT NOT NULL,             -- Published | Closed | Deleted (a soft delete)
    privacy TEXT NOT NULL,                -- Public | Private
    contact_list_id BIGINT,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ, published_at TIMESTAMPTZ
)""",
    "action_recipients": """\
CREATE TABLE action_recipients (          -- one row per user the action was sent to
    action_id BIGINT NOT NULL, user_id BIGINT NOT NULL, org_id TEXT NOT NULL,
    saw BOOLEAN NOT NULL, started BOOLEAN NOT NULL,
    completed_count INTEGER NOT NULL,     -- times this user finished the action
    performed_count INTEGER NOT NULL,     -- people this user reached through it
    impressions INTEGER NOT NULL, clicks INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,      -- when the action was sent to the user
    PRIMARY KEY (action_id, user_id)
)""",
    "messages": """\
CREATE TABLE messages (
    id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL, action_id BIGINT NOT NULL,
    sender_type TEXT NOT NULL,            -- User | Contact
    sender_id BIGINT NOT NULL, sender_name TEXT, sender_number TEXT,
    receiver_type TEXT NOT NULL,          -- User | Contact
    receiver_id BIGINT NOT NULL, receiver_name TEXT, receiver_number TEXT, receiver_van_id TEXT,
    body TEXT,
    script_type TEXT,                     -- Initial | Response; NULL on a contact's own message
    aasm_state TEXT NOT NULL,             -- sent | error | received
    error_code TEXT,
    twilio_status TEXT,                   -- delivered | undelivered | sent (handed to Twilio)
    created_at TIMESTAMPTZ NOT NULL
)""",
    "outreach_reports": """\
CREATE TABLE outreach_reports (           -- one submitted report by a volunteer about a person
    id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL,
    action_id BIGINT,                     -- NULL: filed in Engage, outside any action
    user_id BIGINT NOT NULL,              -- the volunteer who filed it
    reportable_type TEXT NOT NULL,        -- Contact | User
    reportable_id BIGINT NOT NULL,        -- contacts.id or org_users.id
    notes TEXT, synced_at TIMESTAMPTZ, created_at TIMESTAMPTZ NOT NULL
)""",
    "tags": """\
CREATE TABLE tags (id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL)""",
    "custom_fields": """\
CREATE TABLE custom_fields (id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL)""",
    "report_tags": """\
CREATE TABLE report_tags (report_id BIGINT NOT NULL, tag_id BIGINT NOT NULL,
    org_id TEXT NOT NULL, PRIMARY KEY (report_id, tag_id))""",
    "report_custom_fields": """\
CREATE TABLE report_custom_fields (report_id BIGINT NOT NULL, custom_field_id BIGINT NOT NULL,
    org_id TEXT NOT NULL, value TEXT, PRIMARY KEY (report_id, custom_field_id))""",
    "video_stories": """\
CREATE TABLE video_stories (
    id BIGINT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL, action_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,              -- the volunteer who recorded it
    testimonial_first_name TEXT, testimonial_last_name TEXT, testimonial_email TEXT,
    note TEXT, media_url TEXT, created_at TIMESTAMPTZ NOT NULL
)""",
}

ORGANIZING_TABLES: tuple[str, ...] = tuple(ORGANIZING_DDL)

# Not part of the contract: every report reads one org, mostly one action of it, so these
# keep PostgreSQL's reads narrow on a large warehouse. Created after the load.
ORGANIZING_INDEXES: tuple[str, ...] = (
    "CREATE INDEX IF NOT EXISTS org_users_org ON org_users (org_id, id)",
    "CREATE INDEX IF NOT EXISTS contacts_org_list ON contacts (org_id, contact_list_id)",
    "CREATE INDEX IF NOT EXISTS actions_org ON actions (org_id, id)",
    "CREATE INDEX IF NOT EXISTS action_recipients_org ON action_recipients (org_id, action_id)",
    "CREATE INDEX IF NOT EXISTS messages_org_action ON messages (org_id, action_id)",
    "CREATE INDEX IF NOT EXISTS outreach_reports_org_action ON outreach_reports (org_id, action_id)",
    "CREATE INDEX IF NOT EXISTS report_tags_org ON report_tags (org_id, report_id)",
    "CREATE INDEX IF NOT EXISTS report_custom_fields_org ON report_custom_fields (org_id, report_id)",
    "CREATE INDEX IF NOT EXISTS video_stories_org_action ON video_stories (org_id, action_id)",
)

_COMMENT = re.compile(r"--[^\n]*")
_CONSTRAINT = re.compile(r"^(PRIMARY|UNIQUE|FOREIGN|CHECK|CONSTRAINT)\b", re.IGNORECASE)


@cache
def columns(table: str) -> dict[str, str]:
    """Column name -> SQL type (``BIGINT``, ``TEXT``, ...) in the DDL's order."""
    body = _COMMENT.sub("", ORGANIZING_DDL[table])
    inner = body[body.index("(") + 1 : body.rindex(")")]
    items, depth, current = [], 0, []
    for char in inner:
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        depth += (char == "(") - (char == ")")
        current.append(char)
    items.append("".join(current))
    out: dict[str, str] = {}
    for item in (i.strip() for i in items):
        if item and not _CONSTRAINT.match(item):
            name, sql_type = item.split()[:2]
            out[name] = sql_type.upper()
    return out
