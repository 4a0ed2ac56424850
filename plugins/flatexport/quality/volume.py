"""Volume check: is today's row count plausible next to the same org+report's history?

A pure function, so the history (from the delivery log) and the tolerance are inputs
and the DAG, the CLI and the tests all get the same answer.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from flatexport.quality.results import CheckResult, Severity

CHECK_NAME = "row volume within tolerance"


@dataclass(frozen=True)
class VolumeTolerance:
    """Defaults: flag below median*(1-0.8) or above median*(1+4), with >= 5 days of history.

    Orgs whose median is below ``min_rows`` are small: a quiet day there is normal,
    and a busy one is flagged only when it also reaches ``min_rows``.
    """

    low: float = 0.8
    high: float = 4.0
    min_history_days: int = 5
    min_rows: int = 100
    severity: Severity = "warn"
    zero_severity: Severity = "warn"

    @classmethod
    def from_options(cls, options: dict | None) -> VolumeTolerance:
        return cls(**(options or {}))


def check_volume(
    rows: int,
    history: Sequence[tuple[dt.date | str, int]] | None,
    tolerance: VolumeTolerance | None = None,
) -> CheckResult:
    tol = tolerance or VolumeTolerance()
    counts = [int(n) for _, n in (history or [])]
    details: dict[str, float | int] = {"rows": int(rows), "history_days": len(counts)}

    def result(success: bool, severity: Severity, note: str) -> CheckResult:
        return CheckResult(
            name=CHECK_NAME,
            severity=severity,
            success=success,
            unexpected_count=0 if success else 1,
            element_count=1,
            details=details,
            note=note,
        )

    if len(counts) < tol.min_history_days:
        return result(True, tol.severity, f"not checked: fewer than {tol.min_history_days} days of history")
    median = float(statistics.median(counts))
    details["median"] = median
    small = median < tol.min_rows
    if rows == 0 and not small:
        return result(False, tol.zero_severity, "no rows today, the org usually has some")
    low_limit = median * (1 - tol.low)
    high_limit = median * (1 + tol.high)
    details["low_limit"] = round(low_limit, 2)
    details["high_limit"] = round(high_limit, 2)
    if rows < low_limit and not small:
        return result(False, tol.severity, "row count far below the usual volume")
    if rows > high_limit and (not small or rows >= tol.min_rows):
        return result(False, tol.severity, "row count far above the usual volume")
    return result(True, tol.severity, "")
