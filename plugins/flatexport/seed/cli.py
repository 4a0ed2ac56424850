"""`flatexport seed`: the sample warehouse (every source table, several orgs and days)."""

from __future__ import annotations

import click

from flatexport.control.cli import BoundaryCommand
from flatexport.source import source_option

# A sample warehouse, not a load test: bounded so a typo cannot fill the disk.
MAX_PER_ORG_DAY = 1_000_000


@click.command(cls=BoundaryCommand)
@click.option(
    "--source",
    "source_url",
    callback=source_option,
    help="SQLAlchemy URL (default: the embedded DuckDB warehouse).",
)
@click.option(
    "--sessions",
    default=3000,
    show_default=True,
    type=click.IntRange(1, MAX_PER_ORG_DAY),
    help="Sessions per org and day.",
)
@click.option(
    "--activity-events",
    default=2000,
    show_default=True,
    type=click.IntRange(1, MAX_PER_ORG_DAY),
    help="Activity events per org and day.",
)
@click.option("--seed", "seed_value", default=7, show_default=True, type=click.IntRange(0, 2**32 - 1))
def seed(source_url: str | None, sessions: int, activity_events: int, seed_value: int) -> None:
    """Create the sample warehouse: every source table, several orgs and days."""
    import sqlalchemy as sa

    from flatexport.errors import SourceError
    from flatexport.extract import source_error
    from flatexport.seed.warehouse import seed_all
    from flatexport.source import normalise_url, resolve_source_url, safe_url

    url = resolve_source_url(source_url)
    normalise_url(url)  # a malformed or unsupported URL is one line, before anything is written
    try:
        counts = seed_all(
            url, sessions_per_org_day=sessions, activity_events=activity_events, seed=seed_value
        )
    except sa.exc.DBAPIError as exc:  # unreachable, refused: named, masked, one line
        raise source_error(url, exc) from None
    except Exception as exc:  # the drivers' own errors, when raised outside SQLAlchemy
        if not type(exc).__module__.startswith(("psycopg", "duckdb", "_duckdb")):
            raise
        raise SourceError(f"source {safe_url(url)} failed: {' '.join(str(exc).split())}") from None
    click.echo(f"seeded {safe_url(url)}")
    for table, n in counts.items():
        click.echo(f"  {table}: {n:,} rows")
