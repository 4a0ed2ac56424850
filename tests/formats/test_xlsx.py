"""The xlsx writer: typed cells, no formulas, deterministic bytes, sheets past the row limit.

Cells are inspected in the workbook's own XML (what Excel reads) and through our reader
(what the gate checks); tests/formats/test_libreoffice.py opens the files in a real
spreadsheet.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from flatexport.quality.reader import StagedReader
from flatexport.typed.xlsx import MAX_SHEET_ROWS, MAX_TEXT, sheet_name
from flatexport.typed.xlsx_reader import MAIN
from tests.formats.conftest import COLUMNS, col, typed_frame, write_file

HEADERS = [c.out_header for c in COLUMNS]


def sheet_cells(path: Path, sheet: int = 1) -> dict[str, ET.Element]:
    """Cell reference ("B2") -> its <c> element, as stored in the workbook."""
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read(f"xl/worksheets/sheet{sheet}.xml"))
    return {c.get("r"): c for c in root.iter(MAIN + "c")}


def number_formats(path: Path) -> list[str]:
    """Each cell style's number format code, by style index."""
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("xl/styles.xml"))
    codes = {f.get("numFmtId"): f.get("formatCode") for f in root.iter(MAIN + "numFmt")}
    return [codes.get(xf.get("numFmtId"), "General") for xf in root.find(MAIN + "cellXfs")]


def read_back(path: Path) -> tuple[StagedReader, pd.DataFrame]:
    reader = StagedReader(str(path), "xlsx")
    reader.prepare()
    frame = pd.concat(list(reader.chunks()), ignore_index=True)
    return reader, frame


def text(cell: ET.Element) -> str:
    return "".join(t.text or "" for t in cell.iter(MAIN + "t"))


def test_cells_are_typed_from_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    rows, _, _, details = write_file(path, "xlsx", [typed_frame()])
    cells = sheet_cells(path)
    formats = number_formats(path)

    assert rows == 5 and details == {"sheets": [{"name": "sessions", "rows": 5}]}
    assert [text(cells[f"{c}1"]) for c in "ABCDEFGHI"] == HEADERS
    # text, identifiers, zip codes and phones: inline text cells, zeros kept
    assert cells["B2"].get("t") == "inlineStr" and text(cells["B2"]) == "02139"
    assert text(cells["B3"]) == "00907"
    assert cells["C2"].get("t") == "inlineStr" and text(cells["C2"]) == "+1 555 0100"
    # integers are numbers, except those Excel cannot hold exactly
    assert cells["A2"].get("t") is None and cells["A2"].find(MAIN + "v").text == "1"
    assert cells["A5"].get("t") == "inlineStr" and text(cells["A5"]) == "12345678901234567"
    # booleans are booleans
    assert cells["G2"].get("t") == "b" and cells["G2"].find(MAIN + "v").text == "1"
    assert cells["G3"].get("t") == "b" and cells["G3"].find(MAIN + "v").text == "0"
    # dates and datetimes are date cells: serial numbers with a date number format
    assert cells["F2"].find(MAIN + "v").text == "45600"  # 2024-11-04
    assert formats[int(cells["F2"].get("s"))] == "yyyy-mm-dd"
    assert cells["E4"].find(MAIN + "v").text.startswith("45600.385416")  # 09:15
    assert formats[int(cells["E4"].get("s"))] == 'yyyy-mm-dd hh:mm:ss" -06:00"'
    # Excel cannot show dates before 1900-03-01 correctly: those stay text
    assert cells["F3"].get("t") == "inlineStr" and text(cells["F3"]) == "1899-12-31"
    # decimals are numbers; infinity is not a number Excel has
    assert cells["H2"].find(MAIN + "v").text == "1.5"
    assert text(cells["H4"]) == "inf"
    # arrays are their JSON text
    assert text(cells["I2"]) == '["vote","register"]'
    # missing and empty values are no cell at all
    assert "B4" not in cells and "B5" not in cells and "C4" not in cells


def test_no_cell_is_a_formula_and_formula_text_is_written_as_is(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    write_file(path, "xlsx", [typed_frame()])
    with zipfile.ZipFile(path) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and b"<f " not in sheet
    cells = sheet_cells(path)
    notes = [cells[f"D{r}"] for r in range(2, 6)]
    assert all(c.get("t") == "inlineStr" for c in notes)
    # no apostrophe: a text cell is never run, so the value needs no guard
    assert [text(c) for c in notes[:4]] == ['=HYPERLINK("http://x","y")', "+SUM(A1)", "-2+3", "@cmd"]


def test_datetimes_show_the_subscription_zone_and_their_offset(tmp_path: Path) -> None:
    """The night clocks go back, 01:30 happens twice: the two cells keep different offsets."""
    path = tmp_path / "s.xlsx"
    write_file(path, "xlsx", [typed_frame()])
    cells = sheet_cells(path)
    formats = number_formats(path)
    first, second = cells["E2"], cells["E3"]
    assert first.find(MAIN + "v").text == second.find(MAIN + "v").text  # same wall-clock time
    assert formats[int(first.get("s"))].endswith('" -05:00"')
    assert formats[int(second.get("s"))].endswith('" -06:00"')
    # 15:15 UTC is shown as 09:15 in Chicago, like the row above it
    assert cells["E5"].find(MAIN + "v").text == cells["E4"].find(MAIN + "v").text
    with zipfile.ZipFile(path) as zf:
        comments = zf.read("xl/comments1.xml").decode()
    assert "Local time in America/Chicago" in comments

    _, frame = read_back(path)
    assert frame["_4"].tolist() == [
        "2024-11-03T01:30:00-05:00",
        "2024-11-03T01:30:00-06:00",
        "2024-11-04T09:15:00-06:00",
        "2024-11-04T09:15:00-06:00",
        "",
    ]


def test_reader_gives_back_the_csv_text_cells(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    write_file(path, "xlsx", [typed_frame()])
    reader, frame = read_back(path)
    assert reader.header == HEADERS and reader.rows == 5 and reader.ragged == 0 and not reader.error
    assert frame.iloc[0].tolist() == [
        "1",
        "02139",
        "+1 555 0100",
        '=HYPERLINK("http://x","y")',
        "2024-11-03T01:30:00-05:00",
        "2024-11-04",
        "true",
        "1.5",
        '["vote","register"]',
    ]
    assert frame["_3"].iloc[4] == "a\x01_x0041_b\ttab"  # control characters survive the XML
    assert frame["_0"].tolist() == ["1", "2", "3", "12345678901234567", ""]
    assert frame["_6"].tolist() == ["true", "false", "", "true", "false"]


def test_same_rows_give_the_same_bytes_however_chunked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = typed_frame()
    _, sha_one, _, _ = write_file(tmp_path / "a.xlsx", "xlsx", [frame])
    _, sha_two, _, _ = write_file(tmp_path / "b.xlsx", "xlsx", [frame.iloc[:2], frame.iloc[2:]])
    monkeypatch.setattr("flatexport.typed.xlsx.SLICE_ROWS", 2)  # rows turned into values 2 at a time
    _, sha_three, _, _ = write_file(tmp_path / "c.xlsx", "xlsx", [frame])
    assert sha_one == sha_two == sha_three
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 31, 0, 0, 0)}
        core = zf.read("docProps/core.xml").decode()
    # the document's dates are the report day, never the time of the run
    assert '<dcterms:created xsi:type="dcterms:W3CDTF">2024-11-04T00:00:00Z</dcterms:created>' in core
    assert '<dcterms:modified xsi:type="dcterms:W3CDTF">2024-11-04T00:00:00Z</dcterms:modified>' in core


def test_rows_past_the_sheet_limit_continue_on_sheets_with_the_same_header(tmp_path: Path) -> None:
    frame = pd.concat([typed_frame()] * 3, ignore_index=True)  # 15 rows
    path = tmp_path / "s.xlsx"
    rows, _, _, details = write_file(path, "xlsx", [frame.iloc[:7], frame.iloc[7:]], sheet_rows=6)
    assert rows == 15
    assert details["sheets"] == [
        {"name": "sessions", "rows": 5},
        {"name": "sessions (2)", "rows": 5},
        {"name": "sessions (3)", "rows": 5},
    ]
    for sheet in (1, 2, 3):
        cells = sheet_cells(path, sheet)
        assert [text(cells[f"{c}1"]) for c in "ABCDEFGHI"] == HEADERS
        assert max(int(ref[1:]) for ref in cells) == 6
    reader, back = read_back(path)
    assert reader.rows == 15 and reader.ragged == 0
    assert back["_1"].tolist() == ["02139", "00907", "", "", "06103"] * 3


def test_the_real_sheet_limit_is_excels() -> None:
    assert MAX_SHEET_ROWS == 1_048_576  # header included: 1,048,575 data rows per sheet


def test_sheet_names_are_valid_excel_names() -> None:
    assert sheet_name("clickstream", 1) == "clickstream"
    assert sheet_name("clickstream", 2) == "clickstream (2)"
    long = sheet_name("a_very_long_report_name_beyond_excel_limits", 12)
    assert len(long) == 31 and long.endswith(" (12)")
    assert sheet_name("a/b:c", 1) == "a_b_c"


def test_an_all_empty_row_is_still_a_row(tmp_path: Path) -> None:
    columns = [col("a", "string"), col("b", "integer")]
    frame = pd.DataFrame({"a": ["x", None, "z"], "b": pd.array([1, None, 3], dtype="Int64")})
    path = tmp_path / "e.xlsx"
    rows, *_ = write_file(path, "xlsx", [frame], columns)
    reader, back = read_back(path)
    assert rows == reader.rows == 3
    assert back.values.tolist() == [["x", "1"], ["", ""], ["z", "3"]]


def test_text_beyond_excels_cell_limit_is_cut_and_counted(tmp_path: Path) -> None:
    columns = [col("a", "string")]
    frame = pd.DataFrame({"a": ["x" * (MAX_TEXT + 10), "short"]})
    path = tmp_path / "l.xlsx"
    *_, details = write_file(path, "xlsx", [frame], columns)
    assert details["truncated_cells"] == {"a": 1}
    _, back = read_back(path)
    assert len(back["_0"].iloc[0]) == MAX_TEXT and back["_0"].iloc[1] == "short"


def test_a_day_without_rows_is_a_sheet_with_its_header(tmp_path: Path) -> None:
    path = tmp_path / "n.xlsx"
    rows, _, _, details = write_file(path, "xlsx", [])
    assert rows == 0 and details["sheets"] == [{"name": "sessions", "rows": 0}]
    reader = StagedReader(str(path), "xlsx")
    assert reader.prepare() == HEADERS
    assert list(reader.chunks()) == [] and reader.rows == 0


def test_an_aborted_file_leaves_nothing_behind(tmp_path: Path) -> None:
    from flatexport.write import ReportWriter

    writer = ReportWriter(tmp_path / "x.xlsx", "xlsx", COLUMNS)
    writer.write(typed_frame())
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_formula_cell_makes_the_file_unreadable_for_the_gate(tmp_path: Path) -> None:
    """flatexport never writes one; a file that has one was not written by us."""
    import xlsxwriter

    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_string(0, 0, "Zip")
    sheet.write_formula(1, 0, "=1+1")
    book.close()
    reader = StagedReader(str(path), "xlsx")
    reader.prepare()
    list(reader.chunks())
    assert reader.unreadable == 1 and reader.error == "formula cells"


def test_created_date_is_the_report_day() -> None:
    from flatexport.write import FileInfo

    assert FileInfo(day=dt.date(2024, 11, 4)).created == dt.datetime(2024, 11, 4, tzinfo=dt.UTC)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_offsets_of_other_zones(tmp_path: Path, zone: str) -> None:
    path = tmp_path / "z.xlsx"
    write_file(path, "xlsx", [typed_frame()], timezone=zone)
    _, back = read_back(path)
    expected = {"UTC": "2024-11-04T15:15:00+00:00", "Asia/Kolkata": "2024-11-04T20:45:00+05:30"}[zone]
    assert back["_4"].iloc[3] == expected
