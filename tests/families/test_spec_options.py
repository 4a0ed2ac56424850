"""A spec's options are typed by its family and checked when the spec loads: a typo is
an error naming the spec file and the field, not a silently ignored key at 3 a.m."""

from __future__ import annotations

from pathlib import Path

import pytest

from flatexport.errors import SpecError
from flatexport.specs import load_spec, spec_dir


@pytest.fixture
def spec_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write an edited copy of a real spec into a temporary include dir."""
    real = spec_dir()
    include = tmp_path / "include"
    (include / "report_specs").mkdir(parents=True)
    monkeypatch.setenv("FLATEXPORT_INCLUDE_DIR", str(include))

    def write(report: str, old: str, new: str) -> Path:
        text = (real / f"{report}.yaml").read_text(encoding="utf-8")
        assert old in text
        path = include / "report_specs" / f"{report}.yaml"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return path

    return write


@pytest.mark.parametrize(
    ("report", "old", "new", "message"),
    [
        (
            "clickstream",
            "session_max_minutes: 90",
            "session_max_minute: 90",
            r"clickstream\.yaml: options\.session_max_minute: Extra inputs are not permitted",
        ),
        (
            "clickstream",
            "session_max_minutes: 90",
            "session_max_minutes: -5",
            r"options\.session_max_minutes: Input should be greater than or equal to 0",
        ),
        (
            "activity",
            "grain: events",
            "grain: sessions",
            r"activity\.yaml: options\.grain: Input should be 'events' or 'users'",
        ),
        (
            "activity",
            "when: {meeting_type:",
            "when: {meeting_kind:",
            r"activity\.yaml: options\.sections\.\d+\.entries\.\d+\.when\.meeting_kind\.\[key\]",
        ),
        (
            "activity",
            '"[Emoji name]": {fields: [payload.emoji]}',
            '"[Emoji name]": {fields: [emoji]}',
            r"options\.placeholders\.\[Emoji name\]\.fields: Value error, 'emoji': expected payload\.<key>",
        ),
        ("planroom_summary", "family: planroom", "family: planroom_daily", r"family: unknown report family"),
        ("unique_users", "grain: users", "grain: users\n  docs: x:y", r"options\.docs: Extra inputs"),
    ],
)
def test_bad_options_name_the_file_and_the_field(spec_copy, report, old, new, message) -> None:
    spec_copy(report, old, new)
    with pytest.raises(SpecError, match=message):
        load_spec(report)


def test_a_placeholder_without_a_source_is_refused(spec_copy) -> None:
    spec_copy("activity", '    "[Emoji name]": {fields: [payload.emoji]}\n', "")
    with pytest.raises(SpecError, match=r"content\.emoji: placeholder \[Emoji name\] is not in placeholders"):
        load_spec("activity")
