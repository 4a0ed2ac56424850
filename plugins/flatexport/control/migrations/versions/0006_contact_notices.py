"""A subscription may name the customer's contact, told when a delivery fails on their
side; the ``notices`` table keeps it to one notice per subscription and day (issue 12).

Adding a nullable column needs no table copy on SQLite, so ids and AUTOINCREMENT stay as
they are. The notices table has no foreign key, like the delivery log: removing a
subscription keeps the record of what its contact was told.

Revision ID: 0006
Revises: 0003 (the lead re-chains at merge)
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("contact", sa.String(320), nullable=True))
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("ds", sa.Date(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("subscription_id", "day", name=op.f("uq_notices_subscription_id_day")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_column("subscriptions", "contact")  # in place on SQLite 3.35+, like 0002's
