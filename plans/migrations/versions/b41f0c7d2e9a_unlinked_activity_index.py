"""unlinked activity index

A partial index on the activities still waiting for their partner (``partner_id IS NULL``):
``ingest.resolve_partners`` runs after every page of a partner stream, and without it SQLite
scanned the whole activity table each time (2.6 s a page at 1,000,000 activities).

Revision ID: b41f0c7d2e9a
Revises: 85c833efcb11
Create Date: 2026-11-27 13:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b41f0c7d2e9a"
down_revision = "85c833efcb11"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_unlinked",
            ["source", "partner_ref"],
            unique=False,
            sqlite_where=sa.text("partner_id IS NULL"),
            postgresql_where=sa.text("partner_id IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_unlinked")
