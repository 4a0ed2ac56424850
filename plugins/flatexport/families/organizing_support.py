"""The organizing reports' rules that SQL cannot state portably, as pure functions.

The report queries (``include/sql/<report>/extract.sql``) select the rows, filter by org
and cutoff, join, rank and order; they hand over tags and custom fields in long form, as
parallel arrays per output row (``tag_ids``/``tag_names``, ``field_ids``/``field_names``/
``field_values``, ``script_types``). What is left needs Unicode and code-point order, which
DuckDB and PostgreSQL do not share (collations differ), so it happens here:

* a tag or custom-field name is normalised (NFC, control characters to spaces, whitespace
  collapsed, empty -> ``tag_<id>`` / ``custom_field_<id>``);
* names are made unique within a file: ordered by normalised name (code points), ties by
  id, a name equal to a fixed column or to an earlier name becomes ``<name> (<id>)``;
* JSON cells (``tags``, ``custom_fields``, ``message_types``) are compact, keys and items
  in code-point order, empty -> empty cell;
* the pivot reports get one column per tag or custom field.

Names depend on every row, so a report using them is flattened as one chunk. This module
holds no family object (``organizing`` does) and no engine glue (``organizing_flatten``);
it is the part of the family that is plain functions of values.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import pandas as pd

from flatexport.formula import guard

NameKind = Literal["tag", "custom_field"]

# Extract columns the queries use for the long-form parts of a row.
TAG_IDS, TAG_NAMES = "tag_ids", "tag_names"
FIELD_IDS, FIELD_NAMES, FIELD_VALUES = "field_ids", "field_names", "field_values"
SCRIPT_TYPES = "script_types"

# --- names ----------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)  # a file repeats the same few tag and field names on every row
def normalise_name(name: str | None, ident: int, kind: NameKind) -> str:
    """The contract's normalised name: NFC; each control character (Unicode category Cc)
    becomes a space; whitespace runs collapse to one space and the ends are trimmed;
    nothing left -> ``tag_<id>`` / ``custom_field_<id>``. Commas, quotes and non-ASCII
    stay: CSV quoting carries them."""
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    text = " ".join(text.split())
    return text or f"{kind}_{ident}"


def assign_names(
    items: Iterable[tuple[int, str | None]], kind: NameKind, fixed: Iterable[str] = ()
) -> dict[int, str]:
    """Unique names for tags or custom fields, id -> name, in column order.

    Order: normalised name by code point, ties by id. A name equal (exact,
    case-sensitive) to a fixed column or to an earlier name becomes ``<name> (<id>)``.
    Names are compared as they are written in a header, after the formula guard, so
    ``=a`` and ``'=a`` can never give two equal headers; where no guard applies (every
    case the contract lists) this is the plain comparison.
    """
    unique = {int(i): n for i, n in items}
    ordered = sorted((normalise_name(n, i, kind), i) for i, n in unique.items())
    taken = {guard(c) for c in fixed}
    out: dict[int, str] = {}
    for norm, ident in ordered:
        name = norm
        while guard(name) in taken:  # once at most (ids are unique); the loop is a safety net
            name = f"{name} ({ident})"
        taken.add(guard(name))
        out[ident] = name
    return out


# --- JSON cells -----------------------------------------------------------------------


def cell_items(value: Any) -> list[Any]:
    """An extracted array cell as a list: DuckDB hands numpy arrays, PostgreSQL lists,
    either gives NULL (None / NaN) for no items."""
    if value is None or value is pd.NA:
        return []
    if isinstance(value, float) and value != value:
        return []
    return list(value)


def json_cell(value: Sequence[Any] | Mapping[str, Any]) -> str | None:
    """Compact JSON (``,`` and ``:`` without spaces), non-ASCII as is, object keys in
    code-point order; an empty list or object is an empty cell."""
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def json_array(values: Iterable[str | None]) -> str | None:
    """Distinct non-empty items in code-point order, as a JSON cell."""
    return json_cell(sorted({v for v in values if v is not None and v != ""}))


def tags_cell(ids: Any, names: Any) -> str | None:
    """The ``tags`` cell: distinct normalised names of the row's tags (no collision
    suffix: two tags that normalise alike are one item)."""
    return json_array(
        normalise_name(n, int(i), "tag") for i, n in zip(cell_items(ids), cell_items(names), strict=True)
    )


def custom_fields_cell(ids: Any, values: Any, names: Mapping[int, str]) -> str | None:
    """The ``custom_fields`` cell: file-wide name -> the row's value, for the fields the
    query found a non-empty value for."""
    obj = {
        names[int(i)]: v
        for i, v in zip(cell_items(ids), cell_items(values), strict=True)
        if v is not None and v != ""
    }
    return json_cell(obj)


def file_field_names(frame: pd.DataFrame, fixed: Sequence[str]) -> dict[int, str]:
    """The custom-field names of one file: every field with a value in any row, named
    by :func:`assign_names` against the file's own columns."""
    return assign_names(_pairs(frame, FIELD_IDS, FIELD_NAMES).items(), "custom_field", fixed)


def _pairs(frame: pd.DataFrame, ids_col: str, names_col: str) -> dict[int, str]:
    pairs: dict[int, str] = {}
    for ids, names in zip(frame[ids_col], frame[names_col], strict=True):
        for i, n in zip(cell_items(ids), cell_items(names), strict=True):
            pairs[int(i)] = n
    return pairs


# --- pivots ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PivotColumn:
    """One data-dependent column of a pivot report: ``name`` is its unique normalised
    name, the column's name in the file (a CSV header gets the formula guard when written,
    like any cell; a JSON Lines key is the name as it is)."""

    kind: NameKind
    id: int
    name: str


def tag_pivot(frame: pd.DataFrame, fixed: Sequence[str]) -> list[tuple[PivotColumn, pd.Series]]:
    """action_tags / engage_tags: one column per tag linked to a report in scope, in name
    order; a cell is ``True`` when any of the row's reports carries the tag, else empty
    (never false)."""
    names = assign_names(_pairs(frame, TAG_IDS, TAG_NAMES).items(), "tag", fixed)
    flags = [{int(i) for i in cell_items(ids)} for ids in frame[TAG_IDS]]
    return [
        (
            PivotColumn("tag", i, n),
            pd.Series(
                pd.array([True if i in row else None for row in flags], dtype="boolean"), index=frame.index
            ),
        )
        for i, n in names.items()
    ]


def custom_field_pivot(frame: pd.DataFrame, fixed: Sequence[str]) -> list[tuple[PivotColumn, pd.Series]]:
    """action_custom_fields / engage_custom_fields: one column per custom field with a
    non-empty value in scope, in name order; a cell is the value the query picked for the
    row (its latest report with a value), else empty."""
    names = file_field_names(frame, fixed)
    rows = [
        {int(i): v for i, v in zip(cell_items(ids), cell_items(vals), strict=True)}
        for ids, vals in zip(frame[FIELD_IDS], frame[FIELD_VALUES], strict=True)
    ]
    return [
        (
            PivotColumn("custom_field", i, n),
            pd.Series([row.get(i) for row in rows], index=frame.index, dtype=object),
        )
        for i, n in names.items()
    ]


# --- scope refusals -------------------------------------------------------------------

_ACTION_TYPE_WORDS = {
    "TextaFriend": "a friend-to-friend (TextaFriend) action",
    "TextaList": "a peer-to-peer (TextaList) action",
    "VideoStory": "a VideoStory action",
}


def unknown_scope(kind: Literal["action", "contact list"], ident: int, org_id: str) -> str:
    """Same words for an id that does not exist and one of another org, so a refusal
    never tells whether another org has it."""
    return f"unknown {kind} {ident} for org {org_id}"


def action_type_refusal(report: str, needed: str | None, action_id: int, action_type: str) -> str | None:
    """Why ``report``, which runs on ``needed`` actions only (None: any), cannot run on
    this action, or None when it can."""
    if needed is None or action_type == needed:
        return None
    return f"{report} needs {_ACTION_TYPE_WORDS[needed]}; action {action_id} is {action_type}"
