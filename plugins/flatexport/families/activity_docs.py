"""The activity definitions page, rendered from the report spec's kind map.

The help page's tables ("Name in exporter | Definition | Category | Action | Label") are
generated from ``include/report_specs/activity.yaml``, the same data the export reads, so
the docs cannot describe a mapping the report does not do. Decisions taken where the
reference was blank or ambiguous are printed under their rows.
"""

from __future__ import annotations

from flatexport.families.activity import NOT_APPLICABLE
from flatexport.families.activity_map import KindMap, MapRow, kind_map
from flatexport.specs import ReportSpec

HEADER = "| Name in exporter | Definition (The user…) | Category | Action | Label |"
RULE = "|---|---|---|---|---|"


def cell(text: str) -> str:
    """Markdown table cell: pipes escaped, line breaks flattened."""
    return " ".join(text.replace("|", "\\|").split())


def row_line(row: MapRow) -> str:
    """One table row; a split name's later rows leave the name blank, as the guide does.
    The condition that picks the row and any decision follow the definition."""
    name = "" if row.continued else row.name
    notes = [row.definition]
    if row.when:
        notes.append("(When " + ", ".join(f"{k} is “{v}”" for k, v in row.when) + ".)")
    if row.decision:
        notes.append(f"*Decision: {row.decision}*")
    cells = [name, " ".join(n for n in notes if n), row.category, row.action, row.label or NOT_APPLICABLE]
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def section_lines(kmap: KindMap, section: str, intro: list[str]) -> list[str]:
    rows = [r for r in kmap.rows if r.section == section]
    lines = [f"## {rows[0].title}", ""]
    if intro:
        lines += [*intro, ""]
    lines += [f"Kinds: {', '.join(f'`{k}`' for k in dict.fromkeys(r.kind for r in rows))}", ""]
    return [*lines, HEADER, RULE, *(row_line(r) for r in rows), ""]


def render(spec: ReportSpec) -> str:
    """The whole definitions page as Markdown: title, how to read it, one table per section,
    then the report-wide decisions."""
    kmap = kind_map(spec)
    intros = {s.section: s.intro for s in spec.options.sections}
    lines = [
        f"# {spec.title}: activity definitions",
        "",
        spec.description,
        "",
        "Words in brackets are filled from the activity (for example “[Emoji name]” may read "
        "“Love”); other words appear as shown. N/A means the Label is empty.",
        "",
    ]
    for section in kmap.sections:
        lines += section_lines(kmap, section, intros.get(section, []))
    if spec.decisions:
        lines += ["## Decisions", ""]
        lines += [f"- {cell(d)}" for d in spec.decisions]
        lines.append("")
    return "\n".join(lines)
