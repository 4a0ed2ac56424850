"""The sample clickstream must be deterministic, complete against the contract catalogue
and realistic in the ways the export depends on, and load identically into DuckDB and
PostgreSQL. The expected catalogue is written out here from contracts/clickstream.md
rather than imported, so a drift in the generator's own table is caught."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from flatexport.seed.clickstream import default_days, default_orgs, generate_clickstream, seed_warehouse
from flatexport.seed.schema import CLICKSTREAM_COLUMNS

CONTRACT_CATALOGUE = {
    "session_start": set(),
    "tile_click": {"tile"},
    "widget.address_submitted": {
        "address",
        "first_name",
        "last_name",
        "phone",
        "email",
        "opt_in",
        "ballot_id",
    },
    "ballot.position_viewed": {"id"},
    "ballot.candidate_viewed": {"id"},
    "ballot.issue_viewed": {"id"},
    "ballot.measure_viewed": {"id"},
    "turnout.get_started_clicked": set(),
    "turnout.method_clicked": {"method"},
    "turnout.return_ballot_planned": set(),
    "turnout.request_ballot_clicked": set(),
    "turnout.dropoff_location_clicked": set(),
    "turnout.date_selected": {"polling_date", "early_voting"},
    "turnout.date_next_clicked": set(),
    "turnout.location_selected": {"polling_place_name"},
    "turnout.location_next_clicked": set(),
    "turnout.plan_created": {"vote_at", "drop_off"},
    "turnout.added_to_calendar": set(),
    "registration.started": {"choice"},
    "registration.register_online_chosen": set(),
    "registration.register_by_mail_chosen": set(),
    "registration.check_submitted": {"first_name", "last_name", "date_of_birth"},
    "registration.match_result": {"matched", "voter_id", "voterbase_id"},
    "registration.not_matched_clicked": {"button_text"},
    "registration.flow_completed": set(),
    "registration.reminders_submitted": {"email", "phone"},
    "vbm.downloaded": set(),
    "vbm.printed": set(),
    "vbm.form_submitted": set(),
    "vbm.emailed": set(),
    "vbm.portal_clicked": set(),
    "vbm.summary_page_reached": set(),
    "pledge.completed": {"reasons", "name_entered", "name_signed"},
}
DAY = dt.date(2024, 11, 3)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    """2,000 sessions of one org-day plus two neighbours for the cross-day checks."""
    return pd.concat(
        generate_clickstream(["org_acme"], [DAY, DAY + dt.timedelta(days=1)], 2000), ignore_index=True
    )


@pytest.fixture(scope="module")
def props(events: pd.DataFrame) -> pd.Series:
    return events["properties"].map(lambda p: {} if pd.isna(p) else json.loads(p))


def _frames(seed: int) -> pd.DataFrame:
    return pd.concat(
        generate_clickstream(default_orgs(), default_days()[:2], 300, seed=seed), ignore_index=True
    )


def test_same_seed_gives_identical_frames_and_another_seed_differs() -> None:
    first, again = _frames(7), _frames(7)
    pd.testing.assert_frame_equal(first, again)
    other = _frames(8)
    assert not first["properties"].equals(other["properties"])
    assert not first["event_time"].equals(other["event_time"])


def test_frames_have_exactly_the_contract_columns(events: pd.DataFrame) -> None:
    assert tuple(events.columns) == CLICKSTREAM_COLUMNS
    assert events["event_id"].dtype == "int64" and events["session_id"].dtype == "int64"
    assert str(events["event_time"].dtype) == "datetime64[us, UTC]"


def test_every_catalogue_event_and_property_appears(events: pd.DataFrame, props: pd.Series) -> None:
    names = set(events["event_name"])
    assert set(CONTRACT_CATALOGUE) <= names
    assert {"widget.opened", "experiment.assigned"} <= names - set(CONTRACT_CATALOGUE)
    for name, keys in CONTRACT_CATALOGUE.items():
        seen = set().union(*props[events["event_name"] == name].map(set))
        assert keys <= seen, name
    assert events["properties"].isna().any() and (events["properties"] == "{}").any()


def test_property_values_have_the_contract_shapes(events: pd.DataFrame, props: pd.Series) -> None:
    def values(name: str, key: str) -> list:
        return [p[key] for p in props[events["event_name"] == name] if key in p]

    assert set(values("turnout.method_clicked", "method")) == {"mail", "in_person"}
    assert set(values("registration.started", "choice")) == {"Check my registration", "Register to vote"}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in values("turnout.date_selected", "polling_date"))
    assert all(
        dt.datetime.fromisoformat(v).utcoffset() is not None
        for v in values("turnout.plan_created", "vote_at")
    )
    assert all(isinstance(r, list) for r in values("pledge.completed", "reasons"))
    assert {True, False} <= set(values("widget.address_submitted", "opt_in"))
    submitted = props[events["event_name"] == "widget.address_submitted"]
    assert any("opt_in" not in p for p in submitted), "opt_in must sometimes be absent"
    viewed = events["event_name"] == "ballot.candidate_viewed"
    per_session = events.loc[viewed].assign(id=props[viewed].map(lambda p: p.get("id"))).dropna(subset=["id"])
    dup = per_session.groupby("session_id")["id"].agg(lambda s: s.nunique() < len(s))
    assert dup.any(), "some sessions must view the same id twice"


def test_addresses_and_names_carry_the_awkward_cases(events: pd.DataFrame, props: pd.Series) -> None:
    submitted = props[events["event_name"] == "widget.address_submitted"]
    addresses = {p.get("address") for p in submitted}
    assert any(re.search(r"\b0\d{4}\b", a or "") for a in addresses), "leading-zero zip"
    assert any((a or "").startswith("221B ") for a in addresses)
    assert any("PO Box" in (a or "") for a in addresses)
    first_names = {p.get("first_name") or "" for p in submitted}
    assert any(n[:1] in "=@" and n for n in first_names)
    assert "+1 555 0100" in {p.get("phone") for p in submitted}


def test_sessions_last_at_most_90_minutes_and_some_cross_midnight(events: pd.DataFrame) -> None:
    span = events.groupby("session_id")["event_time"].agg(["min", "max"])
    assert (span["max"] - span["min"]).max() < pd.Timedelta(minutes=90)
    assert (span["max"].dt.date != span["min"].dt.date).any(), "UTC midnight"
    chicago = span.apply(lambda c: c.dt.tz_convert("America/Chicago").dt.date)
    assert (chicago["max"] != chicago["min"]).any(), "Chicago midnight"
    assert (chicago["min"] == DAY).sum() > 100, "the DST day has sessions in America/Chicago"


def test_ids_are_unique_and_ingestion_order_sometimes_differs_from_time(events: pd.DataFrame) -> None:
    assert events["event_id"].is_unique
    assert events.groupby("session_id")["device_id"].nunique().max() == 1
    by_time = events.sort_values(["session_id", "event_time", "event_id"])["event_id"].to_numpy()
    by_id = events.sort_values(["session_id", "event_id"])["event_id"].to_numpy()
    assert (by_time != by_id).any()
    several = pd.concat(generate_clickstream(default_orgs(), default_days()[:2], 50), ignore_index=True)
    assert several["event_id"].is_unique
    assert several.groupby("session_id")["org_id"].nunique().max() == 1


def test_context_is_sometimes_blank_on_the_first_event(events: pd.DataFrame) -> None:
    ordered = events.sort_values(["session_id", "event_time", "event_id"])
    first = ordered.groupby("session_id").head(1).set_index("session_id")
    later = ordered.groupby("session_id")["locale"].agg(lambda s: s.iloc[1:].fillna("").ne("").any())
    blank_first = first["locale"].fillna("").eq("")
    assert (blank_first & later.reindex(first.index)).any()
    urls = ordered.groupby("session_id")["page_url"].agg(
        lambda s: s.str.contains("utm_source=", na=False).any()
    )
    assert urls.any() and not urls.all()


def _duckdb_rows(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT event_id, org_id, session_id, device_id, epoch_us(event_time), event_name, properties, "
            "locale, user_agent, referrer, page_url FROM clickstream_events ORDER BY event_id"
        ).fetchall()
    finally:
        con.close()
    return [(*r[:6], None if r[6] is None else json.loads(r[6]), *r[7:]) for r in rows]


def _pg_rows(url: str) -> list[tuple]:
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as con:
        return con.execute(
            "SELECT event_id, org_id, session_id, device_id, "
            "(extract(epoch FROM event_time) * 1000000)::bigint, event_name, properties, "
            "locale, user_agent, referrer, page_url FROM clickstream_events ORDER BY event_id"
        ).fetchall()


def _columns(engine_url: str) -> list[tuple[str, str]]:
    query = (
        "SELECT column_name, lower(data_type) FROM information_schema.columns "
        "WHERE table_name = 'clickstream_events' ORDER BY ordinal_position"
    )
    if engine_url.startswith("duckdb"):
        con = duckdb.connect(sa.make_url(engine_url).database, read_only=True)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()
    engine = sa.create_engine(engine_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_duckdb_and_postgres_hold_identical_content(tmp_path: Path, pg_database: str) -> None:
    duck_url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    args = (default_orgs(), default_days()[:2], {"org_acme": 120, "org_civic": 60, "org_tiny": 3})
    duck_counts = seed_warehouse(duck_url, *args)
    pg_counts = seed_warehouse(pg_database, *args)
    assert duck_counts == pg_counts
    assert duck_counts["sessions"] == {"org_acme": 240, "org_civic": 120, "org_tiny": 6}
    duck, pg = _duckdb_rows(tmp_path / "warehouse.duckdb"), _pg_rows(pg_database)
    assert len(duck) == len(pg) == sum(duck_counts["events"].values())
    assert duck == pg
    assert any(r[7] == "" for r in pg) and any(r[7] is None for r in pg), "'' and NULL stay distinct"

    names = [c for c, _ in _columns(duck_url)]
    assert tuple(names) == CLICKSTREAM_COLUMNS == tuple(c for c, _ in _columns(pg_database))
    assert dict(_columns(duck_url))["properties"] == "json"
    assert dict(_columns(pg_database))["properties"] == "json"
    assert "timestamp with time zone" in dict(_columns(pg_database))["event_time"]


def test_append_continues_event_ids_and_replace_starts_over(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    seed_warehouse(url, ["org_acme"], [DAY], 20)
    seed_warehouse(url, ["org_acme"], [DAY + dt.timedelta(days=1)], 20, replace=False)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        n, distinct, sessions = con.execute(
            "SELECT count(*), count(DISTINCT event_id), count(DISTINCT session_id) FROM clickstream_events"
        ).fetchone()
    finally:
        con.close()
    assert n == distinct and sessions == 40
    counts = seed_warehouse(url, ["org_acme"], [DAY], 20)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        assert (
            con.execute("SELECT count(*) FROM clickstream_events").fetchone()[0]
            == counts["events"]["org_acme"]
        )
    finally:
        con.close()
