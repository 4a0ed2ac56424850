"""Check and report records: what the gate says about a staged file.

Only names, severities, success flags, counts and non-PII keys go into ``to_summary()``
(manifest, delivery log, XCom, alerts). Sample values live in ``CheckResult.samples``
for the operator-only HTML page and never enter the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flatexport.errors import QualityError

Severity = Literal["error", "warn"]
SEVERITIES: tuple[str, ...] = ("error", "warn")
MAX_KEYS = 20
MAX_SAMPLES = 20


@dataclass
class CheckResult:
    name: str
    severity: Severity
    success: bool
    unexpected_count: int = 0
    element_count: int = 0
    column: str | None = None
    keys: list[str] = field(default_factory=list)  # non-PII key values of offending rows (<= 20)
    details: dict[str, Any] = field(default_factory=dict)  # numbers and spec column names only
    note: str = ""  # a fixed text written by the gate, never a data value
    samples: list[str] = field(default_factory=list)  # non-PII offending values, HTML page only

    def to_summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "severity": self.severity,
            "success": self.success,
            "unexpected_count": int(self.unexpected_count),
            "element_count": int(self.element_count),
        }
        if self.keys:
            out["keys"] = [str(k) for k in self.keys[:MAX_KEYS]]
        if self.details:
            out["details"] = dict(self.details)
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class QualityReport:
    report: str
    org_id: str
    ds: str
    file: str
    rows: int
    checks: list[CheckResult]
    elapsed_s: float = 0.0

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success]

    @property
    def failed_errors(self) -> list[CheckResult]:
        return [c for c in self.failed if c.severity == "error"]

    @property
    def failed_warnings(self) -> list[CheckResult]:
        return [c for c in self.failed if c.severity == "warn"]

    @property
    def errors(self) -> int:
        return len(self.failed_errors)

    @property
    def warnings(self) -> int:
        return len(self.failed_warnings)

    @property
    def passed(self) -> bool:
        return self.errors == 0

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def summary_line(self) -> str:
        if self.passed and not self.warnings:
            return f"{self.report} {self.org_id} {self.ds}: all {len(self.checks)} checks passed"
        names = ", ".join(c.name for c in self.failed)
        return (
            f"{self.report} {self.org_id} {self.ds}: {self.errors} error(s), "
            f"{self.warnings} warning(s) in {len(self.checks)} checks: {names}"
        )

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable, PII-free: goes to the manifest, the delivery log and XCom."""
        return {
            "report": self.report,
            "org_id": self.org_id,
            "ds": self.ds,
            "file": self.file,
            "rows": int(self.rows),
            "passed": self.passed,
            "errors": self.errors,
            "warnings": self.warnings,
            "elapsed_s": round(float(self.elapsed_s), 3),
            "checks": [c.to_summary() for c in self.checks],
        }


def gate(report: QualityReport) -> None:
    """Stop delivery when an error-level check failed; warnings never block."""
    failed = report.failed_errors
    if failed:
        names = ", ".join(c.name for c in failed)
        raise QualityError(f"{len(failed)} error-level checks failed: {names}")
