"""Delivery-time guarantees that do not depend on the destination type."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from flatexport.errors import DeliveryError
from flatexport.hashing import sha256_file
from flatexport.pipeline import deliver_step
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription


@pytest.fixture
def staged_for_org_a(tmp_path: Path) -> StagedFile:
    path = tmp_path / "clickstream_2024-11-04.csv"
    path.write_text("session_id\n1\n")
    return StagedFile(
        path=str(path),
        name=path.name,
        report="clickstream",
        org_id="org_a",
        ds="2024-11-04",
        format="csv",
        rows=1,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        columns=["session_id"],
        subscription_id=1,
    )


def _sub(tmp_path: Path, **kw) -> Subscription:
    fields = {
        "id": 1,
        "org_id": "org_a",
        "report": "clickstream",
        "destination": (tmp_path / "dest").as_uri(),
    }
    return Subscription(**{**fields, **kw})


def test_a_file_goes_to_its_own_subscription(tmp_path, staged_for_org_a):
    receipt = deliver_step(_sub(tmp_path), staged_for_org_a)
    assert receipt["location"].endswith("/dest/clickstream_2024-11-04.csv")
    assert (tmp_path / "dest" / "clickstream_2024-11-04.csv.manifest.json").exists()


@pytest.mark.parametrize(
    "other",
    [
        {"id": 2, "org_id": "org_b"},  # another org's subscription
        {"id": 1, "org_id": "org_b"},  # same id, other org
        {"id": 2},  # same org, another subscription (other options, other destination)
        {"report": "activity"},  # another report of the same org
    ],
)
def test_a_file_is_never_delivered_to_another_subscription(tmp_path, staged_for_org_a, other):
    with pytest.raises(DeliveryError, match="refusing to deliver"):
        deliver_step(_sub(tmp_path, **other), staged_for_org_a)
    assert not (tmp_path / "dest").exists()


def test_a_file_changed_after_staging_never_replaces_the_delivered_one(tmp_path, staged_for_org_a):
    deliver_step(_sub(tmp_path), staged_for_org_a)
    Path(staged_for_org_a.path).write_text("session_id\n2\n")  # same size, other bytes
    with pytest.raises(DeliveryError, match="checksum mismatch"):
        deliver_step(_sub(tmp_path), replace(staged_for_org_a))
    delivered = tmp_path / "dest" / "clickstream_2024-11-04.csv"
    assert delivered.read_text() == "session_id\n1\n"  # the verified copy stays
    assert [p.name for p in (tmp_path / "dest").iterdir() if p.name.endswith(".part")] == []
