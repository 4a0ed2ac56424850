"""Session grain: many tracker events in, one row per session out (the clickstream
family's rules, chosen per column by ``rule.kind``).

Every rule is vectorised over the chunk (groupby / drop_duplicates / factorize); the
only Python-level work is per *distinct* user agent, URL or address, which repeat
heavily within a day.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property

import numpy as np
import pandas as pd

from flatexport.errors import SpecError
from flatexport.flatten import FlattenContext, column_values
from flatexport.flatten.coercion import empty_series
from flatexport.parsers.address import split_addresses
from flatexport.parsers.url import query_params
from flatexport.parsers.useragent import device_and_os
from flatexport.specs import ColumnSpec, ReportSpec

SESSION = "session_id"


class Sessions:
    """One chunk of events (whole sessions, contiguous and in file order) and the lookups
    rules share.

    Rules work on event *positions* and session *numbers* (integers, in numpy) and take
    only the values they return from the extracted (Arrow-backed) columns: no rule turns a
    whole event column into Python objects or builds a new frame of strings, which was
    the flattener's main cost.
    """

    def __init__(self, events: pd.DataFrame, ctx: FlattenContext) -> None:
        self.events = events
        self.ctx = ctx
        sessions = events[SESSION].to_numpy()
        change = np.empty(len(sessions), dtype=bool)
        change[:1] = True
        np.not_equal(sessions[1:], sessions[:-1], out=change[1:])
        self.starts = np.flatnonzero(change)  # each session's first event
        self.group = np.cumsum(change) - 1  # each event's session number
        self.index = pd.Index(sessions[self.starts], name=SESSION)
        self.outputs: dict[str, pd.Series] = {}
        self._name_codes, self._names = pd.factorize(events["event_name"])
        self._first_nonempty: dict[str, pd.Series] = {}
        self._factorized: dict[str, tuple[np.ndarray, pd.Index]] = {}
        self._positions: dict[tuple[str, ...], np.ndarray] = {}
        self._addresses: dict[str, tuple[np.ndarray, list[dict[str, str | None]]]] = {}

    def positions(self, event_names: tuple[str, ...]) -> np.ndarray:
        """Positions (file order) of the events with these names."""
        if event_names not in self._positions:
            wanted = [i for i, n in enumerate(self._names) if n in event_names]
            self._positions[event_names] = np.flatnonzero(np.isin(self._name_codes, wanted))
        return self._positions[event_names]

    def firsts(self, positions: np.ndarray) -> np.ndarray:
        """Of events at ``positions`` (ascending), the first of each session."""
        groups = self.group[positions]
        keep = np.empty(len(groups), dtype=bool)
        keep[:1] = True
        np.not_equal(groups[1:], groups[:-1], out=keep[1:])
        return positions[keep]

    def lasts(self, positions: np.ndarray) -> np.ndarray:
        """Of events at ``positions`` (ascending), the last of each session."""
        groups = self.group[positions]
        keep = np.empty(len(groups), dtype=bool)
        keep[-1:] = True
        np.not_equal(groups[1:], groups[:-1], out=keep[:-1])
        return positions[keep]

    def values_at(self, field: str, positions: np.ndarray) -> pd.Series:
        """Per session, ``field`` at the event at ``positions`` (at most one per session),
        missing where a session has none; taken in Arrow, in the column's own type."""
        take = np.full(len(self.index), -1, dtype=np.intp)
        take[self.group[positions]] = positions
        column = self.events[field].array
        return pd.Series(column.take(take, allow_fill=True), index=self.index)

    def hit(self, positions: np.ndarray) -> np.ndarray:
        """Per session, whether any event is at ``positions``."""
        out = np.zeros(len(self.index), dtype=bool)
        out[self.group[positions]] = True
        return out

    def engine_present(self, engine: str) -> np.ndarray:
        wanted = tuple(n for n in self._names if n.partition(".")[0] == engine and "." in n)
        return self.hit(self.positions(wanted))

    def first_nonempty(self, field: str) -> pd.Series:
        """Session context from the first event that carries a value (the extract turns
        empty strings into NULL)."""
        if field not in self._first_nonempty:
            present = np.flatnonzero(self.events[field].notna().to_numpy())
            self._first_nonempty[field] = self.values_at(field, self.firsts(present))
        return self._first_nonempty[field]

    def factorized(self, field: str) -> tuple[np.ndarray, pd.Index]:
        """(codes, distinct values) of an extracted column, computed once per chunk: five
        utm columns read the same page URLs."""
        if field not in self._factorized:
            self._factorized[field] = pd.factorize(self.events[field])
        return self._factorized[field]

    def addresses(self, column: str) -> tuple[np.ndarray, list[dict[str, str | None]]]:
        """(codes, parts per distinct address) of an output column: every distinct address
        is split once per chunk, however many part columns read it."""
        if column not in self._addresses:
            codes, uniques = pd.factorize(self.outputs[column])
            self._addresses[column] = (codes, split_addresses(list(uniques)))
        return self._addresses[column]

    @cached_property
    def local_start(self) -> pd.Series:
        """Each session's first event, to the second, in the subscription's zone (the
        ``datetime`` column type formats it)."""
        first = pd.Series(self.events["event_time"].array.take(self.starts), index=self.index)
        start = pd.to_datetime(first, utc=True).dt.floor("s")
        return start.dt.tz_convert(self.ctx.window.timezone)

    def event_counts(self) -> pd.Series:
        return pd.Series(np.bincount(self._name_codes, minlength=len(self._names)), index=self._names)


def _prop(col: ColumnSpec) -> str:
    name = col.rule.get("property")
    if not name:
        raise SpecError(f"column {col.name}: rule {col.rule_kind} needs 'property'")
    return f"p_{name}"


def _events(col: ColumnSpec) -> tuple[str, ...]:
    event = col.rule.get("event")
    if not event:
        raise SpecError(f"column {col.name}: rule {col.rule_kind} needs 'event'")
    return tuple(event) if isinstance(event, list) else (event,)


def rule_key(s: Sessions, col: ColumnSpec) -> pd.Series:
    return pd.Series(s.index.to_numpy(), index=s.index)


def rule_session_start(s: Sessions, col: ColumnSpec) -> pd.Series:
    return s.local_start


def rule_session_date(s: Sessions, col: ColumnSpec) -> pd.Series:
    return s.local_start.dt.strftime("%Y-%m-%d")


def rule_first_nonempty(s: Sessions, col: ColumnSpec) -> pd.Series:
    return s.first_nonempty(col.rule["field"])


def rule_user_agent(s: Sessions, col: ColumnSpec) -> pd.Series:
    part = {"device_type": 0, "operating_system": 1}[col.rule["part"]]
    agents = s.first_nonempty(col.rule.get("field", "user_agent"))
    codes, uniques = pd.factorize(agents)
    parsed = np.array([device_and_os(u)[part] for u in uniques] + [None], dtype=object)
    return pd.Series(parsed[codes], index=s.index)


def rule_url_param(s: Sessions, col: ColumnSpec) -> pd.Series:
    """The parameter's value on the session's first event whose URL carries it."""
    field, param = col.rule["field"], col.rule["param"]
    codes, uniques = s.factorized(field)
    values = np.array([query_params(u).get(param) or None for u in uniques] + [None], dtype=object)
    carries = np.array([v is not None for v in values], dtype=bool)
    first = s.firsts(np.flatnonzero(carries[codes]))
    out = np.full(len(s.index), None, dtype=object)
    out[s.group[first]] = values[codes[first]]
    return pd.Series(out, index=s.index, dtype=object)


def rule_count(s: Sessions, col: ColumnSpec) -> pd.Series:
    groups = s.group[s.positions(_events(col))]
    return pd.Series(np.bincount(groups, minlength=len(s.index)).astype("int64"), index=s.index)


def rule_any(s: Sessions, col: ColumnSpec) -> pd.Series:
    return pd.Series(s.hit(s.positions(_events(col))), index=s.index)


def _with_value(s: Sessions, col: ColumnSpec) -> np.ndarray:
    """Positions of the rule's events that carry its property."""
    positions = s.positions(_events(col))
    present = s.events[_prop(col)].array.take(positions).isna()
    return positions[~np.asarray(present, dtype=bool)]


def rule_count_distinct(s: Sessions, col: ColumnSpec) -> pd.Series:
    positions = _with_value(s, col)
    codes, _ = pd.factorize(s.events[_prop(col)].array.take(positions))
    pairs = np.unique(s.group[positions].astype(np.int64) * (int(codes.max(initial=0)) + 1) + codes)
    groups = pairs // (int(codes.max(initial=0)) + 1)
    return pd.Series(np.bincount(groups, minlength=len(s.index)).astype("int64"), index=s.index)


def rule_any_value(s: Sessions, col: ColumnSpec) -> pd.Series:
    positions = _with_value(s, col)
    values = pd.Series(s.events[_prop(col)].array.take(positions))
    equal = (values == str(col.rule["value"])).to_numpy(dtype=bool, na_value=False)
    return pd.Series(s.hit(positions[equal]), index=s.index)


def rule_last(s: Sessions, col: ColumnSpec) -> pd.Series:
    """The value on the session's last such event (by time, then id), even if empty there."""
    out = s.values_at(_prop(col), s.lasts(s.positions(_events(col))))
    mapping = col.rule.get("map")
    if mapping:
        out = out.map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)
    return out


def rule_ordered_unique(s: Sessions, col: ColumnSpec) -> pd.Series:
    """Values in first-seen order, each once, as compact JSON array text."""
    positions = _with_value(s, col)
    if not len(positions):
        return empty_series(s.index, "array")
    codes, uniques = pd.factorize(s.events[_prop(col)].array.take(positions))
    groups = s.group[positions].astype(np.int64)
    key = groups * (len(uniques) + 1) + codes
    _, first_seen = np.unique(key, return_index=True)
    first_seen.sort()  # back to file order: grouped by session, values in first-seen order
    groups, codes = groups[first_seen], codes[first_seen]
    quoted = np.array([json.dumps(u, ensure_ascii=False) + "," for u in uniques], dtype=object)[codes]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    joined = np.add.reduceat(quoted, starts)  # string concatenation per session, in C
    arrays = pd.Series(["[" + j[:-1] + "]" for j in joined], index=s.index[groups[starts]])
    return arrays.reindex(s.index)


def rule_address_part(s: Sessions, col: ColumnSpec) -> pd.Series:
    source = col.rule.get("column", "address")
    if source not in s.outputs:
        raise SpecError(
            f"column {col.name}: address_part reads {source!r}, which must come earlier in the spec"
        )
    codes, parsed = s.addresses(source)
    parts = np.array([p[col.rule["part"]] for p in parsed] + [None], dtype=object)
    return pd.Series(parts[codes], index=s.index)


RULES: dict[str, Callable[[Sessions, ColumnSpec], pd.Series]] = {
    "key": rule_key,
    "session_start": rule_session_start,
    "session_date": rule_session_date,
    "first_nonempty": rule_first_nonempty,
    "user_agent": rule_user_agent,
    "url_param": rule_url_param,
    "count": rule_count,
    "any": rule_any,
    "count_distinct": rule_count_distinct,
    "any_value": rule_any_value,
    "last": rule_last,
    "ordered_unique": rule_ordered_unique,
    "address_part": rule_address_part,
}


def known_events(spec: ReportSpec) -> set[str]:
    names = set(spec.options.known_events)
    for col in spec.columns:
        event = col.rule.get("event")
        names.update(event if isinstance(event, list) else [event] if event else [])
    return names


def extracted_fields(spec: ReportSpec) -> set[str]:
    """The extracted columns the rules of ``spec`` read (what its SQL must select)."""
    fields = {SESSION, "event_time", "event_name"}
    for col in spec.columns:
        kind = col.rule_kind
        if col.inactive or kind in ("key", "session_start", "session_date", "count", "any", "address_part"):
            continue
        if kind == "user_agent":
            fields.add(col.rule.get("field", "user_agent"))
        elif kind in ("first_nonempty", "url_param"):
            fields.add(col.rule["field"])
        else:
            fields.add(_prop(col))
    return fields


def flatten_sessions(events: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
    s = Sessions(events, ctx)
    known = known_events(ctx.spec)
    counts = s.event_counts()
    for name, n in counts.items():
        if name not in known:
            ctx.warnings[f"unknown event {name}"] += int(n)

    presence = {engine: s.engine_present(engine) for engine in ctx.spec.engines}
    for col in ctx.spec.columns:
        values = column_values(col, ctx, RULES, lambda rule, col=col: rule(s, col), s.index)
        if col.engine:
            values = (
                values.where(presence[col.engine], None)
                if values.dtype == object
                else values.mask(~presence[col.engine])
            )
        s.outputs[col.name] = values
    out = pd.DataFrame(s.outputs)
    return out.reset_index(drop=True)
