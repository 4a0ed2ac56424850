"""The pivot reports: action_tags, action_custom_fields, engage_tags,
engage_custom_fields (contract §2.2, §4)."""

from __future__ import annotations

from tests.reports.organizing.contract import HEADERS

ACTION_TAG_COLUMNS = [
    "'=SUM(A1)",  # "=SUM(A1)", guarded after naming
    "Line break",  # "Line\nbreak"
    "Needs ride",
    "Tab and bell",  # "Tab\tand\x07bell"
    "VIP",  # 801
    "VIP (806)",  # "VIP " collides with 801 once normalised
    "reportable_name (805)",  # a fixed column's name
    "spaced out",  # "  spaced   out  "
    "tag_808",  # ""
    "Ünïcode ✓",  # decomposed in the source, NFC here; after "t" by code point
]

ACTION_FIELD_COLUMNS = [
    "'+Plus field",
    "Employer",  # 851
    "Employer (857)",  # "Employer " sorts with 851, before "Employer, City"
    "Employer, City",
    "Notes multi",
    "Shirt size",
    "custom_field_856",
    "reportable_name (855)",
    "Ünïcode ✓ field",
]  # "Only empty" (only '' and NULL values) and "Unused field" have no column


def test_action_tags_columns(wh):
    result = wh.export("action_tags", action_id=502)
    assert result.header == HEADERS["action_tags"] + ACTION_TAG_COLUMNS


def test_action_tags_cells(wh):
    rows = wh.export("action_tags", action_id=502).by("reportable_id")
    assert [c for c in ACTION_TAG_COLUMNS if rows[301][c]] == ["Needs ride", "VIP"]
    assert [c for c in ACTION_TAG_COLUMNS if rows[302][c]] == [
        "'=SUM(A1)",
        "Line break",
        "Tab and bell",
        "VIP (806)",
        "reportable_name (805)",
        "spaced out",
        "tag_808",
        "Ünïcode ✓",
    ]
    assert [c for c in ACTION_TAG_COLUMNS if rows[304][c]] == ["Needs ride"]
    assert {rows[302][c] for c in ACTION_TAG_COLUMNS} == {True, None}  # true or empty, never false


def test_reportable_without_tags_has_a_row_with_empty_cells(wh):
    result = wh.export("action_tags", action_id=502)
    assert [(r["reportable_type"], r["reportable_id"]) for r in result.rows] == [
        ("Contact", 301),
        ("Contact", 302),
        ("Contact", 304),
        ("Contact", 399),
        ("Contact", 1301),
        ("User", 103),
    ]
    user = result.by("reportable_id")[103]
    assert [user[c] for c in ACTION_TAG_COLUMNS] == [None] * len(ACTION_TAG_COLUMNS)
    assert (user["reportable_name"], user["reportable_voterbase_id"]) == ("Zoë Ünïcode", None)


def test_action_tags_fixed_columns(wh):
    row = wh.export("action_tags", action_id=502).by("reportable_id")[301]
    assert {c: row[c] for c in HEADERS["action_tags"]} == {
        "action_id": 502,
        "action_name": 'Call the list, "now"',
        "reportable_type": "Contact",
        "reportable_id": 301,
        "reportable_name": "Carla Contact",
        "reportable_email": "carla@contacts.example",
        "reportable_phone": "+15557770301",
        "reportable_van_id": "VAN301",
        "reportable_voterbase_id": "VB301",
    }


def test_action_custom_fields_columns(wh):
    result = wh.export("action_custom_fields", action_id=502)
    assert result.header == HEADERS["action_custom_fields"] + ACTION_FIELD_COLUMNS


def test_custom_field_cell_is_the_latest_non_empty_value(wh):
    carla = wh.export("action_custom_fields", action_id=502).by("reportable_id")[301]
    # Employer: 701 Acme, then 702 Globex, then 709 '' (empty: not a value)
    assert {c: carla[c] for c in ACTION_FIELD_COLUMNS if carla[c]} == {
        "Employer": "Globex",
        "Employer, City": "Springfield, IL",
        "Shirt size": "M",  # 710 "L" and 711 "M" share created_at: the higher id is later
    }


def test_custom_field_values_keep_their_text(wh):
    noah = wh.export("action_custom_fields", action_id=502).by("reportable_id")[302]
    assert {c: noah[c] for c in ACTION_FIELD_COLUMNS if noah[c]} == {
        "'+Plus field": "'=2+2",  # the writer guards the cell
        "Employer (857)": "E2",
        "Notes multi": "multi\nline",
        "custom_field_856": "yes",
        "reportable_name (855)": "x",
        "Ünïcode ✓ field": "✓ oui",
    }


def test_reportable_without_values_has_a_row_with_empty_cells(wh):
    rows = wh.export("action_custom_fields", action_id=502).by("reportable_id")
    for rid in (304, 399, 1301, 103):
        assert [rows[rid][c] for c in ACTION_FIELD_COLUMNS] == [None] * len(ACTION_FIELD_COLUMNS)


def test_engage_tags(wh):
    result = wh.export("engage_tags")
    assert result.header == HEADERS["engage_tags"] + ["VIP", "VIP (806)"]
    assert [(r["reportable_type"], r["reportable_id"], r["VIP"], r["VIP (806)"]) for r in result.rows] == [
        ("Contact", 301, True, True),
        ("Contact", 303, None, None),
        ("User", 102, None, None),
    ]


def test_engage_custom_fields(wh):
    result = wh.export("engage_custom_fields")
    assert result.header == HEADERS["engage_custom_fields"] + ["Employer", "Shirt size"]
    assert [(r["reportable_id"], r["Employer"], r["Shirt size"]) for r in result.rows] == [
        (301, "Fair Corp", None),  # 744 is later than 740's "Engage Inc"
        (303, None, None),
        (102, None, "M"),
    ]


def test_pivot_of_a_deleted_action(wh):
    result = wh.export("action_tags", action_id=504)
    assert result.header == HEADERS["action_tags"] + ["Needs ride"]
    assert [(r["reportable_id"], r["Needs ride"]) for r in result.rows] == [(302, True)]
