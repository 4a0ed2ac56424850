"""Cutoff windows: a report that is the whole history of its scope is everything created
before one instant, named after a day. A nightly run for D cuts off at 00:00 of D+1 in the
subscription's zone; an on-demand request at the moment it was accepted (UTC, whole
second, named after that UTC date). The cutoff is bound as an aware UTC instant, so the
database's session zone never shifts it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from flatexport.errors import InputError
from flatexport.extract import iter_batches
from flatexport.manifest import build_manifest
from flatexport.staged import StagedFile
from flatexport.window import cutoff_window, day_window

UTC = dt.UTC


def test_nightly_cutoff_is_midnight_after_the_day_in_the_zone():
    chicago = cutoff_window("2024-11-03", "America/Chicago")  # the 25-hour fall-back day
    assert chicago.is_cutoff and chicago.start is None and chicago.extract_start is None
    assert chicago.end == dt.datetime(2024, 11, 4, 6, tzinfo=UTC)  # 00:00 CST
    assert (chicago.ds, chicago.timezone) == (dt.date(2024, 11, 3), "America/Chicago")
    assert cutoff_window("2024-11-04").end == dt.datetime(2024, 11, 5, tzinfo=UTC)
    assert (
        cutoff_window("2024-11-03", "America/Chicago").end == day_window("2024-11-03", "America/Chicago").end
    )


def test_a_cutoff_binds_only_the_aware_cutoff():
    params = cutoff_window("2024-11-04", "Europe/Berlin").params()
    assert params == {"cutoff": dt.datetime(2024, 11, 4, 23, tzinfo=UTC)}
    assert params["cutoff"].tzinfo is not None
    # a day window binds what it always bound
    assert set(day_window("2024-11-04").params()) == {
        "window_start",
        "window_end",
        "extract_start",
        "extract_end",
    }


def test_as_of_a_moment_is_utc_to_the_second_and_named_after_its_utc_date():
    nightly = cutoff_window("2024-11-04", "America/Chicago")
    moment = dt.datetime(2024, 11, 4, 21, 30, 15, 987654, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    as_of = nightly.until(moment)
    assert as_of.end == dt.datetime(2024, 11, 5, 3, 30, 15, tzinfo=UTC)  # truncated, not rounded
    assert (as_of.ds, as_of.timezone) == (dt.date(2024, 11, 5), "UTC")  # the UTC date, not Chicago's
    assert as_of.params() == {"cutoff": as_of.end}


def test_as_of_is_refused_for_day_reports_and_naive_moments():
    with pytest.raises(InputError, match="covers one day at a time"):
        day_window("2024-11-04").until(dt.datetime(2024, 11, 4, 12, tzinfo=UTC))
    with pytest.raises(InputError, match="has no time zone"):
        cutoff_window("2024-11-04").until(dt.datetime(2024, 11, 4, 12))


def test_manifest_window_of_a_cutoff_has_no_start():
    staged = StagedFile(
        path="/x",
        name="users_2024-11-04.csv",
        report="users",
        org_id="o1",
        ds="2024-11-04",
        format="csv",
        rows=0,
        sha256="0" * 64,
        bytes=0,
        window_start="",
        window_end="2024-11-05T00:00:00+00:00",
    )
    assert build_manifest(staged)["window"] == {"start": None, "end": "2024-11-05T00:00:00+00:00"}


@pytest.mark.postgres
def test_the_cutoff_holds_whatever_the_session_zone(pg_database):
    """PostgreSQL reads a naive timestamp in its session zone; the cutoff is bound aware,
    so a server or database set to another zone cannot move it by hours."""
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INT, created_at TIMESTAMPTZ)"))
        conn.execute(
            sa.text("INSERT INTO t VALUES (1, '2024-11-04 23:59:59+00'), (2, '2024-11-05 00:00:00+00')")
        )
        conn.execute(
            sa.text(f"ALTER DATABASE \"{pg_database.rsplit('/', 1)[1]}\" SET timezone TO 'Asia/Tokyo'")
        )
    engine.dispose()
    sql = "SELECT id FROM t WHERE created_at < CAST(:cutoff AS TIMESTAMPTZ) ORDER BY id"
    ids = [i for b in iter_batches(sql, cutoff_window("2024-11-04").params(), pg_database) for i in b["id"]]
    assert ids == [1]
    from flatexport.source import engine_for

    engine_for.cache_clear()  # pooled connections would block the database's drop
