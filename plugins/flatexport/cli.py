"""The `flatexport` command: seed, docs, run, and the customer-success commands.

Every failure a user can cause ends as one line on stderr naming the bad value, with
a non-zero exit status; stack traces are for bugs only.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path

import click

from flatexport import cli_logging
from flatexport.cli_scope import pop_scope_options, with_scope_options
from flatexport.control.cli import BoundaryGroup, PathParam, checked, one_line
from flatexport.control.operations import csv_list
from flatexport.errors import FlatexportError, InputError
from flatexport.masking import mask_url
from flatexport.orgs import check_org_id
from flatexport.source import source_option
from flatexport.subscriptions import FORMATS, Subscription, check_timezone
from flatexport.window import parse_ds


@click.group(cls=BoundaryGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr (results stay on stdout).")
def main(verbose: bool) -> None:
    """flatexport: nightly flattened exports, delivered to each customer's destination."""
    cli_logging.configure(verbose)


# A report day (YYYY-MM-DD, within the supported years); empty is refused, not unset.
_date = checked(parse_ds)
_org = checked(check_org_id)


def _csv_list(_ctx, param, value):
    try:
        return csv_list(value, f"--{param.name}")
    except InputError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("report")
@click.option(
    "--out",
    type=PathParam(dir_okay=False, path_type=Path),
    help="Write to a file instead of stdout.",
)
def docs(report: str, out: Path | None) -> None:
    """Render REPORT's data dictionary (Markdown) from its spec."""
    from flatexport.docs import render_for

    text = render_for(report)
    if out:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror or type(exc).__name__}") from None
        click.echo(f"wrote {out}")
    else:
        click.echo(text)


@main.command()
@click.argument("report")
@click.option("--date", "ds", required=True, callback=_date, help="The day to export, YYYY-MM-DD.")
@click.option("--org", required=True, callback=_org, help="The customer organisation (tenant) id.")
@click.option("--timezone", default=None, help="IANA time zone of the day (default UTC).")
@click.option(
    "--source",
    "source_url",
    callback=source_option,
    help="SQLAlchemy URL; default: the DAG's source (the flatexport_source Airflow connection, "
    "else FLATEXPORT_SOURCE_URL, else the embedded DuckDB).",
)
@click.option(
    "--to",
    "to_dir",
    type=PathParam(file_okay=False, path_type=Path),
    help="Write into this folder.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--columns", callback=_csv_list, help="Comma-separated subset of columns.")
@click.option("--exclude-pii", is_flag=True, help="Leave out the columns the spec flags as PII.")
@with_scope_options
@click.option("--no-check", is_flag=True, help="Skip the data-quality gate (not recommended).")
def run(
    report: str,
    ds: dt.date,
    org: str,
    timezone: str | None,
    source_url: str | None,
    to_dir: Path | None,
    fmt: str,
    columns: list[str] | None,
    exclude_pii: bool,
    no_check: bool,
    **scope_opts: object,
) -> None:
    """Export REPORT for one org and day: into --to DIR, or to the org's subscriptions
    (those whose scope has the values given, when scope options are given)."""
    from flatexport.airflow_support.tasks import source_url_for_run
    from flatexport.export import check_org_and_scope
    from flatexport.families import scope_from_options
    from flatexport.pipeline import control_store, run_subscription
    from flatexport.specs import load_spec

    source_url = source_url_for_run(source_url)  # the DAG's source: see source_url_for_run
    spec = load_spec(report)
    given = pop_scope_options(scope_opts)
    scope = scope_from_options(spec, given)
    if timezone is not None:
        check_timezone(timezone)
    check_org_and_scope(spec, org, scope, source_url)
    run_id = f"cli__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    if to_dir is not None:
        sub = Subscription(
            id="adhoc",
            org_id=org,
            report=report,
            destination=to_dir.resolve().as_uri(),
            format=fmt,
            timezone=timezone or "UTC",
            columns=columns,
            exclude_pii=exclude_pii,
            scope=scope.stored(),
        )
        _report(run_subscription(sub, ds, run_id, source_url, store=None, check=not no_check))
        return
    store = control_store()
    wanted = scope.stored()
    subs = [
        s
        for s in store.list(org=org, report=report, enabled_only=True)
        if all(s.scope.get(k) == v for k, v in wanted.items())
    ]
    if not subs:
        scoped = "".join(f" with {k} {v}" for k, v in wanted.items())
        raise InputError(
            f"org {org!r} has no enabled {report} subscription{scoped} (add one, or pass --to DIR)"
        )
    failures = 0
    for sub in subs:
        try:
            _report(run_subscription(sub, ds, run_id, source_url, store=store, check=not no_check))
        except FlatexportError as exc:
            failures += 1
            click.echo(
                f"error: subscription {sub.id} ({mask_url(sub.destination)}): {one_line(exc)}", err=True
            )
    if failures:
        sys.exit(1)


def _report(outcome: dict) -> None:
    staged, receipt = outcome["staged"], outcome["receipt"]
    warn = "".join(f"\n  warning: {k}: {v}" for k, v in staged["warnings"].items())
    click.echo(f"{receipt['location']}  rows={staged['rows']}  sha256={staged['sha256'][:12]}…{warn}")


@main.command()
@click.argument("report")
@click.option("--org", required=True, help="The customer organisation (tenant) id.")
@with_scope_options
@click.option(
    "--date",
    "ds",
    callback=_date,
    help="The day (reports of one day: required). History reports: "
    "leave it out for everything up to now, or give a day for everything up to its end.",
)
@click.option("--email", required=True, help="The requester: an admin of the org, the only recipient.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--local", is_flag=True, help="Run it in this process now, instead of queueing it in Airflow.")
def request(
    report: str, org: str, ds: dt.date | None, email: str, fmt: str, local: bool, **scope_opts: object
) -> None:
    """Ask for REPORT now, e-mailed to --email (an admin of --org). The request is checked
    first; then it is queued as an on_demand_export DAG run, or with --local run here."""
    from flatexport.airflow_support.tasks import source_url_for_run
    from flatexport.families import scope_options
    from flatexport.ondemand import (
        DATE,
        EMAIL,
        FORMAT,
        ORG,
        REPORT,
        queue_request,
        run_request,
        validate_request,
    )

    given = pop_scope_options(scope_opts)
    raw = {o.field: o.value(given[o.param]) for o in scope_options() if given.get(o.param) is not None}
    raw.update({REPORT: report, ORG: org, EMAIL: email, DATE: ds, FORMAT: fmt})
    source_url = source_url_for_run(None)
    accepted = validate_request(raw, source_url=source_url)
    if not local:
        run_id = queue_request(accepted)
        click.echo(f"queued: {accepted.describe()} (Airflow DAG run {run_id})")
        return
    from flatexport.pipeline import control_store

    outcome = run_request(accepted, store=control_store(), source_url=source_url)
    staged = outcome["staged"]
    click.echo(f"sent: {accepted.describe()}: {staged['name']} rows={staged['rows']}")


@main.command("import-subscriptions")
@click.argument("path", type=PathParam(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    "source_url",
    callback=source_option,
    help="Warehouse scopes are checked against (default FLATEXPORT_SOURCE_URL or the embedded one).",
)
def import_subscriptions(path: Path, source_url: str | None) -> None:
    """Load subscriptions from a YAML list (the demo's); existing ones are kept. Every
    entry gets the checks of `destinations add` first; nothing is saved if one fails."""
    from flatexport.control.operations import import_subscriptions as import_file
    from flatexport.pipeline import control_store

    added = len(import_file(control_store(), path, source_url))
    click.echo(f"imported {added} new subscription(s) from {path}")


def _dag_id(_ctx, _param, value):
    from flatexport.airflow_support.runner import dag_ids

    known = dag_ids()
    if value not in known:
        raise click.BadParameter(f"unknown DAG {value!r} (known: {', '.join(known)})")
    return value


@main.command("dag-test")
@click.argument("dag_id", callback=_dag_id)
@click.option("--date", "ds", required=True, callback=_date, help="The report day, YYYY-MM-DD.")
def dag_test(dag_id: str, ds: dt.date) -> None:
    """Run one family DAG for one day in-process through Airflow (dag.test)."""
    from flatexport.airflow_support.runner import run_dag_for_day

    state = run_dag_for_day(dag_id, ds)
    click.echo(f"{dag_id} {ds}: {state}")
    if state != "success":
        sys.exit(1)


def _register_optional() -> None:
    """Commands that live with their subsystem (control plane, quality, sample data)."""
    from flatexport.backfill import backfill_command
    from flatexport.seed.cli import seed

    main.add_command(seed)
    main.add_command(backfill_command())
    try:
        from flatexport.control.cli import deliveries, destinations

        main.add_command(destinations)
        main.add_command(deliveries)
    except ImportError:  # pragma: no cover - subsystem not installed
        pass
    try:
        from flatexport.quality.cli import quality

        main.add_command(quality)
    except ImportError:  # pragma: no cover
        pass


_register_optional()


def entry_point() -> None:
    """Console entry point. Exits without interpreter finalization: DuckDB's nanobind
    bindings print dozens of harmless "leaked function" lines during finalization, which
    would bury the command's own output. Everything is flushed and closed by then.

    Exit status: 0 done, 1 a run (export, check, delivery) failed, 2 a usage error (a bad
    option or value, named in the one line on stderr)."""
    try:
        main(standalone_mode=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry_point()
