"""Run the derived checks over a staged file and return one PII-free QualityReport.

Row-level checks run chunk by chunk with GX Core (ephemeral context, pandas dataframe
batch); the file-wide ones (key uniqueness, row count, header, tenant) are computed
here across chunks. GX results carry offending values, so they are reduced to counts
right away; only non-PII sample values survive, for the operator-only HTML page.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from flatexport.quality.reader import DEFAULT_CHUNKSIZE, StagedReader
from flatexport.quality.results import MAX_KEYS, MAX_SAMPLES, CheckResult, QualityReport
from flatexport.quality.suite import (
    INTEGER_RE,
    CheckDef,
    build_gx_suite,
    derive_checks,
    expected_columns,
    header_map,
)
from flatexport.quality.volume import VolumeTolerance, check_volume
from flatexport.specs import ReportSpec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

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
class _Tally:
    unexpected: int = 0
    elements: int = 0
    failed_to_run: bool = False
    samples: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    seen: set[Any] = field(default_factory=set)  # unique checks only


def _add_unique(items: list[str], values: Any, limit: int) -> None:
    for v in values:
        if len(items) >= limit:
            return
        s = str(v)
        if s not in items:
            items.append(s)


class _KeyPolicy:
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


def _run_gx(suite: Any, frame: pd.DataFrame, key: str | None) -> list[Any]:
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_SAMPLES}
    if key:
        result_format["unexpected_index_column_names"] = [key]
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    return list(batch.validate(suite, result_format=result_format).results)


def _absorb_gx(
    results: list[Any],
    tallies: dict[str, _Tally],
    sample_ok: dict[str, bool],
    keys: _KeyPolicy,
    rows: int,
) -> None:
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
        if keys.column:
            index_rows = r.get("partial_unexpected_index_list") or []
            _add_unique(
                tally.keys,
                keys.clean(d.get(keys.column) for d in index_rows if isinstance(d, dict)),
                MAX_KEYS,
            )
        # drop the GX payload (it quotes values) as soon as the counts are taken
        r.clear()


def _absorb_unique(
    check: CheckDef, frame: pd.DataFrame, tally: _Tally, integer_key: bool, keys: _KeyPolicy
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


def _columns_result(
    check: CheckDef, header: list[str], expected: list[str], staged: StagedFile, spec: ReportSpec
) -> CheckResult:
    known = header_map(spec)
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    moved = 0
    if not missing and not extra and header != expected:
        moved = sum(1 for a, b in zip(header, expected, strict=False) if a != b)
    dupes = len(header) - len(set(header))
    staged_differs = bool(staged.columns) and list(staged.columns) != expected
    unexpected = len(missing) + len(extra) + moved + dupes + (1 if staged_differs else 0)
    details: dict[str, Any] = {}
    if missing:
        details["missing"] = missing  # spec column names: safe
    if extra:
        # a header cell may be a data value (no header row): list only known spec columns
        details["unexpected"] = [c for c in extra if c in known]
        details["unexpected_unknown"] = sum(1 for c in extra if c not in known)
    if moved:
        details["out_of_order"] = moved
    if staged_differs:
        details["staged_columns_differ"] = True
    return CheckResult(
        check.name, check.severity, unexpected == 0, unexpected, len(expected), details=details
    )


def _dataset_result(
    check: CheckDef, reader: StagedReader, staged: StagedFile, subscription: Subscription, spec: ReportSpec
) -> CheckResult:
    def res(ok: bool, bad: int, n: int, note: str = "", details: dict | None = None) -> CheckResult:
        return CheckResult(check.name, check.severity, ok, bad, n, note=note, details=details or {})

    if check.kind == "readable":
        note = f"could not read the file ({reader.error})" if reader.error else ""
        return res(
            reader.unreadable == 0 and not reader.error,
            reader.unreadable,
            reader.rows + reader.unreadable,
            note,
        )
    if check.kind == "rows":
        return res(reader.ragged == 0, reader.ragged, reader.rows)
    if check.kind == "row_count":
        ok = reader.rows == staged.rows
        return res(
            ok,
            0 if ok else abs(reader.rows - staged.rows),
            reader.rows,
            details={"rows_in_file": reader.rows, "rows_staged": staged.rows},
        )
    if check.kind == "tenant":
        ok = staged.org_id == subscription.org_id
        return res(ok, 0 if ok else 1, 1, "" if ok else "staged file belongs to another org")
    if check.kind == "subscription":
        problems = []
        if staged.report != spec.report or subscription.report != spec.report:
            problems.append("report")
        if staged.subscription_id is not None and str(staged.subscription_id) != str(subscription.id):
            problems.append("subscription id")
        if staged.format and staged.format != subscription.format:
            problems.append("format")
        return res(not problems, len(problems), 3, ("differs: " + ", ".join(problems)) if problems else "")
    raise ValueError(f"unknown dataset check kind {check.kind!r}")


def validate_staged(
    spec: ReportSpec,
    staged: StagedFile,
    subscription: Subscription,
    history: list[tuple[Any, int]] | None = None,
    tolerance: VolumeTolerance | None = None,
    *,
    ds: str | None = None,
    chunksize: int = DEFAULT_CHUNKSIZE,
    write_files: bool = True,
    narrow: bool = True,
) -> QualityReport:
    """Check one staged file; never raises on bad data (see ``gate``).

    With ``narrow`` (the default) each row-level expectation runs over a frame of only
    the columns it reads (see ``_gx_groups``); ``narrow=False`` runs the whole suite over
    the whole frame, the reference the narrow path is tested against.

    ``ds`` defaults to the staged file's day. With ``write_files`` the PII-free summary
    goes to ``<file>.quality.json`` and the operator page to ``<file>.quality.html`` (0600).
    """
    started = time.perf_counter()
    run_day = ds or staged.ds
    reader = StagedReader(staged.path, staged.format or subscription.format, chunksize)
    header = reader.prepare()
    expected = expected_columns(spec, subscription, list(staged.columns))
    checks = derive_checks(spec, header, run_day, subscription.org_id, reader.format)
    by_header = header_map(spec)
    positions: dict[str, int] = {}
    for i, h in enumerate(header):
        if h in by_header:
            positions.setdefault(by_header[h].name, i)
    keys = _KeyPolicy(spec, set(positions))
    pii = {c.name for c in spec.columns if c.pii}
    tallies = {c.name: _Tally() for c in checks if c.kind in ("gx", "unique")}
    sample_ok = {c.name: bool(c.column) and c.column not in pii for c in checks}
    gx_checks = [c for c in checks if c.kind == "gx"]
    if gx_checks:
        _batch_definition()  # GX builds suites only inside an active context
    groups = _gx_groups(gx_checks, f"{spec.report}-{uuid.uuid4().hex[:8]}", narrow=narrow)
    integer_cols = {c.name for c in spec.columns if c.type == "integer"}

    for chunk in reader.chunks():
        frame = pd.DataFrame({name: chunk[f"_{pos}"] for name, pos in positions.items()})
        frame = frame.mask(frame == "")
        if groups and len(frame):
            try:
                per_group = [_run_gx(g.suite, g.frame_of(frame, keys.column), keys.column) for g in groups]
            except Exception as exc:  # GX messages may quote values: keep the type only
                log.warning(
                    "GX validation of a chunk failed (%s); its row-level checks are marked failed",
                    type(exc).__name__,
                )
                for c in gx_checks:
                    tallies[c.name].failed_to_run = True
                    tallies[c.name].elements += len(frame)
            else:
                for results in per_group:
                    _absorb_gx(results, tallies, sample_ok, keys, len(frame))
        for c in checks:
            if c.kind == "unique":
                integer_key = len(c.columns) == 1 and c.columns[0] in integer_cols
                _absorb_unique(c, frame, tallies[c.name], integer_key, keys)
        del frame, chunk

    results_out: list[CheckResult] = []
    for c in checks:
        if c.kind == "columns":
            results_out.append(_columns_result(c, header, expected, staged, spec))
        elif c.name in tallies:
            t = tallies[c.name]
            ok = t.unexpected == 0 and not t.failed_to_run
            results_out.append(
                CheckResult(
                    c.name,
                    c.severity,
                    ok,
                    t.unexpected,
                    t.elements,
                    column=c.column,
                    keys=t.keys,
                    note="check could not run" if t.failed_to_run else "",
                    samples=t.samples if sample_ok.get(c.name) else [],
                )
            )
        else:
            results_out.append(_dataset_result(c, reader, staged, subscription, spec))
    volume = check_volume(reader.rows, history, tolerance or volume_tolerance(spec))
    volume = _override(volume, spec)
    results_out.append(volume)

    report = QualityReport(
        report=spec.report,
        org_id=staged.org_id,
        ds=run_day,
        file=staged.name,
        rows=reader.rows,
        checks=results_out,
        elapsed_s=time.perf_counter() - started,
    )
    log.info("quality: %s (%.2fs)", report.summary_line(), report.elapsed_s)
    if write_files:
        write_outputs(report, staged.path)
    return report


def volume_tolerance(spec: ReportSpec) -> VolumeTolerance:
    """Per-report tolerance from the spec's ``volume`` (same fields as VolumeTolerance)."""
    return VolumeTolerance.from_options(spec.volume)


def _override(check: CheckResult, spec: ReportSpec) -> CheckResult:
    sev = spec.severity.get(check.name)
    if sev is not None:
        check.severity = sev
    return check


def summary_path(staged_path: str | Path) -> Path:
    return Path(str(staged_path) + ".quality.json")


def html_path(staged_path: str | Path) -> Path:
    return Path(str(staged_path) + ".quality.html")


def write_outputs(report: QualityReport, staged_path: str | Path) -> tuple[Path, Path]:
    from flatexport.quality.report import write_html

    js = summary_path(staged_path)
    js.write_text(json.dumps(report.to_summary(), indent=2) + "\n", encoding="utf-8")
    page = write_html(report, html_path(staged_path))
    return js, page
