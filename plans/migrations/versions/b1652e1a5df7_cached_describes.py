"""cached describes

The CRM's describes (an object's fields or properties) by org digest and object, with when they
were fetched, so that a new process (``partnerplan run`` from cron) reuses one fetched within
``schema_cache_seconds`` instead of asking the CRM again (``connectors/schema_cache.py``). The
table starts empty: the next run fills it.

Revision ID: b1652e1a5df7
Revises: d7a41c9e5b20
Create Date: 2026-12-01 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import plans.types

revision = "b1652e1a5df7"
down_revision = "d7a41c9e5b20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "describe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("object", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("fetched_at", plans.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org", "object", name="uq_describe"),
    )


def downgrade() -> None:
    op.drop_table("describe")
