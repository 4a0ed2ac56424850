"""Synthetic ``platform_users``, ``content`` and ``activity_events`` for the activity reports.

Why it looks the way it does:

* Every row of the kind map in ``include/report_specs/activity.yaml`` is a *variant*
  (kind + the content type or payload field that selects its row); the generator reads
  the map, so a new row in the spec is seeded without touching this file. Each org-day
  starts with one event of every variant, plus unknown kinds, so small test warehouses
  still cover the whole map.
* Events are built with numpy index arithmetic: a variant code per event selects its
  content pool and payload keys; payload JSON is assembled from pre-encoded fragments,
  concatenated only where a key is present. Ten million events for one org-day take
  well under a few minutes.
* It contains what the report must get right: breakouts (and their parent sessions),
  courses and lessons, reviews with and without text or rating, feed and forum comments
  with post ids, empty text, quotes, commas, new lines and formula-like text, events in
  the same second whose ids do not follow time, events exactly at midnight, NULL payloads,
  users with different dimension keys, and activity off content pages.
* Everything derives from ``numpy.random.default_rng((seed, org index, day, batch))``:
  the same arguments give identical frames.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flatexport.families.activity import PLACEHOLDER, Placeholder
from flatexport.families.activity_map import MapRow, kind_map, source_column
from flatexport.seed.load import Sink, open_sink
from flatexport.seed.schema import SOURCE_TABLES
from flatexport.specs import load_spec

BATCH_EVENTS = 1_000_000
_ID_SPAN = 10**7  # users / content ids per org
_EPOCH = dt.date(2000, 1, 1)
UNKNOWN_KINDS: tuple[str, ...] = ("legacy.tile_clicked", "legacy.badge_earned")

# The three tables, declared with every other source table (seed.schema).
TABLES: tuple[str, ...] = ("platform_users", "content", "activity_events")

# Payload values; "" and awkward text on purpose (CSV quoting, formulas, empty label parts).
PAYLOAD_POOLS: dict[str, list[object]] = {
    "text": [
        "Great session!",
        "Where are the slides?",
        'He said "hi", then left',
        "Línea en español, con acentos",
        "=SUM(A1:A2)",
        "two\nlines",
        "",
    ],
    "answer": ["42", "Blue", "Option A, Option C", ""],
    "rating": [1, 2, 3, 4, 5],
    "emoji": ["Love", "Clap", "Laugh"],
    "post_id": [1001, 1002, 20417],
    "tag": ["announcements", "help", "#general"],
    "topic": ["Onboarding", "Release notes, 2026"],
    "file": ["agenda.pdf", "Slides (final).pptx"],
    "report": ["Attendance", "Engagement summary"],
    "tab": ["Content", "Users", "Analytics"],
    "certificate": ["CE Certificate 2026", "Ethics credit"],
    "notification": ["Your session starts in 10 minutes", "New message from Ana"],
    "viewed_user": ["Ana Smith", "Zoë Ünïcode", "=cmd|' /C calc'!A0"],
    "slug": ["agenda", "speakers/ana-smith"],
    "url": ["https://example.org/a?b=1&c=2", "https://twitter.com/flatexport"],
    "progress": ["10%", "40%", "100%"],
}
# Chance that an optional key is left out of the payload (a review without text).
OPTIONAL_KEYS: dict[str, float] = {"text": 0.15, "rating": 0.05}
# A question type and a meeting type no map row names (exercise the fallback rows).
UNLISTED = {"question_type": "True or False", "meeting_type": "group"}

# Content catalogue per org: (content_type, count, parent type).
CONTENT_PLAN: tuple[tuple[str, int, str | None], ...] = (
    ("OTSession", 3, None),
    ("IRLSession", 2, None),
    ("BreakoutOTSession", 3, "OTSession"),
    ("GroupOTSession", 2, None),
    ("Course", 2, None),
    ("Lesson", 4, "Course"),
    ("Video", 2, None),
    ("Page", 1, None),
)
LEGACY_CONTENT = ("OTSession", "IRLSession", "BreakoutOTSession", "GroupOTSession", "Video", "Page", "Course")
SECTION_CONTENT: dict[str, tuple[str, ...]] = {
    "content": LEGACY_CONTENT,
    "ce": LEGACY_CONTENT,
    "download": LEGACY_CONTENT,
    "question": LEGACY_CONTENT,
    "course": ("Course",),
    "course_question": ("Lesson",),
}


@dataclass(frozen=True)
class Variant:
    kind: str
    content_types: tuple[str, ...]  # empty: off content pages
    keys: tuple[str, ...]  # payload keys its templates read
    fixed: str  # pre-encoded discriminator fragment ('"question_type":"Poll"') or ""


def default_orgs() -> list[str]:
    return ["org_acme", "org_globex"]


def default_days() -> list[dt.date]:
    return [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]


def _frag(key: str, value: object) -> str:
    return json.dumps(key) + ":" + json.dumps(value, ensure_ascii=False)


def _variant(row: MapRow, placeholders: Mapping[str, Placeholder]) -> Variant:
    """What an event of this map row needs: content of the right type and payload keys."""
    keys: list[str] = []
    for ph in PLACEHOLDER.findall(row.category + row.label):
        for field in placeholders[ph].fields:
            col = source_column(field)
            if col.startswith("p_") and col[2:] in PAYLOAD_POOLS and col[2:] not in keys:
                keys.append(col[2:])
    when = dict(row.when)
    types = SECTION_CONTENT.get(row.section, ())
    if "content_type" in when:
        types = (when["content_type"],)
    elif row.section == "course" and any(r.when for r in kind_rows(row.kind)):
        types = ("Video",)  # the unconditional row of a split name ("Content - [content type]")
    if row.kind == "message.joined":
        types = ("GroupOTSession",)
    fixed = ""
    for key in ("question_type", "meeting_type"):
        if key in when:
            fixed = _frag(key, when[key])
        elif any(k == key for r in kind_rows(row.kind) for k, _ in r.when):
            fixed = _frag(key, UNLISTED[key])  # the row without a condition: an unlisted value
    return Variant(row.kind, types, tuple(keys), fixed)


def kind_rows(kind: str) -> list[MapRow]:
    return kind_map(load_spec("activity")).kinds.get(kind, [])


def variants() -> list[Variant]:
    """One variant per map row, then the unknown kinds."""
    kmap = kind_map(load_spec("activity"))
    found = [_variant(row, kmap.placeholders) for row in kmap.rows]
    found += [Variant(kind, (), ("text",), "") for kind in UNKNOWN_KINDS]
    return found


def generate_content(org: str, org_index: int) -> pd.DataFrame:
    """A small fixed catalogue per org: sessions, breakouts under sessions, lessons under courses."""
    rows: list[dict[str, object]] = []
    next_id = org_index * _ID_SPAN + 1
    by_type: dict[str, list[int]] = {}
    for ctype, count, parent_type in CONTENT_PLAN:
        for i in range(count):
            parent = by_type[parent_type][i % len(by_type[parent_type])] if parent_type else None
            name = {
                "OTSession": f"Keynote, day {i + 1}",
                "Lesson": f'Lesson {i + 1}: "Basics"',
            }.get(ctype, f"{ctype} {i + 1}")
            rows.append(
                {
                    "content_id": next_id,
                    "org_id": org,
                    "name": f"{name} ({org})",
                    "slug": f"{ctype.lower()}-{i + 1}",
                    "content_type": ctype,
                    "parent_id": parent,
                }
            )
            by_type.setdefault(ctype, []).append(next_id)
            next_id += 1
    frame = pd.DataFrame(rows)
    frame["parent_id"] = frame["parent_id"].astype("Int64")
    return frame


def _user_count(events_per_org_day: int) -> int:
    return int(min(max(events_per_org_day // 10, 12), 200_000))


DIMENSION_KEYS: tuple[str, ...] = ("phone", "linkedin", "address", "twitter", "Job Title", "employees")
_FIRST = np.array(["Ana", "Bo", "José", '=HYPERLINK("x")', "Li", "Mary-Jane", "O'Neil", "Zoë"], dtype=object)
_LAST = np.array(["Smith", "García", "Nguyen", "de la Cruz", "Okafor", "Kowalski"], dtype=object)
_COMPANY = np.array(["Acme, Inc.", "Globex", "Initech", None], dtype=object)
_TAGS = np.array(['["speaker"]', '["vip","speaker"]', "[]", '["attendee"]', None], dtype=object)


def generate_users(org: str, org_index: int, n: int, seed: int) -> pd.DataFrame:
    """Users of one org; dimensions carry different key sets (and one numeric value),
    so the unique users report's columns depend on who was active."""
    rng = np.random.default_rng((seed, org_index, 0))
    ids = org_index * _ID_SPAN + np.arange(1, n + 1, dtype=np.int64)
    first = _FIRST[rng.integers(len(_FIRST), size=n)]
    last = _LAST[rng.integers(len(_LAST), size=n)]
    dims = []
    has = rng.random((n, len(DIMENSION_KEYS))) < 0.6
    for i in range(min(n, 50_000)):
        d: dict[str, object] = {}
        for j, key in enumerate(DIMENSION_KEYS):
            if has[i, j]:
                d[key] = 10 + i if key == "employees" else f"{key} of {ids[i]}"
        dims.append(json.dumps(d, ensure_ascii=False) if d else None)
    dims += [json.dumps({"phone": "+1 555 0100"})] * (n - len(dims))
    email = np.char.add(np.char.add("user", ids.astype(str)), f"@{org}.example").astype(object)
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 300, size=n), unit="D")
    return pd.DataFrame(
        {
            "user_id": ids,
            "org_id": org,
            "first_name": first,
            "last_name": last,
            "company": _COMPANY[rng.integers(len(_COMPANY), size=n)],
            "email": email,
            "tags": _TAGS[rng.integers(len(_TAGS), size=n)],
            "dimensions": np.array(dims, dtype=object),
            "created_at": created,
        }
    )


def _day_start_us(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).timestamp()) * 10**6


def _payloads(rng: np.random.Generator, vs: list[Variant], codes: np.ndarray) -> np.ndarray:
    """Payload JSON text per event: only the keys its variant reads, pre-encoded, joined
    where present; NULL when a variant reads nothing (half the time) or '{}'."""
    n = len(codes)
    body = np.full(n, "", dtype=object)
    fixed = np.array([v.fixed for v in vs], dtype=object)[codes]
    has_fixed = fixed != ""
    body[has_fixed] = fixed[has_fixed]
    for key, pool in PAYLOAD_POOLS.items():
        wants = np.array([key in v.keys for v in vs], dtype=bool)[codes]
        if key in OPTIONAL_KEYS:
            wants &= rng.random(n) >= OPTIONAL_KEYS[key]
        at = np.flatnonzero(wants)
        if not len(at):
            continue
        frags = np.array([_frag(key, v) for v in pool], dtype=object)[rng.integers(len(pool), size=len(at))]
        sep = np.where(body[at] == "", "", ",").astype(object)
        body[at] = body[at] + sep + frags
    out = ("{" + body + "}").astype(object)
    empty = body == ""
    out[empty & (rng.random(n) < 0.5)] = None
    return out


def generate_events(
    org: str,
    org_index: int,
    day: dt.date,
    n_events: int,
    seed: int,
    first_event_id: int,
    content: pd.DataFrame,
    n_users: int,
) -> Iterator[pd.DataFrame]:
    """Batches of one org-day's events (event ids from ``first_event_id``)."""
    vs = variants()
    pools = {t: g["content_id"].to_numpy() for t, g in content.groupby("content_type")}
    weights = np.ones(len(vs))
    weights[[i for i, v in enumerate(vs) if v.kind in UNKNOWN_KINDS]] = 0.05
    weights /= weights.sum()
    day_us = _day_start_us(day)
    done = 0
    batch = 0
    while done < n_events:
        n = min(BATCH_EVENTS, n_events - done)
        rng = np.random.default_rng((seed, org_index, (day - _EPOCH).days, batch))
        codes = rng.choice(len(vs), size=n, p=weights)
        if batch == 0:
            head = min(n, len(vs))
            codes[:head] = np.arange(head)  # every variant at least once per org-day
        offsets = rng.integers(0, 86_400 * 10**6, size=n)
        if batch == 0 and n >= 2:
            offsets[0], offsets[1] = 0, 86_400 * 10**6 - 1  # midnight on both edges
        if n >= 4:
            offsets[2:4] = offsets[2] // 10**6 * 10**6 + np.array([900_000, 100_000])  # same second
        content_id = np.full(n, -1, dtype=np.int64)
        for i, v in enumerate(vs):
            if not v.content_types:
                continue
            at = np.flatnonzero(codes == i)
            ids = np.concatenate([pools[t] for t in v.content_types])
            content_id[at] = ids[rng.integers(len(ids), size=len(at))]
        kinds = np.array([v.kind for v in vs], dtype=object)[codes]
        users = org_index * _ID_SPAN + 1 + rng.integers(0, n_users, size=n)
        frame = pd.DataFrame(
            {
                "event_id": np.arange(first_event_id + done, first_event_id + done + n, dtype=np.int64),
                "org_id": org,
                "user_id": users.astype(np.int64),
                "event_time": pd.to_datetime(day_us + offsets, unit="us", utc=True),
                "kind": kinds,
                "content_id": pd.array(np.where(content_id < 0, 0, content_id), dtype="Int64"),
                "payload": _payloads(rng, vs, codes),
            }
        )
        frame.loc[content_id < 0, "content_id"] = pd.NA
        yield frame
        done += n
        batch += 1


def create_tables(sink: Sink) -> None:
    for name in TABLES:
        sink.execute(SOURCE_TABLES[name].drop)
        sink.execute(SOURCE_TABLES[name].ddl)


def seed_activity(
    url: str,
    orgs: list[str] | None = None,
    days: list[dt.date] | None = None,
    events_per_org_day: int = 2000,
    seed: int = 7,
) -> dict[str, int]:
    """(Re)create the three activity tables at ``url`` and load them in one transaction.
    Returns the number of events per org."""
    orgs = default_orgs() if orgs is None else list(orgs)
    days = default_days() if days is None else list(days)
    counts = dict.fromkeys(orgs, 0)
    n_users = _user_count(events_per_org_day)
    next_id = 1
    with open_sink(url) as sink:
        create_tables(sink)
        for index, org in enumerate(orgs, start=1):
            content = generate_content(org, index)
            sink.append("content", content)
            users = generate_users(org, index, n_users, seed)
            sink.append("platform_users", users, SOURCE_TABLES["platform_users"].json_columns)
            for day in days:
                frames = generate_events(org, index, day, events_per_org_day, seed, next_id, content, n_users)
                for frame in frames:
                    sink.append("activity_events", frame, SOURCE_TABLES["activity_events"].json_columns)
                    counts[org] += len(frame)
                    next_id += len(frame)
        for name in TABLES:
            for ddl in SOURCE_TABLES[name].indexes:
                sink.execute(ddl)
    return counts
