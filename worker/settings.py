"""``config/settings.yaml``: where the store is, which CRMs are sources, schedules, thresholds.

Source connection models belong to ``connectors`` (they change with the connectors); this file
assembles them with what the worker itself needs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from connectors.config import Source
from partnerplan.config import StrictModel


class Schedule(StrictModel):
    """A cron expression and what it triggers: a source's sync, one stream, or a recompute."""

    cron: str
    source: str | None = None
    stream: str | None = None
    action: Literal["sync", "recompute", "push"] = "sync"


class StatusThresholds(StrictModel):
    """Attainment-to-pace ratios below which a target is at risk / off track."""

    on_track: float = Field(default=0.9, gt=0)
    at_risk: float = Field(default=0.7, gt=0)


class Settings(StrictModel):
    """The whole of ``settings.yaml``."""

    version: Literal[1] = 1
    database_url: str | None = None
    redis_url: str | None = None
    reporting_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    sources: dict[str, Annotated[Source, Field(discriminator="type")]] = Field(default_factory=dict)
    schedules: list[Schedule] = Field(default_factory=list)
    status_thresholds: StatusThresholds = StatusThresholds()
    stale_after_minutes: int = Field(default=120, gt=0)
    """A stream whose last successful sync is older than this is shown as stale."""
