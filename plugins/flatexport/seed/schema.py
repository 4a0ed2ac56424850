"""DDL for the sample warehouse's source tables.

The statements are copied from the contracts (``/work/shared/contracts/*.md``) and kept in
the portable subset that runs unchanged on DuckDB and PostgreSQL 15+, so the seeder, the
export queries and the tests all see the same columns and types on either engine.
Other source tables (activity, planroom) add their own DDL modules next to this one.
"""

from __future__ import annotations

CLICKSTREAM_TABLE = "clickstream_events"

# Column order of the contract; the generator's frames and the loaders use it as is.
CLICKSTREAM_COLUMNS: tuple[str, ...] = (
    "event_id",
    "org_id",
    "session_id",
    "device_id",
    "event_time",
    "event_name",
    "properties",
    "locale",
    "user_agent",
    "referrer",
    "page_url",
)

# Verbatim from contracts/clickstream.md section 1 (comments included, both engines accept them).
CLICKSTREAM_EVENTS_DDL = """\
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
)"""

CLICKSTREAM_EVENTS_DROP = "DROP TABLE IF EXISTS clickstream_events"

# Not part of the contract: the export reads one org's day (a time range) at a time, so an
# index on (org_id, event_time) keeps that read cheap on PostgreSQL. Created after the load.
CLICKSTREAM_EVENTS_INDEXES: tuple[str, ...] = (
    "CREATE INDEX IF NOT EXISTS clickstream_events_org_time ON clickstream_events (org_id, event_time)",
)
