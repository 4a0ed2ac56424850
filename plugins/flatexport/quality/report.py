"""A compact HTML page beside the staged file, for operators only (mode 0600).

GX Data Docs would be heavy and would show every offending value; this page shows the
checks and at most 20 sample values per check, only for columns not flagged PII
(the validator never keeps samples of PII columns). Everything is escaped.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from flatexport.quality.results import QualityReport

_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    ".fail.error{background:#fdd}.fail.warn{background:#ffd}.ok{color:#060}code{font-size:12px}"
)


def render_html(report: QualityReport) -> str:
    e = html.escape
    status = "PASSED" if report.passed else "FAILED"
    rows = []
    for c in report.checks:
        cls = "ok" if c.success else f"fail {c.severity}"
        extra = []
        if c.note:
            extra.append(e(c.note))
        if c.details:
            extra.append(e(", ".join(f"{k}: {v}" for k, v in c.details.items())))
        if c.keys:
            extra.append("keys: " + ", ".join(f"<code>{e(k)}</code>" for k in c.keys))
        if c.samples:
            extra.append("samples: " + ", ".join(f"<code>{e(repr(s))}</code>" for s in c.samples))
        rows.append(
            f'<tr class="{cls}"><td>{e(c.name)}</td><td>{e(c.severity)}</td>'
            f"<td>{'ok' if c.success else 'FAILED'}</td><td>{c.unexpected_count}</td>"
            f"<td>{c.element_count}</td><td>{'<br>'.join(extra)}</td></tr>"
        )
    title = f"{report.report} {report.org_id} {report.ds}"
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>Quality: {e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Quality {e(status)}: {e(title)}</h1>"
        f"<p>File <code>{e(report.file)}</code>, {report.rows} rows, {report.errors} error(s), "
        f"{report.warnings} warning(s), checked in {report.elapsed_s:.2f} s.</p>"
        "<table><tr><th>check</th><th>severity</th><th>outcome</th><th>unexpected</th>"
        "<th>checked</th><th>details</th></tr>" + "".join(rows) + "</table></body></html>\n"
    )


def write_html(report: QualityReport, path: str | Path) -> Path:
    """Write the page readable by its owner only, also when the file already existed."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render_html(report))
    os.chmod(path, 0o600)
    return path
