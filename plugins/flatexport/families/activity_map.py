"""The activity kind map: kind (+ content type or payload field) -> Category / Action / Label.

The map itself is data in ``include/report_specs/activity.yaml`` (``options.sections``,
typed and checked by :class:`flatexport.families.activity.ActivityOptions` when the spec
loads), so the report and its generated docs page read the same rows. This module only
knows how to use that data: flatten it once into :class:`KindMap`, pick the row for an event
(:meth:`KindMap.resolve`), and fill a bracketed template from extracted columns
(:func:`fill_template`), vectorised over the rows that share one template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flatexport.errors import InputError, SpecError
from flatexport.families.activity import (
    NOT_APPLICABLE,
    PLACEHOLDER,
    KindEntry,
    KindSection,
    Placeholder,
)
from flatexport.specs import ReportSpec


@dataclass(frozen=True)
class MapRow:
    """One row of the reference's tables."""

    section: str  # section key: content, course, ...
    title: str  # section title as the guide prints it
    kind: str
    name: str
    definition: str
    category: str
    action: str
    label: str
    when: tuple[tuple[str, str], ...] = ()
    continued: bool = False
    decision: str | None = None

    def matches(self, values: Mapping[str, str]) -> bool:
        return all(values.get(key, "") == want for key, want in self.when)


@dataclass(frozen=True)
class Resolved:
    row: MapRow | None
    warning: str | None


@dataclass(frozen=True)
class KindMap:
    rows: tuple[MapRow, ...]
    placeholders: Mapping[str, Placeholder]

    @property
    def kinds(self) -> dict[str, list[MapRow]]:
        out: dict[str, list[MapRow]] = {}
        for row in self.rows:
            out.setdefault(row.kind, []).append(row)
        return out

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(r.section for r in self.rows))

    def resolve(self, kind: str, values: Mapping[str, str]) -> Resolved:
        """The row for one event: the first whose `when` matches, else the unconditional
        row, else the first row (warned, so a new content or question type is noticed)."""
        rows = self.kinds.get(kind)
        if not rows:
            return Resolved(None, f"unknown kind {kind}")
        for row in rows:
            if row.when and row.matches(values):
                return Resolved(row, None)
        plain = [r for r in rows if not r.when]
        if plain:
            return Resolved(plain[0], None)
        return Resolved(rows[0], f"unmatched variant {kind}")

    def selected_kinds(self, entries: list[str] | None) -> set[str] | None:
        """Kinds a subscription asked for: "section.name" kinds or whole sections;
        None means all. Unknown names are an input error, never an empty file."""
        if entries is None:
            return None
        kinds = self.kinds
        chosen: set[str] = set()
        unknown = []
        for entry in entries:
            if entry in kinds:
                chosen.add(entry)
            elif entry in self.sections:
                chosen.update(k for k in kinds if k.partition(".")[0] == entry)
            else:
                unknown.append(entry)
        if unknown:
            raise InputError(f"activity: unknown exporter entries: {', '.join(unknown)}")
        return chosen


def _row(section: KindSection, entry: KindEntry) -> MapRow:
    return MapRow(
        section=section.section,
        title=section.title,
        kind=entry.kind,
        name=entry.name,
        definition=entry.definition,
        category=entry.category,
        action=entry.action,
        label=entry.label,
        when=tuple(entry.when.items()),
        continued=entry.continued,
        decision=entry.decision,
    )


def _parse(spec: ReportSpec) -> KindMap:
    sections = spec.options.sections
    if not sections:
        raise SpecError(f"report {spec.report}: options.sections (the kind map) is missing")
    rows = tuple(_row(sec, entry) for sec in sections for entry in sec.entries)
    return KindMap(rows, spec.options.placeholders)


_PARSED: dict[int, tuple[ReportSpec, KindMap]] = {}


def kind_map(spec: ReportSpec) -> KindMap:
    """The parsed map of a spec, parsed once per spec object (specs are frozen and
    loaded once; the entry keeps the spec alive so its id is never reused)."""
    hit = _PARSED.get(id(spec))
    if hit is None or hit[0] is not spec:
        hit = _PARSED[id(spec)] = (spec, _parse(spec))
    return hit[1]


def template_parts(template: str) -> list[tuple[str, str | None]]:
    """Split "Rating: [Rating 1-5] / [Review text]" into (literal before, placeholder)
    pairs; a trailing literal comes last with placeholder None. "N/A" is empty."""
    if template.strip() == NOT_APPLICABLE:
        return []
    parts: list[tuple[str, str | None]] = []
    pos = 0
    for match in PLACEHOLDER.finditer(template):
        parts.append((template[pos : match.start()], match.group(0)))
        pos = match.end()
    if pos < len(template):
        parts.append((template[pos:], None))
    return parts


def source_column(field: str) -> str:
    """payload.text -> p_text, content.name -> content_name (the extract's column names)."""
    scope, _, key = field.partition(".")
    if scope == "payload":
        return f"p_{key}"
    if scope == "content":
        return f"content_{key}"
    raise SpecError(f"placeholder field {field!r}: expected payload.<key> or content.<name|slug|type>")


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as str values with "" for missing (and for blank text)."""
    if column not in frame:
        raise SpecError(f"the activity extract has no column {column!r}")
    series = frame[column]
    text = series.astype(object).where(series.notna(), "").astype(str).str.strip()
    return text.to_numpy(dtype=object)


def placeholder_values(frame: pd.DataFrame, spec: Placeholder) -> np.ndarray:
    """One placeholder's value per row: its fields' non-empty values joined by `sep`."""
    sep = spec.sep
    out: np.ndarray | None = None
    for field in spec.fields:
        vals = _text(frame, source_column(field))
        if out is None:
            out = vals
            continue
        both = (out != "") & (vals != "")
        out = np.where(both, out + sep + vals, np.where(out != "", out, vals))
    return out if out is not None else np.full(len(frame), "", dtype=object)


def fill_template(template: str, frame: pd.DataFrame, placeholders: Mapping[str, Placeholder]) -> np.ndarray:
    """Fill a template for every row of ``frame``. A part without a value is left out
    with the literal before it, so no dangling separators ("Rating: 4", not "Rating: 4 / ")."""
    n = len(frame)
    parts = template_parts(template)
    out = np.full(n, "", dtype=object)
    started = np.zeros(n, dtype=bool)
    for i, (literal, ph) in enumerate(parts):
        if ph is None:
            if i == 0:  # a literal-only template such as "1-1 Meeting"
                out[:] = literal
                started[:] = True
            else:
                out = np.where(started, out + literal, out)
            continue
        vals = placeholder_values(frame, placeholders[ph])
        has = vals != ""
        joined = np.where(started, out + literal + vals, literal + vals if i == 0 else vals)
        out = np.where(has, joined, out)
        started |= has
    return out


def literal_fallback(template: str) -> str:
    """ "Content - [content type]" with no value reads "Content" (never "Content - ")."""
    return PLACEHOLDER.sub("", template).strip(" -:/")
