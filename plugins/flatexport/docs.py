"""The data dictionary a customer reads, rendered from the report spec it describes.

Generated rather than written so it can never drift from what the export produces: the
columns from the spec, the file name from the one naming rule, the source tables from
their one declaration, and any page of the report's family before it.
"""

from __future__ import annotations

from itertools import groupby

from flatexport.formats import FORMATS
from flatexport.specs import ColumnSpec, ReportSpec, file_name


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


def example_scope(spec: ReportSpec) -> object:
    """The report's scope with a placeholder in each required field, so the file name
    shows where a scope goes (``..._action-<action_id>_<YYYY-MM-DD>.csv``)."""
    from flatexport.families import family_of

    model = family_of(spec).scope_model(spec)
    return model.model_construct(
        **{f: f"<{f}>" for f, info in model.model_fields.items() if info.is_required()}
    )


def _other_formats() -> str:
    return ", ".join(f"`.{f}`" for f in FORMATS if f != "csv")


def render_data_dictionary(spec: ReportSpec) -> str:
    lines = [
        f"# {spec.title} — data dictionary",
        "",
        _cell(spec.description),
        "",
        f"- Report: `{spec.report}` · file `{file_name(spec, '<YYYY-MM-DD>', 'csv', example_scope(spec))}` "
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
    lines += source_tables(spec)
    return "\n".join(lines)


def source_tables(spec: ReportSpec) -> list[str]:
    """The source tables the report's query reads, as their contracts declare them."""
    from flatexport.extract import read_sql_file
    from flatexport.seed.schema import tables_read_by

    tables = tables_read_by(read_sql_file(spec.sql_path()))
    if not tables:
        return []
    lines = [
        "## Source tables",
        "",
        "The export reads these tables of the org (times are stored in UTC):",
        "",
    ]
    for table in tables:
        lines += [f"`{table.name}` (contract: {table.contract})", "", "```sql", table.ddl, "```", ""]
    return lines


def render_for(report: str) -> str:
    """A report's docs page: its family's page (if it has one), then the dictionary."""
    from flatexport.families import family_of
    from flatexport.specs import load_spec

    spec = load_spec(report)
    page = family_of(spec).docs_page(spec)
    dictionary = render_data_dictionary(spec)
    return page.rstrip() + "\n\n" + dictionary if page else dictionary
