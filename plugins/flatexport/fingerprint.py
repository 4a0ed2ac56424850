"""The source fingerprint of a delivery: how many rows the report's extract returns for
the window, and the newest event time among them.

It is read just before an export and kept in the delivery log. The nightly run reads it
again for the days it delivered within the look-back; a day whose fingerprint moved (late
rows arrived, or rows were corrected away) is re-delivered as a restatement. The query is
the report's own extract, wrapped, so every report of every family has one without a
second query to maintain; which column carries the event time is the family's answer
(:meth:`~flatexport.families.base.ReportFamily.newest_event_column`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from flatexport.errors import SpecError
from flatexport.export import query_params, report_window
from flatexport.extract import iter_batches, read_sql_file
from flatexport.families import family_of
from flatexport.specs import ReportSpec, load_spec
from flatexport.subscriptions import Subscription
from flatexport.window import as_utc

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SourceFingerprint:
    """Rows of the window's extract and the newest event time (UTC; None: no rows, or a
    report whose family names no event-time column)."""

    rows: int
    newest: dt.datetime | None

    def moved_from(self, rows: int | None, newest: dt.datetime | None) -> bool:
        """Whether the source changed since a delivery recorded ``rows`` and ``newest``."""
        return rows != self.rows or as_utc(newest) != as_utc(self.newest)

    def describe(self) -> str:
        when = self.newest.isoformat(timespec="seconds") if self.newest else "none"
        return f"{self.rows} source rows, newest {when}"


def fingerprint_sql(spec: ReportSpec) -> str:
    """The report's extract, wrapped: its row count and its newest event time."""
    column = family_of(spec).newest_event_column(spec)
    if column is not None and not _IDENTIFIER.match(column):
        raise SpecError(f"{spec.report}: event-time column {column!r} is not a plain column name")
    newest = f"MAX(extracted.{column})" if column else "CAST(NULL AS TIMESTAMP)"
    extract = read_sql_file(spec.sql_path()).strip().rstrip(";")
    # The closing parenthesis on its own line: the extract may end with a comment.
    return f"SELECT COUNT(*) AS source_rows, {newest} AS source_newest\nFROM (\n{extract}\n) AS extracted"


def source_fingerprint(sub: Subscription, ds: dt.date, source_url: str | None = None) -> SourceFingerprint:
    """The fingerprint of the subscription's window for day ``ds``, with the same bound
    parameters (tenant, window, scope) as its export."""
    spec = load_spec(sub.report)
    params = query_params(spec, sub, report_window(spec, sub, ds))
    frames = list(iter_batches(fingerprint_sql(spec), params, source_url))
    row = frames[0].iloc[0] if frames and not frames[0].empty else None
    if row is None:
        return SourceFingerprint(0, None)
    newest = row["source_newest"]
    if newest is None or pd.isna(newest):
        newest = None
    elif isinstance(newest, pd.Timestamp):
        newest = newest.to_pydatetime()
    elif isinstance(newest, str):  # a text column: ISO 8601 sorts as time does
        newest = dt.datetime.fromisoformat(newest)
    return SourceFingerprint(int(row["source_rows"]), as_utc(newest))
