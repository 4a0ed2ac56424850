"""`flatexport backfill REPORT --from D1 --to D2 [--org ORG ...] [--dry-run] [--local]`.

Re-delivers a range of days. By default it creates an Airflow backfill of the report's
family DAG, exactly as `airflow backfill create` does (one run per day, managed by the
scheduler, visible in the DAG's grid and its Backfills tab), with the DAG run conf
limiting the runs to the named orgs (the DAG's ``orgs`` param), then follows it day by
day until it ends. ``--local`` runs the same task bodies in this process, day by day, for
a laptop without a scheduler. ``--dry-run`` changes nothing: it lists, per day, the file
each subscription would get and whether a file of that name is already at the
destination (and would be replaced), asking each destination through its transport.

Airflow runs one backfill per DAG at a time; a range overlapping a backfill that is still
running is refused in words naming it. Progress is a bar on a terminal and one line per
day otherwise; the summary counts days delivered, skipped and failed, with the reasons,
and the command exits 1 when a day failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from flatexport.errors import FlatexportError, InputError, RunConflict
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)

MAX_RANGE_DAYS = 366
DEFAULT_MAX_ACTIVE_RUNS = 3
POLL_SECONDS = 5.0
LOCAL_RUN_PREFIX = "backfill_local__"


# --- the request ------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A range of days of one report, for every org or only some."""

    report: str
    start: dt.date
    end: dt.date
    orgs: tuple[str, ...] = ()

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def dag_id(self) -> str:
        from flatexport.families import family_of
        from flatexport.specs import load_spec

        return family_of(load_spec(self.report)).dag_id

    @property
    def conf(self) -> dict[str, Any]:
        """The DAG run conf of every run: the DAG's ``orgs`` param (empty: every org)."""
        from flatexport.airflow_support.run_day import ORGS_PARAM

        return {ORGS_PARAM: list(self.orgs)} if self.orgs else {}

    def describe(self) -> str:
        who = ", ".join(self.orgs) if self.orgs else "every org"
        return f"{self.report} {self.start} to {self.end} ({len(self.days)} day(s), {who})"


def make_request(
    report: str, start: dt.date, end: dt.date, orgs: tuple[str, ...] = (), today: dt.date | None = None
) -> Request:
    """A checked request: a known report, a range of ended days, orgs with a subscription."""
    from flatexport.specs import load_spec

    load_spec(report)  # an unknown report is an InputError naming it
    today = today or dt.datetime.now(dt.UTC).date()
    if end < start:
        raise InputError(f"--to {end} is before --from {start}")
    if end >= today:
        raise InputError(
            f"--to {end} has not ended yet (UTC): backfill days up to {today - dt.timedelta(days=1)}"
        )
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InputError(f"a backfill covers at most {MAX_RANGE_DAYS} days, not {(end - start).days + 1}")
    return Request(report, start, end, tuple(sorted(set(orgs))))


def subscriptions_on(request: Request, day: dt.date, store) -> list[Subscription]:
    """The enabled subscriptions of the report that a run for ``day`` delivers, limited to
    the request's orgs: what the DAG's list_subscriptions gives the same run."""
    subs = store.enabled_for(request.report, day)
    return [s for s in subs if not request.orgs or s.org_id in request.orgs]


def check_orgs(request: Request, store) -> None:
    """An org without an enabled subscription of the report is a typo, not a quiet no-op."""
    if not request.orgs:
        return
    known = {s.org_id for s in store.list(report=request.report, enabled_only=True)}
    missing = sorted(set(request.orgs) - known)
    if missing:
        raise InputError(f"no enabled {request.report} subscription for org(s) {', '.join(missing)}")


# --- what happened to each day --------------------------------------------------------------


@dataclass
class DayOutcome:
    day: dt.date
    status: str  # delivered | skipped | failed
    files: int = 0  # files delivered that day
    reasons: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.day}  {self.status:<9}"
        if self.files or self.status == "delivered":
            text += f"  {self.files} file(s)"
        if self.reasons:
            text += "  " + "; ".join(self.reasons)
        return text


def summarize(outcomes: list[DayOutcome]) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("delivered", "skipped", "failed")}
    files = sum(o.files for o in outcomes)
    lines = [
        f"summary: {len(outcomes)} day(s): {counts['delivered']} delivered ({files} file(s)), "
        f"{counts['skipped']} skipped, {counts['failed']} failed"
    ]
    for outcome in outcomes:
        if outcome.status != "delivered":
            lines.append(
                f"  {outcome.day} {outcome.status}: {'; '.join(outcome.reasons) or 'no reason recorded'}"
            )
    return "\n".join(lines)


def outcome_from_log(day: dt.date, records: list, run_failed: bool = False) -> DayOutcome:
    """A day's outcome from its run's delivery-log rows (the latest attempt per subscription)."""
    latest: dict[Any, Any] = {}
    for record in sorted(records, key=lambda r: r.id):
        latest[(record.subscription_id, record.file_name)] = record
    delivered = [r for r in latest.values() if r.status == "delivered"]
    failed = [r for r in latest.values() if r.status != "delivered"]
    reasons = [f"{r.org_id}: {r.status}: {r.error or 'unfinished'}" for r in failed]
    if failed or run_failed:
        if run_failed and not failed:
            reasons.append("the run failed before any delivery (see its task logs in Airflow)")
        return DayOutcome(day, "failed", len(delivered), reasons)
    if not delivered:
        return DayOutcome(day, "skipped", 0, ["no enabled subscription for the day"])
    return DayOutcome(day, "delivered", len(delivered))


# --- progress -------------------------------------------------------------------------------


class Progress:
    """A progress bar on a terminal (rich), one plain line per day otherwise; the summary
    at the end either way."""

    def __init__(self, total: int, out: TextIO | None = None, terminal: bool | None = None) -> None:
        from rich.console import Console

        self.out = out or sys.stdout
        self.console = Console(file=self.out, force_terminal=terminal, highlight=False, soft_wrap=True)
        self.terminal = self.console.is_terminal
        self.total = total
        self._bar = None
        self._task = None

    def __enter__(self) -> Progress:
        if self.terminal:
            from rich import progress as bar

            self._bar = bar.Progress(
                bar.TextColumn("{task.description}"),
                bar.BarColumn(),
                bar.MofNCompleteColumn(),
                bar.TimeElapsedColumn(),
                console=self.console,
            )
            self._bar.start()
            self._task = self._bar.add_task("backfill", total=self.total)
        return self

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            print(text, file=self.out, flush=True)

    def working_on(self, day: dt.date) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=f"backfill {day}")

    def done(self, outcome: DayOutcome) -> None:
        self.note(outcome.line())
        if self._bar is not None:
            self._bar.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


# --- dry run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedFile:
    day: dt.date
    org_id: str
    subscription_id: int | str
    file: str
    destination: str  # display-safe
    replaces: bool | None  # None: the destination cannot tell (or could not be asked)
    note: str = ""

    def line(self) -> str:
        if self.replaces is None:
            what = (
                f"cannot tell whether it exists ({self.note})"
                if self.note
                else "cannot tell whether it exists"
            )
        else:
            what = "replaces the existing file" if self.replaces else "new"
        return f"{self.day}  {self.org_id}  {self.file} -> {self.destination}  [{what}]"


def plan(
    request: Request, store, transport_for: Callable[[Subscription], Any] | None = None
) -> list[PlannedFile]:
    """What the backfill would deliver where, and which existing files it would replace;
    each destination is asked through its transport (``find``), nothing is written."""
    from flatexport.connections import mask_url
    from flatexport.destinations import destination_for
    from flatexport.specs import file_name, load_spec

    transport_for = transport_for or destination_for
    spec = load_spec(request.report)
    transports: dict[Any, Any] = {}
    planned = []
    for day in request.days:
        for sub in subscriptions_on(request, day, store):
            name = file_name(spec, day, sub.format, sub.scope)
            destination = mask_url(sub.destination)
            try:
                if sub.id not in transports:
                    transports[sub.id] = transport_for(sub)
                transport = transports[sub.id]
                replaces = transport.find(name) is not None if transport.features.stat else None
                note = "" if transport.features.stat else f"{transport.store} cannot list its files"
            except FlatexportError as exc:
                replaces, note = None, " ".join(str(exc).split())
            planned.append(PlannedFile(day, sub.org_id, sub.id, name, destination, replaces, note))
    return planned


# --- in this process (--local) -----------------------------------------------------------------


def run_local(request: Request, progress: Progress, store=None) -> list[DayOutcome]:
    """Each day in turn, through the DAG's own task bodies (export -> check -> deliver per
    subscription), recording every attempt in the delivery log like a DAG run."""
    from flatexport.pipeline import control_store

    store = store or control_store()
    outcomes = []
    for day in request.days:
        progress.working_on(day)
        outcome = local_day(request, day, store)
        outcomes.append(outcome)
        progress.done(outcome)
    return outcomes


def local_day(request: Request, day: dt.date, store) -> DayOutcome:
    from flatexport.airflow_support import tasks
    from flatexport.airflow_support.run_day import DATE_PARAM

    subs = subscriptions_on(request, day, store)
    if not subs:
        return DayOutcome(day, "skipped", 0, ["no enabled subscription for the day"])
    run_id = f"{LOCAL_RUN_PREFIX}{day.isoformat()}"
    context: dict[str, Any] = {"run_id": run_id, "params": {DATE_PARAM: day.isoformat()}}
    now = dt.datetime.now(dt.UTC)
    files, waiting, reasons = 0, 0, []
    for sub in subs:
        data = sub.model_dump(mode="json")
        closes = tasks.window_closes_at(data, day)
        if now < closes:
            waiting += 1
            reasons.append(f"{sub.org_id}: its window closes at {closes.isoformat(timespec='minutes')}")
            continue
        try:
            tasks.deliver(
                tasks.check(tasks.export(data, context, store), data, context, store), data, context, store
            )
            files += 1
        except Exception as exc:  # every failure is in the log already; the next sub goes on
            reason = str(exc) if isinstance(exc, FlatexportError) else f"{type(exc).__name__}: {exc}"
            reasons.append(f"{sub.org_id}: {' '.join(reason.split())}")
    if len(subs) - files - waiting:  # some failed
        return DayOutcome(day, "failed", files, reasons)
    if not files:
        return DayOutcome(day, "skipped", 0, reasons)
    return DayOutcome(day, "delivered", files, reasons)


# --- through Airflow (the default) -------------------------------------------------------------


@dataclass(frozen=True)
class ActiveBackfill:
    id: int
    dag_id: str
    start: dt.date
    end: dt.date
    is_paused: bool

    def describe(self) -> str:
        paused = ", paused" if self.is_paused else ""
        return f"backfill {self.id} of {self.dag_id} ({self.start} to {self.end}{paused})"


def active_backfills(dag_id: str) -> list[ActiveBackfill]:
    """The DAG's backfills that have not completed, from Airflow's metadata database."""
    from airflow.models.backfill import Backfill
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(Backfill).where(Backfill.dag_id == dag_id, Backfill.completed_at.is_(None))
        ).all()
        return [
            ActiveBackfill(b.id, b.dag_id, b.from_date.date(), b.to_date.date(), bool(b.is_paused))
            for b in rows
        ]


def refuse_overlap(request: Request, active: list[ActiveBackfill], overlapping_only: bool = False) -> None:
    """A range overlapping a running backfill would deliver those days twice at once; and
    Airflow runs one backfill per DAG at a time (``overlapping_only``: a --local run, which
    Airflow does not run). Either way: refused, in words."""
    for other in active:
        if other.start <= request.end and request.start <= other.end:
            raise RunConflict(
                f"{request.start} to {request.end} overlaps {other.describe()}, which is still running: "
                "wait for it to finish, or cancel it in Airflow (the DAG's Backfills tab), then try again"
            )
    if active and not overlapping_only:
        raise RunConflict(
            f"{active[0].describe()} is still running, and Airflow runs one backfill per DAG at a time: "
            "wait for it to finish, or cancel it in Airflow (the DAG's Backfills tab), then try again"
        )


def refuse_local_overlap(request: Request) -> None:
    """A --local run next to an Airflow deployment still must not deliver days a running
    backfill is delivering; without an Airflow metadata database there is nothing to ask."""
    try:
        active = active_backfills(request.dag_id)
    except Exception as exc:  # no Airflow here (a laptop): nothing can be running
        log.debug("no Airflow backfills to check against: %s", exc)
        return
    refuse_overlap(request, active, overlapping_only=True)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def create_backfill(request: Request, max_active_runs: int = DEFAULT_MAX_ACTIVE_RUNS) -> int:
    """An Airflow backfill of the family DAG for the range, as `airflow backfill create`
    makes it (days that already ran are run again: re-delivering is the point); returns its id."""
    from airflow.exceptions import AirflowException, DagNotFound
    from airflow.models.backfill import ReprocessBehavior, _create_backfill

    dag_id = request.dag_id
    refuse_overlap(request, active_backfills(dag_id))
    try:
        user = _user()
        backfill = _create_backfill(
            dag_id=dag_id,
            from_date=_midnight(request.start),
            to_date=_midnight(request.end),
            max_active_runs=max_active_runs,
            reverse=False,
            dag_run_conf=request.conf,
            triggering_user_name=user,
            reprocess_behavior=ReprocessBehavior.COMPLETED,
        )
    except DagNotFound:
        raise InputError(
            f"Airflow does not know the DAG {dag_id} yet: is its DAG processor running on this DAGs folder?"
        ) from None
    except (AirflowException, ValueError) as exc:  # another backfill started meanwhile, no runs, ...
        raise InputError(f"Airflow refused the backfill of {dag_id}: {' '.join(str(exc).split())}") from None
    return int(backfill.id)


def _user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def dag_is_paused(dag_id: str) -> bool:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return bool(session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == dag_id)))


@dataclass(frozen=True)
class RunState:
    day: dt.date
    run_id: str | None
    state: str | None  # the DAG run's state; None: no run was created
    reason: str | None  # why no run was created (Airflow's exception_reason)


def backfill_runs(backfill_id: int) -> tuple[list[RunState], bool]:
    """The days of a backfill with their runs' states, and whether Airflow completed it."""
    from airflow.models.backfill import Backfill, BackfillDagRun
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        backfill = session.get(Backfill, backfill_id)
        rows = session.execute(
            select(BackfillDagRun.logical_date, BackfillDagRun.exception_reason, DagRun.run_id, DagRun.state)
            .join(DagRun, DagRun.id == BackfillDagRun.dag_run_id, isouter=True)
            .where(BackfillDagRun.backfill_id == backfill_id)
            .order_by(BackfillDagRun.sort_ordinal)
        ).all()
        states = [
            RunState(
                logical.date(),
                run_id,
                None if state is None else str(getattr(state, "value", state)),
                None if reason is None else str(getattr(reason, "value", reason)),
            )
            for logical, reason, run_id, state in rows
        ]
        return states, backfill is not None and backfill.completed_at is not None


FINAL_RUN_STATES = ("success", "failed")


def watch(
    request: Request,
    backfill_id: int,
    progress: Progress,
    store=None,
    poll_seconds: float = POLL_SECONDS,
    timeout: float | None = None,
) -> list[DayOutcome]:
    """Follow the backfill until every day's run has ended; each day is reported as it ends,
    with what the delivery log says about its files."""
    from flatexport.pipeline import control_store

    store = store or control_store()
    reported: dict[dt.date, DayOutcome] = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        states, completed = backfill_runs(backfill_id)
        for run in states:
            if run.day in reported:
                continue
            outcome = _day_outcome(request, run, store)
            if outcome is not None:
                reported[run.day] = outcome
                progress.done(outcome)
            elif run.state is not None:
                progress.working_on(run.day)
        if (states and len(reported) == len(states)) or (completed and not states):
            return [reported[d] for d in sorted(reported)]
        if deadline is not None and time.monotonic() > deadline:
            raise InputError(
                f"backfill {backfill_id} is still running after {timeout:.0f}s; it goes on in Airflow "
                f"({len(reported)} of {len(states)} day(s) done)"
            )
        time.sleep(poll_seconds)


def _day_outcome(request: Request, run: RunState, store) -> DayOutcome | None:
    if run.run_id is None:
        reason = (run.reason or "no run created").replace("_", " ")
        return DayOutcome(run.day, "skipped", 0, [f"Airflow made no run: {reason}"])
    if run.state not in FINAL_RUN_STATES:
        return None
    records = [r for r in store.deliveries(date_from=run.day, date_to=run.day) if r.run_id == run.run_id]
    return outcome_from_log(run.day, records, run_failed=run.state == "failed")


# --- the command ---------------------------------------------------------------------------------


def backfill_command():
    """The click command (registered by flatexport.cli)."""
    import click

    from flatexport.control.cli import checked
    from flatexport.window import parse_ds

    _day = checked(parse_ds)  # given means checked: an empty day is a usage error, not "unset"

    @click.command("backfill")
    @click.argument("report")
    @click.option("--from", "start", required=True, callback=_day, help="First day, YYYY-MM-DD.")
    @click.option("--to", "end", required=True, callback=_day, help="Last day (inclusive), YYYY-MM-DD.")
    @click.option(
        "--org", "orgs", multiple=True, help="Only this org's subscriptions (repeatable). Default: every org."
    )
    @click.option(
        "--dry-run", is_flag=True, help="List what would go where, and which files would be replaced."
    )
    @click.option(
        "--local", is_flag=True, help="Run in this process, day by day, instead of an Airflow backfill."
    )
    @click.option(
        "--max-active-runs",
        type=click.IntRange(1, 32),
        default=DEFAULT_MAX_ACTIVE_RUNS,
        show_default=True,
        help="Days the Airflow backfill runs at once.",
    )
    @click.option(
        "--no-wait", is_flag=True, help="Create the Airflow backfill and return without following it."
    )
    def backfill(
        report: str,
        start: dt.date,
        end: dt.date,
        orgs: tuple[str, ...],
        dry_run: bool,
        local: bool,
        max_active_runs: int,
        no_wait: bool,
    ) -> None:
        """Re-deliver REPORT for every day from --from to --to.

        By default an Airflow backfill of the report's DAG (scheduler-managed, one run per
        day, limited to the --org orgs); --local runs it here instead.
        """
        from flatexport.pipeline import control_store

        store = control_store()
        request = make_request(report, start, end, tuple(orgs))
        check_orgs(request, store)
        if dry_run:
            planned = plan(request, store)
            click.echo(f"dry run: {request.describe()}; nothing is written")
            for item in planned:
                click.echo(item.line())
            replaced = sum(bool(p.replaces) for p in planned)
            click.echo(
                f"{len(planned)} file(s) would be delivered, {replaced} of them replacing an existing file"
            )
            return
        if local:
            refuse_local_overlap(request)
            click.echo(f"backfill in this process: {request.describe()}")
            with Progress(len(request.days)) as progress:
                outcomes = run_local(request, progress, store)
        else:
            dag_id = request.dag_id
            backfill_id = create_backfill(request, max_active_runs)
            click.echo(f"Airflow backfill {backfill_id} of {dag_id} created: {request.describe()}")
            if dag_is_paused(dag_id):
                click.echo(
                    f"note: the DAG {dag_id} is paused: nothing runs until it is unpaused "
                    f"(airflow dags unpause {dag_id})"
                )
            if no_wait:
                return
            try:
                with Progress(len(request.days)) as progress:
                    outcomes = watch(request, backfill_id, progress, store)
            except KeyboardInterrupt:
                click.echo(
                    f"stopped following; backfill {backfill_id} goes on in Airflow (the DAG's Backfills tab)"
                )
                sys.exit(130)
        click.echo(summarize(outcomes))
        if any(o.status == "failed" for o in outcomes):
            sys.exit(1)

    return backfill
