"""The report day as a window of time in the subscription's zone.

A day in America/Chicago is 25 hours on the fall-back Sunday; computing the bounds
with zoneinfo (not by adding 24 h) keeps such days right.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flatexport.errors import InputError
from flatexport.subscriptions import check_timezone


@dataclass(frozen=True)
class Window:
    ds: dt.date
    timezone: str
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive
    lookback: dt.timedelta
    lookahead: dt.timedelta

    @property
    def extract_start(self) -> dt.datetime:
        return self.start - self.lookback

    @property
    def extract_end(self) -> dt.datetime:
        return self.end + self.lookahead

    def params(self) -> dict[str, object]:
        """Bound parameters every report query may use (naive UTC for portability)."""

        def naive(ts: dt.datetime) -> dt.datetime:
            return ts.astimezone(dt.UTC).replace(tzinfo=None)

        return {
            "window_start": naive(self.start),
            "window_end": naive(self.end),
            "extract_start": naive(self.extract_start),
            "extract_end": naive(self.extract_end),
        }


def parse_ds(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"invalid date {value!r} (expected YYYY-MM-DD)") from exc


def day_window(
    ds: str | dt.date,
    timezone: str = "UTC",
    lookback: dt.timedelta = dt.timedelta(0),
    lookahead: dt.timedelta = dt.timedelta(0),
) -> Window:
    day = parse_ds(ds)
    zone = ZoneInfo(check_timezone(timezone))
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    return Window(day, timezone, start, end, lookback, lookahead)
