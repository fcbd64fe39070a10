"""progress snapshots

The history behind trends (``plans/history.py``): one row per target per day on which its
progress changed, keyed by (target, day) without a surrogate id, plus the period's closing values.
Each target's current progress is copied in as its first snapshot, dated by its ``data_as_of``,
so that the first trend after the upgrade starts from what was already known.

Revision ID: 2de41102876d
Revises: b41f0c7d2e9a
Create Date: 2026-12-01 15:00:04.483522
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import plans.types

revision = "2de41102876d"
down_revision = "b41f0c7d2e9a"
branch_labels = None
depends_on = None

# The date of a progress row's data, per dialect (SQLite stores UTC text; PostgreSQL timestamptz).
_DAY = {
    "sqlite": "date(coalesce(p.data_as_of, p.computed_at))",
    "postgresql": "(coalesce(p.data_as_of, p.computed_at) AT TIME ZONE 'UTC')::date",
}


def upgrade() -> None:
    op.create_table(
        "progress_snapshot",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("actual", plans.types.Money(), nullable=True),
        sa.Column("target", plans.types.Money(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("activity_count", sa.Integer(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["target_id"], ["target.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("target_id", "day"),
        sqlite_with_rowid=False,
    )
    day = _DAY[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO progress_snapshot"
        " (target_id, day, actual, target, status, activity_count, final)"
        " SELECT p.target_id,"
        f" CASE WHEN {day} >= pl.period_end THEN pl.period_end"
        f" WHEN {day} < pl.period_start THEN pl.period_start ELSE {day} END,"
        " p.actual, p.target, p.status, p.activity_count,"
        f" {day} >= pl.period_end"
        " FROM progress p JOIN plan pl ON pl.id = p.plan_id"
        " WHERE coalesce(p.data_as_of, p.computed_at) IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("progress_snapshot")
