"""Seed every source table of the sample warehouse in one call (`flatexport seed`).

Report families bring their own generators; this module only decides the sample's
shape (orgs, days) so the demo, the tests and the docs talk about the same data.
"""

from __future__ import annotations

import datetime as dt
import importlib

DEMO_DAYS = [dt.date(2024, 11, 2) + dt.timedelta(days=i) for i in range(4)]  # spans the DST fall-back


def seed_all(
    url: str, sessions_per_org_day: int = 3000, activity_events: int = 2000, seed: int = 7
) -> dict[str, int]:
    from flatexport.seed.clickstream import default_orgs, default_sessions, seed_warehouse

    counts: dict[str, int] = {}
    sizes = default_sessions(sessions_per_org_day)  # one org is kept small on purpose
    result = seed_warehouse(url, default_orgs(), DEMO_DAYS, sizes, seed=seed, replace=True)
    counts["clickstream_events"] = sum(result["events"].values())
    for module, func, kwargs in (
        ("flatexport.seed.activity", "seed_activity", {"events_per_org_day": activity_events}),
        ("flatexport.seed.planroom", "seed_planroom", {}),
    ):
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError):
            continue  # that family is not installed in this build
        out = fn(url, default_orgs(), DEMO_DAYS, seed=seed, **kwargs)
        if isinstance(out, dict):
            counts.update({k: int(v) for k, v in out.items() if isinstance(v, int)})
    return counts
