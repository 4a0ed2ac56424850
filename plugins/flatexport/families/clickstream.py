"""The clickstream family: tracker events of a day's sessions, one row per session.

A session may start up to ``session_max_minutes`` before midnight and end after it, so
the extract reaches that far beyond the day on both sides (the SQL keeps the sessions
that *started* in the day), and chunks never split a session.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import Field

from flatexport.families.base import Chunking, ReportFamily, ReportOptions
from flatexport.window import Window, day_window

if TYPE_CHECKING:
    import pandas as pd

    from flatexport.flatten import FlattenContext
    from flatexport.specs import ReportSpec


class ClickstreamOptions(ReportOptions):
    # The tracker ends a session after this long: how far the extract reaches around the day.
    session_max_minutes: int = Field(default=0, ge=0)
    # Events no column reads that are still expected (not counted as unknown events).
    known_events: list[str] = Field(default_factory=list)


class Clickstream(ReportFamily):
    name = "clickstream"
    dag_id = "clickstream_daily"
    options_model = ClickstreamOptions

    def window(self, spec: ReportSpec[ClickstreamOptions], ds: dt.date, timezone: str) -> Window:
        reach = dt.timedelta(minutes=spec.options.session_max_minutes)
        return day_window(ds, timezone, lookback=reach, lookahead=reach)

    def chunking(self, spec: ReportSpec) -> Chunking:
        from flatexport.families.clickstream_sessions import SESSION

        return Chunking.groups(SESSION)

    def extracted_fields(self, spec: ReportSpec) -> set[str]:
        from flatexport.families.clickstream_sessions import extracted_fields

        return extracted_fields(spec)

    def flatten(self, rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
        from flatexport.families.clickstream_sessions import flatten_sessions

        return flatten_sessions(rows, ctx)


FAMILY = Clickstream()
