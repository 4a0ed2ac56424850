"""Run the derived checks over a staged file and return one PII-free QualityReport.

Two ways in, one verdict: the export tallies the row-level checks on the cells as it
writes them (``flatexport.quality.in_pass``), or, as the fallback and the reference,
``validate_staged`` reads the file back chunk by chunk. Both feed one
``BatchChecker`` and end in ``file_report``, which adds the file-wide checks (header,
structure, row count, tenant) and the day's volume.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flatexport.quality.batch_checks import BatchChecker, Tally
from flatexport.quality.reader import DEFAULT_CHUNKSIZE, StagedReader
from flatexport.quality.results import CheckResult, QualityReport
from flatexport.quality.suite import CheckDef, derive_checks, expected_columns, header_map
from flatexport.quality.volume import VolumeTolerance, check_volume
from flatexport.specs import ReportSpec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileFacts:
    """What reading (or writing) the whole file established about its structure."""

    header: list[str]
    rows: int
    ragged: int = 0  # rows whose fields do not match the header
    unreadable: int = 0  # lines (or the rest of the file) that could not be parsed
    error: str | None = None  # the exception's type name, never its message

    @classmethod
    def of(cls, reader: StagedReader) -> FileFacts:
        return cls(reader.header, reader.rows, reader.ragged, reader.unreadable, reader.error)


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
    check: CheckDef, facts: FileFacts, staged: StagedFile, subscription: Subscription, spec: ReportSpec
) -> CheckResult:
    def res(ok: bool, bad: int, n: int, note: str = "", details: dict | None = None) -> CheckResult:
        return CheckResult(check.name, check.severity, ok, bad, n, note=note, details=details or {})

    if check.kind == "readable":
        note = f"could not read the file ({facts.error})" if facts.error else ""
        return res(
            facts.unreadable == 0 and not facts.error,
            facts.unreadable,
            facts.rows + facts.unreadable,
            note,
        )
    if check.kind == "rows":
        return res(facts.ragged == 0, facts.ragged, facts.rows)
    if check.kind == "row_count":
        ok = facts.rows == staged.rows
        return res(
            ok,
            0 if ok else abs(facts.rows - staged.rows),
            facts.rows,
            details={"rows_in_file": facts.rows, "rows_staged": staged.rows},
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
    """Check one staged file by reading it back; never raises on bad data (see ``gate``).

    ``narrow``: see ``BatchChecker``. ``ds`` defaults to the staged file's day. With
    ``write_files`` the PII-free summary goes to ``<file>.quality.json`` and the operator
    page to ``<file>.quality.html`` (0600).
    """
    started = time.perf_counter()
    run_day = ds or staged.ds
    reader = StagedReader(staged.path, staged.format or subscription.format, chunksize)
    header = reader.prepare()
    checks = derive_checks(spec, header, run_day, subscription.org_id, reader.format)
    checker = BatchChecker(spec, header, checks, narrow=narrow)
    for chunk in reader.chunks():
        checker.add(chunk)
        del chunk
    report = file_report(
        spec,
        staged,
        subscription,
        checks,
        checker.tallies,
        FileFacts.of(reader),
        history,
        tolerance,
        ds=run_day,
        elapsed_s=time.perf_counter() - started,
    )
    if write_files:
        write_outputs(report, staged.path)
    return report


def file_report(
    spec: ReportSpec,
    staged: StagedFile,
    subscription: Subscription,
    checks: list[CheckDef],
    tallies: dict[str, Tally],
    facts: FileFacts,
    history: list[tuple[Any, int]] | None,
    tolerance: VolumeTolerance | None,
    *,
    ds: str,
    elapsed_s: float,
) -> QualityReport:
    """The verdict on one file from its chunks' tallies and its structural facts, the
    same whichever way the tallies were taken. The file-wide checks compare what the
    file holds with the staged record and the subscription given here, never with what
    the export believed."""
    pii = {c.name for c in spec.columns if c.pii}
    expected = expected_columns(spec, subscription, list(staged.columns))
    results_out: list[CheckResult] = []
    for c in checks:
        if c.kind == "columns":
            results_out.append(_columns_result(c, facts.header, expected, staged, spec))
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
                    samples=t.samples if bool(c.column) and c.column not in pii else [],
                )
            )
        else:
            results_out.append(_dataset_result(c, facts, staged, subscription, spec))
    volume = check_volume(facts.rows, history, tolerance or volume_tolerance(spec))
    results_out.append(_override(volume, spec))
    report = QualityReport(
        report=spec.report,
        org_id=staged.org_id,
        ds=ds,
        file=staged.name,
        rows=facts.rows,
        checks=results_out,
        elapsed_s=elapsed_s,
    )
    log.info("quality: %s (%.2fs)", report.summary_line(), report.elapsed_s)
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


def write_outputs(report: QualityReport, staged_path: str | Path) -> tuple[Path, Path | None]:
    """The PII-free summary, and the operator page only when a check failed (a passing
    file has nothing to look into; an earlier page that no longer applies is removed)."""
    from flatexport.quality.report import write_html

    js = summary_path(staged_path)
    js.write_text(json.dumps(report.to_summary(), indent=2) + "\n", encoding="utf-8")
    if not report.failed:
        html_path(staged_path).unlink(missing_ok=True)
        return js, None
    return js, write_html(report, html_path(staged_path))
