"""The activity and planroom generators: deterministic, covering every row of the kind map
(and what the reports must get right), and fast enough for a 10-million-event day."""

from __future__ import annotations

import datetime as dt
import json
import time

import pandas as pd
import pytest

from flatexport.families.activity import DISCRIMINATORS
from flatexport.families.activity_map import kind_map
from flatexport.seed.activity import (
    UNKNOWN_KINDS,
    generate_content,
    generate_events,
    generate_users,
    variants,
)
from flatexport.seed.planroom import generate_planroom
from flatexport.specs import load_spec

DAY = dt.date(2026, 11, 2)


def events(n: int = 2000, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    content = generate_content("org_x", 1)
    frames = list(generate_events("org_x", 1, DAY, n, seed, 1, content, 50))
    return pd.concat(frames, ignore_index=True), content


def test_deterministic_for_a_seed():
    a, _ = events(seed=3)
    b, _ = events(seed=3)
    c, _ = events(seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["payload"].equals(c["payload"])
    pd.testing.assert_frame_equal(generate_users("o", 1, 40, 3), generate_users("o", 1, 40, 3))
    p1, p2 = generate_planroom(["o"], [DAY], 3), generate_planroom(["o"], [DAY], 3)
    for name in p1:
        pd.testing.assert_frame_equal(p1[name], p2[name])


def test_every_map_row_is_generated():
    """Resolve every generated event through the spec's map: every row is hit."""
    ev, content = events()
    kmap = kind_map(load_spec("activity"))
    types = content.set_index("content_id")["content_type"]
    payload = ev["payload"].map(lambda p: json.loads(p) if isinstance(p, str) else {})
    hit = set()
    for kind, cid, pay in zip(ev["kind"], ev["content_id"], payload, strict=True):
        values = {"content_type": "" if pd.isna(cid) else types[cid]}
        values |= {k: str(pay.get(k, "")) for k in DISCRIMINATORS if k != "content_type"}
        res = kmap.resolve(kind, values)
        if res.row is not None:
            assert res.warning is None, (kind, values)
            hit.add(id(res.row))
    assert hit == {id(r) for r in kmap.rows}
    assert set(UNKNOWN_KINDS) <= set(ev["kind"])
    assert len(variants()) == len(kmap.rows) + len(UNKNOWN_KINDS)


def test_generated_data_has_the_hard_cases():
    ev, content = events()
    by_id = content.set_index("content_id")
    breakouts = by_id[by_id["content_type"] == "BreakoutOTSession"]
    assert len(breakouts) and (by_id.loc[breakouts["parent_id"], "content_type"] == "OTSession").all()
    lessons = by_id[by_id["content_type"] == "Lesson"]
    assert (by_id.loc[lessons["parent_id"], "content_type"] == "Course").all()
    reviews = ev.loc[ev["kind"] == "content.user_submitted_a_review", "payload"].map(json.loads)
    assert any("rating" in r and "text" not in r for r in reviews)
    assert any("rating" in r and r.get("text") for r in reviews)
    comments = ev.loc[ev["kind"].isin(["feed.commented", "forum.commented"]), "payload"].map(json.loads)
    assert all("post_id" in c for c in comments)
    assert ev["payload"].isna().any() and ev["content_id"].isna().any()
    seconds = ev["event_time"].dt.floor("s")
    same = ev[seconds.duplicated(keep=False)].sort_values(["event_time"])
    assert (
        same.groupby(seconds[same.index])["event_id"].apply(lambda s: not s.is_monotonic_increasing)
    ).any()
    assert ev["event_time"].min() == pd.Timestamp(DAY, tz="UTC")
    assert ev["event_id"].is_unique


def test_planroom_seed_has_guests_contacts_and_repeats():
    t = generate_planroom(["o1", "o2"], [DAY, DAY + dt.timedelta(days=1)], 3)
    ev = t["planroom_activity"]
    assert (ev["user_id"].isna() & ev["contact_id"].isna()).any()
    assert ev["contact_id"].notna().any()
    assert set(ev["scope"]) == {"file", "section", "job"} and set(ev["activity"]) == {
        "view",
        "download",
        "order",
    }
    views = ev[(ev["activity"] == "view") & ev["user_id"].notna()]
    assert views.groupby(["user_id", "file_id"]).size().max() >= 11
    assert t["plan_jobs"]["company_id"].isna().any()
    assert not t["planroom_users"]["approved"].all()
    assert ev["event_id"].is_unique


@pytest.mark.slow
def test_a_million_events_generate_in_seconds():
    """10M for one org-day is the benchmark; a million here bounds the rate (~1 s)."""
    content = generate_content("org_x", 1)
    start = time.perf_counter()
    n = sum(len(f) for f in generate_events("org_x", 1, DAY, 1_000_000, 1, 1, content, 100_000))
    elapsed = time.perf_counter() - start
    assert n == 1_000_000
    assert elapsed < 15, elapsed
