"""The console's pure parts, without a server: the form is the CLI's add command (and an
edit form round-trips a subscription), values render generically, and what must never
be shown is not."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from flatexport.console import forms, views
from flatexport.control import operations
from flatexport.control.cli import add as add_command
from flatexport.control.store import DeliveryRecord
from flatexport.errors import InputError
from flatexport.subscriptions import Subscription


def test_the_form_has_every_option_of_the_cli_add_command() -> None:
    fields = forms.form_fields({})
    assert [f.name for f in fields] == [p.name for p in add_command.params]
    by_name = {f.name: f for f in fields}
    assert by_name["conn_id"].option == "--conn-id" and "credentials" in by_name["conn_id"].help
    assert by_name["exclude_pii"].flag and not by_name["exclude_pii"].checked
    assert (by_name["timezone"].value, by_name["fmt"].value) == ("UTC", "csv")  # the CLI's defaults
    assert "clickstream" in by_name["report"].choices and "csv.gz" in by_name["fmt"].choices
    assert [f.name for f in fields if f.required] == ["org_id", "report", "url"]
    assert not {"org_id", "report", "disabled"} & {f.name for f in forms.form_fields({}, editing=True)}


def test_a_form_is_parsed_by_click_itself() -> None:
    params = forms.parse(
        {
            "org_id": "acme",
            "report": "clickstream",
            "url": " file:///srv/x ",
            "exclude_pii": "on",
            "columns": "",
        }
    )
    assert (params["org_id"], params["url"], params["exclude_pii"], params["columns"]) == (
        "acme",
        "file:///srv/x",
        True,
        None,
    )
    assert params["timezone"] == "UTC"
    company = next(p.name for p in add_command.params if "--company" in p.opts)
    with pytest.raises(InputError, match=r"Invalid value for '--company': 'x' is not a valid integer"):
        forms.parse({"org_id": "a", "report": "clickstream", "url": "file:///x", company: "x"})
    with pytest.raises(InputError, match=r"Missing argument 'URL'"):
        forms.parse({"org_id": "a", "report": "clickstream"})
    # A value is never read as an option, even one that looks like one.
    tricky = forms.parse({"org_id": "--help", "report": "clickstream", "url": "--disabled"})
    assert (tricky["org_id"], tricky["url"], tricky["disabled"]) == ("--help", "--disabled", False)


def _scoped(scope: dict) -> dict:
    """A scope as this codebase's Subscription takes it (one scope field, or before that
    one field per scope option)."""
    return {"scope": scope} if "scope" in Subscription.model_fields else scope


@pytest.mark.parametrize(("report", "scope"), [("clickstream", {}), ("planroom_summary", {"company_id": 42})])
def test_the_edit_form_round_trips_a_subscription(tmp_path: Path, report: str, scope: dict) -> None:
    sub = Subscription(
        id=7,
        org_id="acme",
        report=report,
        destination=tmp_path.as_uri(),
        format="jsonl.gz",
        timezone="America/Chicago",
        columns=None,
        exclude_pii=True,
        start_date=dt.date(2024, 11, 1),
        enabled=False,
        **_scoped(scope),
    )
    values = forms.values_of(sub)
    assert (values["url"], values["fmt"], values["start_date"], values["disabled"]) == (
        tmp_path.as_uri(),
        "jsonl.gz",
        "2024-11-01",
        True,
    )
    if scope:
        assert values[next(p.name for p in add_command.params if "--company" in p.opts)] == 42
    text = {k: ("on" if v is True else "" if v in (None, False) else str(v)) for k, v in values.items()}
    params = forms.parse(text)
    fields = operations.subscription_fields(
        params.pop("org_id"), params.pop("report"), params.pop("url"), params.pop("fmt"), params
    )
    assert Subscription(id=7, **fields) == sub


def test_values_render_as_short_text_and_urls_lose_their_credentials() -> None:
    assert views.text(None) == views.text([]) == views.text({}) == "-"
    assert views.text(["a", "b"]) == "a,b"
    assert views.text({"company_id": 42, "entries": ["x", "y"]}) == "company_id=42, entries=x,y"
    assert views.text(True) == "yes"
    assert views.text(dt.datetime(2024, 11, 4, 1, 2, 3, tzinfo=dt.UTC)) == "2024-11-04 01:02:03Z"
    assert views.mask("failed: https://user:p4ss@example.com/x and s3://AKIA:secret@b/k") == (
        "failed: https://***@example.com/x and s3://***@b/k"
    )
    assert views.mask("s3://bucket/key@2024") == "s3://bucket/key@2024"  # an @ in a path is not userinfo
    assert views.size(None) == "-" and views.size(512) == "512 B" and views.size(2048) == "2.0 KB"


def test_a_subscription_renders_generically_with_its_scope() -> None:
    sub = Subscription(
        id=3,
        org_id="acme",
        report="planroom_activity",
        destination="s3://b/p",
        conn_id="c",
        **_scoped({"company_id": 42}),
    )
    row = views.subscription_row(sub)
    assert list(row) == list(views.SUBSCRIPTION_COLUMNS)
    assert (row["scope"], row["columns"], row["enabled"]) == ("company_id=42", "-", "yes")
    shown = dict(views.subscription_fields(sub))
    assert shown["scope"] == "company_id=42" and "company_id" not in shown
    assert shown["conn_id"] == "c"


def _record(**changes) -> DeliveryRecord:
    base = DeliveryRecord(
        id=1,
        run_id="r",
        subscription_id=1,
        org_id="acme",
        report="clickstream",
        ds=dt.date(2024, 11, 4),
        destination="s3://b",
        file_name="f.csv",
        rows=3,
        sha256=None,
        bytes=10,
        status="blocked",
        error=None,
        quality=None,
        started_at=dt.datetime(2024, 11, 5, tzinfo=dt.UTC),
        finished_at=None,
    )
    return dataclasses.replace(base, **changes)


def test_quality_checks_show_names_and_counts_never_row_keys() -> None:
    quality = {
        "passed": False,
        "errors": 1,
        "checks": [
            {
                "name": "unique_key",
                "severity": "error",
                "success": False,
                "unexpected_count": 2,
                "element_count": 9,
                "keys": ["row-key-1"],
                "details": {"x": 1},
                "note": "duplicated session ids",
            },
            "not a check",
        ],
    }
    [check] = views.checks(_record(quality=quality))
    assert check == {
        "name": "unique_key",
        "severity": "error",
        "success": False,
        "unexpected_count": 2,
        "element_count": 9,
        "note": "duplicated session ids",
    }
    assert views.checks(_record(quality=None)) == []
    assert views.quality_totals(_record(quality=quality)) == {"passed": False, "errors": 1}
    assert views.restatement(_record()) == ""  # a day's first delivery
    assert views.restatement(_record(restatement_of=7)) == "restates #7"  # late data re-delivered it
