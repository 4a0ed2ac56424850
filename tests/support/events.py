"""Hand-made clickstream events for tests: small, explicit, loaded into a real database."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pandas as pd
import sqlalchemy as sa

from flatexport.seed.schema import CLICKSTREAM_EVENTS_DDL, CLICKSTREAM_EVENTS_DROP

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
WIN10 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
WIN7 = "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0 Safari/537.36"
MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Safari/605.1.15"
)

_ids = itertools.count(1)


def ev(
    session: int,
    at: str,
    name: str,
    props: dict[str, Any] | None = None,
    org: str = "org_a",
    **context: str | None,
) -> dict[str, Any]:
    """One event; `at` is an ISO time, UTC unless it carries an offset."""
    when = dt.datetime.fromisoformat(at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return {
        "event_id": next(_ids),
        "org_id": org,
        "session_id": session,
        "device_id": f"dev-{session}",
        "event_time": when.astimezone(dt.UTC),
        "event_name": name,
        "properties": None if props is None else json.dumps(props),
        "locale": context.get("locale"),
        "user_agent": context.get("user_agent"),
        "referrer": context.get("referrer"),
        "page_url": context.get("page_url"),
    }


def load_events(url: str, events: list[dict[str, Any]]) -> str:
    """(Re)create clickstream_events at url with exactly these events; returns url.

    DuckDB gets the rows as one DataFrame (row-by-row inserts take seconds there);
    PostgreSQL gets an executemany, which psycopg pipelines.
    """
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(CLICKSTREAM_EVENTS_DROP)
        conn.exec_driver_sql(CLICKSTREAM_EVENTS_DDL)
        if events and engine.dialect.name == "duckdb":
            frame = pd.DataFrame(events)  # noqa: F841 - read by name from the SQL below
            conn.connection.driver_connection.execute(
                "INSERT INTO clickstream_events SELECT event_id, org_id, session_id, device_id, event_time, "
                "event_name, CAST(properties AS JSON), locale, user_agent, referrer, page_url FROM frame"
            )
        elif events:
            conn.execute(
                sa.text(
                    "INSERT INTO clickstream_events VALUES (:event_id, :org_id, :session_id, :device_id, "
                    ":event_time, :event_name, CAST(:properties AS JSON), :locale, :user_agent, :referrer, "
                    ":page_url)"
                ),
                events,
            )
    engine.dispose()
    return url
