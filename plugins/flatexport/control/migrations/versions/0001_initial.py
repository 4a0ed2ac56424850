"""Initial control tables: subscriptions and the delivery log.

Written out in full (not derived from the models) so that later model edits cannot
silently change what this revision creates; the tests compare models and migrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(200), nullable=False),
        sa.Column("report", sa.String(100), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=True),
        sa.Column("exclude_pii", sa.Boolean(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("conn_id", sa.String(250), nullable=True),
        sa.Column("kms_key", sa.Text(), nullable=True),
        sa.Column("expected_bucket_owner", sa.String(32), nullable=True),
        sa.Column("subject", sa.String(320), nullable=True),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("entries", sa.JSON(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.CheckConstraint(
            "format IN ('csv', 'csv.gz', 'jsonl', 'jsonl.gz')", name="ck_subscriptions_format"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_subscriptions_org_id_report", "subscriptions", ["org_id", "report"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.String(200), nullable=False),
        sa.Column("report", sa.String(100), nullable=False),
        sa.Column("ds", sa.Date(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("quality", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.CheckConstraint(
            "status IN ('started', 'delivered', 'failed', 'blocked')", name="ck_deliveries_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deliveries_org_id_report_ds", "deliveries", ["org_id", "report", "ds"])
    op.create_index("ix_deliveries_subscription_id_ds", "deliveries", ["subscription_id", "ds"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_subscription_id_ds", table_name="deliveries")
    op.drop_index("ix_deliveries_org_id_report_ds", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_subscriptions_org_id_report", table_name="subscriptions")
    op.drop_table("subscriptions")
