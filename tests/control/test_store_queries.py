"""Store queries the console relies on, on SQLite and PostgreSQL: replacing a
subscription's fields, the delivery log newest first with status and report filters,
one attempt by id, and each org's latest attempt."""

from __future__ import annotations

import datetime as dt

import pytest

from flatexport.control.store import ControlStore
from flatexport.errors import InputError
from flatexport.subscriptions import Subscription

D = dt.date


def _sub(store: ControlStore, **fields) -> Subscription:
    base = {"org_id": "acme", "report": "clickstream", "destination": "file:///srv/out/acme"}
    return store.add_subscription(**{**base, **fields})


def _attempt(store: ControlStore, sub: Subscription, ds: dt.date, status: str) -> int:
    delivery_id = store.start_delivery("run", sub, ds, f"{sub.report}_{ds}.csv")
    store.finish_delivery(delivery_id, status)
    return delivery_id


def test_update_subscription_replaces_fields_and_keeps_id(store: ControlStore) -> None:
    sub = _sub(store, columns=["a", "b"], timezone="America/Chicago")
    other = _sub(store, org_id="beta")
    changed = sub.model_copy(
        update={"destination": "file:///srv/out/acme2", "columns": None, "format": "jsonl"}
    )
    saved = store.update_subscription(changed)
    assert saved.id == sub.id
    assert store.get(sub.id) == saved
    assert (saved.destination, saved.columns, saved.format, saved.timezone) == (
        "file:///srv/out/acme2",
        None,
        "jsonl",
        "America/Chicago",
    )
    assert store.get(other.id) == other  # nothing else moved


def test_update_subscription_validates_and_names_missing(store: ControlStore) -> None:
    sub = _sub(store)
    with pytest.raises(InputError, match="unknown time zone .Mars/Base."):
        store.update_subscription(sub.model_copy(update={"timezone": "Mars/Base"}))
    assert store.get(sub.id) == sub
    with pytest.raises(InputError, match="no subscription 99"):
        store.update_subscription(sub.model_copy(update={"id": 99}))


def test_deliveries_newest_first_with_status_reports_and_limit(store: ControlStore) -> None:
    acme = _sub(store)
    beta = _sub(store, org_id="beta", report="activity")
    first = _attempt(store, acme, D(2024, 11, 3), "delivered")
    retry = _attempt(store, acme, D(2024, 11, 4), "failed")
    again = _attempt(store, acme, D(2024, 11, 4), "delivered")
    blocked = _attempt(store, beta, D(2024, 11, 5), "blocked")

    assert [r.id for r in store.deliveries(newest_first=True)] == [blocked, again, retry, first]
    assert [r.id for r in store.deliveries(newest_first=True, limit=2)] == [blocked, again]
    assert [r.id for r in store.deliveries(status="delivered")] == [first, again]
    assert [r.id for r in store.deliveries(reports=["activity"])] == [blocked]
    assert store.deliveries(reports=[]) == []
    assert [r.id for r in store.deliveries(org="acme", status="failed", newest_first=True)] == [retry]


def test_delivery_by_id(store: ControlStore) -> None:
    delivery_id = _attempt(store, _sub(store), D(2024, 11, 4), "failed")
    assert store.delivery(delivery_id).status == "failed"
    with pytest.raises(InputError, match="no delivery 12345"):
        store.delivery(12345)


def test_latest_delivery_per_org(store: ControlStore) -> None:
    acme = _sub(store)
    acme_activity = _sub(store, report="activity", destination="file:///srv/out/acme-a")
    beta = _sub(store, org_id="beta")
    _attempt(store, acme, D(2024, 11, 5), "delivered")
    late = _attempt(store, acme, D(2024, 11, 5), "failed")  # the later attempt of the latest day
    _attempt(store, acme_activity, D(2024, 11, 4), "delivered")
    beta_id = _attempt(store, beta, D(2024, 11, 2), "blocked")
    _attempt(store, acme_activity, D(2024, 11, 3), "delivered")  # logged later, older day

    latest = store.latest_delivery_per_org()
    assert {org: r.id for org, r in latest.items()} == {"acme": late, "beta": beta_id}
    only_activity = store.latest_delivery_per_org(reports=["activity"])
    assert {org: r.ds for org, r in only_activity.items()} == {"acme": D(2024, 11, 4)}
