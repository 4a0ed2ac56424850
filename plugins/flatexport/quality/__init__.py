"""Data-quality gate run on a staged file before delivery.

Checks are derived from the report spec (suite.py), row-level ones run chunk by chunk
with GX Core (validate.py), the day's volume is compared with the org's history
(volume.py); only check names, severities and counts leave the gate (results.py), the
operator-only HTML page may show a few non-PII sample values (report.py).

Import the submodules directly: importing this package does not import GX (~10 s).
"""

from flatexport.quality.results import CheckResult, QualityReport, gate

__all__ = ["CheckResult", "QualityReport", "gate"]
