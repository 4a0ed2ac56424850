"""The steps of one delivery, shared by the DAG tasks and the CLI so both behave alike.

export -> check -> deliver. Each step takes and returns small records (subscription,
staged-file facts, quality summary), never data. A day is marked delivered in the log
only after the destination confirmed the checksum; anything else leaves it failed or
blocked, and re-running the day repairs it.

Staged files live where :mod:`flatexport.staging` says (a local folder, or object
storage every worker reaches), one folder per attempt; the check and the delivery read
them only through ``staging.verified_local``. A verified delivery removes its staged
copy; a failed attempt keeps it for inspection until the retention cleanup. One run at a
time holds a subscription's day (``ControlStore.delivery_lock``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from flatexport import staging
from flatexport.destinations import deliver, destination_for
from flatexport.errors import DeliveryError, FlatexportError, QualityError, StagingError
from flatexport.export import run_export, run_export_as_of
from flatexport.manifest import manifest_bytes
from flatexport.notices import notify_failure
from flatexport.settings import get_settings
from flatexport.specs import file_name, load_spec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)

VOLUME_HISTORY_DAYS = 14


def control_store(url: str | None = None):
    from flatexport.control.store import ControlStore

    return ControlStore(url)


def subscriptions_for(reports: list[str], ds: dt.date, store=None) -> list[Subscription]:
    """Enabled subscriptions of these reports for the day, read at run time."""
    store = store or control_store()
    subs: list[Subscription] = []
    for report in reports:
        subs.extend(store.enabled_for(report, ds))
    return subs


def export_step(
    sub: Subscription,
    ds: dt.date,
    source_url: str | None = None,
    attempt: int | str | None = None,
    cutoff: dt.datetime | None = None,
    checks: bool = True,
) -> StagedFile:
    """Export into the attempt's own staging folder and publish it there (streamed up when
    staging is object storage). ``attempt``: the delivery-log id, else a fresh token.
    ``cutoff``: an on-demand request's moment (the file is the scope's history until then,
    named after ``ds``, its UTC date) instead of the day's window.

    The quality checks are tallied on the cells as they are written and kept beside the
    file (``flatexport.quality.in_pass``), so the check step need not read it back;
    ``checks=False`` (a run without the gate) skips that work, and so does
    FLATEXPORT_CHECKS_IN_EXPORT=false, which leaves the checks to the check step's re-read:
    slower, but the export's peak memory is the export's alone."""
    from flatexport.quality.in_pass import SIDECAR, PassChecks, sidecar_bytes

    spec = load_spec(sub.report)
    name = file_name(spec, ds, sub.format, sub.scope)
    slot = staging.attempt_slot(spec.report, sub.org_id, ds, sub.id, attempt or uuid.uuid4().hex[:12], name)
    in_pass = PassChecks(spec, sub, ds.isoformat())
    if not checks:
        in_pass.give_up("the run skips the checks")
    elif not get_settings().checks_in_export:
        in_pass.give_up("FLATEXPORT_CHECKS_IN_EXPORT is false")
    try:
        where = {"source_url": source_url, "out_path": slot.local, "in_pass": in_pass}
        if cutoff is not None:
            staged = run_export_as_of(sub, cutoff, **where)
        else:
            staged = run_export(sub, ds, **where)
    except OSError as exc:
        raise staging.os_error("write the staged file in", str(slot.local.parent), exc) from None
    except Exception as exc:
        if (reason := staging.duckdb_io_reason(exc)) is None:
            raise
        raise StagingError(f"cannot write the staged file in {slot.local.parent}: {reason}") from None
    finally:
        if not slot.local.exists():
            staging.release_scratch(slot)
            staging.prune_attempt(slot)
    published = staging.publish(slot, staged)
    tallies = in_pass.finish(published)
    if tallies is None:
        staging.remove_sidecar(published, SIDECAR)  # an earlier try's would describe another file
    else:
        staging.write_sidecar(published, SIDECAR, sidecar_bytes(tallies))
    return published


def check_step(
    sub: Subscription, staged: StagedFile, store=None, run_url: str | None = None
) -> dict[str, Any]:
    """Run the quality gate; alert on failures and warnings, then raise QualityError on an
    error-level failure. The file stays staged for inspection; only counts leave.

    The staged bytes are verified first (SHA-256 and size); the row-level checks then come
    from the export's sidecar when it describes exactly these bytes and checks, else the
    file is read back. The volume is always judged here, against the delivery log."""
    from flatexport.quality import gate
    from flatexport.quality.in_pass import SIDECAR, pass_report
    from flatexport.quality.validate import validate_staged

    history = None
    if store is not None:
        history = store.recent_row_counts(
            sub.org_id, sub.report, before=dt.date.fromisoformat(staged.ds), days=VOLUME_HISTORY_DAYS
        )
    spec = load_spec(sub.report)
    with staging.verified_local(staged) as local:
        here = dataclasses.replace(staged, path=str(local))
        report = pass_report(spec, here, sub, staging.read_sidecar(staged, SIDECAR), history)
        if report is None:
            report = validate_staged(spec, here, sub, history=history, write_files=False)
        keep_quality_outputs(report, staged, local)
    if report.failed:
        send_quality_alert(report, run_url or "")
    gate(report)
    return report.to_summary()


def keep_quality_outputs(report, staged: StagedFile, local) -> None:
    """The gate's PII-free summary beside the staged file, wherever staging is, and the
    operator page when a check failed (only then is there something to look into). They
    are a convenience: a disk that cannot take them is logged, and the verdict stands."""
    from flatexport.quality.validate import write_outputs

    try:
        summary, page = write_outputs(report, local)
    except OSError as exc:
        log.warning("quality summary not kept beside %s: %s", staged.name, exc.strerror or exc)
        return
    staging.save_sidecar(staged, ".quality.json", summary)
    if page is not None:
        staging.save_sidecar(staged, ".quality.html", page)
    elif not staging.is_local(staged.path):
        staging.remove_sidecar(staged, ".quality.html")  # an earlier check's page no longer applies


def send_quality_alert(report, run_url: str) -> None:
    """Email and/or webhook, when configured (FLATEXPORT_ALERT_SMTP_CONN_ID,
    FLATEXPORT_ALERT_WEBHOOK_CONN_ID name Airflow connections). An alert that cannot be
    sent is logged and never hides the check's own outcome."""
    settings = get_settings()
    smtp, webhook = settings.alert_smtp_conn_id, settings.alert_webhook_conn_id
    if not (smtp or webhook):
        log.warning("quality: %s (no alert channel configured)", report.summary_line())
        return
    from flatexport.quality.alerts import AlertEvent, send_alert

    try:
        send_alert(AlertEvent.from_report(report, run_url), smtp_conn_id=smtp, webhook_conn_id=webhook)
    except FlatexportError as exc:
        log.error("quality alert not sent: %s", exc)


def guard_tenant(sub: Subscription, staged: StagedFile) -> None:
    """A file may only ever go to the subscription it was exported for."""
    if (
        staged.org_id != sub.org_id
        or str(staged.subscription_id) != str(sub.id)
        or staged.report != sub.report
    ):
        raise DeliveryError(
            f"refusing to deliver {staged.report} for org {staged.org_id!r} (subscription "
            f"{staged.subscription_id}) to subscription {sub.id} of org {sub.org_id!r}"
        )


def deliver_step(
    sub: Subscription,
    staged: StagedFile,
    quality: dict[str, Any] | None = None,
    restatement_of: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Hand the staged file and its manifest to the one delivery driver; the receipt
    (location, checksums, whether it replaced an earlier copy) goes to the caller's record.
    ``restatement_of``: the earlier delivery a late-data restatement replaces (manifest)."""
    guard_tenant(sub, staged)
    transport = destination_for(sub)
    with staging.verified_local(staged) as local:
        receipt = deliver(
            transport,
            staged,
            manifest_bytes(staged, quality, restatement_of),
            opener=lambda: open(local, "rb"),  # noqa: SIM115 - the driver closes it
        )
    log.info("delivered %s rows=%d to %s (%s)", staged.name, staged.rows, receipt.location, receipt.checksum)
    staging.discard(staged)  # verified at the destination: the staged copy has served
    return asdict(receipt)


def run_subscription(
    sub: Subscription,
    ds: dt.date,
    run_id: str,
    source_url: str | None = None,
    store=None,
    check: bool = True,
) -> dict[str, Any]:
    """All three steps for one subscription, recording the attempt in the delivery log,
    while holding the subscription's day (a second run waits or stops with a message)."""
    if store is None:
        staged = export_step(sub, ds, source_url, checks=check)
        quality = check_step(sub, staged, None) if check else None
        receipt = deliver_step(sub, staged, quality)
        return {"staged": staged.to_xcom(), "receipt": receipt, "quality": quality}
    from flatexport.control.store import process_owner

    owner = process_owner("run")
    name = file_name(load_spec(sub.report), ds, sub.format, sub.scope)
    with store.delivery_lock(sub.id, ds, owner=owner):
        attempt = store.start_delivery(run_id, sub, ds, name, owner=owner)
        with store.heartbeating(attempt):
            with outcome_recorded(store, attempt):
                staged = export_step(sub, ds, source_url, attempt=attempt, checks=check)
            store.beat(attempt, staged_path=staged.path)
            with outcome_recorded(store, attempt, staged):
                quality = check_step(sub, staged, store) if check else None
            with outcome_recorded(store, attempt, staged, quality):
                receipt = deliver_step(sub, staged, quality)
            store.finish_delivery(attempt, "delivered", **staged_facts(staged), quality=quality)
    return {"staged": staged.to_xcom(), "receipt": receipt, "quality": quality}


@contextmanager
def outcome_recorded(store, attempt: int | None, staged: StagedFile | None = None, quality=None):
    """A step's failure goes into the delivery log before it propagates: a failed check as
    blocked (with its PII-free summary), anything else as failed. The DAG tasks and the
    CLI record attempts through this one place."""
    try:
        yield
    except QualityError as exc:
        if store is not None and attempt is not None:
            summary = last_quality_summary(staged) if staged else None
            store.finish_delivery(attempt, "blocked", **staged_facts(staged), error=str(exc), quality=summary)
        raise
    except Exception as exc:
        if store is not None and attempt is not None:
            reason = str(exc) if isinstance(exc, FlatexportError) else f"{type(exc).__name__}: {exc}"
            store.finish_delivery(attempt, "failed", **staged_facts(staged), error=reason, quality=quality)
            notify_failure(store, attempt, exc)  # the customer's contact, when it is theirs to fix
        raise


def staged_facts(staged: StagedFile | None) -> dict[str, Any]:
    if staged is None:
        return {}
    return {"rows": staged.rows, "sha256": staged.sha256, "bytes": staged.bytes}


def last_quality_summary(staged: StagedFile) -> dict[str, Any] | None:
    """The gate's PII-free summary, written beside the staged file."""
    raw = staging.read_sidecar(staged, ".quality.json")
    return json.loads(raw) if raw else None
