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
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from flatexport.errors import InputError
from flatexport.extract import chunks, has_rows, iter_batches, read_sql_file
from flatexport.families import family_of, parse_scope
from flatexport.families.base import Scope
from flatexport.flatten import FlattenContext
from flatexport.formats import get_format
from flatexport.paths import staging_dir
from flatexport.settings import get_settings
from flatexport.specs import ColumnSpec, ReportSpec, file_name, load_spec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from flatexport.window import Window, parse_ds
from flatexport.write import FileInfo, ReportWriter

if TYPE_CHECKING:
    from flatexport.quality.in_pass import PassChecks

log = logging.getLogger(__name__)


def report_window(spec: ReportSpec, sub: Subscription, ds: dt.date) -> Window:
    """The time a run for ``ds`` covers in the subscription's zone: the report's family
    decides (a day, a day widened by the longest session, everything up to a cutoff)."""
    return family_of(spec).window(spec, ds, sub.timezone)


def query_params(spec: ReportSpec, sub: Subscription, window: Window) -> dict[str, object]:
    """Every report query gets the tenant and the window; the family adds what the
    subscription's scope binds (a company, an action)."""
    scope = parse_scope(spec, sub.scope)
    # The engine's parameters come last: no family can rebind the tenant or the window.
    return {**family_of(spec).query_params(spec, scope), "org_id": sub.org_id, **window.params()}


def check_org_and_scope(spec: ReportSpec, org_id: str, scope: Scope, source_url: str | None) -> None:
    """Before a run: the source must know the org (``include/sql/<report>/org_exists.sql``,
    so a typo in --org is not mistaken for a quiet day) and the scope must be the org's."""
    if not has_rows(spec.sql_dir() / "org_exists.sql", {"org_id": org_id}, source_url):
        raise InputError(f"unknown org {org_id!r}: the source has no {spec.report} data for it")
    check_scope(spec, org_id, scope, source_url)


def check_scope(spec: ReportSpec, org_id: str, scope: Scope, source_url: str | None) -> None:
    """A scope (an action, a contact list, a company) must be one the org owns, as the
    report's family asks the source; the whole org (an empty scope) needs no look-up.
    Checked before a run, when a subscription is added, and before every export."""
    if scope.stored():
        family_of(spec).check_scope(spec, scope, org_id, source_url)


def staged_path(
    sub: Subscription, spec: ReportSpec, ds: dt.date, root: Path | None = None, attempt: str | None = None
) -> Path:
    """<staging>/<report>/<org>/<ds>/<subscription>/attempt-<id>/<file> on this machine:
    one folder per attempt (see flatexport.staging), so concurrent runs never share a file
    and a failed one stays inspectable. The pipeline stages through flatexport.staging."""
    from flatexport.staging import ATTEMPT_PREFIX, segment

    parts = [spec.report, sub.org_id, ds.isoformat(), str(sub.id), attempt or uuid.uuid4().hex[:12]]
    names = ("report", "org", "day", "subscription", "attempt")
    checked = [segment(p, what) for p, what in zip(parts, names, strict=True)]
    folder = (root or staging_dir()).joinpath(*checked[:-1], ATTEMPT_PREFIX + checked[-1])
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / file_name(spec, ds, sub.format, sub.scope)


def export_workers(spec: ReportSpec) -> int:
    """How many processes export one file. Reports whose rows are keyed by time in the
    window (spec option ``sliceable``) can be cut into that many time slices, exported in
    parallel and joined in order: the same bytes, sooner, for more memory (one DuckDB
    and one pandas chunk per worker). FLATEXPORT_EXPORT_WORKERS, default 1."""
    if not spec.options.sliceable:
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
    """Extract the window's rows and flatten them chunk by chunk, as the family says."""
    family = family_of(spec)
    sql = read_sql_file(spec.sql_path())
    params = query_params(spec, ctx.subscription, ctx.window)
    batches = iter_batches(sql, params, source_url, **_batch_kw(batch_rows))
    for chunk in chunks(batches, family.chunking(spec)):
        yield family.flatten(chunk, ctx)


def flatten_context(spec: ReportSpec, sub: Subscription, window: Window) -> FlattenContext:
    return FlattenContext(spec=spec, window=window, subscription=sub, scope=parse_scope(spec, sub.scope))


def run_export(
    sub: Subscription,
    ds: str | dt.date,
    source_url: str | None = None,
    out_path: Path | None = None,
    batch_rows: int | None = None,
    in_pass: PassChecks | None = None,
) -> StagedFile:
    """The subscription's file for day ``ds``: the window its report's family gives the day."""
    spec = load_spec(sub.report)
    window = report_window(spec, sub, parse_ds(ds))
    return export_window(sub, window, source_url, out_path, batch_rows, in_pass=in_pass)


def run_export_as_of(
    sub: Subscription,
    moment: dt.datetime,
    source_url: str | None = None,
    out_path: Path | None = None,
    batch_rows: int | None = None,
    in_pass: PassChecks | None = None,
) -> StagedFile:
    """The subscription's file as of ``moment`` (an on-demand request of a report that is
    the whole history of its scope): rows created before that instant, to the whole
    second, times in UTC, the file named after its UTC date. Refused (InputError) for a
    report that covers one day at a time."""
    spec = load_spec(sub.report)
    as_of = report_window(spec, sub, moment.astimezone(dt.UTC).date()).until(moment)
    return export_window(sub, as_of, source_url, out_path, batch_rows, in_pass=in_pass)


def export_window(
    sub: Subscription,
    window: Window,
    source_url: str | None = None,
    out_path: Path | None = None,
    batch_rows: int | None = None,
    *,
    in_pass: PassChecks | None = None,
) -> StagedFile:
    """Export what ``window`` covers into a staged file named after ``window.ds``. The
    scope is checked against the source first (a scope the org does not own never gives a
    file, even when the control store was edited by hand). ``in_pass``: the quality checks
    taken on the cells as they are written (one process only: a sliced export's parts
    are written elsewhere, so its file is checked by reading it back)."""
    spec = load_spec(sub.report)
    day = window.ds
    columns = spec.select(sub.columns, sub.exclude_pii)
    ctx = flatten_context(spec, sub, window)
    check_org_and_scope(spec, sub.org_id, ctx.scope, source_url)  # no file for an unknown org
    path = out_path or staged_path(sub, spec, day)
    tmp = path.with_name(f".{path.name}.part")

    info = FileInfo(title=spec.report, timezone=sub.timezone, day=day)
    workers = export_workers(spec)
    if workers > 1:
        if in_pass is not None:
            in_pass.give_up("a sliced export")
        rows, sha256, size, details = _export_in_slices(
            sub, spec, window, columns, tmp, ctx, source_url, batch_rows, workers, info
        )
    else:
        rows, sha256, size, columns, details = _export_in_process(
            spec, ctx, columns, tmp, source_url, batch_rows, info, in_pass
        )
    os.replace(tmp, path)
    if ctx.warnings:
        log.info("%s %s %s warnings: %s", spec.report, sub.org_id, day, dict(ctx.warnings))
    return StagedFile(
        path=str(path),
        name=file_name(spec, day, sub.format, sub.scope),
        report=spec.report,
        org_id=sub.org_id,
        ds=day.isoformat(),
        format=sub.format,
        rows=rows,
        sha256=sha256,
        bytes=size,
        columns=[get_format(sub.format).column_key(c) for c in columns],  # as named in the file
        window_start=window.start.isoformat() if window.start is not None else "",  # "": a cutoff
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
    in_pass: PassChecks | None = None,
) -> tuple[int, str, int, list[ColumnSpec], dict]:
    fmt = ctx.subscription.format
    family = family_of(spec)
    # Columns only the data can name (the family's) are learnt from the first frame, so
    # the header is written only once that frame is there.
    from_data = bool(family.data_columns(spec) & {c.name for c in columns})
    writer = None if from_data else ReportWriter(tmp, fmt, columns, info=info, tap=in_pass)
    try:
        for frame in iter_frames(spec, ctx, source_url, batch_rows):
            if writer is None:
                columns = family.output_columns(spec, columns, frame)
                writer = ReportWriter(tmp, fmt, columns, info=info, tap=in_pass)
            writer.write(frame)
        if writer is None:
            columns = family.output_columns(spec, columns, None)
            writer = ReportWriter(tmp, fmt, columns, info=info, tap=in_pass)
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
    ctx = flatten_context(spec, sub, window)
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
