"""Tables of the control database, declared once for the store and checked against the
Alembic migration by the tests (the migration, not ``create_all``, builds real databases).

The delivery log deliberately has no foreign key to ``subscriptions``: it is an audit
trail and must keep the subscription id, org and destination of a delivery even after
the subscription is removed. Ids are never reused (``sqlite_autoincrement``; PostgreSQL
sequences never reuse), so an old log row cannot be mistaken for a new subscription's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The formats the migrations allow (a CHECK constraint: 0001, widened by 0003);
# a test keeps this equal to the format registry, so a new format comes with a migration.
FORMATS = ("csv", "csv.gz", "jsonl", "jsonl.gz", "xlsx", "parquet")

# "abandoned" (0004): an attempt whose process died; closed by the next attempt of the
# same delivery or after a heartbeat timeout, never by the attempt itself.
STATUSES = ("started", "delivered", "failed", "blocked", "abandoned")
FINAL_STATUSES = ("delivered", "failed", "blocked")

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: sa.JSON, list[str]: sa.JSON}


class SubscriptionRow(Base):
    """One org's subscription to one report at one destination (no secrets: ``conn_id``
    names an Airflow Connection)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.CheckConstraint(_in("format", FORMATS), name="format"),
        sa.Index(None, "org_id", "report"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(sa.String(200))
    report: Mapped[str] = mapped_column(sa.String(100))
    format: Mapped[str] = mapped_column(sa.String(16), default="csv")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    columns: Mapped[list[str] | None] = mapped_column(sa.JSON, nullable=True)
    exclude_pii: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    destination: Mapped[str] = mapped_column(sa.Text)
    conn_id: Mapped[str | None] = mapped_column(sa.String(250), nullable=True)
    kms_key: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    expected_bucket_owner: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    subject: Mapped[str | None] = mapped_column(sa.String(320), nullable=True)
    # The customer's address for failure notices on their side (0006); none = no notices.
    contact: Mapped[str | None] = mapped_column(sa.String(320), nullable=True)
    # The report's scope as its scope model validated it ({} = the whole org; 0002).
    scope: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    extra: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    start_date: Mapped[dt.date | None] = mapped_column(sa.Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class DeliveryRow(Base):
    """One delivery attempt of one file to one subscription's destination."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
        sa.Index(None, "org_id", "report", "ds"),
        sa.Index(None, "subscription_id", "ds"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(sa.String(250))
    subscription_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    org_id: Mapped[str] = mapped_column(sa.String(200))
    report: Mapped[str] = mapped_column(sa.String(100))
    ds: Mapped[dt.date] = mapped_column(sa.Date)
    destination: Mapped[str] = mapped_column(sa.Text)
    file_name: Mapped[str] = mapped_column(sa.String(500))
    rows: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    bytes: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="started")
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    quality: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    # The source as the export found it (rows and newest event time of the window's
    # extract), and the earlier delivery a restatement replaces (0005_restatement).
    source_rows: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    source_newest: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    restatement_of: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # 0004: who runs the attempt ("run:<host>:<pid>" for a whole-run process, "task:..." for
    # one Airflow step), when it last showed life, and where its staged file is.
    owner: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    staged_path: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class NoticeRow(Base):
    """A failure notice sent to a subscription's contact: at most one per subscription and
    day (the unique key), claimed before sending so two failing tasks cannot both send.

    No foreign key, like the delivery log: removing a subscription keeps what it was told.
    """

    __tablename__ = "notices"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "day"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(sa.Integer)
    day: Mapped[dt.date] = mapped_column(sa.Date)  # the UTC day it was sent
    reason: Mapped[str] = mapped_column(sa.String(32))  # a CUSTOMER_CAUSES kind
    ds: Mapped[dt.date] = mapped_column(sa.Date)  # the report day whose delivery failed
    delivery_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    sent_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class DeliveryLockRow(Base):
    """Who is running the delivery of one subscription's day (0004). PostgreSQL uses an
    advisory lock instead; this row is SQLite's equivalent: the owner keeps its heartbeat
    fresh, and a row whose owner died (a dead process on this host, or a heartbeat older
    than the timeout) is taken over."""

    __tablename__ = "delivery_locks"

    subscription_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    ds: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(300))
    acquired_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
