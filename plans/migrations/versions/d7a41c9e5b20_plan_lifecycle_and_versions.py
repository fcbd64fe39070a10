"""plan lifecycle and versions

A plan's origin (config or CRM), the status its origin declares, its version and the partner's
acceptance, the CRM record of a CRM-authored plan, conflicts with CRM edits; ``plan_version``
keeps each version's terms so an accepted version stays what progress is measured against while
a newer one awaits acceptance. Existing plans are config plans at version 1 whose declared
status is the one they had (``proposed`` becomes ``shared``).

Revision ID: d7a41c9e5b20
Revises: 5ae34c73eac4
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import plans.types

revision = "d7a41c9e5b20"
down_revision = "5ae34c73eac4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "origin",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                server_default="config",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "declared",
                sqlmodel.sql.sqltypes.AutoString(length=40),
                server_default="",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("version", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column("shared_at", plans.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("accepted_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "accepted_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "accepted_by_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("accepted_at", plans.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "source_record_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("conflicts", sa.JSON(), server_default="{}", nullable=False)
        )
    op.execute(
        "UPDATE plan SET declared = CASE status WHEN 'proposed' THEN 'shared' ELSE status END"
    )
    op.execute("UPDATE plan SET status = 'shared' WHERE status = 'proposed'")
    op.create_table(
        "plan_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("terms_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", plans.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "version", name="uq_plan_version"),
    )
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_version_plan_id"), ["plan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_version_plan_id"))
    op.drop_table("plan_version")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        for name in (
            "conflicts",
            "source_record_id",
            "source",
            "accepted_at",
            "accepted_by_name",
            "accepted_by",
            "accepted_version",
            "shared_at",
            "version",
            "declared",
            "origin",
        ):
            batch_op.drop_column(name)
