"""Canonical column values by spec type, shared by every flattener and the writer.

integer -> Int64, boolean -> boolean, everything else text (dates, datetimes with
offset and JSON arrays and objects already in their file form), missing -> NA. One place decides
the formats, so CSV and JSON Lines, DuckDB and PostgreSQL all agree.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from flatexport.specs import ColumnSpec

_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f"}
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"


def empty_series(index: pd.Index, col_type: str) -> pd.Series:
    dtype = {"integer": "Int64", "boolean": "boolean"}.get(col_type, "object")
    return pd.Series(pd.array([None] * len(index), dtype=dtype), index=index)


def _via_uniques(series: pd.Series, fn) -> pd.Series:
    """Apply a Python function once per distinct value (values repeat a lot in a day)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def to_boolean(series: pd.Series) -> pd.Series:
    if series.dtype == "boolean" or series.dtype == bool:
        return series.astype("boolean")

    def conv(v):
        text = str(v).strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None

    return _via_uniques(series, conv).astype("boolean")


def to_integer(series: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype("Int64")
    return pd.to_numeric(series, errors="coerce").round().astype("Int64")


def to_text(series: pd.Series) -> pd.Series:
    """Text as object values with None for missing; non-text sources are stringified."""
    out = series.astype(object).where(series.notna(), None)
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        return out  # extracted JSON text is already str; skip a per-value pass
    return _via_uniques(out, str)


def to_date(series: pd.Series) -> pd.Series:
    text = to_text(series)
    valid = text.str.match(_DATE_RE, na=False)
    return text.where(valid, None)


def to_datetime_text(values: pd.Series, timezone: str) -> pd.Series:
    """The one datetime format of every file: ISO 8601 to the whole second with a
    ``+HH:MM`` offset ("2026-11-01T01:30:00-05:00").

    A timestamp is an instant (a naive one is UTC, as every source stores its times) and
    is shown in ``timezone``, with the offset that zone has at that instant, so DST days
    come out right. Text is a wall time as written (a time a user picked): its own
    offset is kept, and text without one is read in ``timezone``. Fractions of a second
    are dropped; unparsable text becomes missing (and is counted by ``coerce``).
    """
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or kind in ("datetime", "datetime64"):
        return _instants_text(values, ZoneInfo(timezone))
    zone = ZoneInfo(timezone)

    def conv(v) -> str | None:
        if isinstance(v, dt.datetime):
            ts = v if v.tzinfo is not None else v.replace(tzinfo=dt.UTC)
            return ts.astimezone(zone).isoformat(timespec="seconds")
        try:
            ts = dt.datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=zone)
        return ts.isoformat(timespec="seconds")

    return _via_uniques(values, conv)


def _instants_text(values: pd.Series, zone: ZoneInfo) -> pd.Series:
    """Instants, formatted once per distinct second (a day has at most 86,400), which
    keeps large days fast."""
    stamps = pd.to_datetime(values, utc=True)
    valid = stamps.notna().to_numpy()
    seconds = np.zeros(len(stamps), dtype="int64")
    since_epoch = stamps[valid] - pd.Timestamp(0, tz="UTC")
    seconds[valid] = (since_epoch // pd.Timedelta(seconds=1)).to_numpy(dtype="int64")
    codes, uniques = pd.factorize(seconds)
    text = np.array(
        [dt.datetime.fromtimestamp(int(s), tz=zone).isoformat(timespec="seconds") for s in uniques],
        dtype=object,
    )
    out = text[codes]
    out[~valid] = None
    return pd.Series(out, index=values.index, dtype=object)


def to_json_array(series: pd.Series) -> pd.Series:
    def conv(v) -> str | None:
        if isinstance(v, list):
            items = v
        else:
            try:
                items = json.loads(v)
            except (TypeError, ValueError):
                items = [v]  # a single bare value is a one-item list
            if not isinstance(items, list):
                items = [items]
        items = [i for i in items if i is not None and i != ""]
        return json.dumps(items, ensure_ascii=False, separators=(",", ":")) if items else None

    return _via_uniques(series, conv)


def to_json_object(series: pd.Series) -> pd.Series:
    """A JSON object cell: compact (no spaces), keys in code-point order, non-ASCII as
    is; an empty object, NULL or text that is not a JSON object is an empty cell. Values
    arrive as JSON text (or dicts, converted once per row)."""

    def conv(v) -> str | None:
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except ValueError:
                return None
        if not isinstance(v, dict) or not v:
            return None
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    if any(isinstance(v, dict) for v in series.to_numpy(dtype=object)):
        return pd.Series([conv(v) for v in series], index=series.index, dtype=object)
    return _via_uniques(series, conv)


def coerce(series: pd.Series, col: ColumnSpec, timezone: str, warnings: Counter[str]) -> pd.Series:
    """Bring a rule's raw values to the column's canonical form, counting rejects."""
    before = int(series.notna().sum())
    if col.type == "integer":
        out = to_integer(series)
    elif col.type == "number":
        out = pd.to_numeric(series, errors="coerce")
    elif col.type == "boolean":
        out = to_boolean(series)
    elif col.type == "date":
        out = to_date(series)
    elif col.type == "datetime":
        out = to_datetime_text(series, timezone)
    elif col.type == "array":
        out = to_json_array(series)
    elif col.type == "object":
        out = to_json_object(series)
    else:
        out = to_text(series)
    rejected = before - int(out.notna().sum())
    if rejected and col.type not in ("array", "object", "string"):
        warnings[f"invalid {col.type} in {col.name}"] += rejected
    return out
