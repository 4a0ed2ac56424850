"""Subscriptions may choose the typed formats xlsx and parquet (issue 14).

Widens the CHECK constraint of ``subscriptions.format``; written out in full, like
0001, so later registry edits cannot change what this revision does. SQLite cannot
alter a constraint, so there the table is copied (Alembic batch mode), keeping
AUTOINCREMENT and the id sequence: ids of removed subscriptions are never reused, so an
old delivery-log row cannot be read as a new subscription's.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 passed its full name through the naming convention again, so databases hold the
# constraint as OLD_NAME; this revision gives it the name the models mean.
OLD_NAME = "ck_subscriptions_ck_subscriptions_format"
NAME = "ck_subscriptions_format"
BEFORE = "format IN ('csv', 'csv.gz', 'jsonl', 'jsonl.gz')"
AFTER = "format IN ('csv', 'csv.gz', 'jsonl', 'jsonl.gz', 'xlsx', 'parquet')"


def _replace(old: str, new: str, condition: str) -> None:
    """Swap the CHECK constraint (op.f: the names are final, no naming convention applied)."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    last_id = None
    if sqlite:
        last_id = bind.execute(
            sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'subscriptions'")
        ).scalar()
    with op.batch_alter_table("subscriptions", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(op.f(new), condition)
    if sqlite and last_id is not None:
        # the copy's sequence only knows the surviving rows' ids
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'subscriptions'"))
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('subscriptions', :seq)"),
            {"seq": last_id},
        )


def upgrade() -> None:
    _replace(OLD_NAME, NAME, AFTER)


def downgrade() -> None:
    used = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM subscriptions WHERE format IN ('xlsx', 'parquet')")
    )
    if used.scalar_one():
        raise RuntimeError("subscriptions use xlsx or parquet: change their format before downgrading")
    _replace(NAME, OLD_NAME, BEFORE)
