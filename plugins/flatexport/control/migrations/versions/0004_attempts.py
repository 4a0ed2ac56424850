"""Attempts that die are closed: the delivery log gets an owner, a heartbeat, the staged
path and the status ``abandoned``; ``delivery_locks`` holds SQLite's per-(subscription,
day) run lock (PostgreSQL uses advisory locks and leaves the table empty).

Written out in full, like 0001 and 0003. SQLite cannot alter a CHECK constraint, so the
deliveries table is copied (batch mode) keeping AUTOINCREMENT and its id sequence: a
delivery-log id is never reused.

Revision ID: 0004
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 passed its full name through the naming convention again (see 0003), so databases
# hold the constraint as OLD_NAME; this revision gives it the name the models mean.
OLD_NAME = "ck_deliveries_ck_deliveries_status"
NAME = "ck_deliveries_status"
BEFORE = "status IN ('started', 'delivered', 'failed', 'blocked')"
AFTER = "status IN ('started', 'delivered', 'failed', 'blocked', 'abandoned')"


def _last_id(bind: sa.Connection) -> int | None:
    if bind.dialect.name != "sqlite":
        return None
    return bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'")).scalar()


def _keep_sequence(bind: sa.Connection, last_id: int | None) -> None:
    if last_id is not None:
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'deliveries'"))
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('deliveries', :seq)"), {"seq": last_id}
        )


def upgrade() -> None:
    bind = op.get_bind()
    last_id = _last_id(bind)
    with op.batch_alter_table("deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("owner", sa.String(300), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("staged_path", sa.Text(), nullable=True))
        batch.drop_constraint(op.f(OLD_NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), AFTER)
    _keep_sequence(bind, last_id)
    op.create_table(
        "delivery_locks",
        sa.Column("subscription_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ds", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(300), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", "ds", name=op.f("pk_delivery_locks")),
    )


def downgrade() -> None:
    op.drop_table("delivery_locks")
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE deliveries SET status = 'failed' WHERE status = 'abandoned'"))
    last_id = _last_id(bind)
    with op.batch_alter_table("deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(OLD_NAME), BEFORE)
        batch.drop_column("staged_path")
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
    _keep_sequence(bind, last_id)
