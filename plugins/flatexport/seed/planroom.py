"""Synthetic planroom tables: jobs, files, users, blast contacts and their access events.

Why it looks the way it does: every org has jobs of two customer companies and one job
without a customer, approved and unapproved users of each company, the planroom's own
staff (no company), blast contacts, guests (neither user nor contact), accesses at file,
section and job scope, and one user who views the same addendum eleven times over the
days (the first access is what the reports must keep). ``generate_planroom`` returns the
frames so tests can add exact rows before ``load_planroom`` writes them; everything
derives from ``numpy.random.default_rng((seed, org index, day))``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from flatexport.seed.load import open_sink
from flatexport.seed.schema import SOURCE_TABLES

_EPOCH = dt.date(2000, 1, 1)
SECTIONS: tuple[str, ...] = ("Drawings", "Specifications", "Addenda")
FILES_PER_SECTION = 2
EVENTS_PER_JOB_DAY = 14
GUEST_SHARE = 0.15

# The five tables, declared with every other source table (seed.schema).
TABLES: tuple[str, ...] = ("plan_jobs", "plan_files", "planroom_users", "blast_contacts", "planroom_activity")
_INT_COLUMNS = {"company_id", "file_id", "user_id", "contact_id"}


def default_orgs() -> list[str]:
    return ["org_acme", "org_globex"]


def default_days() -> list[dt.date]:
    return [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]


def company_ids(org_index: int) -> tuple[int, int, int]:
    """Customer companies A and B (with jobs) and C (users only, no jobs)."""
    base = org_index * 100
    return base + 1, base + 2, base + 3


def _catalogue(org: str, k: int) -> dict[str, list[dict[str, object]]]:
    a, b, c = company_ids(k)
    jobs = [
        {
            "job_id": k * 1000 + 1,
            "org_id": org,
            "company_id": a,
            "name": f"Riverside School, Phase 2 ({org})",
        },
        {"job_id": k * 1000 + 2, "org_id": org, "company_id": a, "name": f"Library Roof ({org})"},
        {"job_id": k * 1000 + 3, "org_id": org, "company_id": b, "name": f'Bridge "North" ({org})'},
        {"job_id": k * 1000 + 4, "org_id": org, "company_id": None, "name": f"Public Bid ({org})"},
    ]
    files = [
        {
            "file_id": int(job["job_id"]) * 100 + s * FILES_PER_SECTION + i + 1,
            "job_id": job["job_id"],
            "section": section,
            "name": f"{section[:4]}-{i + 1:02d}.pdf",
        }
        for job in jobs
        for s, section in enumerate(SECTIONS)
        for i in range(FILES_PER_SECTION)
    ]
    users = []
    uid = k * 1000 + 1
    for company in (a, b, c, None):
        for approved in (True, True, False) if company else (True, True):
            label = "staff" if company is None else f"co{company}"
            users.append(
                {
                    "user_id": uid,
                    "org_id": org,
                    "company_id": company,
                    "name": f"User {uid} ({label})",
                    "email": f"u{uid}@{label}.example",
                    "approved": approved,
                }
            )
            uid += 1
    contacts = [
        {
            "contact_id": k * 1000 + 500 + i,
            "org_id": org,
            "name": f"Contact {i}",
            "email": f"c{i}@{org}.example",
            "company": ["Builders, LLC", "=Subs Inc", "Ajax Electric"][i],
        }
        for i in range(3)
    ]
    return {
        "plan_jobs": jobs,
        "plan_files": files,
        "planroom_users": users,
        "blast_contacts": contacts,
    }


def _events(
    cat: Mapping[str, list[dict[str, object]]], k: int, days: list[dt.date], seed: int
) -> pd.DataFrame:
    """Random accesses per job-day plus one user's eleven views of the same addendum."""
    users = np.array([u["user_id"] for u in cat["planroom_users"]], dtype=np.int64)
    contacts = np.array([c["contact_id"] for c in cat["blast_contacts"]], dtype=np.int64)
    frames = []
    for day in days:
        rng = np.random.default_rng((seed, k, (day - _EPOCH).days))
        start = pd.Timestamp(day, tz="UTC")
        for job in cat["plan_jobs"]:
            files = [f for f in cat["plan_files"] if f["job_id"] == job["job_id"]]
            n = EVENTS_PER_JOB_DAY
            scope = rng.choice(["file", "section", "job"], size=n, p=[0.7, 0.2, 0.1])
            pick = rng.integers(len(files), size=n)
            file_id = np.where(scope == "file", [files[i]["file_id"] for i in pick], -1)
            section = np.where(scope == "section", [files[i]["section"] for i in pick], None)
            activity = np.where(
                scope == "file",
                rng.choice(["view", "download", "order"], size=n, p=[0.6, 0.3, 0.1]),
                rng.choice(["download", "order"], size=n, p=[0.7, 0.3]),
            )
            offsets = pd.to_timedelta(rng.integers(0, 86_400 * 10**6, size=n), unit="us")
            who = rng.random(n)
            person = rng.integers(0, 1000, size=n)
            is_user = who >= 0.35
            is_contact = (who >= GUEST_SHARE) & ~is_user
            frames.append(
                pd.DataFrame(
                    {
                        "job_id": job["job_id"],
                        "scope": scope,
                        "file_id": file_id,
                        "section": section,
                        "activity": activity,
                        "user_id": np.where(is_user, users[person % len(users)], -1),
                        "contact_id": np.where(is_contact, contacts[person % len(contacts)], -1),
                        "event_time": start + offsets,
                    }
                )
            )
    repeat_file = next(f for f in cat["plan_files"] if f["section"] == "Addenda")
    first = pd.Timestamp(days[0], tz="UTC") + pd.Timedelta(hours=9)
    times = [first] + [first + pd.Timedelta(hours=3 * i + 1) for i in range(10)]
    frames.append(
        pd.DataFrame(
            {
                "job_id": repeat_file["job_id"],
                "scope": "file",
                "file_id": repeat_file["file_id"],
                "section": None,
                "activity": "view",
                "user_id": users[0],
                "contact_id": -1,
                "event_time": times,
            }
        )
    )
    events = pd.concat(frames, ignore_index=True)
    for col in ("file_id", "user_id", "contact_id"):
        events[col] = events[col].astype("Int64").mask(events[col] < 0)
    return events


def repeat_viewer(org_index: int) -> tuple[int, int]:
    """(user_id, file_id) of the user who views one addendum eleven times."""
    job_id = org_index * 1000 + 1
    return org_index * 1000 + 1, job_id * 100 + 2 * FILES_PER_SECTION + 1


def generate_planroom(orgs: list[str], days: list[dt.date], seed: int = 7) -> dict[str, pd.DataFrame]:
    """All five tables as frames (event ids sequential across orgs)."""
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for k, org in enumerate(orgs, start=1):
        cat = _catalogue(org, k)
        for name, rows in cat.items():
            tables[name].append(pd.DataFrame(rows, columns=list(SOURCE_TABLES[name].columns)))
        tables["planroom_activity"].append(_events(cat, k, days, seed))
    out = {name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()}
    events = out["planroom_activity"]
    events.insert(0, "event_id", np.arange(1, len(events) + 1, dtype=np.int64))
    return {name: typed(name, frame) for name, frame in out.items()}


def typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Contract column order; nullable ids as Int64 so they load as BIGINT, not floats."""
    frame = frame[list(SOURCE_TABLES[name].columns)].copy()
    for col in frame.columns:
        if col in _INT_COLUMNS:
            frame[col] = frame[col].astype("Int64")
    return frame


def load_planroom(url: str, tables: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """(Re)create the planroom tables at ``url`` and load ``tables`` in one transaction."""
    with open_sink(url) as sink:
        for name in TABLES:
            sink.execute(SOURCE_TABLES[name].drop)
            sink.execute(SOURCE_TABLES[name].ddl)
        for name in TABLES:
            if name in tables and len(tables[name]):
                sink.append(name, typed(name, tables[name]))
    return {name: len(frame) for name, frame in tables.items()}


def seed_planroom(
    url: str,
    orgs: list[str] | None = None,
    days: list[dt.date] | None = None,
    seed: int = 7,
) -> dict[str, int]:
    """Generate and load the planroom tables; returns the row count per table."""
    orgs = default_orgs() if orgs is None else list(orgs)
    days = default_days() if days is None else list(days)
    return load_planroom(url, generate_planroom(orgs, days, seed))
