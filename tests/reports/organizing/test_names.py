"""Tag and custom-field names, JSON cells and scope messages (contract §2, §2.2, §3):
pure functions, no database."""

from __future__ import annotations

import pytest

from flatexport.families.organizing_support import (
    action_type_refusal,
    assign_names,
    custom_fields_cell,
    json_array,
    json_cell,
    normalise_name,
    tags_cell,
    unknown_scope,
)
from flatexport.formula import guard


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("VIP", "VIP"),
        ("  spaced   out  ", "spaced out"),
        ("Line\nbreak", "Line break"),
        ("Notes\r\nmulti", "Notes multi"),
        ("Tab\tand\x07bell", "Tab and bell"),
        ("\x1fctrl\x85", "ctrl"),  # U+0085 (NEL) is a control character too
        ("Employer, City", "Employer, City"),  # commas stay: CSV quoting carries them
        ('Say "hi"', 'Say "hi"'),
        ("Ünïcode ✓ field", "Ünïcode ✓ field"),
    ],
)
def test_normalised_name_collapses_whitespace_and_control_characters(raw, expected):
    assert normalise_name(raw, 1, "tag") == expected


def test_normalised_name_is_nfc():
    decomposed = "U\u0308ni\u0308code ✓"
    assert decomposed != "Ünïcode ✓"
    assert normalise_name(decomposed, 1, "custom_field") == "Ünïcode ✓"


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "\x07", None])
def test_empty_name_becomes_kind_and_id(raw):
    assert normalise_name(raw, 808, "tag") == "tag_808"
    assert normalise_name(raw, 856, "custom_field") == "custom_field_856"


def test_columns_in_code_point_order_ties_by_id():
    names = assign_names([(5, "b"), (3, "B"), (4, "a"), (9, "Ü"), (2, "z"), (7, "b"), (1, "=x")], "tag")
    # '=' < 'B' < 'a' < 'b' < 'z' < 'Ü' by code point (not by any locale's collation)
    assert list(names) == [1, 3, 4, 5, 7, 2, 9]
    assert names[5] == "b" and names[7] == "b (7)"


def test_name_equal_to_a_fixed_column_gets_its_id():
    names = assign_names([(805, "reportable_name"), (806, "Reportable_name")], "tag", ["reportable_name"])
    assert names == {806: "Reportable_name", 805: "reportable_name (805)"}  # exact, case-sensitive


def test_names_that_collide_after_normalising_keep_the_lowest_id_plain():
    names = assign_names([(806, "VIP "), (801, "VIP"), (807, " VIP\n")], "tag")
    assert names == {801: "VIP", 806: "VIP (806)", 807: "VIP (807)"}


def test_collision_is_checked_as_headers_are_written():
    """'=a' is written "'=a" by the formula guard: a name already spelled "'=a" must not
    give a second column with the same header."""
    names = assign_names([(1, "=a"), (2, "'=a")], "tag")
    headers = [guard(n) for n in names.values()]  # as the CSV header writes them
    assert len(set(headers)) == 2
    assert names == {2: "'=a", 1: "=a (1)"}


def test_json_cell_is_compact_sorted_and_keeps_non_ascii():
    assert json_cell({"b": "2", "a": "ü ✓", "B": "x"}) == '{"B":"x","a":"ü ✓","b":"2"}'
    assert json_cell(["x", "y"]) == '["x","y"]'


def test_empty_json_is_an_empty_cell():
    assert json_cell([]) is None
    assert json_cell({}) is None
    assert json_array([None, ""]) is None
    assert tags_cell(None, None) is None
    assert custom_fields_cell(None, None, {}) is None


def test_json_array_items_distinct_in_code_point_order():
    assert json_array(["Response", "Initial", "Response", None]) == '["Initial","Response"]'
    assert json_array(["é", "z", "Z", "a"]) == '["Z","a","z","é"]'


def test_tags_cell_lists_distinct_normalised_names():
    """Two tags that normalise alike are one item (the tags cell holds names, not ids)."""
    assert (
        tags_cell([801, 806, 804, 808], ["VIP", "VIP ", "Line\nbreak", ""])
        == '["Line break","VIP","tag_808"]'
    )


def test_custom_fields_cell_uses_the_file_names_and_skips_empty_values():
    names = {851: "Employer", 857: "Employer (857)", 856: "custom_field_856"}
    cell = custom_fields_cell([851, 856, 857], ["Acme", "", "E2"], names)
    assert cell == '{"Employer":"Acme","Employer (857)":"E2"}'


def test_scope_refusal_messages():
    assert unknown_scope("action", 551, "o1") == "unknown action 551 for org o1"
    assert unknown_scope("contact list", 351, "o1") == "unknown contact list 351 for org o1"
    assert (
        action_type_refusal("action_contacts", "TextaList", 501, "TextaFriend")
        == "action_contacts needs a peer-to-peer (TextaList) action; action 501 is TextaFriend"
    )
    assert (
        action_type_refusal("video_stories", "VideoStory", 502, "TextaList")
        == "video_stories needs a VideoStory action; action 502 is TextaList"
    )
    assert action_type_refusal("action_contacts", "TextaList", 502, "TextaList") is None
    assert action_type_refusal("action_reports", None, 503, "VideoStory") is None  # any action type
