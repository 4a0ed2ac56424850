"""Flattening of the organizing reports: the rule kinds their specs use, as the engine
runs them.

The queries already make one row per output row, so most columns are the row grain's
``field`` rule. The rest read the long-form parts the queries hand over (parallel arrays
per row, named in ``organizing_support``):

* ``tags``: the ``tags`` JSON array cell (distinct normalised tag names);
* ``custom_fields``: the ``custom_fields`` JSON object cell (normalised, file-unique name
  -> value), named per file against the report's own columns;
* ``script_types``: the ``message_types`` JSON array cell;
* ``tag_pivot`` / ``custom_field_pivot``: a column that stands for one column per tag or
  custom field of the file; the discovered columns travel in ``frame.attrs`` and replace
  it in the written header (``pivot_output_columns``).

File-wide names need every row, so a report with ``custom_fields`` or a pivot is
flattened as one chunk (``needs_whole_file``).
"""

from __future__ import annotations

import pandas as pd

from flatexport.families import organizing_support as support
from flatexport.flatten import FlattenContext
from flatexport.flatten.coercion import coerce
from flatexport.flatten.rows import ROW_RULES, RowRule, flatten_rows, row_fields
from flatexport.specs import ColumnSpec, ReportSpec

TAG_PIVOT, FIELD_PIVOT = "tag_pivot", "custom_field_pivot"
PIVOT_KINDS = (TAG_PIVOT, FIELD_PIVOT)
PIVOT_ATTR = "pivot"  # frame.attrs key: {spec column: [discovered ColumnSpec]}
# Rule kind -> the extracted long-form columns it reads.
READS: dict[str, tuple[str, ...]] = {
    "tags": (support.TAG_IDS, support.TAG_NAMES),
    "custom_fields": (support.FIELD_IDS, support.FIELD_NAMES, support.FIELD_VALUES),
    "script_types": (support.SCRIPT_TYPES,),
    TAG_PIVOT: (support.TAG_IDS, support.TAG_NAMES),
    FIELD_PIVOT: (support.FIELD_IDS, support.FIELD_NAMES, support.FIELD_VALUES),
}
_FILE_WIDE = {"custom_fields", *PIVOT_KINDS}  # rules whose names depend on every row


def needs_whole_file(spec: ReportSpec) -> bool:
    return any(c.rule_kind in _FILE_WIDE and not c.inactive for c in spec.columns)


def extracted_fields(spec: ReportSpec) -> set[str]:
    """The extracted columns the rules of ``spec`` read."""
    fields = row_fields(spec)
    for col in spec.columns:
        if not col.inactive:
            fields.update(READS.get(col.rule_kind, ()))
    return fields


def fixed_names(spec: ReportSpec) -> list[str]:
    """The report's own columns (every one, whatever a subscription selects, so names do
    not change with the selection): what a tag or custom-field name must not be equal to."""
    return [c.name for c in spec.columns if c.rule_kind not in PIVOT_KINDS]


def _tags(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> pd.Series:
    cache: dict[tuple, str | None] = {}  # rows repeat a few tag sets: one JSON text per set
    cells = []
    for ids, names in zip(rows[support.TAG_IDS], rows[support.TAG_NAMES], strict=True):
        key = (tuple(support.cell_items(ids)), tuple(support.cell_items(names)))
        if key not in cache:
            cache[key] = support.tags_cell(*key)
        cells.append(cache[key])
    return pd.Series(cells, index=rows.index, dtype=object)


def _custom_fields(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> pd.Series:
    names = support.file_field_names(rows, fixed_names(ctx.spec))
    return pd.Series(
        [
            support.custom_fields_cell(ids, values, names)
            for ids, values in zip(rows[support.FIELD_IDS], rows[support.FIELD_VALUES], strict=True)
        ],
        index=rows.index,
        dtype=object,
    )


def _script_types(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> pd.Series:
    cache: dict[tuple, str | None] = {}
    cells = []
    for value in rows[support.SCRIPT_TYPES]:
        key = tuple(support.cell_items(value))
        if key not in cache:
            cache[key] = support.json_array(key)
        cells.append(cache[key])
    return pd.Series(cells, index=rows.index, dtype=object)


def _placeholder(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> pd.Series:
    return pd.Series([None] * len(rows), index=rows.index, dtype=object)


RULES: dict[str, RowRule] = {
    **ROW_RULES,
    "tags": _tags,
    "custom_fields": _custom_fields,
    "script_types": _script_types,
    TAG_PIVOT: _placeholder,
    FIELD_PIVOT: _placeholder,
}


def pivot_column(col: ColumnSpec, found: support.PivotColumn) -> ColumnSpec:
    """The output column of one tag or custom field, under the pivot column it stands for."""
    what = "tag" if found.kind == "tag" else "custom field"
    return ColumnSpec(
        name=found.name,
        type=col.type,
        definition=f"{col.definition} (this column: {what} {found.id})",
        section=col.section,
        pii=col.pii,
        rule={"kind": col.rule_kind, "id": found.id},
    )


def flatten_report(rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
    """One chunk of rows -> one column per spec column; a pivot column becomes one column
    per tag or custom field (listed in ``attrs``, the placeholder itself dropped)."""
    rows = rows.reset_index(drop=True)
    out = flatten_rows(rows, ctx, RULES)
    found: dict[str, list[ColumnSpec]] = {}
    for col in ctx.spec.columns:
        if col.rule_kind not in PIVOT_KINDS or col.inactive:
            continue
        pivot = support.tag_pivot if col.rule_kind == TAG_PIVOT else support.custom_field_pivot
        out = out.drop(columns=col.name)
        columns = []
        for column, values in pivot(rows, fixed_names(ctx.spec)):
            spec = pivot_column(col, column)
            out[spec.name] = coerce(values, spec, ctx.window.timezone, ctx.warnings)
            columns.append(spec)
        found[col.name] = columns
    out.attrs[PIVOT_ATTR] = found
    return out


def pivot_output_columns(chosen: list[ColumnSpec], first: pd.DataFrame | None) -> list[ColumnSpec]:
    """The columns to write: each chosen pivot column replaced by the columns the (one)
    chunk discovered, none when there were no rows (a header of the fixed columns)."""
    found = first.attrs.get(PIVOT_ATTR, {}) if first is not None else {}
    out: list[ColumnSpec] = []
    for col in chosen:
        out.extend(found.get(col.name, []) if col.rule_kind in PIVOT_KINDS else [col])
    return out
