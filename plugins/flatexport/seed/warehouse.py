"""Seed every source table of the sample warehouse in one call (`flatexport seed`).

Report families bring their own generators; this module only decides the sample's
shape (orgs, days) so the demo, the tests and the docs talk about the same data.
"""

from __future__ import annotations

import datetime as dt

DEMO_DAYS = [dt.date(2024, 11, 2) + dt.timedelta(days=i) for i in range(4)]  # spans the DST fall-back


def seed_all(
    url: str, sessions_per_org_day: int = 3000, activity_events: int = 2000, seed: int = 7
) -> dict[str, int]:
    from flatexport.seed.clickstream import default_orgs, default_sessions, seed_warehouse

    counts: dict[str, int] = {}
    sizes = default_sessions(sessions_per_org_day)  # one org is kept small on purpose
    result = seed_warehouse(url, default_orgs(), DEMO_DAYS, sizes, seed=seed, replace=True)
    counts["clickstream_events"] = sum(result["events"].values())
    from flatexport.seed.activity import seed_activity
    from flatexport.seed.planroom import seed_planroom

    per_org = seed_activity(url, default_orgs(), DEMO_DAYS, events_per_org_day=activity_events, seed=seed)
    counts["activity_events"] = sum(per_org.values())
    counts.update(seed_planroom(url, default_orgs(), DEMO_DAYS, seed=seed))
    from flatexport.seed.organizing import seed_organizing

    # the organizing tables hold each org's history up to the last demo day
    counts.update(seed_organizing(url, default_orgs(), as_of=DEMO_DAYS[-1], seed=seed))
    return counts


def sample_scope(report: str, org_id: str) -> dict[str, object]:
    """A scope of ``report`` with rows for ``org_id`` in the sample warehouse ({} for a
    report of the whole org): what the demo, the docs and the report matrices use."""
    from flatexport.specs import load_spec

    spec = load_spec(report)
    if spec.family == "organizing":
        from flatexport.seed.organizing import sample_scope as organizing_scope

        return organizing_scope(spec, org_id)
    return {}
