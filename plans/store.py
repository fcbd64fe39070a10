"""The store's tables (SQLModel). Every natural key is unique and indexed.

The tables follow the flow: partners and activities (what the mappings produced), the plans with
their sections and targets (from ``config/plans``), progress (what the engine computed) and its
snapshots, and the state that makes the worker restartable: stream watermarks, runs, quarantine
and push state; and the CRM's describes, so that a new process need not ask for them again.
State is written in the same transaction as the data it describes (see ``worker``).

Schema changes go through Alembic (``partnerplan/migrations``); a test checks that the
migrations and these models agree.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from plans.types import Money, UTCDateTime

STATE_VERSION = 1
"""Version of the persisted state layout (watermarks, push state); bump with a migration."""


def _utc(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PartnerRow(SQLModel, table=True):
    """A channel partner, known by a stable key; its CRM ids are in :class:`PartnerLinkRow`."""

    __tablename__ = "partner"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True, max_length=200)
    name: str = Field(default="", max_length=500)
    tier: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    attributes: dict[str, Any] = _json()
    deleted: bool = Field(default=False)
    updated_at: datetime | None = _utc()


class PartnerLinkRow(SQLModel, table=True):
    """A partner's record id in one source (a Salesforce Account Id, a HubSpot company id)."""

    __tablename__ = "partner_link"
    __table_args__ = (UniqueConstraint("source", "record_id", name="uq_partner_link"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    source: str = Field(max_length=100)
    record_id: str = Field(max_length=100)


class ActivityRow(SQLModel, table=True):
    """One normalized CRM record (an opportunity, lead, deal registration, training, ...).

    ``partner_ref`` is the partner's record id in the source as the CRM gave it; ``partner_id`` is
    resolved from it through :class:`PartnerLinkRow` (and re-resolved when partners arrive later),
    so a record seen before its partner is kept, never dropped.
    """

    __tablename__ = "activity"
    __table_args__ = (
        UniqueConstraint("source", "stream", "record_id", name="uq_activity"),
        Index("ix_activity_metric", "kind", "partner_id", "occurred_on"),
        # metrics bucketed by created date (pipeline created, leads submitted) scan by kind
        Index("ix_activity_created", "kind", "created_at"),
        Index("ix_activity_partner_ref", "source", "partner_ref"),
        # the few activities still waiting for their partner: linking them must not scan all
        Index(
            "ix_activity_unlinked",
            "source",
            "partner_ref",
            sqlite_where=text("partner_id IS NULL"),
            postgresql_where=text("partner_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    stream: str = Field(max_length=100)
    object: str = Field(max_length=200)
    record_id: str = Field(max_length=100)
    kind: str = Field(max_length=100)
    partner_ref: str | None = Field(default=None, max_length=100)
    partner_id: int | None = Field(default=None, foreign_key="partner.id")
    status: str | None = Field(default=None, max_length=100)
    amount: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    currency: str | None = Field(default=None, max_length=3)
    occurred_on: date | None = Field(default=None)
    created_at: datetime | None = _utc()
    closed_at: datetime | None = _utc()
    attributes: dict[str, Any] = _json()
    source_modified_at: datetime | None = _utc()
    deleted: bool = Field(default=False)
    content_hash: str = Field(max_length=64)
    stored_at: datetime | None = _utc()


class PlanRow(SQLModel, table=True):
    """A joint business plan: one partner, one period, from ``config/plans`` or the CRM.

    ``status`` is the plan's derived status (:mod:`plans.lifecycle`), ``declared`` what its
    origin says (the config file's ``status:``, or the CRM record's). ``version`` goes up when
    the terms change after the partner has seen them; ``accepted_*`` say which version the partner
    accepted, who and when; ``conflicts`` holds CRM edits of a config plan, per source, until
    they are resolved (they are reported, and the plan's record is not pushed over them).
    """

    __tablename__ = "plan"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True, max_length=200)
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    partner_key: str = Field(max_length=200)
    period: str = Field(max_length=40)
    period_start: date
    period_end: date
    status: str = Field(max_length=40)
    owner: str | None = Field(default=None, max_length=200)
    definition: dict[str, Any] = _json()
    definition_hash: str = Field(max_length=64)
    score: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    frozen_at: datetime | None = _utc()
    """When the plan's final numbers were computed, after its period closed; never again after."""
    origin: str = Field(
        default="config", max_length=20, sa_column_kwargs={"server_default": text("'config'")}
    )
    declared: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})
    version: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})
    shared_at: datetime | None = _utc()
    accepted_version: int | None = Field(default=None)
    accepted_by: str | None = Field(default=None, max_length=200)
    accepted_by_name: str | None = Field(default=None, max_length=200)
    accepted_at: datetime | None = _utc()
    source: str | None = Field(default=None, max_length=100)
    """The source a CRM-authored plan was pulled from (None for config plans)."""
    source_record_id: str | None = Field(default=None, max_length=100)
    conflicts: dict[str, Any] = _json()


class PlanVersionRow(SQLModel, table=True):
    """The terms (period and targets) of one version of a plan, as the partner saw them.

    An accepted version's terms stay what progress is measured against while a newer version
    waits for the partner's acceptance.
    """

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "version", name="uq_plan_version"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    version: int
    terms: dict[str, Any] = _json()
    terms_hash: str = Field(max_length=64)
    created_at: datetime | None = _utc()


class SectionRow(SQLModel, table=True):
    """A section of a plan (sales objectives, marketing plan, ...) with its summary."""

    __tablename__ = "section"
    __table_args__ = (UniqueConstraint("plan_id", "name", name="uq_section"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    name: str = Field(max_length=200)
    summary: str = Field(default="")
    position: int = Field(default=0)


class TargetRow(SQLModel, table=True):
    """One target of a plan: a metric, a value to reach, optional filter/phasing/weight."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("plan_id", "key", name="uq_target"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    section_id: int | None = Field(default=None, foreign_key="section.id")
    key: str = Field(max_length=300)
    metric: str = Field(max_length=200, index=True)
    value: Decimal = Field(sa_column=Column(Money(), nullable=False))
    currency: str | None = Field(default=None, max_length=3)
    weight: Decimal = Field(default=Decimal(1), sa_column=Column(Money(), nullable=False))
    filters: dict[str, Any] = _json()
    phasing: dict[str, Any] = _json()


class ProgressRow(SQLModel, table=True):
    """A target's computed progress; ``fingerprint`` changes exactly when a pushed value would."""

    __tablename__ = "progress"

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="target.id", unique=True, index=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    actual: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    target: Decimal = Field(sa_column=Column(Money(), nullable=False))
    attainment: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    expected_to_date: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    forecast: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    gap: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    status: str = Field(max_length=40)
    activity_count: int = Field(default=0)
    metric_version: str = Field(max_length=64)
    computed_at: datetime | None = _utc()
    data_as_of: datetime | None = _utc()
    fingerprint: str = Field(max_length=64)


class HistoryRow(SQLModel, table=True):
    """A target's progress snapshots of one week: the history behind trends (:mod:`plans.history`).

    The snapshots are packed in ``series`` as fixed-width records in day order (the format is
    :data:`plans.history.RECORD`); ``last_day`` is the day of the last one. Packed by target and
    week because a row per snapshot costs more in per-row overhead than the snapshot itself, and
    a row per target would be rewritten, whole, every day of its period.
    """

    __tablename__ = "progress_history"
    __table_args__ = {"sqlite_with_rowid": False}

    target_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("target.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    week: date = Field(primary_key=True)
    last_day: date
    series: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class FxRateRow(SQLModel, table=True):
    """A dated conversion rate: units of ``currency`` per one unit of the base currency.

    This is Salesforce's ``DatedConversionRate`` convention (``ConversionRate`` from
    ``StartDate`` until ``NextStartDate``), so that stream can be stored as is. Dates are ISO
    strings so the engine can join them on SQLite and PostgreSQL alike; the rate is a decimal
    string because it is only ever multiplied in Python, exactly.
    """

    __tablename__ = "fx_rate"
    __table_args__ = (UniqueConstraint("source", "currency", "start_on", name="uq_fx_rate"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    base: str = Field(max_length=3)
    currency: str = Field(max_length=3, index=True)
    start_on: str = Field(max_length=10)
    end_on: str | None = Field(default=None, max_length=10)
    rate: str = Field(max_length=40)


class WatermarkRow(SQLModel, table=True):
    """How far a stream has been pulled, and whether what is stored of it is complete.

    ``(modified_at, record_id)`` is the watermark. ``complete_at`` is the start of the last pull
    that completed: every record changed before it is stored. ``partial`` is set in the
    transaction of the first page a later pull stores, and cleared when that pull completes: a
    partial stream's stored data is no snapshot of the CRM at any time, so no number is computed
    from it (the trust rule, DESIGN.md).
    """

    __tablename__ = "watermark"
    __table_args__ = (UniqueConstraint("source", "stream", name="uq_watermark"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    stream: str = Field(max_length=100)
    modified_at: datetime | None = _utc()
    record_id: str | None = Field(default=None, max_length=100)
    deletions_checked_at: datetime | None = _utc()
    complete_at: datetime | None = _utc()
    partial: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    version: int = Field(default=STATE_VERSION)
    updated_at: datetime | None = _utc()


class RunRow(SQLModel, table=True):
    """One job of one stage (sync a source/stream, compute, push): its arguments, counts, outcome.

    A run is also the durable form of a queued message: it is created ``pending`` in the same
    transaction as the output that made it necessary, and a Dramatiq message carries only its
    id. A broker that loses messages (a Redis restart) therefore loses nothing for good: pending
    runs whose message never arrived are sent again by the recovery sweep.
    """

    __tablename__ = "run"
    __table_args__ = (Index("ix_run_outcome", "outcome", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    trigger: str = Field(max_length=40)
    stage: str = Field(max_length=40)
    source: str | None = Field(default=None, max_length=100)
    stream: str | None = Field(default=None, max_length=100)
    parent_id: int | None = Field(default=None, foreign_key="run.id")
    created_at: datetime | None = _utc(index=True)
    started_at: datetime | None = _utc()
    heartbeat_at: datetime | None = _utc()
    finished_at: datetime | None = _utc()
    attempts: int = Field(default=0)
    outcome: str = Field(default="pending", max_length=40)
    records_pulled: int = Field(default=0)
    records_mapped: int = Field(default=0)
    records_quarantined: int = Field(default=0)
    records_deleted: int = Field(default=0)
    api_calls: int = Field(default=0)
    error: str | None = Field(default=None)
    details: dict[str, Any] = _json()


class QuarantineRow(SQLModel, table=True):
    """A CRM record that could not be mapped, kept whole with the field and the reason."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source", "stream", "record_id", name="uq_quarantine"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    stream: str = Field(max_length=100)
    object: str = Field(max_length=200)
    record_id: str = Field(max_length=100)
    raw: dict[str, Any] = _json()
    field: str | None = Field(default=None, max_length=200)
    reason: str
    first_seen_at: datetime | None = _utc()
    last_seen_at: datetime | None = _utc()
    attempts: int = Field(default=1)
    resolved_at: datetime | None = _utc()


class PushStateRow(SQLModel, table=True):
    """What was last pushed successfully for one progress record to one destination.

    ``pushed`` holds the CRM field values of that last successful push, so that
    ``push --dry-run`` can show old → new without reading the CRM, and ``pushed["_associated"]``
    records which company a HubSpot record was last associated with.
    """

    __tablename__ = "push_state"
    __table_args__ = (UniqueConstraint("destination", "record_key", name="uq_push_state"),)

    id: int | None = Field(default=None, primary_key=True)
    destination: str = Field(max_length=100)
    record_key: str = Field(max_length=300)
    target_id: int | None = Field(default=None, foreign_key="target.id", index=True)
    fingerprint: str | None = Field(default=None, max_length=64)
    pushed_at: datetime | None = _utc()
    crm_record_id: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _utc()
    pushed: dict[str, Any] = _json()
    version: int = Field(default=STATE_VERSION)


class DescribeRow(SQLModel, table=True):
    """A CRM object's describe (fields, properties) as last fetched, for the next processes.

    ``org`` is the connector's digest of the org / portal, never a token; ``value`` is the
    describe as the connector caches it (see :mod:`connectors.schema_cache`).
    """

    __tablename__ = "describe"
    __table_args__ = (UniqueConstraint("org", "object", name="uq_describe"),)

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(max_length=200)
    object: str = Field(max_length=200)
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=False))


METADATA = SQLModel.metadata
"""The store's schema: every table above, registered on it by its class definition.

What creates or migrates the schema (:func:`plans.db.create_all`, :mod:`plans.migrate`) imports
this name rather than importing the module for its side effect.
"""
