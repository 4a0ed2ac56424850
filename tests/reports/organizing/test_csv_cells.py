"""The file edge cases of contract §4, through the engine's own writer: bodies with new
lines read back identical with an RFC 4180 reader, formula-like text is guarded while
phone numbers are not, pivot headers are guarded and quoted.

Phase 1 stand-in for the family flattener: each contract column becomes a ColumnSpec and
goes through the engine's coercion and ReportWriter, as the export will do it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd

from flatexport.families.organizing_support import custom_field_pivot, tag_pivot
from flatexport.flatten.coercion import coerce
from flatexport.specs import ColumnSpec
from flatexport.write import ReportWriter
from tests.reports.organizing.contract import HEADERS

INTEGERS = {"action_id", "sender_id", "receiver_id", "message_id", "reportable_id"}
DATETIMES = {"action_published_at", "created_at"}


def spec(name: str, header: str | None = None, col_type: str | None = None) -> ColumnSpec:
    kind = col_type or ("integer" if name in INTEGERS else "datetime" if name in DATETIMES else "string")
    return ColumnSpec(
        name=name, header=header, type=kind, definition=name, rule={"kind": "field", "field": name}
    )


def write_csv(frame: pd.DataFrame, columns: list[ColumnSpec], path: Path) -> list[list[str]]:
    out = pd.DataFrame({c.name: coerce(frame[c.name], c, "UTC", Counter()) for c in columns})
    writer = ReportWriter(path, "csv", columns)
    writer.write(out)
    writer.close()
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def test_message_bodies_read_back_identical_and_formulas_are_guarded(wh, tmp_path):
    frame = wh.extract("messages", action_id=502)
    rows = write_csv(frame, [spec(c) for c in HEADERS["messages"]], tmp_path / "messages.csv")
    assert rows[0] == HEADERS["messages"]
    by_id = {
        int(r[HEADERS["messages"].index("message_id")]): dict(zip(rows[0], r, strict=True)) for r in rows[1:]
    }
    assert by_id[603]["body"] == "'-5 degrees,\nstill voting!"  # new line kept inside one quoted cell
    assert by_id[608]["body"] == "Line one\r\nLine two"
    assert by_id[602]["body"] == "'=1+1"
    assert by_id[605]["body"] == "'+1 more reason"
    assert by_id[606]["body"] == "'@Noah see you"
    assert by_id[601]["receiver_number"] == "+15557770301"  # a phone number is never altered
    assert by_id[601]["sender_number"] == ""  # P2P
    assert by_id[603]["created_at"] == "2024-11-01T10:10:00+00:00"
    assert len(rows) == 1 + 8


def test_pivot_headers_are_guarded_and_quoted(wh, tmp_path):
    frame = wh.extract("action_tags", action_id=502)
    fixed = HEADERS["action_tags"]
    pivots, out = tag_pivot(frame, fixed)
    columns = [spec(c) for c in fixed] + [spec(p.key, p.header, "boolean") for p in pivots]
    rows = write_csv(out, columns, tmp_path / "tags.csv")
    assert rows[0][len(fixed) :] == [
        "'=SUM(A1)",
        "Line break",
        "Needs ride",
        "Tab and bell",
        "VIP",
        "VIP (806)",
        "reportable_name (805)",
        "spaced out",
        "tag_808",
        "Ünïcode ✓",
    ]
    carla = rows[1]
    assert carla[:4] == ["502", 'Call the list, "now"', "Contact", "301"]
    assert carla[len(fixed) :] == ["", "", "true", "", "true", "", "", "", "", ""]


def test_pivot_names_with_commas_and_new_lines_are_one_quoted_header_cell(wh, tmp_path):
    frame = wh.extract("action_custom_fields", action_id=502)
    fixed = HEADERS["action_custom_fields"]
    pivots, out = custom_field_pivot(frame, fixed)
    columns = [spec(c) for c in fixed] + [spec(p.key, p.header) for p in pivots]
    path = tmp_path / "fields.csv"
    rows = write_csv(out, columns, path)
    header_line = path.read_bytes().decode("utf-8").split("\n", 1)[0]
    assert '"Employer, City"' in header_line  # the comma stays, CSV quoting carries it
    assert "Notes multi" in header_line  # "Notes\r\nmulti": one header cell, one line
    noah = next(r for r in rows[1:] if r[3] == "302")
    cells = dict(zip(rows[0], noah, strict=True))
    assert cells["Notes multi"] == "multi\nline"
    assert cells["'+Plus field"] == "'=2+2"
    assert len(rows[0]) == len(fixed) + 9
