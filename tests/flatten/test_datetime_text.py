"""The one datetime format of every file: ISO 8601 to the second with a +HH:MM offset.
Instants are shown in the subscription's zone; text is a wall time as written."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pandas as pd

from flatexport.flatten.coercion import coerce, to_datetime_text
from flatexport.specs import ColumnSpec

CHICAGO = "America/Chicago"


def test_instants_of_every_source_type_show_the_zone_offset_at_that_instant():
    instants = ["2026-11-01 06:30:00.9", "2026-11-01 07:30:00"]  # both 01:30 in Chicago, DST ends between
    want = ["2026-11-01T01:30:00-05:00", "2026-11-01T01:30:00-06:00"]
    duckdb_like = pd.Series(pd.to_datetime(instants, utc=True, format="ISO8601"))
    naive_utc = pd.Series(pd.to_datetime(instants, format="ISO8601"))  # sources store UTC
    # PostgreSQL hands over Python datetimes in its session zone, offsets varying
    berlin = ZoneInfo("Europe/Berlin")
    pg_like = pd.Series([t.to_pydatetime().astimezone(berlin) for t in duckdb_like], dtype=object)
    for values in (duckdb_like, naive_utc, pg_like):
        assert list(to_datetime_text(values, CHICAGO)) == want, values.dtype
    assert list(to_datetime_text(duckdb_like, "UTC")) == [
        "2026-11-01T06:30:00+00:00",
        "2026-11-01T07:30:00+00:00",
    ]


def test_text_is_a_wall_time_its_own_offset_kept():
    values = pd.Series(
        ["2024-11-05T08:00:00-05:00", "2024-11-05T08:00:00", "2024-11-05T13:00:00Z", "soon", None]
    )
    assert list(to_datetime_text(values, CHICAGO)) == [
        "2024-11-05T08:00:00-05:00",  # the polling place's time, as the plan recorded it
        "2024-11-05T08:00:00-06:00",  # no offset: read in the subscription's zone
        "2024-11-05T13:00:00+00:00",
        None,
        None,
    ]
    warnings: Counter[str] = Counter()
    col = ColumnSpec(name="at", type="datetime", definition="x", rule={"kind": "field", "field": "at"})
    coerce(values, col, CHICAGO, warnings)
    assert warnings == Counter({"invalid datetime in at": 1})


def test_missing_instants_stay_missing():
    values = pd.Series([dt.datetime(2026, 1, 1, tzinfo=dt.UTC), None], dtype=object)
    assert list(to_datetime_text(values, "Asia/Kolkata")) == ["2026-01-01T05:30:00+05:30", None]
