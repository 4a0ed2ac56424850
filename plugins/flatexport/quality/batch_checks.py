"""The row-level and uniqueness checks, tallied chunk by chunk: one place for both ways
a staged file is checked.

The export feeds it the cells it writes, batch by batch (``flatexport.quality.in_pass``);
the gate's fallback feeds it the chunks it reads back from the file
(``flatexport.quality.validate``). Either way a chunk is a frame of text cells whose
columns are the header's positions ``_0, _1, ...`` ('' = missing), cut every
``chunksize`` rows, so both give the same counts, samples and keys.

Row-level checks run with GX Core (one ephemeral context per process, pandas dataframe
batch); GX results carry offending values, so they are reduced to counts right away and
only non-PII sample values survive, for the operator-only HTML page.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from flatexport.quality.results import MAX_KEYS, MAX_SAMPLES
from flatexport.quality.suite import INTEGER_RE, CheckDef, build_gx_suite, header_map
from flatexport.specs import ReportSpec

log = logging.getLogger(__name__)

_GX_LOCK = threading.Lock()
_GX_BATCH_DEFINITION: Any = None


def _batch_definition() -> Any:
    """One ephemeral GX context per process, built on first use and reused by every later
    subscription the worker checks: creating it costs more than a small file's checks.
    GX's start-up chatter (data context, data sources, usage statistics) stays out of the
    task log: only its warnings and errors get through."""
    global _GX_BATCH_DEFINITION
    with _GX_LOCK:
        if _GX_BATCH_DEFINITION is None:
            logging.getLogger("great_expectations").setLevel(logging.WARNING)
            import great_expectations as gx
            from great_expectations.execution_engine import pandas_execution_engine

            # GX fingerprints every dataframe batch under 1 GB (an MD5 over a hash of every
            # cell, twice per validation) only to label the batch in its result metadata,
            # which the gate never reads: over the narrow frames it cost more than the checks.
            pandas_execution_engine.HASH_THRESHOLD = 0
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            source = context.data_sources.add_pandas("flatexport_staged")
            asset = source.add_dataframe_asset("chunk")
            _GX_BATCH_DEFINITION = asset.add_batch_definition_whole_dataframe("whole_chunk")
        return _GX_BATCH_DEFINITION


@dataclass
class Tally:
    """What one row-level or uniqueness check found so far (counts, a few non-PII values)."""

    unexpected: int = 0
    elements: int = 0
    failed_to_run: bool = False
    samples: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    seen: set[Any] = field(default_factory=set)  # unique checks only

    def to_record(self) -> dict[str, Any]:
        """Everything but ``seen`` (the key values themselves), for the export's sidecar."""
        out = asdict(self)
        del out["seen"]
        return out

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Tally:
        return cls(
            unexpected=int(data["unexpected"]),
            elements=int(data["elements"]),
            failed_to_run=bool(data["failed_to_run"]),
            samples=[str(s) for s in data["samples"]],
            keys=[str(k) for k in data["keys"]],
        )


def _add_unique(items: list[str], values: Any, limit: int) -> None:
    for v in values:
        if len(items) >= limit:
            return
        s = str(v)
        if s not in items:
            items.append(s)


class KeyPolicy:
    """Which key values may be listed: the spec key, when not PII and well-formed."""

    def __init__(self, spec: ReportSpec, present: set[str]) -> None:
        col = spec.column(spec.key) if spec.key else None
        self.column = col.name if col is not None and not col.pii and col.name in present else None
        self._integer = col is not None and col.type == "integer"

    def clean(self, values: Any) -> list[str]:
        out = []
        for v in values:
            if v is None or (isinstance(v, float) and v != v):
                continue
            s = str(v)
            if len(s) > 64 or (self._integer and not re.match(INTEGER_RE, s)):
                continue
            out.append(s)
        return out


_COLUMN_KWARGS = ("column", "column_A", "column_B")


def _columns_read(check: CheckDef) -> tuple[str, ...] | None:
    """The columns a row-level check's expectations read; None when one of them may read
    others too (a ``row_condition`` names columns in free text): it then gets them all."""
    cols: list[str] = [check.column] if check.column else []
    for exp in check.expectations:
        if "row_condition" in exp.kwargs:
            return None
        cols.extend(exp.kwargs[k] for k in _COLUMN_KWARGS if k in exp.kwargs)
        cols.extend(exp.kwargs.get("column_list") or [])
    return tuple(dict.fromkeys(cols)) if cols else None


@dataclass
class _GxGroup:
    """Row-level checks that read the same columns, and the GX suite that runs them.

    GX selects each expectation's domain rows from the frame it is given (non-null rows of
    the column, say), copying every column of that frame: over the whole ~80-column chunk
    that selection, ~150 times a chunk, was most of the gate's time. A frame of just the
    columns read (plus the key, for the offending rows' keys) gives GX the same rows and
    values, so the same counts, samples and keys, at a fraction of the copying."""

    columns: tuple[str, ...] | None  # None: the whole frame
    suite: Any

    def frame_of(self, frame: pd.DataFrame, key: str | None) -> pd.DataFrame:
        if self.columns is None:
            return frame
        cols = list(self.columns)
        if key and key not in cols and key in frame.columns:
            cols.append(key)
        return frame[cols]


_SUITES: dict[tuple[str, bool], list[_GxGroup]] = {}
_SUITES_KEPT = 64


def _cached_gx_groups(gx_checks: list[CheckDef], name: str, *, narrow: bool) -> list[_GxGroup]:
    """``_gx_groups``, built once per worker process for the same checks: the next
    subscription of a report with the same checks (its day and org are part of them)
    reuses the suites, whose building cost more than a small file's validation."""
    key = (repr(gx_checks), narrow)
    with _GX_LOCK:
        groups = _SUITES.get(key)
    if groups is None:
        groups = _gx_groups(gx_checks, name, narrow=narrow)
        with _GX_LOCK:
            if len(_SUITES) >= _SUITES_KEPT:
                _SUITES.pop(next(iter(_SUITES)))
            _SUITES[key] = groups
    return groups


def _gx_groups(gx_checks: list[CheckDef], name: str, *, narrow: bool = True) -> list[_GxGroup]:
    """One suite per set of columns read (checks kept in their order within a group)."""
    if not gx_checks:
        return []
    if not narrow:
        return [_GxGroup(None, build_gx_suite(gx_checks, name=name))]
    by_columns: dict[tuple[str, ...] | None, list[CheckDef]] = {}
    for check in gx_checks:
        by_columns.setdefault(_columns_read(check), []).append(check)
    return [
        _GxGroup(cols, build_gx_suite(group, name=f"{name}-{i}"))
        for i, (cols, group) in enumerate(by_columns.items())
    ]


def _run_gx(suite: Any, frame: pd.DataFrame) -> list[Any]:
    """The suite's results over one frame. The offending rows come back as the frame's
    index labels (the first ``MAX_SAMPLES`` of each check), whose keys ``_absorb_gx``
    looks up: asked for the key column by name (``unexpected_index_column_names``), GX
    builds a dict per offending row, every one of them, with two ``.at`` lookups each,
    which on a seeded 200k-row chunk was three quarters of its check time."""
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_SAMPLES}
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    return list(batch.validate(suite, result_format=result_format).results)


def _absorb_gx(
    results: list[Any],
    tallies: dict[str, Tally],
    sample_ok: dict[str, bool],
    keys: KeyPolicy,
    frame: pd.DataFrame,
) -> None:
    rows = len(frame)
    parts_seen: dict[str, int] = {}
    for res in results:
        name = res.expectation_config.meta["check"]
        tally = tallies[name]
        first_part = name not in parts_seen
        parts_seen[name] = parts_seen.get(name, 0) + 1
        r = res.result or {}
        if "unexpected_count" not in r:  # the expectation raised: count the chunk, never the message
            tally.failed_to_run = True
            if first_part:
                tally.elements += rows
            continue
        if first_part:
            tally.elements += int(r.get("element_count") or rows)
        tally.unexpected += int(r.get("unexpected_count") or 0)
        if sample_ok.get(name):
            _add_unique(
                tally.samples,
                [v for v in r.get("partial_unexpected_list") or [] if v is not None],
                MAX_SAMPLES,
            )
        if keys.column and len(tally.keys) < MAX_KEYS:
            labels = r.get("partial_unexpected_index_list") or []
            _add_unique(tally.keys, keys.clean(frame[keys.column].loc[labels]), MAX_KEYS)
        # drop the GX payload (it quotes values) as soon as the counts are taken
        r.clear()


def _absorb_unique(
    check: CheckDef, frame: pd.DataFrame, tally: Tally, integer_key: bool, keys: KeyPolicy
) -> None:
    cols = list(check.columns)
    sub = frame[cols].dropna()
    tally.elements += len(sub)
    if len(cols) == 1:
        values: Any = sub[cols[0]].tolist()
        if integer_key:
            values = [int(v) if v.isdigit() else v for v in values]
    else:
        values = list(sub.itertuples(index=False, name=None))
    seen = tally.seen
    dupes = []
    for v in values:
        if v in seen:
            tally.unexpected += 1
            if len(dupes) < MAX_KEYS:
                dupes.append(v)
        else:
            seen.add(v)
    if keys.column and cols == [keys.column]:
        _add_unique(tally.keys, keys.clean(dupes), MAX_KEYS)


class BatchChecker:
    """Tallies the row-level (GX) and uniqueness checks of one file over its chunks.

    Built from the file's header and its derived checks; ``add`` takes one chunk of text
    cells (columns ``_0, _1, ...``, '' = missing); ``tallies`` holds the outcome, keyed
    by check name. A GX failure on a chunk marks that chunk's row-level checks as not run
    (counted, never its message, which may quote values).

    With ``narrow`` (the default) each expectation runs over a frame of only the columns
    it reads (see ``_GxGroup``); ``narrow=False`` runs the whole suite over the whole
    frame, the reference the narrow path is tested against. The narrow path is the
    cheaper one at every chunk size measured (60 to 200,000 rows).
    """

    def __init__(
        self, spec: ReportSpec, header: list[str], checks: list[CheckDef], *, narrow: bool = True
    ) -> None:
        by_header = header_map(spec)
        self.positions: dict[str, int] = {}
        for i, h in enumerate(header):
            if h in by_header:
                self.positions.setdefault(by_header[h].name, i)
        self.keys = KeyPolicy(spec, set(self.positions))
        pii = {c.name for c in spec.columns if c.pii}
        self.tallies = {c.name: Tally() for c in checks if c.kind in ("gx", "unique")}
        self.sample_ok = {c.name: bool(c.column) and c.column not in pii for c in checks}
        self._gx_checks = [c for c in checks if c.kind == "gx"]
        self._unique = [c for c in checks if c.kind == "unique"]
        if self._gx_checks:
            _batch_definition()  # GX builds suites only inside an active context
        self._groups = _cached_gx_groups(
            self._gx_checks, f"{spec.report}-{uuid.uuid4().hex[:8]}", narrow=narrow
        )
        integer_cols = {c.name for c in spec.columns if c.type == "integer"}
        self._integer_key = {
            c.name: len(c.columns) == 1 and c.columns[0] in integer_cols for c in self._unique
        }

    def add(self, chunk: pd.DataFrame, *, blanks_are_missing: bool = False) -> None:
        """One chunk of text cells; '' is missing, as NaN (already, with ``blanks_are_missing``)."""
        frame = pd.DataFrame({name: chunk[f"_{pos}"] for name, pos in self.positions.items()})
        if not blanks_are_missing:
            frame = frame.mask(frame == "")
        if self._groups and len(frame):
            self._add_gx(frame)
        for c in self._unique:
            _absorb_unique(c, frame, self.tallies[c.name], self._integer_key[c.name], self.keys)

    def _add_gx(self, frame: pd.DataFrame) -> None:
        key = self.keys.column
        try:
            per_group = [_run_gx(g.suite, g.frame_of(frame, key)) for g in self._groups]
        except Exception as exc:  # GX messages may quote values: keep the type only
            log.warning(
                "GX validation of a chunk failed (%s); its row-level checks are marked failed",
                type(exc).__name__,
            )
            for c in self._gx_checks:
                self.tallies[c.name].failed_to_run = True
                self.tallies[c.name].elements += len(frame)
            return
        for results in per_group:
            _absorb_gx(results, self.tallies, self.sample_ok, self.keys, frame)
