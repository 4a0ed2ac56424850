"""Every organizing report's header equals the contract's, in order, on both engines;
an empty scope gives a header-only file (pivots: the fixed columns)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flatexport.extract import read_sql_file
from flatexport.paths import include_dir
from tests.reports.organizing.contract import FIELD_PIVOTS, HEADERS, REPORTS, TAG_PIVOTS

# The query hands a JSON or pivot column over in long form; these runs stand for it.
LONG_FORM = {
    ("tag_ids", "tag_names"): "tags",
    ("field_ids", "field_names", "field_values"): "custom_fields",
    ("script_types",): "message_types",
}


def scope_with_rows(report: str) -> dict[str, int]:
    if report == "contacts":
        return {"contact_list_id": 341}
    if report == "video_stories":
        return {"action_id": 503}
    if report.startswith("action_"):
        return {"action_id": 502}
    return {}


def scope_without_rows(report: str) -> dict[str, int]:
    """Action 505 has no activity; list 342 has no contacts; the VideoStory action 503 has
    no story yet, and o1 no org-wide rows, at a cutoff before anything happened."""
    if report == "contacts":
        return {"contact_list_id": 342}
    if report == "video_stories":
        return {"action_id": 503}
    if report.startswith("action_"):
        return {"action_id": 505}
    return {}


def query_columns(url: str, report: str, **scope) -> list[str]:
    """The query's result columns, long-form runs folded into the column they make."""
    sql = read_sql_file(include_dir() / "sql" / report / "extract.sql")
    params = {
        "org_id": "o1",
        "cutoff": "2024-11-05T00:00:00+00:00",
        "action_id": None,
        "contact_list_id": None,
    }
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            keys = list(conn.execute(sa.text(sql), {**params, **scope}).keys())
    finally:
        engine.dispose()
    out, i = [], 0
    while i < len(keys):
        for run, name in LONG_FORM.items():
            if tuple(keys[i : i + len(run)]) == run:
                out.append(name)
                i += len(run)
                break
        else:
            out.append(keys[i])
            i += 1
    return out


@pytest.mark.parametrize("report", REPORTS)
def test_query_columns_are_the_contract_header_in_order(wh, report):
    columns = query_columns(wh.url, report, **scope_with_rows(report))
    if report in TAG_PIVOTS:
        assert columns == HEADERS[report] + ["tags"]  # tags become one column per tag
    elif report in FIELD_PIVOTS:
        assert columns == HEADERS[report] + ["custom_fields"]
    else:
        assert columns == HEADERS[report]


@pytest.mark.parametrize("report", REPORTS)
def test_file_header_is_the_contract_header(wh, report):
    result = wh.export(report, **scope_with_rows(report))
    assert result.rows, "the fixture has rows for every report"
    fixed = HEADERS[report]
    assert result.header[: len(fixed)] == fixed
    if report in TAG_PIVOTS or report in FIELD_PIVOTS:
        assert len(result.header) > len(fixed)
        assert len(set(result.header)) == len(result.header)
    else:
        assert result.header == fixed


@pytest.mark.parametrize("report", REPORTS)
def test_empty_scope_gives_only_the_header(wh, report):
    import datetime as dt

    cutoff = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # before anything in the fixture
    result = wh.export(report, as_of=cutoff, **scope_without_rows(report))
    assert result.rows == []
    assert result.header == HEADERS[report]
    assert (
        query_columns(wh.url, report, **scope_without_rows(report))[: len(HEADERS[report])] == HEADERS[report]
    )
