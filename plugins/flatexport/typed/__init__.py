"""Typed file formats: xlsx for spreadsheet users, Parquet for warehouses.

Both are written from the same canonical Arrow record batch (:mod:`.canonical`): one
column per spec column, text as the CSV would carry it (dates and datetimes as ISO text
with offset, arrays as JSON text), integers as int64, booleans as bool, decimals as
float64. Each format then types its cells or columns from the report spec, and reads
its own files back as the text cells the CSV reader yields, so one quality suite serves
every format. The type each column gets in each format is stated once, here, and the
data dictionary renders it (:func:`type_table`).
"""

from __future__ import annotations

from flatexport.specs import ColumnSpec, ReportSpec

__all__ = ["FORMAT_NOTES", "type_table"]

# Decisions a reader of the data dictionary needs, one line per format.
FORMAT_NOTES = (
    "CSV and JSON Lines carry dates and datetimes as ISO 8601 text with the UTC offset, "
    "and arrays as JSON text; in CSV a text cell that a spreadsheet would run as a formula "
    "starts with an apostrophe.",
    "xlsx: one sheet named after the report, header row frozen. Text, identifiers, zip "
    "codes and phone numbers are text cells (leading zeros kept; never a formula, so no "
    "apostrophe is added). Datetimes are date cells holding the wall-clock time in the "
    "subscription's time zone (the same instant as in the CSV, which may keep a source's "
    "own offset); each cell's number format shows its UTC offset "
    "(`2024-11-04 09:15:00 -06:00`) and the header cell's note names the zone. Integers of "
    "16 digits or more, dates before 1900-03-01 and non-finite decimals, which Excel cannot "
    "hold exactly, are text cells. Text longer than Excel's 32,767 characters per cell is "
    "cut there and counted in the manifest's `format_details`. Past 1,048,575 rows the rows "
    "continue on a sheet `<report> (2)` with the same header; the manifest lists the sheets.",
    "Parquet: column names as in JSON Lines, compressed with zstd. Datetimes are "
    "`timestamp[us, tz=<subscription zone>]` (an instant; DuckDB reads TIMESTAMP WITH TIME "
    "ZONE). Arrays are `list<string>`: a list of text values, the natural Parquet type for "
    "them, so warehouses can unnest them without parsing JSON (an item that is not text is "
    "its JSON text). Empty text is null, as CSV has one empty cell for both.",
)


def type_table(spec: ReportSpec, columns: list[ColumnSpec] | None = None) -> list[str]:
    """Markdown lines: which column becomes which xlsx cell and which Parquet type."""
    from flatexport.typed.parquet import parquet_type_name
    from flatexport.typed.xlsx import cell_kind

    lines = [
        "## File formats: cell and column types",
        "",
        *[f"- {note}" for note in FORMAT_NOTES],
        "",
        "| CSV / xlsx header | JSON Lines / Parquet name | Spec type | CSV / JSON Lines text "
        "| xlsx cell | Parquet type |",
        "|---|---|---|---|---|---|",
    ]
    for col in columns or spec.columns:
        lines.append(
            f"| `{col.out_header}` | `{col.name}` | {col.type} | {_text_form(col)} | "
            f"{cell_kind(col).label} | `{parquet_type_name(col)}` |"
        )
    lines.append("")
    return lines


def _text_form(col: ColumnSpec) -> str:
    return {
        "integer": "digits",
        "number": "decimal",
        "boolean": "`true` / `false`",
        "date": "`YYYY-MM-DD`",
        "datetime": "`YYYY-MM-DDThh:mm:ss±hh:mm`",
        "array": "JSON array text",
        "object": "JSON object text",
    }.get(col.type, "text")
