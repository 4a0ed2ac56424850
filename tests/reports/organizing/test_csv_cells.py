"""The file edge cases of contract §2 and §4, read from the file the customer gets (raw
CSV text through an RFC 4180 reader, and JSON Lines): bodies with new lines read back
identical, formula-like text is guarded while phone numbers and plain numbers are not,
pivot headers are guarded and quoted, JSON cells are compact text in CSV and native
values in JSON Lines, datetimes carry the subscription zone's offset."""

from __future__ import annotations

import csv
import io

from tests.reports.organizing.contract import HEADERS


def raw_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_message_bodies_read_back_identical_and_formulas_are_guarded(wh):
    result = wh.export("messages", action_id=502)
    table = raw_rows(result.text)
    assert table[0] == HEADERS["messages"]
    by_id = {
        int(r[HEADERS["messages"].index("message_id")]): dict(zip(table[0], r, strict=True))
        for r in table[1:]
    }
    assert by_id[603]["body"] == "'-5 degrees,\nstill voting!"  # new line kept inside one quoted cell
    assert by_id[608]["body"] == "Line one\r\nLine two"  # a bare CR too
    assert by_id[602]["body"] == "'=1+1"
    assert by_id[605]["body"] == "'+1 more reason"
    assert by_id[606]["body"] == "'@Noah see you"
    assert by_id[601]["receiver_number"] == "+15557770301"  # a phone number is never altered
    assert by_id[601]["sender_number"] == ""  # P2P
    assert by_id[603]["created_at"] == "2024-11-01T10:10:00+00:00"
    assert len(table) == 1 + 8
    assert result.text.endswith("\n") and "\r\n" not in result.text.replace("Line one\r\nLine two", "")


def test_datetimes_show_the_subscription_zone(wh):
    row = wh.export("messages", timezone="America/Chicago", action_id=502).by("message_id")[603]
    assert row["created_at"].isoformat() == "2024-11-01T05:10:00-05:00"  # CDT until 2024-11-03


def test_pivot_headers_are_guarded_and_quoted(wh):
    result = wh.export("action_tags", action_id=502)
    fixed = HEADERS["action_tags"]
    table = raw_rows(result.text)
    assert table[0][len(fixed) :] == [
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
    assert result.staged.columns == table[0]  # what the gate compares the header with
    carla = table[1]
    assert carla[:4] == ["502", 'Call the list, "now"', "Contact", "301"]
    assert carla[len(fixed) :] == ["", "", "true", "", "true", "", "", "", "", ""]


def test_pivot_names_with_commas_and_new_lines_are_one_quoted_header_cell(wh):
    result = wh.export("action_custom_fields", action_id=502)
    fixed = HEADERS["action_custom_fields"]
    header_line = result.text.split("\n", 1)[0]
    assert '"Employer, City"' in header_line  # the comma stays, CSV quoting carries it
    assert "Notes multi" in header_line  # "Notes\r\nmulti": one header cell, one line
    table = raw_rows(result.text)
    noah = next(r for r in table[1:] if r[3] == "302")
    cells = dict(zip(table[0], noah, strict=True))
    assert cells["Notes multi"] == "multi\nline"
    assert cells["'+Plus field"] == "'=2+2"
    assert len(table[0]) == len(fixed) + 9


def test_json_lines_keys_are_names_and_json_cells_are_native(wh):
    """JSON Lines is read by programs: keys are the names as they are (no guard), JSON
    cells are arrays and objects, tag cells true or null."""
    reports = wh.export("action_reports", fmt="jsonl", action_id=502).by("report_id")
    assert reports[701]["tags"] == ["Needs ride", "VIP"]
    assert reports[701]["custom_fields"] == {"Employer": "Acme"}
    assert reports[704]["notes"] == "=cmd|' /C calc'!A0"  # as stored: no spreadsheet opens it
    tags = wh.export("action_tags", fmt="jsonl.gz", action_id=502)
    assert "=SUM(A1)" in tags.header and "'=SUM(A1)" not in tags.header
    carla = tags.by("reportable_id")[301]
    assert (carla["Needs ride"], carla["VIP"], carla["=SUM(A1)"]) == (True, True, None)
    details = wh.export("user_details", fmt="jsonl").rows
    assert ["Initial", "Response"] in [r["message_types"] for r in details]


def test_csv_and_json_lines_carry_the_same_rows(wh):
    csv_rows = wh.export("action_contacts", action_id=502).rows
    json_rows = wh.export("action_contacts", fmt="jsonl", action_id=502).rows
    assert [r["contact_id"] for r in csv_rows] == [r["contact_id"] for r in json_rows]
    import json

    assert [r["custom_fields"] for r in csv_rows] == [
        None
        if r["custom_fields"] is None
        else json.dumps(r["custom_fields"], ensure_ascii=False, separators=(",", ":"))
        for r in json_rows
    ]
