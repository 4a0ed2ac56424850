"""Two cell rules every report gets from the engine: a JSON object column (compact text in
CSV, a native object in JSON Lines, checked by the gate), and header cells that get the
formula guard like any other cell (a column named by the data, such as a tag called
``=SUM(A1)``), while JSON Lines keys stay as they are."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from flatexport.flatten.coercion import coerce
from flatexport.formats import get_format
from flatexport.quality.reader import StagedReader
from flatexport.quality.suite import derive_checks
from flatexport.specs import ColumnSpec, load_spec
from flatexport.write import ReportWriter


def column(name: str, type_: str, header: str | None = None) -> ColumnSpec:
    return ColumnSpec(
        name=name, header=header, type=type_, definition=name, rule={"kind": "field", "field": name}
    )


def test_object_cells_are_compact_sorted_and_empty_when_empty():
    col = column("custom_fields", "object")
    raw = pd.Series(['{"b": "2", "a": "ü ✓", "B": "x"}', "{}", None, "not json", "[1]", {"z": 1, "y": None}])
    warnings: Counter[str] = Counter()
    assert list(coerce(raw, col, "UTC", warnings)) == [
        '{"B":"x","a":"ü ✓","b":"2"}',  # code-point order: upper case first; non-ASCII as is
        None,
        None,
        None,
        None,  # an array is not an object
        '{"y":null,"z":1}',
    ]
    assert warnings == Counter()  # text the source had is not a rejected value


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "jsonl.gz"])
def test_object_column_in_csv_and_json_lines(fmt: str, tmp_path: Path):
    cols = [column("id", "integer"), column("custom_fields", "object"), column("tags", "array")]
    frame = pd.DataFrame(
        {
            "id": pd.array([1, 2], dtype="Int64"),
            "custom_fields": ['{"Employer, City":"Springfield, IL","=x":"1"}', None],
            "tags": ['["VIP"]', None],
        }
    )
    frame = pd.DataFrame({c.name: coerce(frame[c.name], c, "UTC", Counter()) for c in cols})
    path = tmp_path / f"out.{fmt}"
    writer = ReportWriter(path, fmt, cols)
    writer.write(frame)
    writer.close()
    reader = StagedReader(str(path), fmt)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        assert rows[1] == ["1", '{"=x":"1","Employer, City":"Springfield, IL"}', '["VIP"]']
        assert rows[2] == ["2", "", ""]
    else:
        import gzip

        text = (gzip.open(path, "rt") if fmt.endswith(".gz") else open(path)).read()
        first, second = (json.loads(line) for line in text.splitlines())
        assert first["custom_fields"] == {"=x": "1", "Employer, City": "Springfield, IL"}  # a native object
        assert second["custom_fields"] is None
    # the gate reads it back as the CSV would show it, and checks it as a JSON object
    assert reader.prepare() == ["id", "custom_fields", "tags"]
    (chunk,) = list(reader.chunks())
    assert chunk["_1"].tolist()[0] == '{"=x":"1","Employer, City":"Springfield, IL"}'
    names = {c.name for c in derive_checks(load_spec("action_reports"), ["custom_fields"], "2024-11-04", "o")}
    assert {"custom_fields is JSON object", "custom_fields is valid JSON"} <= names


def test_header_cells_are_guarded_in_csv_only():
    risky = column("=SUM(A1)", "boolean")
    plain = column("user_id", "integer", header="User ID")
    phone_like = column("+15551230001", "string")
    csv_fmt, jsonl = get_format("csv.gz"), get_format("jsonl")
    assert [csv_fmt.column_key(c) for c in (risky, plain, phone_like)] == [
        "'=SUM(A1)",
        "User ID",
        "+15551230001",
    ]
    assert [jsonl.column_key(c) for c in (risky, plain)] == ["=SUM(A1)", "user_id"]


def test_a_guarded_header_is_what_the_file_and_the_staged_columns_say(tmp_path: Path):
    cols = [column("id", "integer"), column("@mention", "boolean"), column("-dash", "string")]
    path = tmp_path / "out.csv"
    writer = ReportWriter(path, "csv", cols)
    writer.write(
        pd.DataFrame(
            {
                "id": pd.array([1], dtype="Int64"),
                "@mention": pd.array([True], dtype="boolean"),
                "-dash": ["-1"],
            }
        )
    )
    writer.close()
    header, row = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert header == ["id", "'@mention", "'-dash"]
    assert row == ["1", "true", "-1"]  # a plain number stays a number
