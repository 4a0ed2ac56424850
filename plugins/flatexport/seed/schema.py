"""The source tables the reports read, declared once: DDL as the contracts give it.

The sample generators create their tables from here, and the data dictionary of a report
(``flatexport docs``) shows the tables its SQL reads from here, so the sample warehouse
and the docs cannot drift from each other or from the contracts. Statements are in the
portable subset that runs unchanged on DuckDB and PostgreSQL 15+ (comments included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceTable:
    name: str
    ddl: str  # the CREATE TABLE statement, verbatim from the contract
    contract: str  # the contract file that defines it (shared/contracts/...)
    # Not in the contracts: indexes the sample warehouse gets after loading, because the
    # reports read one org's time range at a time.
    indexes: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names in DDL order (the generators build their frames in this order)."""
        return tuple(name for name, _ in _column_defs(self.ddl))

    @property
    def json_columns(self) -> tuple[str, ...]:
        """Columns of type JSON (the loaders cast or parse them)."""
        return tuple(name for name, kind in _column_defs(self.ddl) if kind.upper() == "JSON")

    @property
    def drop(self) -> str:
        return f"DROP TABLE IF EXISTS {self.name}"


_CONSTRAINTS = {"PRIMARY", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK"}


def _column_defs(ddl: str) -> list[tuple[str, str]]:
    """(name, type) per column of a CREATE TABLE statement; table constraints skipped."""
    body = re.sub(r"--[^\n]*", "", ddl)
    body = body[body.index("(") + 1 : body.rindex(")")]
    items, depth, current = [], 0, ""
    for char in body:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    defs = []
    for item in items:
        words = item.split()
        if words and words[0].upper() not in _CONSTRAINTS:
            defs.append((words[0], words[1]))
    return defs


def strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


_TABLES = [
    # contracts/clickstream.md section 1
    SourceTable(
        "clickstream_events",
        """\
CREATE TABLE clickstream_events (
    event_id    BIGINT       NOT NULL PRIMARY KEY,
    org_id      TEXT         NOT NULL,   -- the customer organisation (tenant)
    session_id  BIGINT       NOT NULL,   -- set by the tracker; a device's visit, at most 90 minutes long
    device_id   TEXT         NOT NULL,
    event_time  TIMESTAMPTZ  NOT NULL,   -- stored in UTC
    event_name  TEXT         NOT NULL,   -- see section 2
    properties  JSON,                    -- event payload, see section 2 (NULL = {})
    locale      TEXT,                    -- tracker context, repeated on every event
    user_agent  TEXT,
    referrer    TEXT,
    page_url    TEXT                     -- utm_* parameters are read from its query string
)""",
        "clickstream.md",
        (
            "CREATE INDEX IF NOT EXISTS clickstream_events_org_time "
            "ON clickstream_events (org_id, event_time)",
        ),
    ),
    # contracts/activity.md section 1
    SourceTable(
        "platform_users",
        """\
CREATE TABLE platform_users (
    user_id     BIGINT NOT NULL PRIMARY KEY,
    org_id      TEXT   NOT NULL,
    first_name  TEXT, last_name TEXT, company TEXT, email TEXT,
    tags        JSON,        -- list of strings
    dimensions  JSON,        -- object: e.g. {"phone": "...", "linkedin": "...", "address": "..."}
    created_at  TIMESTAMPTZ
)""",
        "activity.md",
    ),
    SourceTable(
        "content",
        """\
CREATE TABLE content (
    content_id   BIGINT NOT NULL PRIMARY KEY,
    org_id       TEXT   NOT NULL,
    name         TEXT, slug TEXT,
    content_type TEXT   NOT NULL,  -- OTSession, IRLSession, BreakoutOTSession, GroupOTSession,
                                   -- Course, Lesson, Video, Page, ...
    parent_id    BIGINT            -- a breakout's session, a lesson's course
)""",
        "activity.md",
    ),
    SourceTable(
        "activity_events",
        """\
CREATE TABLE activity_events (
    event_id    BIGINT      NOT NULL PRIMARY KEY,
    org_id      TEXT        NOT NULL,
    user_id     BIGINT      NOT NULL,
    event_time  TIMESTAMPTZ NOT NULL,
    kind        TEXT        NOT NULL,  -- "<section>.<name>"
    content_id  BIGINT,                -- where it happened; NULL off content pages
    payload     JSON                   -- dynamic parts: text, rating, emoji, answer, post_id, tag, file, ...
)""",
        "activity.md",
        ("CREATE INDEX IF NOT EXISTS activity_events_org_time ON activity_events (org_id, event_time)",),
    ),
    # contracts/planroom.md section 1
    SourceTable(
        "plan_jobs",
        "CREATE TABLE plan_jobs       (job_id BIGINT PRIMARY KEY, org_id TEXT NOT NULL, company_id BIGINT, "
        "name TEXT)",
        "planroom.md",
    ),
    SourceTable(
        "plan_files",
        "CREATE TABLE plan_files      (file_id BIGINT PRIMARY KEY, job_id BIGINT NOT NULL, section TEXT, "
        "name TEXT)",
        "planroom.md",
    ),
    SourceTable(
        "planroom_users",
        """\
CREATE TABLE planroom_users  (user_id BIGINT PRIMARY KEY, org_id TEXT NOT NULL, company_id BIGINT,
                              name TEXT, email TEXT, approved BOOLEAN NOT NULL)""",
        "planroom.md",
    ),
    SourceTable(
        "blast_contacts",
        "CREATE TABLE blast_contacts  (contact_id BIGINT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT, "
        "email TEXT, company TEXT)",
        "planroom.md",
    ),
    SourceTable(
        "planroom_activity",
        """\
CREATE TABLE planroom_activity (
    event_id    BIGINT      PRIMARY KEY,
    job_id      BIGINT      NOT NULL,
    scope       TEXT        NOT NULL,  -- file | section | job
    file_id     BIGINT,                -- scope = file
    section     TEXT,                  -- scope = section
    activity    TEXT        NOT NULL,  -- view | download | order
    user_id     BIGINT,                -- logged-in user, or
    contact_id  BIGINT,                -- a blast recipient who followed a blast link; both NULL = guest
    event_time  TIMESTAMPTZ NOT NULL
)""",
        "planroom.md",
    ),
]


def _organizing_tables() -> list[SourceTable]:
    """contracts/organizing.md section 1, declared in ``organizing_schema`` (which the
    organizing generator and tests read directly), with each table's indexes."""
    from flatexport.seed.organizing_schema import ORGANIZING_DDL, ORGANIZING_INDEXES

    def indexes(table: str) -> tuple[str, ...]:
        return tuple(i for i in ORGANIZING_INDEXES if re.search(rf"\bON {table} \(", i))

    return [SourceTable(name, ddl, "organizing.md", indexes(name)) for name, ddl in ORGANIZING_DDL.items()]


_TABLES += _organizing_tables()
SOURCE_TABLES: dict[str, SourceTable] = {t.name: t for t in _TABLES}
_READ = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def tables_read_by(sql: str) -> list[SourceTable]:
    """The source tables a query reads (``FROM`` / ``JOIN`` targets outside comments), in
    declaration order. Only those: a column or alias that shares a table's name (a
    ``tags`` column, a ``messages`` CTE) is not a read of that table."""
    read = set(_READ.findall(strip_comments(sql)))
    return [t for t in SOURCE_TABLES.values() if t.name in read]


# The clickstream generator's and the test loaders' names for its table.
CLICKSTREAM_TABLE = "clickstream_events"
CLICKSTREAM_COLUMNS = SOURCE_TABLES[CLICKSTREAM_TABLE].columns
CLICKSTREAM_EVENTS_DDL = SOURCE_TABLES[CLICKSTREAM_TABLE].ddl
CLICKSTREAM_EVENTS_DROP = SOURCE_TABLES[CLICKSTREAM_TABLE].drop
CLICKSTREAM_EVENTS_INDEXES = SOURCE_TABLES[CLICKSTREAM_TABLE].indexes
