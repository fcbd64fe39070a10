"""progress history

The history behind trends (``plans/history.py``): one row per target and week (its Monday), its
progress snapshots packed as fixed-width records (day, flags, actual, target). Each target's current progress is
copied in as its first snapshot, dated by its ``data_as_of``, so the first trend after the
upgrade starts from what was already known. The record format is written out here rather than
imported, so this revision keeps writing what it wrote when the format moves on.

Revision ID: 5ae34c73eac4
Revises: c3d9e2a7f018
Create Date: 2026-12-01 15:22:12.000000
"""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "5ae34c73eac4"
down_revision = "c3d9e2a7f018"
branch_labels = None
depends_on = None

RECORD = struct.Struct("<HBqq")  # days since 2000-01-01, flags, actual, target (scaled 10^4)
EPOCH = date(2000, 1, 1)
STATUSES = ("achieved", "on_track", "at_risk", "off_track", "no_data")
FINAL, NO_ACTUAL = 0x08, 0x10


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()
    return date.fromisoformat(str(value)[:10])


def _seed_rows(connection: sa.Connection) -> list[dict[str, object]]:
    query = sa.text(
        "SELECT p.target_id, p.actual, p.target, p.status,"
        " coalesce(p.data_as_of, p.computed_at), pl.period_start, pl.period_end"
        " FROM progress p JOIN plan pl ON pl.id = p.plan_id"
        " WHERE coalesce(p.data_as_of, p.computed_at) IS NOT NULL"
    )
    rows = []
    for target_id, actual, target, status, stamp, start, end in connection.execute(query):
        start, end, today = _day(start), _day(end), _day(stamp)
        final = today >= end
        day = end if final else max(today, start)
        flags = STATUSES.index(status) if status in STATUSES else len(STATUSES)
        flags |= (FINAL if final else 0) | (NO_ACTUAL if actual is None else 0)
        record = RECORD.pack((day - EPOCH).days, flags, actual or 0, target)
        week = day - timedelta(days=day.weekday())
        rows.append({"target_id": target_id, "week": week, "last_day": day, "series": record})
    return rows


def upgrade() -> None:
    table = op.create_table(
        "progress_history",
        sa.Column("target_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("series", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["target_id"], ["target.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("target_id", "week"),
        sqlite_with_rowid=False,
    )
    rows = _seed_rows(op.get_bind())
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("progress_history")
