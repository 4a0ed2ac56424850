"""The per-content-page activity report (`--content ID`): the activity on one page of the
org's site, as the guide's "download one for individual content pages"."""

from __future__ import annotations

import duckdb
import pytest

from flatexport.errors import InputError
from flatexport.families import scope_options
from tests.reports.conftest import DS


def _content_ids(url: str, org: str, kinds: str = "%") -> list[int]:
    path = url.removeprefix("duckdb:///")
    with duckdb.connect(path, read_only=True) as con:
        rows = con.execute(
            "SELECT content_id FROM activity_events WHERE org_id = ? AND content_id IS NOT NULL "
            "AND kind LIKE ? GROUP BY content_id ORDER BY count(*) DESC, content_id",
            [org, kinds],
        ).fetchall()
    return [r[0] for r in rows]


def test_the_page_report_has_only_that_pages_activity(warehouse: str, export) -> None:
    page = _content_ids(warehouse, "org_acme")[0]
    staged, rows, _ = export("activity", warehouse, scope={"content_id": page})
    _, everything, _ = export("activity", warehouse)

    assert staged.name == f"activity_content-{page}_{DS}.csv"
    assert rows and all(r["Content ID"] == str(page) for r in rows)
    assert rows == [r for r in everything if r["Content ID"] == str(page)]  # same rows, same order


def test_the_page_report_combines_with_entries(warehouse: str, export) -> None:
    page = _content_ids(warehouse, "org_acme", "content.%")[0]
    _, rows, _ = export("activity", warehouse, scope={"content_id": page, "entries": ["content"]})
    _, page_rows, _ = export("activity", warehouse, scope={"content_id": page})
    assert rows and rows == [r for r in page_rows if r["Category"].startswith("Content - ")]


def test_another_orgs_page_is_refused_as_unknown(warehouse: str, export) -> None:
    other = _content_ids(warehouse, "org_globex")[0]
    with pytest.raises(InputError, match=f"unknown content {other} for org org_acme"):
        export("activity", warehouse, scope={"content_id": other})


def test_the_option_is_declared_once_for_every_command() -> None:
    by_flag = {o.flag: o for o in scope_options()}
    assert (by_flag["--content"].field, by_flag["--content"].value_type) == ("content_id", int)
