"""What a run covers, as a window of time in the subscription's zone.

Two shapes. A **day** (most reports): from 00:00 of the day to 00:00 of the next, in the
subscription's zone; a day in America/Chicago is 25 hours on the fall-back Sunday, so the
bounds are computed with zoneinfo (not by adding 24 h). A **cutoff** (reports that are
the whole history of their scope, not a slice of it): everything before one instant, so
the window has no start. A nightly run for day D cuts off at 00:00 of D+1 in the zone; an
on-demand request cuts off at the moment it was accepted (:meth:`Window.until`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flatexport.errors import InputError
from flatexport.subscriptions import check_timezone


@dataclass(frozen=True)
class Window:
    ds: dt.date  # the day the file is named after
    timezone: str  # the zone its times are shown in
    start: dt.datetime | None  # UTC, inclusive; None: open, everything before ``end`` (a cutoff)
    end: dt.datetime  # UTC, exclusive
    lookback: dt.timedelta = dt.timedelta(0)
    lookahead: dt.timedelta = dt.timedelta(0)

    @property
    def is_cutoff(self) -> bool:
        """The window is the whole history before ``end``."""
        return self.start is None

    @property
    def extract_start(self) -> dt.datetime | None:
        return None if self.start is None else self.start - self.lookback

    @property
    def extract_end(self) -> dt.datetime:
        return self.end + self.lookahead

    def params(self) -> dict[str, object]:
        """Bound parameters every report query may use. A day binds its bounds (naive
        UTC, for portability); a cutoff binds ``cutoff``, an aware UTC instant, which the
        queries compare with ``CAST(:cutoff AS TIMESTAMPTZ)`` whatever the session zone."""
        if self.start is None:
            return {"cutoff": self.end.astimezone(dt.UTC)}

        def naive(ts: dt.datetime) -> dt.datetime:
            return ts.astimezone(dt.UTC).replace(tzinfo=None)

        return {
            "window_start": naive(self.start),
            "window_end": naive(self.end),
            "extract_start": naive(self.start - self.lookback),
            "extract_end": naive(self.extract_end),
        }

    def until(self, moment: dt.datetime) -> Window:
        """The same cutoff report as of ``moment`` instead of a day's end (an on-demand
        request): cut off at that instant, truncated to the whole second, with times
        shown in UTC and the file named after the instant's UTC date. A report that covers
        one day at a time has no "as of" form."""
        if not self.is_cutoff:
            raise InputError("this report covers one day at a time; ask for a day (--date), not a moment")
        if moment.tzinfo is None:
            raise InputError(f"cutoff {moment.isoformat()} has no time zone (give a UTC instant)")
        cutoff = moment.astimezone(dt.UTC).replace(microsecond=0)
        return dataclasses.replace(self, ds=cutoff.date(), timezone="UTC", end=cutoff)


# The days a run may be for: windows are computed with room on either side (a day's
# bounds in any zone, look-back and look-ahead), which year 1 and 9999 do not have.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """An instant in UTC. Databases and Airflow hand back naive or aware datetimes; every
    naive one we meet (SQLite, DuckDB TIMESTAMP) is already UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def parse_ds(value: str | dt.date) -> dt.date:
    """A report day: YYYY-MM-DD between FIRST_DAY and LAST_DAY, else an InputError."""
    if isinstance(value, dt.date):
        day = value
    else:
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise InputError(f"invalid date {value!r} (expected YYYY-MM-DD)")
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise InputError(f"invalid date {value!r} (expected YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"date {day.isoformat()} is out of range ({FIRST_DAY} to {LAST_DAY})")
    return day


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def day_window(
    ds: str | dt.date,
    timezone: str = "UTC",
    lookback: dt.timedelta = dt.timedelta(0),
    lookahead: dt.timedelta = dt.timedelta(0),
) -> Window:
    day = parse_ds(ds)
    zone = ZoneInfo(check_timezone(timezone))
    return Window(
        day, timezone, _midnight(day, zone), _midnight(day + dt.timedelta(days=1), zone), lookback, lookahead
    )


def cutoff_window(ds: str | dt.date, timezone: str = "UTC") -> Window:
    """Everything before 00:00 of the day after ``ds`` in ``timezone``: the nightly file
    for ``ds`` of a report that is the whole history of its scope."""
    day = parse_ds(ds)
    zone = ZoneInfo(check_timezone(timezone))
    return Window(day, timezone, None, _midnight(day + dt.timedelta(days=1), zone))
