"""Each input that ended in a Python traceback in issue 9's trial, as a user types it:
now a non-zero exit (2 for a bad value, 1 for a failed run), one line naming the value,
no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.conftest import DAY, World, invoke, refused


@pytest.mark.parametrize("day", ["", " ", "0001-01-01", "9999-12-31", "2024-02-30", "20241104", "2024-W45-1"])
def test_bad_dates_are_usage_errors(world: World, day: str) -> None:
    line = refused(invoke("run", "clickstream", "--date", day, "--org", "org_a"), "--date", code=2)
    assert repr(day) in line or day.strip() in line


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", ""])
def test_bad_dates_everywhere_a_date_is_taken(world: World, day: str) -> None:
    refused(invoke("dag-test", "clickstream_daily", "--date", day), "--date", code=2)
    refused(invoke("deliveries", "--from", day), "--from", code=2)
    refused(invoke("quality", "org_a", "clickstream", day), code=2)
    refused(
        invoke(
            "destinations",
            "add",
            "--org",
            "org_a",
            "--report",
            "clickstream",
            "--start-date",
            day,
            world.deliveries.as_uri(),
        ),
        "--start-date",
        code=2,
    )


@pytest.mark.parametrize("sub_id", ["²", "1" * 30, "-1", "0", "1.5", " ", "", "1; drop", "٣"])
@pytest.mark.parametrize("action", ["show", "test", "enable", "disable", "remove"])
def test_bad_subscription_ids(world: World, action: str, sub_id: str) -> None:
    refused(invoke("destinations", action, "--", sub_id), "subscription id", code=2)


def test_a_subscriptions_file_that_is_not_utf8(world: World, tmp_path: Path) -> None:
    path = tmp_path / "subs.yaml"
    path.write_bytes(b"- org_id: org_a\n  report: clickstream\n  destination: file:///caf\xe9\n")
    line = refused(invoke("import-subscriptions", str(path)), str(path), "not UTF-8", code=2)
    assert "0xe9" in line


@pytest.mark.parametrize(
    "url",
    [
        "",
        "foo",
        "foo://",
        "http://example.com/db",
        "sqlite:///x.db",
        "postgresql://[bad",
        "postgresql://u@h:notaport/db",
        "duckdb:///no/such/file.duckdb",
        "duckdb:///\x00x",
        "://",
    ],
)
def test_malformed_source_urls(world: World, url: str) -> None:
    refused(
        invoke(
            "run",
            "clickstream",
            "--date",
            DAY,
            "--org",
            "org_a",
            "--to",
            str(world.deliveries),
            "--source",
            url,
        )
    )
    refused(invoke("seed", "--source", url)) if url not in ("duckdb:///no/such/file.duckdb",) else None


@pytest.mark.parametrize("url", ["file:///tmp/a\x00b", "file:///tmp/a%00b"])
def test_a_nul_byte_in_a_file_url(world: World, url: str) -> None:
    refused(invoke("destinations", "add", "--org", "org_a", "--report", "clickstream", url), code=2)


def test_docs_into_a_missing_folder(world: World, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "docs.md"
    refused(invoke("docs", "clickstream", "--out", str(out)), str(out), "No such file or directory")
    assert not out.parent.exists()


@pytest.mark.parametrize("dag_id", ["nope", "../dags/clickstream_daily", "", "clickstream_daily.py", "\x00"])
def test_unknown_dag_ids(world: World, dag_id: str) -> None:
    refused(invoke("dag-test", dag_id, "--date", DAY), "DAG", code=2)


@pytest.mark.parametrize(
    "args",
    [
        ("--sessions", "-5"),
        ("--sessions", "0"),
        ("--sessions", "99999999999999999999"),
        ("--activity-events", "-1"),
        ("--activity-events", str(10**12)),
        ("--seed", "-1"),
        ("--seed", str(2**40)),
        ("--sessions", "ten"),
    ],
)
def test_negative_or_huge_seed_sizes(world: World, args: tuple[str, str]) -> None:
    refused(invoke("seed", *args), args[0], code=2)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "clickstream", "--date", "", "--org", "org_a"],
        ["destinations", "show", "²"],
        ["dag-test", "nope", "--date", DAY],
        ["seed", "--sessions", "-5"],
    ],
)
def test_the_installed_command_exits_2_with_one_line(world: World, argv: list[str]) -> None:
    """Through the console entry point itself (what a shell runs), not click's test runner."""
    exe = Path(sys.executable).with_name("flatexport")
    done = subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
