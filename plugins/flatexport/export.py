"""One export: a subscription's report for one day, from source rows to a staged file.

This is the unit the DAG maps over and the CLI runs directly, so both produce the
same bytes. Nothing here talks to a destination: delivery is a separate step, after
the checks, so a failed check never leaves a half-delivered day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from flatexport.extract import iter_batches, read_sql_file, whole_groups
from flatexport.flatten import FlattenContext, expand_columns, get_flattener
from flatexport.formats import get_format
from flatexport.paths import staging_dir
from flatexport.settings import get_settings
from flatexport.specs import ColumnSpec, ReportSpec, load_spec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from flatexport.window import Window, day_window, parse_ds
from flatexport.write import FileInfo, ReportWriter

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


def export_workers(spec: ReportSpec) -> int:
    """How many processes export one file. Reports whose rows are keyed by time in the
    window (spec option ``sliceable``) can be cut into that many time slices, exported in
    parallel and joined in order: the same bytes, sooner, for more memory (one DuckDB
    and one pandas chunk per worker). FLATEXPORT_EXPORT_WORKERS, default 1."""
    if not spec.options.get("sliceable"):
        return 1
    return max(1, min(get_settings().export_workers, os.cpu_count() or 1))


def time_slices(window: Window, parts: int) -> list[Window]:
    """Consecutive sub-windows on whole seconds, so no second of session starts (the
    file's sort key) is split between two slices."""
    span = int((window.end - window.start).total_seconds())
    cuts = [window.start + dt.timedelta(seconds=span * i // parts) for i in range(parts + 1)]
    return [dataclasses.replace(window, start=a, end=b) for a, b in zip(cuts, cuts[1:], strict=False)]


def iter_frames(
    spec: ReportSpec, ctx: FlattenContext, source_url: str | None, batch_rows: int | None
) -> Iterator[pd.DataFrame]:
    """Extract the window's rows and flatten them chunk by chunk."""
    flattener = get_flattener(spec)
    sql = read_sql_file(spec.sql_path())
    params = query_params(spec, ctx.subscription, ctx.window)
    batches = iter_batches(sql, params, source_url, **_batch_kw(batch_rows))
    chunks = whole_groups(batches, flattener.group_key) if flattener.group_key else batches
    for chunk in chunks:
        yield flattener.fn(chunk, ctx)


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
    ctx = FlattenContext(spec=spec, window=window, subscription=sub)
    path = out_path or staged_path(sub, spec, day)
    tmp = path.with_name(f".{path.name}.part")

    info = FileInfo(title=spec.report, timezone=sub.timezone, day=day)
    workers = export_workers(spec)
    if workers > 1:
        rows, sha256, size, details = _export_in_slices(
            sub, spec, window, columns, tmp, ctx, source_url, batch_rows, workers, info
        )
    else:
        rows, sha256, size, columns, details = _export_in_process(
            spec, ctx, columns, tmp, source_url, batch_rows, info
        )
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
        columns=[get_format(sub.format).column_key(c) for c in columns],  # as named in the file
        window_start=window.start.isoformat(),
        window_end=window.end.isoformat(),
        warnings=dict(sorted(ctx.warnings.items())),
        subscription_id=sub.id,
        format_details=details,
    )


def _export_in_process(
    spec: ReportSpec,
    ctx: FlattenContext,
    columns: list[ColumnSpec],
    tmp: Path,
    source_url: str | None,
    batch_rows: int | None,
    info: FileInfo,
) -> tuple[int, str, int, list[ColumnSpec], dict]:
    fmt = ctx.subscription.format
    # Reports with data-dependent (`expand`) columns learn them from the first frame, so
    # their header is written only once that frame is there.
    expands = any(c.rule_kind == "expand" for c in columns)
    writer = None if expands else ReportWriter(tmp, fmt, columns, info=info)
    try:
        for frame in iter_frames(spec, ctx, source_url, batch_rows):
            if writer is None:
                columns = expand_columns(columns, frame)
                writer = ReportWriter(tmp, fmt, columns, info=info)
            writer.write(frame)
        if writer is None:
            columns = expand_columns(columns, None)
            writer = ReportWriter(tmp, fmt, columns, info=info)
        rows, sha256, size = writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return rows, sha256, size, columns, writer.details


def _export_in_slices(
    sub: Subscription,
    spec: ReportSpec,
    window: Window,
    columns: list[ColumnSpec],
    tmp: Path,
    ctx: FlattenContext,
    source_url: str | None,
    batch_rows: int | None,
    workers: int,
    info: FileInfo,
) -> tuple[int, str, int, dict]:
    """Each slice is exported by a fresh process into an uncompressed, headerless part;
    the parts are then streamed, in order, through one writer (header, gzip, SHA-256)."""
    slices = time_slices(window, workers)
    parts = [tmp.with_name(f"{tmp.name}.{i}") for i in range(len(slices))]
    sub_data = sub.model_dump(mode="json")
    jobs = [
        (sub_data, w.ds.isoformat(), w.start.isoformat(), w.end.isoformat(), str(p), source_url, batch_rows)
        for w, p in zip(slices, parts, strict=True)
    ]
    writer = ReportWriter(tmp, sub.format, columns, info=info)
    try:
        context = multiprocessing.get_context("spawn")  # no inherited locks or connections
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(_export_part, *zip(*jobs, strict=True)))
        for part, (rows, warnings) in zip(parts, results, strict=True):
            writer.append_body(part, rows)
            ctx.warnings.update(warnings)
        return (*writer.close(), writer.details)
    except BaseException:
        writer.abort()
        raise
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def _export_part(
    sub_data: dict, ds: str, start: str, end: str, part: str, source_url: str | None, batch_rows: int | None
) -> tuple[int, dict[str, int]]:
    """One time slice, in a worker process: the rows whose window key falls in it."""
    sub = Subscription.model_validate(sub_data)
    spec = load_spec(sub.report)
    window = dataclasses.replace(
        report_window(spec, sub, parse_ds(ds)),
        start=dt.datetime.fromisoformat(start),
        end=dt.datetime.fromisoformat(end),
    )
    ctx = FlattenContext(spec=spec, window=window, subscription=sub)
    columns = spec.select(sub.columns, sub.exclude_pii)
    writer = ReportWriter(Path(part), get_format(sub.format).base, columns, header=False)
    try:
        for frame in iter_frames(spec, ctx, source_url, batch_rows):
            writer.write(frame)
        rows, _, _ = writer.close()
    except BaseException:
        writer.abort()
        raise
    return rows, dict(ctx.warnings)


def _batch_kw(batch_rows: int | None) -> dict[str, int]:
    return {"batch_rows": batch_rows} if batch_rows else {}
