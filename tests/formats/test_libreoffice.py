"""A delivered .xlsx opened the way a customer opens it: in a real spreadsheet.

LibreOffice Calc (headless; `make test` installs Debian's libreoffice-calc-nogui) converts
the sample day's clickstream workbook to flat ODF, whose XML states each cell's value
type as the spreadsheet understood it. The same day's CSV is the reference for values.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from flatexport.specs import load_spec
from tests.formats.conftest import ZONE, export, typed_frame, write_file

TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


@dataclass(frozen=True)
class Cell:
    kind: str  # office:value-type: string, float, date, boolean, ... ("" when empty)
    text: str  # what the spreadsheet shows
    formula: str  # table:formula, "" when none
    date: str  # office:date-value for date cells


def soffice() -> str:
    path = shutil.which("soffice")
    if path is None:
        pytest.fail("LibreOffice is not installed: `make test` installs libreoffice-calc-nogui")
    return path


def convert_to_fods(files: list[Path], out: Path) -> list[Path]:
    profile = out / "profile"  # a profile of its own: parallel runs do not share a lock
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "fods",
            "--outdir",
            str(out),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    converted = [out / f"{f.stem}.fods" for f in files]
    missing = [p.name for p in converted if not p.exists()]
    assert not missing, f"LibreOffice did not convert {missing}"
    return converted


def sheets(fods: Path) -> dict[str, list[list[Cell]]]:
    """Each sheet's non-empty rows as cells, repeated cells expanded (not the empty tail)."""
    out: dict[str, list[list[Cell]]] = {}
    for table in ET.parse(fods).getroot().iter(TABLE + "table"):
        rows: list[list[Cell]] = []
        for row in table.iter(TABLE + "table-row"):
            cells: list[Cell] = []
            for cell in row:
                if cell.tag not in (TABLE + "table-cell", TABLE + "covered-table-cell"):
                    continue
                value = Cell(
                    cell.get(OFFICE + "value-type", ""),
                    "\n".join("".join(p.itertext()) for p in cell.findall(TEXT + "p")),  # not notes
                    cell.get(TABLE + "formula", ""),
                    cell.get(OFFICE + "date-value", ""),
                )
                repeat = int(cell.get(TABLE + "number-columns-repeated", "1"))
                cells.extend([value] * (repeat if value.kind or repeat < 100 else 1))
            while cells and not cells[-1].kind:
                cells.pop()
            if cells:
                rows.append(cells)
        out[table.get(TABLE + "name", "")] = rows
    return out


@pytest.fixture(scope="module")
def opened(sample_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("calc")
    xlsx = Path(export(sample_warehouse, "clickstream", "xlsx", work / "clickstream.xlsx").path)
    day_csv = Path(export(sample_warehouse, "clickstream", "csv", work / "clickstream.csv").path)
    limited = work / "limited.xlsx"
    write_file(limited, "xlsx", [pd.concat([typed_frame()] * 2, ignore_index=True)], sheet_rows=4)
    fods, limited_fods = convert_to_fods([xlsx, limited], work / "out")
    with open(day_csv, newline="", encoding="utf-8") as fh:
        reference = list(csv.reader(fh))
    return {"sheets": sheets(fods), "csv": reference, "limited": sheets(limited_fods)}


def column(opened: dict, name: str) -> list[Cell]:
    [rows] = opened["sheets"].values()
    index = [c.name for c in load_spec("clickstream").columns].index(name)
    return [row[index] if index < len(row) else Cell("", "", "", "") for row in rows[1:]]


def test_one_sheet_with_the_spec_headers_and_the_csv_rows(opened: dict) -> None:
    assert list(opened["sheets"]) == ["clickstream"]
    [rows] = opened["sheets"].values()
    header, *data = rows
    assert (
        [c.text for c in header]
        == opened["csv"][0]
        == [c.out_header for c in load_spec("clickstream").columns]
    )
    assert len(data) == len(opened["csv"]) - 1 > 100


def test_zip_codes_stay_text_with_their_leading_zeros(opened: dict) -> None:
    zips = [c for c in column(opened, "zipcode") if c.kind]
    assert zips and {c.kind for c in zips} == {"string"}
    shown = {c.text for c in zips}
    assert {"02139", "06103", "00907"} <= shown


def test_a_datetime_is_a_date_cell_at_the_csv_instant_in_the_subscription_zone(opened: dict) -> None:
    starts = column(opened, "session_start")
    index = opened["csv"][0].index(load_spec("clickstream").column("session_start").out_header)
    assert {c.kind for c in starts} == {"date"}
    for cell, row in zip(starts, opened["csv"][1:], strict=True):
        local = dt.datetime.fromisoformat(row[index]).astimezone(ZoneInfo(ZONE))
        assert cell.date == local.replace(tzinfo=None).isoformat(timespec="seconds")
        assert cell.text == local.strftime("%Y-%m-%d %H:%M:%S ") + local.isoformat()[-6:]


def test_a_boolean_is_a_boolean(opened: dict) -> None:
    """Calc has no boolean cell type: it shows an xlsx boolean as TRUE/FALSE, stored as
    its constant function TRUE() or FALSE() (no formula of ours: see the next test)."""
    index = opened["csv"][0].index(load_spec("clickstream").column("opt_in").out_header)
    cells = column(opened, "opt_in")
    assert {c.text for c in cells if c.kind} == {"TRUE", "FALSE"}
    for cell, row in zip(cells, opened["csv"][1:], strict=True):
        assert cell.text == row[index].upper()
        assert cell.formula in ("", f"of:={row[index].upper()}()")


def test_nothing_is_a_formula(opened: dict) -> None:
    spec = load_spec("clickstream")
    [rows] = opened["sheets"].values()
    booleans = {i for i, c in enumerate(spec.columns) if c.type == "boolean"}
    formulas = [(i, c.formula) for row in rows for i, c in enumerate(row) if c.formula]
    assert all(i in booleans and f in ("of:=TRUE()", "of:=FALSE()") for i, f in formulas)
    # text a spreadsheet would run is shown as it is, as text, and was not run
    risky = [c for row in rows[1:] for c in row if c.text[:1] in ("=", "+", "-", "@") and c.kind == "string"]
    assert any(c.text.startswith("-") for c in risky)  # the sample day has such names
    assert all(not c.formula for c in risky)


def test_text_cells_hold_the_csv_values(opened: dict) -> None:
    spec = load_spec("clickstream")
    [rows] = opened["sheets"].values()
    for row, reference in zip(rows[1:], opened["csv"][1:], strict=True):
        for i, c in enumerate(spec.columns):
            cell = row[i] if i < len(row) else Cell("", "", "", "")
            if c.type == "string" and cell.kind:
                want = reference[i][1:] if reference[i].startswith("'") else reference[i]  # CSV's guard
                assert cell.text == want.replace("\r\n", "\n"), c.name


def test_rows_past_the_sheet_limit_open_as_further_sheets_with_the_header(opened: dict) -> None:
    limited = opened["limited"]
    assert list(limited) == ["sessions", "sessions (2)", "sessions (3)", "sessions (4)"]
    headers = {tuple(c.text for c in rows[0]) for rows in limited.values()}
    assert len(headers) == 1
    assert [len(rows) - 1 for rows in limited.values()] == [3, 3, 3, 1]
