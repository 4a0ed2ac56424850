"""Logs go to stderr and results to stdout (also once Airflow has been imported to look a
connection up); -v turns progress on as its help says; a source file that is not a
DuckDB database is refused by its header and DuckDB never installs or loads an extension."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from flatexport.source import engine_for
from tests.hardening.conftest import DAY, World, invoke, refused


def flatexport(world: World, *argv: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()}
    if home is not None:
        env["HOME"] = str(home)
    exe = str(Path(sys.executable).with_name("flatexport"))
    return subprocess.run([exe, *argv], capture_output=True, text=True, env=env, timeout=300)


def test_logs_on_stderr_results_on_stdout_and_v_as_the_help_says(world: World) -> None:
    run = ["run", "clickstream", "--date", DAY, "--org", "org_a", "--to", str(world.deliveries)]
    quiet = flatexport(world, *run)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.splitlines() and all("rows=" in line for line in quiet.stdout.splitlines())
    assert "INFO" not in quiet.stderr
    loud = flatexport(world, "-v", *run)
    assert loud.returncode == 0, loud.stderr
    assert loud.stdout.splitlines() == quiet.stdout.splitlines()  # the same results, nothing else
    assert "INFO" in loud.stderr and "delivered" in loud.stderr
    assert "Log progress to stderr" in flatexport(world, "--help").stdout


def sqlite_file(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE clickstream_events (org_id TEXT)")
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda p: sqlite_file(p),
        lambda p: p.write_bytes(b"PAR1" + b"\x00" * 64) and p,
        lambda p: p.write_text("org_id\norg_a\n") and p,
        lambda p: p.write_bytes(b"") or p,
    ],
    ids=["sqlite", "parquet", "csv", "empty"],
)
def test_a_foreign_file_as_source_is_refused_without_fetching_an_extension(
    world: World, tmp_path: Path, make
) -> None:
    (tmp_path / "foreign").mkdir()
    path = tmp_path / "foreign" / "warehouse.duckdb"
    make(path)
    home = tmp_path / "home"
    home.mkdir()
    url = f"duckdb:///{path}"
    done = flatexport(
        world,
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
        home=home,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "not a DuckDB database" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (home / ".duckdb").exists()  # no extension downloaded or installed
    refused(invoke("seed", "--source", url), "not a DuckDB database", code=2)
    assert path.read_bytes()[:4] != b"DUCK"  # seed did not overwrite it


def test_duckdb_sources_never_install_or_load_extensions(world: World) -> None:
    engine = engine_for(world.warehouse)
    with engine.connect() as conn:
        settings = dict(
            conn.execute(
                sa.text(
                    "SELECT name, value FROM duckdb_settings() "
                    "WHERE name IN ('autoinstall_known_extensions', 'autoload_known_extensions')"
                )
            ).all()
        )
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
