"""One export: a subscription's report for one day, from source rows to a staged file.

This is the unit the DAG maps over and the CLI runs directly, so both produce the
same bytes. Nothing here talks to a destination: delivery is a separate step, after
the checks, so a failed check never leaves a half-delivered day.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from flatexport.extract import iter_batches, read_sql_file, whole_groups
from flatexport.flatten import FlattenContext, expand_columns, get_flattener
from flatexport.paths import staging_dir
from flatexport.specs import ReportSpec, load_spec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from flatexport.window import Window, day_window, parse_ds
from flatexport.write import ReportWriter

log = logging.getLogger(__name__)


def report_window(spec: ReportSpec, sub: Subscription, ds: dt.date) -> Window:
    """The day in the subscription's zone, widened by the longest session when the
    report has sessions (a session may start 90 minutes before midnight and end after)."""
    reach = dt.timedelta(minutes=int(spec.options.get("session_max_minutes", 0)))
    return day_window(ds, sub.timezone, lookback=reach, lookahead=reach)


def query_params(spec: ReportSpec, sub: Subscription, window: Window) -> dict[str, object]:
    """Every report query gets the tenant and the window; scoped reports get their scope."""
    params: dict[str, object] = {"org_id": sub.org_id, **window.params()}
    params["company_id"] = sub.company_id
    return params


def staged_path(sub: Subscription, spec: ReportSpec, ds: dt.date, root: Path | None = None) -> Path:
    """<staging>/<report>/<org>/<ds>/<subscription>/<file>: one folder per delivery, so
    a failed file stays inspectable and re-runs overwrite only their own."""
    folder = (root or staging_dir()) / spec.report / sub.org_id / ds.isoformat() / str(sub.id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / spec.file_name(ds.isoformat(), sub.format)


def run_export(
    sub: Subscription,
    ds: str | dt.date,
    source_url: str | None = None,
    out_path: Path | None = None,
    batch_rows: int | None = None,
) -> StagedFile:
    spec = load_spec(sub.report)
    day = parse_ds(ds)
    window = report_window(spec, sub, day)
    columns = spec.select(sub.columns, sub.exclude_pii)
    flattener = get_flattener(spec)
    ctx = FlattenContext(spec=spec, window=window, subscription=sub)
    path = out_path or staged_path(sub, spec, day)
    tmp = path.with_name(f".{path.name}.part")

    sql = read_sql_file(spec.sql_path())
    batches = iter_batches(sql, query_params(spec, sub, window), source_url, **_batch_kw(batch_rows))
    chunks = whole_groups(batches, flattener.group_key) if flattener.group_key else batches

    # Reports with data-dependent (`expand`) columns learn them from the first frame, so
    # their header is written only once that frame is there.
    expands = any(c.rule_kind == "expand" for c in columns)
    writer = None if expands else ReportWriter(tmp, sub.format, columns)
    try:
        for chunk in chunks:
            frame = flattener.fn(chunk, ctx)
            if writer is None:
                columns = expand_columns(columns, frame)
                writer = ReportWriter(tmp, sub.format, columns)
            writer.write(frame)
        if writer is None:
            columns = expand_columns(columns, None)
            writer = ReportWriter(tmp, sub.format, columns)
        rows, sha256, size = writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    os.replace(tmp, path)
    if ctx.warnings:
        log.info("%s %s %s warnings: %s", spec.report, sub.org_id, day, dict(ctx.warnings))
    return StagedFile(
        path=str(path),
        name=spec.file_name(day.isoformat(), sub.format),
        report=spec.report,
        org_id=sub.org_id,
        ds=day.isoformat(),
        format=sub.format,
        rows=rows,
        sha256=sha256,
        bytes=size,
        columns=[c.out_header for c in columns],  # as written in the file's header
        window_start=window.start.isoformat(),
        window_end=window.end.isoformat(),
        warnings=dict(sorted(ctx.warnings.items())),
        subscription_id=sub.id,
    )


def _batch_kw(batch_rows: int | None) -> dict[str, int]:
    return {"batch_rows": batch_rows} if batch_rows else {}
