"""`quality ORG REPORT DATE`: show the gate's outcome for a staged day, from the sidecars.

Reads ``<file>.quality.json`` written by validate_staged (no GX import, so it is quick)
and exits 1 when an error-level check failed or a staged file was never checked,
2 when nothing is staged for that org, report and day.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from flatexport import paths
from flatexport.control.cli import BoundaryCommand, PathParam, checked
from flatexport.formats import format_of_file
from flatexport.orgs import check_org_id
from flatexport.window import parse_ds


def staged_files(staging: str | Path, org: str, report: str, ds: str) -> list[Path]:
    """Staged data files: <staging_dir>/<report>/<org_id>/<ds>/<subscription id>/attempt-<id>/<file
    name> (a verified delivery removes its attempt's folder; failed ones stay to be read)."""
    base = Path(staging) / report / org / ds
    return sorted(p for p in base.glob("*/attempt-*/*") if p.is_file() and format_of_file(p.name) is not None)


_day = checked(lambda value: parse_ds(value).isoformat())


# ORG is a folder name below the staging root: only a valid org id (flatexport.orgs)
_org = checked(check_org_id)


def _report(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from flatexport.specs import available_reports

    if value not in available_reports():
        raise click.BadParameter(f"unknown report {value!r} (known: {', '.join(available_reports())})")
    return value


@click.command("quality", cls=BoundaryCommand)
@click.argument("org", callback=_org)
@click.argument("report", callback=_report)
@click.argument("date", callback=_day)
@click.option(
    "--staging-dir",
    type=PathParam(file_okay=False, path_type=Path),
    default=None,
    help="Staging folder (default: flatexport's staging dir).",
)
def quality(org: str, report: str, date: str, staging_dir: Path | None) -> None:
    """Print every quality check of ORG's REPORT staged for DATE."""
    base = staging_dir or paths.staging_dir()
    files = staged_files(base, org, report, date)
    if not files:
        click.echo(f"error: nothing staged for {report} / {org} / {date} under {base}", err=True)
        raise SystemExit(2)
    failed = False
    for path in files:
        click.echo(f"{path.parent.name}/{path.name}")
        sidecar = Path(str(path) + ".quality.json")
        if not sidecar.is_file():
            click.echo("  not checked yet (no .quality.json)")
            failed = True
            continue
        summary = json.loads(sidecar.read_text(encoding="utf-8"))
        for check in summary.get("checks", []):
            outcome = "ok" if check["success"] else ("FAIL" if check["severity"] == "error" else "WARN")
            counts = f"{check['unexpected_count']}/{check['element_count']}"
            note = f"  {check['note']}" if check.get("note") else ""
            click.echo(f"  {outcome:<4} {check['severity']:<5} {check['name']}  ({counts}){note}")
        verdict = "passed" if summary.get("passed") else "FAILED"
        click.echo(
            f"  {verdict}: {summary.get('errors', 0)} error(s), {summary.get('warnings', 0)} warning(s), "
            f"{summary.get('rows', 0)} rows"
        )
        failed = failed or not summary.get("passed", False)
    raise SystemExit(1 if failed else 0)
