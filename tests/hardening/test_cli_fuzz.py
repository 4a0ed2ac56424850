"""Every command and option of `flatexport`, found by walking click's command tree (a new
command or option is covered by being added), given generated bad values one at a time:
always a non-zero exit, one ``error: ...`` line naming the problem, never a traceback.

Each parameter gets values that are wrong for its kind: for a path, one with a NUL byte,
under a missing or unwritable folder, or a file where a folder is wanted; for a number,
text or a number out of range; for a choice, a word not offered; for text, junk with a
character no id, name, URL or date of ours can hold (control characters, NUL, spaces,
non-ASCII digits, path climbs, percent-escapes). Required parameters that are not under
test get a valid value from VALID (a command with a required parameter not listed there
fails this test, so its author adds one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flatexport.cli import main
from flatexport.orgs import is_org_id
from tests.hardening.conftest import DAY, TALLY, World, invoke

# A valid value for each required parameter, by click parameter name.
VALID = {
    "report": "clickstream",
    "ds": DAY,
    "date": DAY,
    "org": "org_a",
    "org_id": "org_a",
    "url": "{deliveries}/fuzz",
    "sub_id": "1",
    "dag_id": "clickstream_daily",
    "path": "{subscriptions}",
    "start": DAY,
    "end": DAY,
    "email": "admin@org-a.example",
}

# Values that look bad but mean something by design: a blank --contact clears it.
MEANINGFUL = {"contact": {""}}
FILTERS = {("deliveries",), ("destinations", "list")}

# Junk that no value of ours may contain; hypothesis adds random text around it.
POISON = ["\x00", "\x01", "\n", " ", "²", "٣", "/../", "%2e%2e/", "'", '"', "\u202e", "\t", "ö", "*", "?"]
HOSTILE = ["", " ", "-1", "1" * 30, "../../../etc/passwd", "%00", "²", "NaN", "1e309", "\x00", "--help"]


def commands(
    group: click.Group = main, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path, command


def fuzzable() -> list[tuple[tuple[str, ...], str]]:
    """(command path, parameter name) for every parameter that can take a value."""
    cases = []
    for path, command in commands():
        for param in command.params:
            if getattr(param, "is_flag", False) or param.name == "help":
                continue
            cases.append((path, param.name))
    return cases


def _param(path: tuple[str, ...], name: str) -> click.Parameter:
    command = dict(commands())[path]
    return next(p for p in command.params if p.name == name)


def bad_values(param: click.Parameter, existing_file: str, missing: str) -> st.SearchStrategy[str]:
    """Values wrong for this kind of parameter (see the module docstring)."""
    kind = param.type
    junk = st.builds(
        lambda a, p, b: a + p + b, st.text(max_size=12), st.sampled_from(POISON), st.text(max_size=12)
    )
    if isinstance(kind, click.Path):
        paths = [f"{missing}/a\x00b", "/proc/1/no/such/x", ""]
        if kind.exists or not kind.dir_okay:  # a file to read, or to write into a missing folder
            paths.append(f"{missing}/no/such/folder/x")
        if not kind.file_okay:
            paths.append(existing_file)  # a file where a folder is wanted
        if kind.exists:
            paths.append(f"{missing}/nothing-here")
        return st.sampled_from(paths)
    if isinstance(kind, click.IntRange):
        low = (kind.min or 0) - 1 if kind.min is not None else None
        high = (kind.max or 0) + 1 if kind.max is not None else None
        ranges = [st.integers(max_value=low)] if low is not None else []
        ranges += [st.integers(min_value=high)] if high is not None else []
        return st.one_of(*ranges, junk, st.sampled_from(["", "1.5", "ten"])).map(str)
    if kind == click.INT:
        return st.one_of(junk, st.sampled_from(["", "1.5", "ten", "0x10", "1" * 40]))
    if isinstance(kind, click.Choice):
        return st.one_of(st.sampled_from(["", "CSV", "xls", "csv.zip", "../csv"]), junk)
    return st.one_of(st.sampled_from(HOSTILE), junk)


def argv_for(path: tuple[str, ...], name: str, bad: str, world: World, subscriptions: Path) -> list[str]:
    command = dict(commands())[path]
    options: list[str] = []
    arguments: list[str] = []
    for param in command.params:
        if param.name == name:
            value = bad
        elif param.required:
            assert param.name in VALID, (
                f"no valid value for {param.name} of {' '.join(path)}: add one to VALID"
            )
            value = VALID[param.name].format(
                deliveries=world.deliveries.as_uri(), subscriptions=subscriptions
            )
        else:
            continue
        if isinstance(param, click.Argument):
            arguments.append(value)
        else:
            options.append(f"{param.opts[-1]}={value}" if param.opts[-1].startswith("--") else param.opts[-1])
            if not param.opts[-1].startswith("--"):
                options.append(value)
    return [*path, *options, "--", *arguments]


@pytest.fixture
def subscriptions(world: World) -> Path:
    path = world.root / "subs.yaml"
    path.write_text(
        f"- org_id: org_a\n  report: clickstream\n  destination: {(world.deliveries / 'f').as_uri()}\n",
        encoding="utf-8",
    )
    return path


# Parameters that are filters or free choices: any value that is well-formed is a fine
# request ("no subscriptions"), so only malformed ones are generated (junk, not HOSTILE).
CASES = fuzzable()


def test_the_tree_is_walked() -> None:
    """The walk finds every command (so a new one is fuzzed), including the sub-CLIs'."""
    names = {" ".join(p) for p, _ in commands()}
    assert {"run", "docs", "seed", "quality", "dag-test", "import-subscriptions", "deliveries"} <= names
    assert {"destinations add", "destinations show", "destinations remove"} <= names
    assert len(CASES) >= 40


@pytest.mark.parametrize(("path", "name"), CASES, ids=[f"{' '.join(p)}:{n}" for p, n in CASES])
def test_bad_values_are_refused_with_one_line(
    world: World, subscriptions: Path, path: tuple[str, ...], name: str
) -> None:
    param = _param(path, name)
    existing_file = str(subscriptions)
    missing = str(world.root / "missing")

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(bad=bad_values(param, existing_file, missing))
    def check(bad: str) -> None:
        assume(bad not in MEANINGFUL.get(name, ()))
        # a well-formed org id is a fine filter ("no deliveries"), whether or not it exists
        assume(not (name == "org" and path in FILTERS and is_org_id(bad)))
        result = invoke(*argv_for(path, name, bad, world, subscriptions))
        output = result.output
        if "Traceback" in output or (result.exception and not isinstance(result.exception, SystemExit)):
            TALLY["traceback"] += 1
            raise AssertionError(f"{' '.join(path)} {name}={bad!r}: traceback {result.exception!r}")
        if result.exit_code == 0:
            TALLY["accepted"] += 1
            raise AssertionError(f"{' '.join(path)} {name}={bad!r} accepted:\n{output}")
        TALLY["refused"] += 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (bad, result.stderr)
        assert result.exit_code in (1, 2), (bad, result.exit_code)

    check()
