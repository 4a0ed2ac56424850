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
from flatexport.parsers.address import split_address
from flatexport.parsers.url import query_params
from flatexport.parsers.useragent import device_and_os
from flatexport.specs import ColumnSpec, ReportSpec

SESSION = "session_id"


class Sessions:
    """One chunk of events (whole sessions, in file order) and the lookups rules share."""

    def __init__(self, events: pd.DataFrame, ctx: FlattenContext) -> None:
        self.events = events
        self.ctx = ctx
        self.first = events.drop_duplicates(SESSION).set_index(SESSION)
        self.index = self.first.index
        self.outputs: dict[str, pd.Series] = {}
        self._name_codes, self._names = pd.factorize(events["event_name"])
        self._first_nonempty: dict[str, pd.Series] = {}
        self._factorized: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def rows_of(self, event_names: tuple[str, ...], *columns: str) -> pd.DataFrame:
        """The events with these names (file order), with only the columns a rule reads:
        copying every extracted column for each rule was the flattener's main cost."""
        wanted = [i for i, n in enumerate(self._names) if n in event_names]
        positions = np.flatnonzero(np.isin(self._name_codes, wanted))
        return pd.DataFrame(
            {c: self.events[c].to_numpy()[positions] for c in (SESSION, *columns)},
        )

    def engine_present(self, engine: str) -> np.ndarray:
        wanted = [i for i, n in enumerate(self._names) if n.partition(".")[0] == engine and "." in n]
        sessions = self.events[SESSION].to_numpy()[np.isin(self._name_codes, wanted)]
        return self.index.isin(np.unique(sessions))

    def first_nonempty(self, field: str) -> pd.Series:
        """Session context from the first event that carries a value (the extract turns
        empty strings into NULL)."""
        if field not in self._first_nonempty:
            col = self.events[field]
            keep = col.notna().to_numpy()
            firsts = pd.DataFrame(
                {SESSION: self.events[SESSION].to_numpy()[keep], field: col.to_numpy()[keep]}
            ).drop_duplicates(SESSION)
            self._first_nonempty[field] = firsts.set_index(SESSION)[field].reindex(self.index)
        return self._first_nonempty[field]

    def factorized(self, field: str) -> tuple[np.ndarray, pd.Index]:
        """(codes, distinct values) of an extracted column, computed once per chunk: five
        utm columns read the same page URLs."""
        if field not in self._factorized:
            self._factorized[field] = pd.factorize(self.events[field])
        return self._factorized[field]

    @cached_property
    def local_start(self) -> pd.Series:
        """Each session's first event, to the second, in the subscription's zone (the
        ``datetime`` column type formats it)."""
        start = pd.to_datetime(self.first["event_time"], utc=True).dt.floor("s")
        return start.dt.tz_convert(self.ctx.window.timezone)

    def align(self, series: pd.Series, fill=None) -> pd.Series:
        out = series.reindex(self.index)
        return out if fill is None else out.fillna(fill)

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
    field, param = col.rule["field"], col.rule["param"]
    codes, uniques = s.factorized(field)
    values = np.array([query_params(u).get(param) or None for u in uniques] + [None], dtype=object)
    per_event = pd.DataFrame({SESSION: s.events[SESSION].to_numpy(), "v": values[codes]})
    firsts = per_event.dropna(subset=["v"]).drop_duplicates(SESSION).set_index(SESSION)["v"]
    return s.align(firsts)


def rule_count(s: Sessions, col: ColumnSpec) -> pd.Series:
    rows = s.rows_of(_events(col))
    return s.align(rows.groupby(SESSION, sort=False).size(), fill=0).astype("int64")


def rule_any(s: Sessions, col: ColumnSpec) -> pd.Series:
    return rule_count(s, col) > 0


def rule_count_distinct(s: Sessions, col: ColumnSpec) -> pd.Series:
    prop = _prop(col)
    rows = s.rows_of(_events(col), prop)
    counts = rows.dropna(subset=[prop]).groupby(SESSION, sort=False)[prop].nunique()
    return s.align(counts, fill=0).astype("int64")


def rule_any_value(s: Sessions, col: ColumnSpec) -> pd.Series:
    rows = s.rows_of(_events(col), _prop(col))
    hits = rows.loc[rows[_prop(col)] == str(col.rule["value"]), SESSION].unique()
    return pd.Series(s.index.isin(hits), index=s.index)


def rule_last(s: Sessions, col: ColumnSpec) -> pd.Series:
    """The value on the session's last such event (by time, then id), even if empty there."""
    rows = s.rows_of(_events(col), _prop(col))
    last = rows.drop_duplicates(SESSION, keep="last").set_index(SESSION)[_prop(col)]
    out = s.align(last)
    mapping = col.rule.get("map")
    if mapping:
        out = out.map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)
    return out


def rule_ordered_unique(s: Sessions, col: ColumnSpec) -> pd.Series:
    """Values in first-seen order, each once, as compact JSON array text."""
    prop = _prop(col)
    rows = s.rows_of(_events(col), prop).dropna(subset=[prop])
    rows = rows.drop_duplicates([SESSION, prop])
    if rows.empty:
        return empty_series(s.index, "array")
    codes, uniques = pd.factorize(rows[prop])
    quoted = np.array([json.dumps(u, ensure_ascii=False) + "," for u in uniques], dtype=object)[codes]
    sessions = rows[SESSION].to_numpy()
    starts = np.flatnonzero(np.r_[True, sessions[1:] != sessions[:-1]])  # rows are grouped by session
    joined = np.add.reduceat(quoted, starts)  # string concatenation per session, in C
    arrays = pd.Series(["[" + j[:-1] + "]" for j in joined], index=sessions[starts])
    return s.align(arrays)


def rule_address_part(s: Sessions, col: ColumnSpec) -> pd.Series:
    source = col.rule.get("column", "address")
    if source not in s.outputs:
        raise SpecError(
            f"column {col.name}: address_part reads {source!r}, which must come earlier in the spec"
        )
    addresses = s.outputs[source]
    codes, uniques = pd.factorize(addresses)
    parts = np.array([split_address(u)[col.rule["part"]] for u in uniques] + [None], dtype=object)
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
