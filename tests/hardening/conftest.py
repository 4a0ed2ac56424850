"""A small world for the hardening tests: a warehouse that knows two orgs, a control
store, a data folder and the allowed local roots, all under the test's tmp_path; and
helpers that assert what a user must see for a bad input: a non-zero exit, one line
``error: ...`` naming the value on stderr, and never a traceback."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flatexport.cli import main
from flatexport.control.store import ControlStore
from tests.support.events import ev, load_events

ORGS = ("org_a", "org_b")
DAY = "2024-11-04"

# What the bad inputs of this package's tests ended as: {"refused": n, "traceback": n,
# "accepted": n}; written to $FLATEXPORT_HARDENING_TALLY (JSON) when set, for the
# issue's closing note.
TALLY: Counter[str] = Counter()


@dataclass
class World:
    root: Path
    warehouse: str
    control_url: str
    deliveries: Path

    def store(self) -> ControlStore:
        return ControlStore(self.control_url)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    warehouse = f"duckdb:///{tmp_path}/warehouse.duckdb"
    load_events(
        warehouse,
        [
            ev(1, f"{DAY}T10:00:00", "session_start", org="org_a"),
            ev(2, f"{DAY}T11:00:00", "session_start", org="org_a"),
            ev(3, f"{DAY}T12:00:00", "session_start", org="org_b"),
        ],
    )
    control = f"sqlite:///{tmp_path}/control.db"
    deliveries = tmp_path / "deliveries"
    deliveries.mkdir()
    monkeypatch.setenv("FLATEXPORT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FLATEXPORT_STAGING_DIR", raising=False)
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", warehouse)
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", control)
    monkeypatch.setenv("FLATEXPORT_LOCAL_ROOTS", str(deliveries))
    monkeypatch.chdir(tmp_path)  # a bad value that slipped through never writes into the checkout
    return World(tmp_path, warehouse, control, deliveries)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def refused(result: Result, *fragments: str, code: int | None = None) -> str:
    """The one error line of a refused command (asserting everything a user relies on)."""
    output = result.output + (result.stderr if result.stderr_bytes else "")
    if "Traceback" in output or (
        result.exception is not None and not isinstance(result.exception, SystemExit)
    ):
        TALLY["traceback"] += 1
        raise AssertionError(f"traceback for a bad input: {result.exception!r}\n{output}")
    if result.exit_code == 0:
        TALLY["accepted"] += 1
        raise AssertionError(f"bad input accepted:\n{output}")
    TALLY["refused"] += 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    if code is not None:
        assert result.exit_code == code, (result.exit_code, lines[0])
    return lines[0]


def write_tally() -> None:
    import os

    path = os.environ.get("FLATEXPORT_HARDENING_TALLY")
    if path:
        Path(path).write_text(json.dumps(dict(TALLY)), encoding="utf-8")


@pytest.fixture(scope="session", autouse=True)
def _tally():
    yield
    write_tally()
