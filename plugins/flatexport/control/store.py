"""The control store: subscriptions and the delivery log behind one small API.

SQLite (the default, under the data folder) serves the demo and tests; PostgreSQL
serves production. The schema is owned by Alembic and applied lazily on first use, so
a fresh checkout, a new worker or a test needs no separate setup step.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from flatexport.control.models import FINAL_STATUSES, DeliveryRow, SubscriptionRow, utcnow
from flatexport.errors import ControlStoreError, ControlStoreUnavailable, InputError
from flatexport.paths import data_dir
from flatexport.settings import get_settings
from flatexport.subscriptions import Subscription

ENV_URL = "FLATEXPORT_CONTROL_DB_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MAX_ERROR_CHARS = 4000
# Alembic's ``context`` is process-global, so migrations in one process run one at a time.
_MIGRATE_LOCK = threading.Lock()

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; everything we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


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
        started_at=_aware(row.started_at),  # type: ignore[arg-type]
        finished_at=_aware(row.finished_at),
    )


def _db_id(value: int | str | None) -> int | None:
    """Subscription ids are DB integers; ad-hoc runs (id "adhoc") are logged without one."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


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

    def start_delivery(self, run_id: str, sub: Subscription, ds: dt.date, file_name: str) -> int:
        """Log an attempt before touching the destination, so a crash leaves a trace."""
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
                started_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return row.id

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
