"""Scopes: declared once per report by its family, checked with messages naming the
report, the field and its option, shown on the command line and in the file name.

The issue-10 shapes (a required action, a scope part in the file name) are exercised with
a stand-in model on the planroom family, so the engine is shown to need no change."""

from __future__ import annotations

import datetime as dt

import pytest

from flatexport.docs import render_for
from flatexport.errors import InputError, SpecError
from flatexport.families import get_family, parse_scope, scope_from_options, scope_options
from flatexport.families.base import Scope, scope_field
from flatexport.specs import file_name, load_spec

DAY = dt.date(2024, 11, 4)


class ActionScope(Scope):
    action_id: int = scope_field("--action", help="One action of the org.", metavar="ID", default=...)


@pytest.fixture
def action_scoped(monkeypatch: pytest.MonkeyPatch):
    """planroom_activity as if it were an action report: a required scope and a file-name part."""
    family = get_family("planroom")
    monkeypatch.setattr(family, "scope_model", lambda spec: ActionScope)
    monkeypatch.setattr(family, "file_scope", lambda spec, scope: f"action-{scope.action_id}")
    return load_spec("planroom_activity")


def test_options_are_derived_from_the_scope_fields():
    by_flag = {o.flag: o for o in scope_options()}
    assert (by_flag["--company"].field, by_flag["--company"].value_type, by_flag["--company"].many) == (
        "company_id",
        int,
        False,
    )
    assert (by_flag["--entries"].field, by_flag["--entries"].many) == ("entries", True)
    assert by_flag["--entries"].value("content, feed.posted,") == ["content", "feed.posted"]
    assert by_flag["--entries"].param == "entries"


def test_scope_errors_name_report_field_and_option():
    spec = load_spec("clickstream")
    with pytest.raises(
        InputError, match=r"^report 'clickstream' takes no company_id \(--company\) \(it takes no scope\)$"
    ):
        scope_from_options(spec, {"company": 42, "entries": None})
    assert parse_scope(spec, {}).stored() == {}
    planroom = load_spec("planroom_summary")
    with pytest.raises(InputError, match=r"^company_id \(--company\): Input should be a valid integer"):
        parse_scope(planroom, {"company_id": "x"})
    assert scope_from_options(planroom, {"company": 7}).stored() == {"company_id": 7}


def test_a_required_scope_and_the_file_name_part(action_scoped):
    with pytest.raises(InputError, match=r"^report 'planroom_activity' needs action_id \(--action\)$"):
        parse_scope(action_scoped, {})
    assert (
        file_name(action_scoped, DAY, "csv.gz", {"action_id": 12})
        == "planroom_activity_action-12_2024-11-04.csv.gz"
    )
    assert "file `planroom_activity_action-<action_id>_<YYYY-MM-DD>.csv`" in render_for("planroom_activity")


def test_file_name_without_a_scope_part():
    spec = load_spec("planroom_activity")
    assert file_name(spec, DAY, "jsonl", {"company_id": 101}) == "planroom_activity_2024-11-04.jsonl"
    assert file_name(spec, "<YYYY-MM-DD>") == "planroom_activity_<YYYY-MM-DD>.csv"


def test_one_flag_means_one_field_everywhere(monkeypatch: pytest.MonkeyPatch):
    class Clash(Scope):
        company: str | None = scope_field("--company", help="A company by name.")

    family = get_family("clickstream")
    monkeypatch.setattr(family, "scope_models", (*family.scope_models, Clash))
    scope_options.cache_clear()
    try:
        with pytest.raises(
            SpecError, match="scope option --company is declared as company and as company_id"
        ):
            scope_options()
    finally:
        monkeypatch.undo()
        scope_options.cache_clear()


def test_a_scope_model_may_word_its_own_refusal(monkeypatch: pytest.MonkeyPatch):
    """A refusal raised by the scope model itself (about the scope as a whole, not one
    field) is the message, word for word: the organizing contract fixes its words."""
    from pydantic import model_validator

    class Worded(Scope):
        action_id: int | None = scope_field("--action", help="One action of the org.", metavar="ID")

        @model_validator(mode="before")
        @classmethod
        def _words(cls, data):
            if not data:
                raise ValueError("planroom_activity needs --action")
            return data

    monkeypatch.setattr(get_family("planroom"), "scope_model", lambda spec: Worded)
    with pytest.raises(InputError, match=r"^planroom_activity needs --action$"):
        parse_scope(load_spec("planroom_activity"), {})
    with pytest.raises(InputError, match=r"^action_id \(--action\): Input should be a valid integer"):
        parse_scope(load_spec("planroom_activity"), {"action_id": "x"})  # field errors still name the field
