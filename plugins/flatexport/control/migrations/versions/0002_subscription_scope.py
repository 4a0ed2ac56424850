"""One ``scope`` column for every report's scope, replacing ``company_id`` and ``entries``.

A subscription's scope is whatever its report's scope model allows (a planroom company,
activity exporter entries, later an action or a contact list), so it is stored as one
validated JSON object instead of one column per family. Existing subscriptions keep
their scope: ``company_id`` and ``entries`` are carried into ``scope`` before the old
columns go; ``downgrade`` carries them back (a scope field neither column held, such as
an action, has nowhere to go and is dropped).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table as this revision sees it (not the models, which move on).
_subs = sa.table(
    "subscriptions",
    sa.column("id", sa.Integer()),
    sa.column("company_id", sa.BigInteger()),
    sa.column("entries", sa.JSON()),
    sa.column("scope", sa.JSON()),
)


def upgrade() -> None:
    op.add_column(
        "subscriptions", sa.Column("scope", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_subs.c.id, _subs.c.company_id, _subs.c.entries).where(
            sa.or_(_subs.c.company_id.is_not(None), _subs.c.entries.is_not(None))
        )
    ).all()
    for sub_id, company_id, entries in rows:
        scope: dict[str, object] = {}
        if company_id is not None:
            scope["company_id"] = int(company_id)
        if entries is not None:
            scope["entries"] = list(entries)
        conn.execute(sa.update(_subs).where(_subs.c.id == sub_id).values(scope=scope))
    op.drop_column("subscriptions", "entries")
    op.drop_column("subscriptions", "company_id")


def downgrade() -> None:
    op.add_column("subscriptions", sa.Column("company_id", sa.BigInteger(), nullable=True))
    op.add_column("subscriptions", sa.Column("entries", sa.JSON(), nullable=True))
    conn = op.get_bind()
    for sub_id, scope in conn.execute(sa.select(_subs.c.id, _subs.c.scope)).all():
        scope = scope or {}
        if "company_id" in scope or "entries" in scope:
            conn.execute(
                sa.update(_subs)
                .where(_subs.c.id == sub_id)
                .values(company_id=scope.get("company_id"), entries=scope.get("entries"))
            )
    op.drop_column("subscriptions", "scope")
