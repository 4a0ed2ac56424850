"""Late data: each delivery records the source fingerprint it was made from, and a
restatement names the delivery it replaces (issue 11, item 5).

``source_rows`` and ``source_newest`` are the extracted rows of the day's window and the
newest event time among them, read just before the export; the nightly run compares
them with the source again within the look-back and re-delivers a day that moved.
``restatement_of`` is the id of the earlier delivered attempt a restatement replaces
(no foreign key: the log is an audit trail, like ``subscription_id``). All nullable, so
older rows stay valid; a day delivered before this revision has no fingerprint and is
never restated automatically.

Revision ID: 0005
Revises: 0006 (after the contact notices; the lead may re-chain)
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("source_rows", sa.BigInteger(), nullable=True))
    op.add_column("deliveries", sa.Column("source_newest", sa.DateTime(timezone=True), nullable=True))
    op.add_column("deliveries", sa.Column("restatement_of", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("restatement_of")
        batch.drop_column("source_newest")
        batch.drop_column("source_rows")
