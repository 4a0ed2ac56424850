"""Late data: a delivered day whose source moved afterwards is delivered again.

Every export records the source fingerprint it was made from (:mod:`flatexport.fingerprint`:
the extract's row count and newest event time), read just before the export, so a row
that lands during the export moves the fingerprint and is caught the next night rather
than lost. Each nightly run re-reads the fingerprint of the days it delivered within
``FLATEXPORT_RESTATEMENT_LOOKBACK_DAYS`` before its own day; a day that moved is exported,
checked and delivered again, and both the manifest and the delivery log say
``restatement_of`` the earlier delivery. A failed restatement leaves the earlier delivery
as the latest one, so the next night tries again; a day delivered before fingerprints
were recorded has nothing to compare with and is left alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Collection
from typing import Any

from flatexport.fingerprint import SourceFingerprint, source_fingerprint
from flatexport.settings import get_settings
from flatexport.specs import file_name, load_spec
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)


def lookback(day: dt.date, days: int | None = None) -> tuple[dt.date, dt.date] | None:
    """The delivered days a run for ``day`` re-checks: the ``days`` before it (None: off)."""
    days = get_settings().restatement_lookback_days if days is None else days
    if days <= 0:
        return None
    return day - dt.timedelta(days=days), day - dt.timedelta(days=1)


def record_fingerprint(
    store,
    attempt: int,
    sub: Subscription,
    ds: dt.date,
    source_url: str | None,
    restatement_of: int | None = None,
) -> SourceFingerprint:
    """Read the window's fingerprint just before its export and keep it on the attempt."""
    found = source_fingerprint(sub, ds, source_url)
    store.record_source(attempt, found.rows, found.newest, restatement_of=restatement_of)
    return found


def changed_days(
    store,
    subs: Collection[Subscription],
    day: dt.date,
    source_url: str | None = None,
    days: int | None = None,
) -> list[dict[str, Any]]:
    """The (subscription, day) pairs within the look-back before ``day`` whose latest
    delivery was made from a source that has moved since; small dicts for XCom."""
    span = lookback(day, days)
    if span is None or not subs:
        return []
    by_id = {int(s.id): s for s in subs if str(s.id).isdigit()}
    changed = []
    for earlier in store.latest_delivered(list(by_id), *span):
        if earlier.source_rows is None:  # delivered before fingerprints were kept
            continue
        sub = by_id[int(earlier.subscription_id)]
        now = source_fingerprint(sub, earlier.ds, source_url)
        if not now.moved_from(earlier.source_rows, earlier.source_newest):
            continue
        was = SourceFingerprint(earlier.source_rows, earlier.source_newest)
        log.info(
            "late data: %s of %s on %s moved (%s -> %s); restating delivery %d",
            sub.report,
            sub.org_id,
            earlier.ds,
            was.describe(),
            now.describe(),
            earlier.id,
        )
        changed.append(
            {
                "sub": sub.model_dump(mode="json"),
                "ds": earlier.ds.isoformat(),
                "restatement_of": earlier.id,
            }
        )
    return changed


def earlier_delivery(store, delivery_id: int) -> dict[str, Any]:
    """What the manifest says about the delivery a restatement replaces."""
    earlier = store.delivery(delivery_id)
    return {
        "delivery_id": earlier.id,
        "sha256": earlier.sha256,
        "rows": earlier.rows,
        "delivered_at": earlier.finished_at.isoformat(timespec="seconds") if earlier.finished_at else None,
        "source_rows": earlier.source_rows,
    }


def restate(item: dict[str, Any], run_id: str, store, source_url: str | None = None) -> dict[str, Any]:
    """Export, check and deliver one changed day again, as a restatement of the earlier
    delivery; every outcome goes into the delivery log through the pipeline's one place."""
    from flatexport.control.store import process_owner
    from flatexport.pipeline import check_step, deliver_step, export_step, outcome_recorded, staged_facts

    sub = Subscription.model_validate(item["sub"])
    ds = dt.date.fromisoformat(item["ds"])
    earlier = int(item["restatement_of"])
    spec = load_spec(sub.report)
    owner = process_owner("run")
    # the same one-run-per-delivery rule as a nightly or manual run of this day
    with store.delivery_lock(sub.id, ds, owner=owner), contextlib.ExitStack() as held:
        attempt = store.start_delivery(
            run_id, sub, ds, file_name(spec, ds, sub.format, sub.scope), owner=owner
        )
        held.enter_context(store.heartbeating(attempt))
        with outcome_recorded(store, attempt):
            record_fingerprint(store, attempt, sub, ds, source_url, restatement_of=earlier)
            staged = export_step(sub, ds, source_url, attempt=attempt)
        with outcome_recorded(store, attempt, staged):
            quality = check_step(sub, staged, store)
        with outcome_recorded(store, attempt, staged, quality):
            receipt = deliver_step(sub, staged, quality, restatement_of=earlier_delivery(store, earlier))
        store.finish_delivery(attempt, "delivered", **staged_facts(staged), quality=quality)
    return {"location": receipt["location"], "rows": staged.rows, "ds": item["ds"], "restatement_of": earlier}
