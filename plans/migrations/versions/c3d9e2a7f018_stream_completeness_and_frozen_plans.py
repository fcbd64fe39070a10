"""stream completeness and frozen plans

``watermark.complete_at`` / ``watermark.partial`` let the compute tell complete data from partial
(the trust rule); ``plan.frozen_at`` marks a closed period's final numbers. A stream of an
existing store is complete as of the start of its last successful sync, so upgrading does not
stop every target until each stream has synced again.

Revision ID: c3d9e2a7f018
Revises: b41f0c7d2e9a
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import plans.types

revision = "c3d9e2a7f018"
down_revision = "b41f0c7d2e9a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("frozen_at", plans.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("watermark", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("complete_at", plans.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("partial", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.execute(
        """
        UPDATE watermark SET complete_at = (
            SELECT MAX(run.started_at) FROM run
            WHERE run.stage = 'sync_stream' AND run.outcome = 'succeeded'
              AND run.source = watermark.source AND run.stream = watermark.stream
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("watermark", schema=None) as batch_op:
        batch_op.drop_column("partial")
        batch_op.drop_column("complete_at")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("frozen_at")
