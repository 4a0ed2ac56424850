"""Planroom first-access reports: first access ever (a snapshot), guests never, the
customer's company scope, tenant isolation, and the summary's file counts.

The detailed report is checked against an independent pandas computation of the same
rules over the generated frames, and against hand-made cases."""

from __future__ import annotations

import pandas as pd
import pytest

from flatexport.errors import InputError
from flatexport.export import query_params, report_window
from flatexport.extract import iter_batches, read_sql_file
from flatexport.seed.planroom import company_ids, generate_planroom, load_planroom, repeat_viewer
from flatexport.specs import load_spec
from flatexport.subscriptions import Subscription
from flatexport.window import parse_ds
from tests.reports.conftest import DAYS, DS, ORGS


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return generate_planroom(ORGS, DAYS, seed=11)


def oracle_first_access(frames: dict[str, pd.DataFrame], org: str, end: pd.Timestamp, company=None):
    """(job, kind, person, scope, file, section, activity) -> first time, by pandas."""
    jobs = frames["plan_jobs"]
    jobs = jobs[jobs["org_id"] == org]
    if company is not None:
        jobs = jobs[jobs["company_id"] == company]
    ev = frames["planroom_activity"]
    ev = ev[ev["job_id"].isin(jobs["job_id"]) & (ev["event_time"] < end)]
    ev = ev[ev["user_id"].notna() | ev["contact_id"].notna()].copy()
    ev["kind"] = ev["user_id"].notna().map({True: "user", False: "blast recipient"})
    ev["person"] = ev["user_id"].fillna(ev["contact_id"]).astype(int)
    files = ev["file_id"].where(ev["scope"] == "file")
    ev["file"] = [("<NA>" if pd.isna(v) else str(int(v))) for v in files]
    ev["sect"] = ev["section"].where(ev["scope"] == "section").fillna("")
    keys = ["job_id", "kind", "person", "scope", "file", "sect", "activity"]
    return ev.groupby(keys, dropna=False)["event_time"].min()


def as_key(row: dict[str, str]) -> tuple:
    return (
        int(row["Job ID"]),
        row["Kind of Person"],
        int(row["Person ID"]),
        row["Scope"],
        row["File ID"] or "<NA>",
        row["Section"] if row["Scope"] == "section" else "",
        row["Activity"],
    )


def test_detailed_matches_an_independent_computation(warehouse, export, frames):
    staged, rows, text = export("planroom_activity", warehouse)
    end = pd.Timestamp("2026-11-03", tz="UTC")
    want = oracle_first_access(frames, "org_acme", end)
    got = {as_key(r): r["First Access"] for r in rows}
    assert len(rows) == len(got) == len(want) > 20
    for key, first in want.items():
        assert got[key] == first.floor("s").isoformat(), key
    # the staged file records its header as written (what the quality gate compares)
    assert staged.columns[:4] == ["Job ID", "Job", "Job Company ID", "Kind of Person"]
    assert {r["Kind of Person"] for r in rows} == {"user", "blast recipient"}


def test_guests_never_appear(warehouse, export, frames):
    _, rows, _ = export("planroom_activity", warehouse)
    assert all(r["Person ID"] and r["Kind of Person"] in ("user", "blast recipient") for r in rows)
    ev = frames["planroom_activity"]
    assert (ev["user_id"].isna() & ev["contact_id"].isna()).sum() > 0  # the seed does have guests


def test_first_access_survives_ten_repeat_views(warehouse, export):
    user, file_id = repeat_viewer(1)
    for ds in ("2026-11-02", "2026-11-03"):
        _, rows, _ = export("planroom_activity", warehouse, ds=ds, timezone="America/Chicago")
        hits = [
            r
            for r in rows
            if r["Person ID"] == str(user) and r["File ID"] == str(file_id) and r["Activity"] == "view"
        ]
        assert [r["First Access"] for r in hits] == ["2026-11-02T03:00:00-06:00"], ds


def test_snapshot_same_day_rerun_and_later_days_only_add(warehouse, export):
    first, rows1, _ = export("planroom_activity", warehouse, ds="2026-11-02")
    again, _, _ = export("planroom_activity", warehouse, ds="2026-11-02")
    assert first.sha256 == again.sha256
    _, rows2, _ = export("planroom_activity", warehouse, ds="2026-11-03")
    later = {as_key(r): r["First Access"] for r in rows2}
    assert all(later[as_key(r)] == r["First Access"] for r in rows1)
    assert len(rows2) > len(rows1)


def test_customer_receives_only_its_company_jobs(warehouse, export):
    a, b, c = company_ids(1)
    _, owner, _ = export("planroom_activity", warehouse)
    assert {r["Job Company ID"] for r in owner} == {str(a), str(b), ""}
    for report in ("planroom_activity", "planroom_summary"):
        _, rows_a, _ = export(report, warehouse, scope={"company_id": a})
        _, rows_b, _ = export(report, warehouse, scope={"company_id": b})
        _, rows_c, _ = export(report, warehouse, scope={"company_id": c})
        assert rows_a and {r["Job Company ID"] for r in rows_a} == {str(a)}
        assert rows_b and {r["Job Company ID"] for r in rows_b} == {str(b)}
        assert not {r["Job ID"] for r in rows_a} & {r["Job ID"] for r in rows_b}
        assert rows_c == []


def test_tenant_isolation(warehouse, export):
    for report in ("planroom_activity", "planroom_summary"):
        _, rows, text = export(report, warehouse)
        assert all(r["Job ID"].startswith("1") and len(r["Job ID"]) == 4 for r in rows)
        assert "org_globex" not in text
        # a company id of another org is refused before anything is read...
        other = company_ids(2)[0]
        with pytest.raises(InputError, match=f"company {other} is not a planroom company of org 'org_acme'"):
            export(report, warehouse, scope={"company_id": other})
        # ...and the query itself never matches it to this org's jobs
        spec = load_spec(report)
        sub = Subscription(id=1, org_id="org_acme", report=report, destination="file:///u")
        params = {**query_params(spec, sub, report_window(spec, sub, parse_ds(DS))), "company_id": other}
        assert not any(len(b) for b in iter_batches(read_sql_file(spec.sql_path()), params, warehouse))


def _hand(url: str) -> None:
    """One job with two sections of two files; a user, a contact and a guest."""
    t = pd.Timestamp("2026-11-02 10:00", tz="UTC")
    tables = {
        "plan_jobs": pd.DataFrame({"job_id": [1], "org_id": ["o"], "company_id": [5], "name": ["Job"]}),
        "plan_files": pd.DataFrame(
            {"file_id": [11, 12, 21, 22], "job_id": 1, "section": ["A", "A", "B", "B"], "name": list("wxyz")}
        ),
        "planroom_users": pd.DataFrame(
            {
                "user_id": [7],
                "org_id": ["o"],
                "company_id": [5],
                "name": ["U"],
                "email": ["u@x"],
                "approved": True,
            }
        ),
        "blast_contacts": pd.DataFrame(
            {"contact_id": [8], "org_id": ["o"], "name": ["C"], "email": ["c@x"], "company": ["Co"]}
        ),
        "planroom_activity": pd.DataFrame(
            {
                "event_id": [1, 2, 3, 4, 5, 6, 7, 8],
                "job_id": 1,
                "scope": ["file", "file", "section", "file", "job", "file", "file", "file"],
                "file_id": pd.array([11, 11, None, 12, None, 11, 11, 21], dtype="Int64"),
                "section": [None, None, "A", None, None, None, None, None],
                "activity": ["view", "view", "download", "download", "order", "view", "view", "view"],
                "user_id": pd.array([7, 7, 7, 7, None, None, None, 7], dtype="Int64"),
                "contact_id": pd.array([None, None, None, None, 8, 8, None, None], dtype="Int64"),
                "event_time": [t, t - pd.Timedelta(hours=1), t, t, t, t, t, t + pd.Timedelta(days=1)],
            }
        ),
    }
    load_planroom(url, tables)


def test_summary_counts_files_of_sections_and_jobs(tmp_path, export):
    url = f"duckdb:///{tmp_path / 'pr.duckdb'}"
    _hand(url)
    _, rows, _ = export("planroom_summary", url, org="o")
    by = {r["Kind of Person"]: r for r in rows}
    assert set(by) == {"user", "blast recipient"}  # the guest (event 7) is not a person
    user, contact = by["user"], by["blast recipient"]
    assert (user["Files Viewed"], user["Files Downloaded"], user["Files Ordered"]) == ("1", "2", "0")
    assert user["First Activity"] == "2026-11-02T09:00:00+00:00"  # event 2, an hour before event 1
    assert user["Last Activity"] == "2026-11-02T10:00:00+00:00"  # event 8 is the next day
    assert (contact["Files Viewed"], contact["Files Downloaded"], contact["Files Ordered"]) == ("1", "0", "4")
    assert contact["Company"] == "Co" and contact["Company ID"] == ""
    assert user["Company ID"] == "5" and user["Company"] == ""
    _, detail, _ = export("planroom_activity", url, org="o")
    views = [r for r in detail if r["Kind of Person"] == "user" and r["Activity"] == "view"]
    assert [(r["File ID"], r["First Access"]) for r in views] == [("11", "2026-11-02T09:00:00+00:00")]
    section = [r for r in detail if r["Scope"] == "section"]
    assert [(r["Section"], r["File ID"], r["Activity"]) for r in section] == [("A", "", "download")]
    _, next_day, _ = export("planroom_summary", url, org="o", ds="2026-11-03")
    assert {r["Kind of Person"]: r["Files Viewed"] for r in next_day}["user"] == "2"
