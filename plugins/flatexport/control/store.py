"""The control store: subscriptions and the delivery log behind one small API.

SQLite (the default, under the data folder) serves the demo and tests; PostgreSQL
serves production. The schema is owned by Alembic and applied lazily on first use, so
a fresh checkout, a new worker or a test needs no separate setup step.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from flatexport.control.models import FINAL_STATUSES, DeliveryLockRow, DeliveryRow, SubscriptionRow, utcnow
from flatexport.errors import ControlStoreError, ControlStoreUnavailable, DeliveryLocked, InputError
from flatexport.paths import data_dir
from flatexport.settings import get_settings
from flatexport.subscriptions import Subscription
from flatexport.window import as_utc

ENV_URL = "FLATEXPORT_CONTROL_DB_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MAX_ERROR_CHARS = 4000
# Alembic's ``context`` is process-global, so migrations in one process run one at a time.
_MIGRATE_LOCK = threading.Lock()

log = logging.getLogger(__name__)

# Subscription fields stored in their own columns; everything the model has except id.
_SUB_FIELDS = tuple(f for f in Subscription.model_fields if f != "id")


__all__ = ["ControlStore", "ControlStoreError", "ControlStoreUnavailable", "DeliveryRecord", "default_url"]


def default_url() -> str:
    """The env var wins (production PostgreSQL); else a SQLite file in the data folder."""
    return get_settings().control_db_url or f"sqlite:///{data_dir() / 'control.db'}"


@dataclass(frozen=True)
class DeliveryRecord:
    """One row of the delivery log, detached from the session (safe to print or XCom)."""

    id: int
    run_id: str
    subscription_id: int | None
    org_id: str
    report: str
    ds: dt.date
    destination: str
    file_name: str
    rows: int | None
    sha256: str | None
    bytes: int | None
    status: str
    error: str | None
    quality: dict[str, Any] | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    # the source as the export found it, and the delivery a restatement replaces (0005)
    source_rows: int | None = None
    source_newest: dt.datetime | None = None
    restatement_of: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _to_subscription(row: SubscriptionRow) -> Subscription:
    data = {f: getattr(row, f) for f in _SUB_FIELDS}
    data["extra"] = row.extra or {}
    data["scope"] = row.scope or {}
    return Subscription(id=row.id, **data)


def _to_record(row: DeliveryRow) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        run_id=row.run_id,
        subscription_id=row.subscription_id,
        org_id=row.org_id,
        report=row.report,
        ds=row.ds,
        destination=row.destination,
        file_name=row.file_name,
        rows=row.rows,
        sha256=row.sha256,
        bytes=row.bytes,
        status=row.status,
        error=row.error,
        quality=row.quality,
        started_at=as_utc(row.started_at),  # type: ignore[arg-type]
        finished_at=as_utc(row.finished_at),
        source_rows=row.source_rows,
        source_newest=as_utc(row.source_newest),
        restatement_of=row.restatement_of,
    )


def process_owner(kind: str = "run") -> str:
    """Who runs an attempt or holds a lock: ``<kind>:<host>:<pid>:<token>``. ``run`` is a
    process that runs a whole attempt (the CLI), ``task`` one Airflow step of it."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str | None, kinds: Collection[str] = ("run",)) -> bool:
    """Whether ``owner`` is a process on this host that no longer runs (a zombie counts as
    dead). Owners on other hosts are judged by their heartbeat instead."""
    parts = (owner or "").split(":")
    if len(parts) < 3 or parts[0] not in kinds or parts[1] != socket.gethostname() or not parts[2].isdigit():
        return False
    pid = int(parts[2])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


class _Heartbeat:
    """Calls ``beat`` every ``interval`` seconds in a daemon thread until stopped; a failed
    beat is logged (the control database may blink) and tried again next time."""

    def __init__(self, beat: Callable[[], None], interval: float) -> None:
        self._beat, self._interval = beat, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flatexport-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat must not kill the step
                log.warning("heartbeat not recorded: %s", exc)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def heartbeat_interval() -> float:
    return max(1.0, min(30.0, get_settings().attempt_heartbeat_timeout_seconds / 3))


def _db_id(value: int | str | None) -> int | None:
    """Subscription ids are DB integers; ad-hoc runs (id "adhoc") are logged without one."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _locked_message(what: str, holder: str | None, wait: float) -> str:
    by = f" ({holder.rsplit(':', 1)[0]})" if holder else ""
    waited = f" after waiting {wait:g}s" if wait else ""
    return (
        f"another run is delivering {what}{by}; stopped{waited}: run it again when that run "
        "has finished (or set FLATEXPORT_LOCK_WAIT_SECONDS to wait)"
    )


def _validation_message(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'subscription'}: {e['msg'].removeprefix('Value error, ')}"
        for e in err.errors()
    )


def build_subscription(fields: Mapping[str, Any], sub_id: int | str = 0) -> Subscription:
    """Validate subscription fields with the shared pydantic model, as an InputError."""
    try:
        return Subscription(id=sub_id, **{k: v for k, v in fields.items() if k != "id"})
    except ValidationError as exc:
        raise InputError(f"invalid subscription: {_validation_message(exc)}") from exc


class ControlStore:
    """Subscriptions and delivery log; every method opens its own short transaction."""

    def __init__(self, url: str | None = None) -> None:
        self.url = sa.make_url(url or default_url())
        self._engine: sa.Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._migrated = False

    # -- plumbing -------------------------------------------------------------------

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    def _make_engine(self) -> sa.Engine:
        if self.url.get_backend_name() == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(self.url, connect_args={"timeout": 30})

            @sa.event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                # WAL lets the CLI read while a DAG task writes the log.
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.close()

            return engine
        return sa.create_engine(self.url, pool_pre_ping=True)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._sessions = None

    def _alembic_config(self, connection: sa.Connection) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = connection
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op when it is already there."""
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with _MIGRATE_LOCK, self._sqlite_file_lock():
            try:
                with self.engine.connect() as conn:
                    cfg = self._alembic_config(conn)
                    heads = set(ScriptDirectory.from_config(cfg).get_heads())
                    if set(MigrationContext.configure(conn).get_current_heads()) != heads:
                        command.upgrade(cfg, "heads")
                        conn.commit()
            except sa.exc.SQLAlchemyError as exc:
                raise self._db_error("cannot migrate", exc) from exc
            self._migrated = True

    @contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        """Serialise migrations of one SQLite file across processes (parallel Airflow tasks);
        SQLite DDL is not transactional in Alembic, so two upgrades could otherwise race.
        PostgreSQL is serialised by an advisory lock in env.py instead."""
        db = self.url.database
        if self.url.get_backend_name() != "sqlite" or not db or db == ":memory:":
            yield
            return
        import fcntl

        with open(f"{db}.migrate.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def _db_error(self, what: str, exc: sa.exc.SQLAlchemyError) -> ControlStoreError:
        """An outage is transient (the task retries); a refused statement is not."""
        # str(exc) can carry SQL and parameters but never the URL's password.
        detail = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
        message = f"control database {self.safe_url}: {what}: {detail}"
        outage = isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError) or (
            isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
        )
        return ControlStoreUnavailable(message) if outage else ControlStoreError(message)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if not self._migrated:
            self.migrate()
        if self._sessions is None:
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        try:
            with self._sessions.begin() as session:
                yield session
        except sa.exc.SQLAlchemyError as exc:
            raise self._db_error("query failed", exc) from exc

    # -- subscriptions --------------------------------------------------------------

    def add_subscription(
        self, sub: Subscription | Mapping[str, Any] | None = None, **fields: Any
    ) -> Subscription:
        """Save a subscription (a model, a mapping or keyword fields); the id is the DB's."""
        data = dict(sub.model_dump() if isinstance(sub, Subscription) else sub or {})
        data.update(fields)
        checked = build_subscription(data)
        values = checked.model_dump(exclude={"id"})
        values["extra"] = values["extra"] or None
        with self._session() as s:
            row = SubscriptionRow(**values)
            s.add(row)
            s.flush()
            return _to_subscription(row)

    def add_subscriptions(self, subs: list[Subscription]) -> list[Subscription]:
        """Save several subscriptions in one transaction: all of them, or none."""
        rows = []
        for sub in subs:
            values = build_subscription(sub.model_dump()).model_dump(exclude={"id"})
            values["extra"] = values["extra"] or None
            rows.append(SubscriptionRow(**values))
        with self._session() as s:
            s.add_all(rows)
            s.flush()
            return [_to_subscription(r) for r in rows]

    def _row(self, s: Session, sub_id: int | str) -> SubscriptionRow:
        key = _db_id(sub_id)
        row = s.get(SubscriptionRow, key) if key is not None else None
        if row is None:
            raise InputError(f"no subscription {sub_id}")
        return row

    def get(self, sub_id: int | str) -> Subscription:
        with self._session() as s:
            return _to_subscription(self._row(s, sub_id))

    def list(
        self, org: str | None = None, report: str | None = None, enabled_only: bool = False
    ) -> list[Subscription]:
        query = sa.select(SubscriptionRow).order_by(SubscriptionRow.id)
        if org is not None:
            query = query.where(SubscriptionRow.org_id == org)
        if report is not None:
            query = query.where(SubscriptionRow.report == report)
        if enabled_only:
            query = query.where(SubscriptionRow.enabled.is_(True))
        with self._session() as s:
            return [_to_subscription(r) for r in s.scalars(query)]

    def find(
        self, org: str, report: str, destination: str, scope: Mapping[str, Any] | None = None
    ) -> Subscription | None:
        """The subscription delivering this org's report, for this scope ({} or None: the
        whole org), to this URL, if any. Two scopes of one report (two actions) are two
        files, so two subscriptions, even to the same folder."""
        query = (
            sa.select(SubscriptionRow)
            .where(
                SubscriptionRow.org_id == org,
                SubscriptionRow.report == report,
                SubscriptionRow.destination == destination,
            )
            .order_by(SubscriptionRow.id)
        )
        with self._session() as s:
            for row in s.scalars(query):
                if (row.scope or {}) == dict(scope or {}):
                    return _to_subscription(row)
            return None

    def enabled_for(self, report: str, ds: dt.date) -> list[Subscription]:
        """What a DAG run for ``ds`` must deliver: enabled and already started."""
        query = (
            sa.select(SubscriptionRow)
            .where(
                SubscriptionRow.report == report,
                SubscriptionRow.enabled.is_(True),
                sa.or_(SubscriptionRow.start_date.is_(None), SubscriptionRow.start_date <= ds),
            )
            .order_by(SubscriptionRow.id)
        )
        with self._session() as s:
            return [_to_subscription(r) for r in s.scalars(query)]

    def update_subscription(self, sub: Subscription) -> Subscription:
        """Replace every field of subscription ``sub.id`` (validated like a new one)."""
        checked = build_subscription(sub.model_dump(), sub.id)
        values = checked.model_dump(exclude={"id"})
        values["extra"] = values["extra"] or None
        with self._session() as s:
            row = self._row(s, sub.id)
            for field, value in values.items():
                setattr(row, field, value)
            s.flush()
            return _to_subscription(row)

    def set_enabled(self, sub_id: int | str, enabled: bool) -> Subscription:
        with self._session() as s:
            row = self._row(s, sub_id)
            row.enabled = enabled
            s.flush()
            return _to_subscription(row)

    def remove(self, sub_id: int | str) -> Subscription:
        """Delete a subscription; its delivery log rows stay as the audit trail."""
        with self._session() as s:
            row = self._row(s, sub_id)
            sub = _to_subscription(row)
            s.delete(row)
            return sub

    def import_yaml(
        self,
        path: str | Path,
        *,
        validate: bool = False,
        vet: Callable[[Subscription], None] | None = None,
    ) -> list[Subscription]:
        """Add the subscriptions of a YAML list (demo setup); returns only the new ones.

        Idempotent: an entry whose (org, report, scope, destination) already exists is
        skipped. ``validate`` also runs the CLI's checks (report, columns, URL) on every
        entry, before anything is saved; connections are not required to exist yet.
        ``vet`` is one more check per entry (the CLI's: the scope against the source),
        also run before anything is saved.
        """
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML: {exc}") from exc
        if isinstance(raw, dict) and "subscriptions" in raw:
            raw = raw["subscriptions"]
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise InputError(f"{path}: expected a list of subscriptions")
        entries = []
        for n, item in enumerate(raw, 1):
            if not isinstance(item, dict):
                raise InputError(f"{path}: entry {n} is not a mapping")
            item = dict(item)
            if "org" in item and "org_id" not in item:
                item["org_id"] = item.pop("org")
            try:
                sub = build_subscription(item)
                if validate:
                    from flatexport.control.validation import validate_subscription

                    validate_subscription(sub, check_conn=False)
                if vet is not None:
                    vet(sub)
            except InputError as exc:
                raise InputError(f"{path}: entry {n}: {exc}") from exc
            entries.append(sub)
        added = []
        for sub in entries:
            if self.find(sub.org_id, sub.report, sub.destination, sub.scope) is None:
                added.append(self.add_subscription(sub))
        return added

    # -- delivery log ---------------------------------------------------------------

    def start_delivery(
        self, run_id: str, sub: Subscription, ds: dt.date, file_name: str, owner: str | None = None
    ) -> int:
        """Log an attempt before touching the destination, so a crash leaves a trace; and
        close the traces of earlier attempts of this delivery that died (see
        :meth:`abandon_dead_attempts`)."""
        now = utcnow()
        with self._session() as s:
            row = DeliveryRow(
                run_id=run_id,
                subscription_id=_db_id(sub.id),
                org_id=sub.org_id,
                report=sub.report,
                ds=ds,
                destination=sub.destination,
                file_name=file_name,
                status="started",
                started_at=now,
                heartbeat_at=now,
                owner=owner or process_owner(),
            )
            s.add(row)
            s.flush()
            attempt = row.id
        self.abandon_dead_attempts(sub.id, ds, run_id, by=attempt)
        return attempt

    def abandon_dead_attempts(
        self, sub_id: int | str | None, ds: dt.date, run_id: str | None = None, by: int | None = None
    ) -> list[int]:
        """Mark ``abandoned`` the attempts of this subscription's day that are still
        ``started`` but whose process is gone: an earlier try of the same run (Airflow
        retries a task only after its try ended), a whole-run process that died on this
        host, or one silent for longer than the heartbeat timeout."""
        key = _db_id(sub_id)
        if key is None:
            return []
        timeout = dt.timedelta(seconds=get_settings().attempt_heartbeat_timeout_seconds)
        now = utcnow()
        closed = []
        with self._session() as s:
            query = sa.select(DeliveryRow).where(
                DeliveryRow.subscription_id == key, DeliveryRow.ds == ds, DeliveryRow.status == "started"
            )
            for row in s.scalars(query):
                if row.id == by:
                    continue
                last = as_utc(row.heartbeat_at or row.started_at)
                if run_id is not None and row.run_id == run_id:
                    why = f"a later try of run {run_id} started"
                elif owner_is_dead(row.owner):
                    why = "its process is gone"
                elif last is not None and now - last > timeout:
                    why = f"no heartbeat since {last:%Y-%m-%d %H:%M:%S} UTC"
                else:
                    continue
                row.status = "abandoned"
                row.finished_at = now
                taken = f"; attempt {by} took over" if by is not None else ""
                row.error = f"attempt abandoned: {why}{taken}"
                closed.append(row.id)
        if closed:
            log.warning("delivery attempt(s) %s of subscription %s for %s abandoned", closed, sub_id, ds)
        return closed

    def abandon_stale_attempts(self) -> list[int]:
        """Every attempt silent for longer than the heartbeat timeout, or whose whole-run
        process on this host is gone, becomes ``abandoned`` (the cleanup task's sweep)."""
        keys: set[tuple[int | None, dt.date]] = set()
        with self._session() as s:
            for sub_id, ds in s.execute(
                sa.select(DeliveryRow.subscription_id, DeliveryRow.ds).where(DeliveryRow.status == "started")
            ):
                keys.add((sub_id, ds))
        closed: list[int] = []
        for sub_id, ds in sorted(keys, key=str):
            closed += self.abandon_dead_attempts(sub_id, ds)
        return closed

    def beat(self, delivery_id: int, staged_path: str | None = None) -> None:
        """The attempt is alive (and, once exported, where its staged file is)."""
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if staged_path is not None:
            values["staged_path"] = staged_path
        with self._session() as s:
            s.execute(sa.update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values))

    @contextmanager
    def heartbeating(self, delivery_id: int | None) -> Iterator[None]:
        """Keep the attempt's heartbeat fresh while a step runs."""
        if delivery_id is None:
            yield
            return
        self.beat(delivery_id)
        with _Heartbeat(lambda: self.beat(delivery_id), heartbeat_interval()):
            yield

    # -- one run at a time per delivery ------------------------------------------------

    @contextmanager
    def delivery_lock(
        self, sub_id: int | str | None, ds: dt.date, *, owner: str | None = None, wait: float | None = None
    ) -> Iterator[str]:
        """Hold the delivery of subscription ``sub_id`` for ``ds``: one run at a time. The
        second run waits up to ``wait`` seconds (FLATEXPORT_LOCK_WAIT_SECONDS) and then
        stops with :class:`DeliveryLocked`. PostgreSQL: a session advisory lock, released by
        the server when the holder's connection dies. SQLite: a row in ``delivery_locks``
        with the owner's heartbeat, taken over once its owner is dead or silent.
        An ad-hoc run (no subscription id) shares nothing and takes no lock."""
        owner = owner or process_owner()
        key = _db_id(sub_id)
        if key is None:
            yield owner
            return
        if not self._migrated:
            self.migrate()
        wait = get_settings().lock_wait_seconds if wait is None else wait
        what = f"subscription {key} for {ds.isoformat()}"
        if self.url.get_backend_name() == "postgresql":
            with self._advisory_lock(key, ds, what, wait):
                yield owner
            return
        self._take_row_lock(key, ds, owner, what, wait)
        try:
            with _Heartbeat(lambda: self._refresh_row_lock(key, ds, owner), heartbeat_interval()):
                yield owner
        finally:
            with self._session() as s:
                s.execute(
                    sa.delete(DeliveryLockRow).where(
                        DeliveryLockRow.subscription_id == key,
                        DeliveryLockRow.ds == ds,
                        DeliveryLockRow.owner == owner,
                    )
                )

    @contextmanager
    def _advisory_lock(self, key: int, ds: dt.date, what: str, wait: float) -> Iterator[None]:
        params = {"a": key, "b": ds.toordinal()}
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except sa.exc.SQLAlchemyError as exc:
            raise self._db_error("cannot lock", exc) from exc
        try:
            deadline = time.monotonic() + wait
            while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"), params).scalar():
                if time.monotonic() >= deadline:
                    raise DeliveryLocked(_locked_message(what, None, wait))
                time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:a, :b)"), params)
        except sa.exc.SQLAlchemyError as exc:
            raise self._db_error("lock failed", exc) from exc
        finally:
            conn.close()

    def _take_row_lock(self, key: int, ds: dt.date, owner: str, what: str, wait: float) -> None:
        timeout = dt.timedelta(seconds=get_settings().attempt_heartbeat_timeout_seconds)
        deadline = time.monotonic() + wait
        where = (DeliveryLockRow.subscription_id == key, DeliveryLockRow.ds == ds)
        while True:
            now = utcnow()
            with self._session() as s:
                row = s.execute(
                    sa.select(DeliveryLockRow.owner, DeliveryLockRow.heartbeat_at).where(*where)
                ).first()
                if row is None:
                    inserted = s.execute(
                        sa.insert(DeliveryLockRow)
                        .prefix_with("OR IGNORE")
                        .values(subscription_id=key, ds=ds, owner=owner, acquired_at=now, heartbeat_at=now)
                    ).rowcount
                    if inserted == 1:
                        return
                    holder = None
                else:
                    holder, beat = row
                    if owner_is_dead(holder, ("run", "task")) or now - as_utc(beat) > timeout:  # type: ignore[operator]
                        taken = s.execute(
                            sa.update(DeliveryLockRow)
                            .where(*where, DeliveryLockRow.owner == holder)
                            .values(owner=owner, acquired_at=now, heartbeat_at=now)
                        ).rowcount
                        if taken == 1:
                            log.warning("took over the lock of %s from %s, which is gone", what, holder)
                            return
            if time.monotonic() >= deadline:
                raise DeliveryLocked(_locked_message(what, holder, wait))
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))

    def _refresh_row_lock(self, key: int, ds: dt.date, owner: str) -> None:
        with self._session() as s:
            s.execute(
                sa.update(DeliveryLockRow)
                .where(
                    DeliveryLockRow.subscription_id == key,
                    DeliveryLockRow.ds == ds,
                    DeliveryLockRow.owner == owner,
                )
                .values(heartbeat_at=utcnow())
            )

    def finish_delivery(
        self,
        delivery_id: int,
        status: str,
        *,
        rows: int | None = None,
        sha256: str | None = None,
        bytes: int | None = None,  # the column's name
        error: str | None = None,
        quality: Mapping[str, Any] | None = None,
    ) -> None:
        """Record how an attempt ended; ``quality`` is a PII-free summary of the checks."""
        if status not in FINAL_STATUSES:
            raise InputError(f"delivery status must be one of {', '.join(FINAL_STATUSES)}, not {status!r}")
        with self._session() as s:
            row = s.get(DeliveryRow, delivery_id)
            if row is None:
                raise InputError(f"no delivery {delivery_id}")
            row.status = status
            row.finished_at = utcnow()
            if rows is not None:
                row.rows = rows
            if sha256 is not None:
                row.sha256 = sha256
            if bytes is not None:
                row.bytes = bytes
            if error is not None:
                row.error = error[:MAX_ERROR_CHARS]
            if quality is not None:
                # Round-trip through JSON so dates and numpy scalars cannot break the insert.
                row.quality = json.loads(json.dumps(dict(quality), default=str))

    def deliveries(
        self,
        org: str | None = None,
        report: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        subscription_id: int | None = None,
        *,
        status: str | None = None,
        reports: Collection[str] | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[DeliveryRecord]:
        """Delivery attempts, oldest first (``newest_first``: latest day, latest attempt
        first); ``date_from``/``date_to`` bound ``ds`` inclusively; ``reports`` keeps only
        those reports (the console shows each user the reports they may read)."""
        order = (
            (DeliveryRow.ds.desc(), DeliveryRow.id.desc())
            if newest_first
            else (DeliveryRow.ds, DeliveryRow.id)
        )
        query = sa.select(DeliveryRow).order_by(*order)
        if org is not None:
            query = query.where(DeliveryRow.org_id == org)
        if report is not None:
            query = query.where(DeliveryRow.report == report)
        if reports is not None:
            query = query.where(DeliveryRow.report.in_(list(reports)))
        if status is not None:
            query = query.where(DeliveryRow.status == status)
        if date_from is not None:
            query = query.where(DeliveryRow.ds >= date_from)
        if date_to is not None:
            query = query.where(DeliveryRow.ds <= date_to)
        if subscription_id is not None:
            query = query.where(DeliveryRow.subscription_id == subscription_id)
        if limit is not None:
            query = query.limit(limit)
        with self._session() as s:
            return [_to_record(r) for r in s.scalars(query)]

    def delivery(self, delivery_id: int) -> DeliveryRecord:
        with self._session() as s:
            row = s.get(DeliveryRow, delivery_id)
            if row is None:
                raise InputError(f"no delivery {delivery_id}")
            return _to_record(row)

    def latest_delivery_per_org(self, reports: Collection[str] | None = None) -> dict[str, DeliveryRecord]:
        """Each org's most recent attempt (by day, then attempt), in one query."""
        ranked = sa.select(
            DeliveryRow.id,
            sa.func.row_number()
            .over(partition_by=DeliveryRow.org_id, order_by=(DeliveryRow.ds.desc(), DeliveryRow.id.desc()))
            .label("rank"),
        )
        if reports is not None:
            ranked = ranked.where(DeliveryRow.report.in_(list(reports)))
        ranked = ranked.subquery()
        query = sa.select(DeliveryRow).join(ranked, ranked.c.id == DeliveryRow.id).where(ranked.c.rank == 1)
        with self._session() as s:
            return {r.org_id: _to_record(r) for r in s.scalars(query)}

    def recent_row_counts(
        self, org: str, report: str, before: dt.date, days: int
    ) -> list[tuple[dt.date, int]]:
        """Row counts of the latest delivered attempt per day in [before - days, before).

        The volume check compares today's file against these; a re-run that replaced a
        file counts, a failed or blocked attempt does not. Oldest day first.
        """
        query = (
            sa.select(DeliveryRow.ds, DeliveryRow.rows)
            .where(
                DeliveryRow.org_id == org,
                DeliveryRow.report == report,
                DeliveryRow.status == "delivered",
                DeliveryRow.rows.is_not(None),
                DeliveryRow.ds >= before - dt.timedelta(days=days),
                DeliveryRow.ds < before,
            )
            .order_by(DeliveryRow.ds, DeliveryRow.id)  # ids grow with attempts: last one wins
        )
        latest: dict[dt.date, int] = {}
        with self._session() as s:
            for ds, rows in s.execute(query):
                latest[ds] = rows
        return sorted(latest.items())

    def is_delivered(self, sub_id: int | str, ds: dt.date) -> bool:
        """Whether any attempt delivered this subscription's file for ``ds``."""
        key = _db_id(sub_id)
        if key is None:
            return False
        query = (
            sa.select(DeliveryRow.id)
            .where(
                DeliveryRow.subscription_id == key, DeliveryRow.ds == ds, DeliveryRow.status == "delivered"
            )
            .limit(1)
        )
        with self._session() as s:
            return s.scalars(query).first() is not None

    # -- late data (restatements) ---------------------------------------------------

    def record_source(
        self,
        delivery_id: int,
        rows: int,
        newest: dt.datetime | None,
        *,
        restatement_of: int | None = None,
    ) -> None:
        """Keep the source fingerprint an attempt was exported from and, for a
        restatement, the earlier delivered attempt it replaces."""
        with self._session() as s:
            row = s.get(DeliveryRow, delivery_id)
            if row is None:
                raise InputError(f"no delivery {delivery_id}")
            row.source_rows = rows
            row.source_newest = newest
            if restatement_of is not None:
                row.restatement_of = restatement_of

    def latest_delivered(
        self, subscription_ids: Collection[int], date_from: dt.date, date_to: dt.date
    ) -> list[DeliveryRecord]:
        """The latest delivered attempt of each (subscription, day) in [date_from, date_to]:
        what the customer has now, and the fingerprint it was made from."""
        ids = [i for i in (_db_id(x) for x in subscription_ids) if i is not None]
        if not ids:
            return []
        ranked = (
            sa.select(
                DeliveryRow.id,
                sa.func.row_number()
                .over(
                    partition_by=(DeliveryRow.subscription_id, DeliveryRow.ds),
                    order_by=DeliveryRow.id.desc(),
                )
                .label("rank"),
            )
            .where(
                DeliveryRow.subscription_id.in_(ids),
                DeliveryRow.status == "delivered",
                DeliveryRow.ds >= date_from,
                DeliveryRow.ds <= date_to,
            )
            .subquery()
        )
        query = (
            sa.select(DeliveryRow)
            .join(ranked, ranked.c.id == DeliveryRow.id)
            .where(ranked.c.rank == 1)
            .order_by(DeliveryRow.ds, DeliveryRow.subscription_id)
        )
        with self._session() as s:
            return [_to_record(r) for r in s.scalars(query)]
