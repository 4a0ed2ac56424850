"""The data dictionary a customer reads, rendered from the report spec it describes.

Generated rather than written so it can never drift from what the export produces.
"""

from __future__ import annotations

from itertools import groupby

from flatexport.formats import FORMATS
from flatexport.specs import ColumnSpec, ReportSpec


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _notes(col: ColumnSpec) -> str:
    notes = []
    if col.inactive:
        notes.append("**Inactive**: present, always empty.")
    if col.engine:
        notes.append(f"Empty when the session did not use the {col.engine} engine.")
    if col.values:
        notes.append("Values: " + ", ".join(f"`{v}`" for v in col.values) + ".")
    if col.decision:
        notes.append(col.decision)
    return _cell(" ".join(notes))


def _other_formats() -> str:
    return ", ".join(f"`.{f}`" for f in FORMATS if f != "csv")


def render_data_dictionary(spec: ReportSpec) -> str:
    lines = [
        f"# {spec.title} — data dictionary",
        "",
        _cell(spec.description),
        "",
        f"- Report: `{spec.report}` · file `{spec.file_stem}_<YYYY-MM-DD>.csv` "
        f"(also {_other_formats()}) · schema version {spec.schema_version}",
        f"- Source: {spec.source_document}",
        f"- Rows ordered by {', '.join(spec.order_by)}"
        + (f"; `{spec.key}` is unique per file." if spec.key else "."),
        f"- {len(spec.columns)} columns; PII columns (left out when a subscription excludes PII): "
        + (", ".join(f"`{c}`" for c in spec.pii_columns) or "none"),
        "",
    ]
    if spec.decisions:
        lines += ["## How to read this file", ""] + [f"- {_cell(d)}" for d in spec.decisions] + [""]
    for section, cols in groupby(spec.columns, key=lambda c: c.section or "Columns"):
        lines += [
            f"## {section}",
            "",
            "| Column | Type | Definition | PII | Notes |",
            "|---|---|---|---|---|",
        ]
        for col in cols:
            lines.append(
                f"| `{col.out_header}` | {col.type} | {_cell(col.definition)} | "
                f"{'yes' if col.pii else ''} | {_notes(col)} |"
            )
        lines.append("")
    from flatexport.typed import type_table

    lines += type_table(spec)
    return "\n".join(lines)


def render_for(report: str) -> str:
    """A report's docs page; reports may bring their own renderer (spec option `docs`)."""
    import importlib

    from flatexport.specs import load_spec

    spec = load_spec(report)
    renderer = spec.options.get("docs")
    if renderer:
        module, _, func = renderer.partition(":")
        page = getattr(importlib.import_module(module), func)(spec)
        return page.rstrip() + "\n\n" + render_data_dictionary(spec)
    return render_data_dictionary(spec)
