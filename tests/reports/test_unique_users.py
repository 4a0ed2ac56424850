"""Unique users: one row per active user, tags as JSON, one column per dimension key seen
in the window (sorted, stable), whatever the chunking; tenant isolation."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd

from flatexport.export import flatten_context, run_export
from flatexport.families import family_of
from flatexport.families.activity_users import cell_text, discovered_keys, expand_columns, flatten_users
from flatexport.families.base import Chunking
from flatexport.flatten import FlattenContext
from flatexport.seed.activity import create_tables
from flatexport.seed.load import open_sink
from flatexport.specs import load_spec
from flatexport.subscriptions import Subscription
from flatexport.window import day_window
from tests.reports.conftest import DS


def ctx_for(org: str = "org_acme") -> FlattenContext:
    sub = Subscription(id=1, org_id=org, report="unique_users", destination="file:///x")
    return flatten_context(load_spec("unique_users"), sub, day_window(DS))


def users_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [3, 1, 2],
            "first_name": ["Ana", "Bo", None],
            "last_name": ["S", "O", None],
            "company": ["Acme", None, None],
            "email": ["a@x", "b@x", None],
            "tags": ['["vip", "speaker"]', "[]", None],
            "dimensions": [
                '{"phone": "+1 555 0100", "linkedin": "in/ana"}',
                '{"address": "1 Main St, Springfield", "employees": 42, "Job Title": "CTO"}',
                None,
            ],
        }
    )


def test_dimension_columns_sorted_and_filled():
    ctx = ctx_for()
    out = flatten_users(users_frame(), ctx)
    cols = expand_columns(load_spec("unique_users").columns, out)
    headers = [c.out_header for c in cols]
    assert headers == [
        "User ID", "First", "Last", "Company", "Email", "Tags",
        "Job Title", "address", "employees", "linkedin", "phone",
    ]  # fmt: skip
    assert list(out["dimensions.phone"]) == ["+1 555 0100", None, None]
    assert list(out["dimensions.employees"]) == [None, "42", None]
    assert list(out["tags"]) == ['["vip","speaker"]', None, None]
    assert list(out["user_id"]) == [3, 1, 2]  # SQL order is kept
    assert json.loads(out.loc[1, "dimensions"]) == {
        "Job Title": "CTO",
        "address": "1 Main St, Springfield",
        "employees": 42,
    }


def test_columns_do_not_depend_on_row_order():
    a = flatten_users(users_frame(), ctx_for())
    b = flatten_users(users_frame().iloc[::-1], ctx_for())
    cols = load_spec("unique_users").columns
    assert [c.name for c in expand_columns(cols, a)] == [c.name for c in expand_columns(cols, b)]


def test_no_active_users_leaves_only_fixed_columns():
    cols = expand_columns(load_spec("unique_users").columns, None)
    assert [c.name for c in cols] == ["user_id", "first_name", "last_name", "company", "email", "tags"]


def test_cell_text_and_keys():
    assert cell_text(None) is None and cell_text("x") == "x" and cell_text(True) == "true"
    assert cell_text({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert discovered_keys([{"b": 1}, {}, {"a": 2, "B": 3}]) == ["B", "a", "b"]


def test_the_whole_window_is_one_chunk():
    spec = load_spec("unique_users")
    assert family_of(spec).chunking(spec) == Chunking.whole()


def _export_text(url: str, org: str, path: Path, batch_rows: int | None = None) -> str:
    sub = Subscription(id=1, org_id=org, report="unique_users", destination="file:///x")
    run_export(sub, DS, source_url=url, out_path=path, batch_rows=batch_rows)
    return path.read_text(encoding="utf-8")


def test_expanded_file_end_to_end(warehouse, tmp_path):
    """Small extract batches are joined into one chunk: the same file as one batch."""
    small = _export_text(warehouse, "org_acme", tmp_path / "a.csv", batch_rows=2048)
    assert small == _export_text(warehouse, "org_acme", tmp_path / "b.csv")
    rows = list(csv.DictReader(io.StringIO(small)))
    header = small.splitlines()[0].split(",")
    assert header[:6] == ["User ID", "First", "Last", "Company", "Email", "Tags"]
    assert header[6:] == sorted(header[6:]) and "phone" in header and "Job Title" in header
    assert "Dimensions" not in header  # the spec column is replaced by its keys
    ids = [int(r["User ID"]) for r in rows]
    assert ids == sorted(set(ids)) and len(ids) > 5
    assert all(r["Email"].endswith("@org_acme.example") for r in rows)


def test_run_export_tenant_and_staged_columns(warehouse, export):
    staged, rows, text = export("unique_users", warehouse)
    assert staged.rows == len(rows) > 5
    assert "org_globex" not in text
    assert staged.columns == text.splitlines()[0].split(",")  # the header as written
    assert any(r["phone"] for r in rows)


def test_only_users_active_in_the_window(tmp_path, export):
    """Users 1 and 3 acted that day, 2 the day before, 9 belongs to another org; user 4 acted
    but has no profile row (reported with its id only)."""
    url = f"duckdb:///{tmp_path / 'u.duckdb'}"
    users = pd.DataFrame(
        {
            "user_id": [1, 2, 3, 9],
            "org_id": ["a", "a", "a", "b"],
            "first_name": ["One", "Two", "Three", "Nine"],
            "last_name": None,
            "company": None,
            "email": ["1@a", "2@a", "3@a", "9@b"],
            "tags": ['["x"]', None, None, None],
            "dimensions": ['{"phone": "1"}', '{"fax": "2"}', None, '{"secret": "9"}'],
            "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    day = pd.Timestamp(DS, tz="UTC")
    events = pd.DataFrame(
        {
            "event_id": [1, 2, 3, 4, 5, 6],
            "org_id": ["a", "a", "a", "a", "b", "a"],
            "user_id": [3, 1, 3, 2, 9, 4],
            "event_time": [day, day + pd.Timedelta(hours=5), day, day - pd.Timedelta(seconds=1), day, day],
            "kind": "page.viewed",
            "content_id": pd.array([None] * 6, dtype="Int64"),
            "payload": None,
        }
    )
    with open_sink(url) as sink:
        create_tables(sink)
        sink.append("platform_users", users, ("tags", "dimensions"))
        sink.append("activity_events", events, ("payload",))
    _, rows, text = export("unique_users", url, org="a")
    assert [r["User ID"] for r in rows] == ["1", "3", "4"]
    assert rows[2]["Email"] == "" and "9@b" not in text and "secret" not in text and "fax" not in text
    assert text.splitlines() == [
        "User ID,First,Last,Company,Email,Tags,phone",
        '1,One,,,1@a,"[""x""]",1',
        "3,Three,,,3@a,,",
        "4,,,,,,",
    ]
