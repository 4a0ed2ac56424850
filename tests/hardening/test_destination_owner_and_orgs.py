"""A destination has one owner and one spelling; file:// destinations stay under the
allowed roots; org ids follow one pattern wherever they come in and must exist in the
source, so a typo or a hostile id never gets a file, a folder or an empty "delivery"."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from flatexport.control import operations
from flatexport.control.validation import destinations_overlap, normalize_destination
from flatexport.errors import ConfigError, InputError
from flatexport.export import run_export
from flatexport.orgs import check_org_id
from flatexport.subscriptions import Subscription
from tests.hardening.conftest import DAY, World, invoke, refused


def add(world: World, org: str, url: str, report: str = "clickstream", *extra: str):
    return invoke("destinations", "add", "--org", org, "--report", report, *extra, url)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("file:///R/x/", "file:///R/x"),
        ("file:///R//x", "file:///R/x"),
        ("FILE:///R/x", "file:///R/x"),
        ("file:///R/y/../x", "file:///R/x"),
        ("file:///R/y/%2e%2e/x", "file:///R/x"),
        ("file:///R/%78", "file:///R/x"),
        ("file://localhost/R/x", "file:///R/x"),
        ("S3://Acme-Exports//daily/", "s3://acme-exports/daily"),
        ("s3://acme-exports/a/../daily", "s3://acme-exports/daily"),
        ("s3://acme-exports/%64aily", "s3://acme-exports/daily"),
        ("s3://acme-exports/./daily//", "s3://acme-exports/daily"),
    ],
)
def test_one_spelling_per_destination(world: World, given: str, stored: str) -> None:
    root = str(world.deliveries)
    assert normalize_destination(given.replace("/R", root)) == stored.replace("/R", root)


@pytest.mark.parametrize("url", ["s3://acme-exports/../x", "file:///R/\x00", ""])
def test_destinations_that_cannot_be_normalised_are_refused(world: World, url: str) -> None:
    with pytest.raises(InputError):
        normalize_destination(url.replace("/R", str(world.deliveries)))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{r}/shared", "{r}/shared/"),
        ("{r}/shared", "{r}//shared"),
        ("{r}/shared", "{r}/other/../shared"),
        ("{r}/shared", "{r}/shared/org_b"),  # inside the other org's folder
        ("{r}/shared/org_a", "{r}/shared"),  # around it
    ],
)
def test_a_destination_has_one_owner(world: World, first: str, second: str) -> None:
    r = world.deliveries.as_uri()
    assert add(world, "org_a", first.format(r=r)).exit_code == 0
    refused(add(world, "org_b", second.format(r=r)), "already used by another org", code=2)
    assert [s.org_id for s in world.store().list()] == ["org_a"]
    # the same org may deliver another report, or the same one again under another spelling is a duplicate
    assert add(world, "org_a", (world.deliveries / "shared2").as_uri()).exit_code == 0


def test_the_same_subscription_twice_under_two_spellings_is_a_duplicate(world: World) -> None:
    url = (world.deliveries / "x").as_uri()
    assert add(world, "org_a", url).exit_code == 0
    refused(add(world, "org_a", url + "//"), "already exists", code=2)


def test_s3_prefixes_have_one_owner(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    assert add(world, "org_a", "s3://acme-exports/daily").exit_code == 0
    refused(add(world, "org_b", "S3://ACME-EXPORTS/daily/"), "already used by another org")
    refused(add(world, "org_b", "s3://acme-exports/daily/b"), "already used by another org")
    assert add(world, "org_b", "s3://acme-exports/weekly").exit_code == 0
    assert destinations_overlap("s3://a/x", "s3://a/x/y") and not destinations_overlap(
        "s3://a/x", "s3://a/xy"
    )


def test_file_destinations_stay_under_the_allowed_roots(world: World, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    refused(
        add(world, "org_a", outside.as_uri()), "outside the allowed folders", str(world.deliveries), code=2
    )
    link = world.deliveries / "link"
    link.symlink_to(outside)  # a symlink inside the root pointing out of it
    refused(add(world, "org_a", link.as_uri()), "outside the allowed folders", code=2)
    assert add(world, "org_a", (world.deliveries / "inside").as_uri()).exit_code == 0


@pytest.mark.parametrize("value", ["", "relative", "/", "/ok:relative", "/srv/../"])
def test_local_roots_setting_is_checked(world: World, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from flatexport.settings import get_settings

    monkeypatch.setenv("FLATEXPORT_LOCAL_ROOTS", value)
    if value == "":  # empty = unset (env_ignore_empty): the defaults
        assert get_settings().local_root_folders[-1] == Path("/srv/exports")
        return
    with pytest.raises(ConfigError, match="FLATEXPORT_LOCAL_ROOTS"):
        get_settings()


BAD_ORGS = ["../../../x", "..", "a/b", "a b", "", " ", "-a", "org\x00", "ö", "a" * 65, "org;drop", "%2e%2e"]


@pytest.mark.parametrize("org", BAD_ORGS)
def test_org_ids_follow_one_pattern_everywhere(world: World, org: str) -> None:
    with pytest.raises(InputError, match="invalid org id"):
        check_org_id(org)
    with pytest.raises(ValueError, match="invalid org id"):
        Subscription(id=1, org_id=org, report="clickstream", destination="file:///srv/exports/x")
    argv_org = ["--", org] if org.startswith("-") else [org]
    refused(
        invoke("run", "clickstream", "--date", DAY, "--org", org, "--to", str(world.deliveries)),
        "org",
        code=2,
    )
    refused(add(world, org, (world.deliveries / "o").as_uri()), "invalid org id", code=2)
    refused(invoke("quality", *argv_org[:-1], argv_org[-1], "clickstream", DAY), "org", code=2)
    refused(invoke("deliveries", "--org", org), "org", code=2)
    with pytest.raises(InputError, match="invalid org id"):
        operations.add_subscription(world.store(), org, "clickstream", (world.deliveries / "o").as_uri())
    assert list(world.deliveries.iterdir()) == []
    staging = world.root / "data" / "staging"
    assert not staging.exists() or not any(p.is_file() for p in staging.rglob("*"))


def test_an_org_the_source_does_not_know_gets_nothing(world: World) -> None:
    """Not an empty file "delivered": refused at add, at `run`, and by the export itself
    (the nightly run's path), before anything is staged."""
    refused(add(world, "org_nobody", (world.deliveries / "n").as_uri()), "unknown org 'org_nobody'", code=2)
    refused(
        invoke("run", "clickstream", "--date", DAY, "--org", "org_nobody", "--to", str(world.deliveries)),
        "unknown org 'org_nobody'",
    )
    sub = Subscription(id=7, org_id="org_nobody", report="clickstream", destination=world.deliveries.as_uri())
    with pytest.raises(InputError, match="unknown org 'org_nobody'"):
        run_export(sub, dt.date.fromisoformat(DAY), world.warehouse)
    assert list(world.deliveries.iterdir()) == []
    staging = world.root / "data" / "staging"
    assert not staging.exists() or not any(p.is_file() for p in staging.rglob("*"))
    # a known org with no rows that day is a header-only file, as before
    result = invoke(
        "run", "clickstream", "--date", "2024-11-05", "--org", "org_b", "--to", str(world.deliveries)
    )
    assert result.exit_code == 0, result.output
    assert "rows=0" in result.stdout
    assert os.listdir(world.deliveries)
