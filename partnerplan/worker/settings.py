"""``config/settings.yaml``: where the store is, which CRMs are sources, schedules, thresholds.

Source connection models belong to ``connectors`` (they change with the connectors); this file
assembles them with what the worker itself needs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from partnerplan.config import Secret, StrictModel


class Timeouts(StrictModel):
    """Explicit connect/read timeouts (seconds) for every CRM call."""

    connect: float = Field(default=10, gt=0)
    read: float = Field(default=120, gt=0)


class SalesforceAuth(StrictModel):
    """How to authenticate to Salesforce. Secrets only from ``${ENV_VAR}``."""

    flow: Literal["client_credentials", "refresh_token", "jwt_bearer", "password", "session"]
    token_url: str | None = None
    client_id: Secret | None = None
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    security_token: Secret | None = None
    private_key_file: str | None = None
    session_id: Secret | None = None


class SalesforceSource(StrictModel):
    """A Salesforce org to pull from and push to."""

    type: Literal["salesforce"]
    instance_url: str
    api_version: str = "62.0"
    auth: SalesforceAuth
    ca_bundle: str | None = None
    budget_share: float = Field(default=0.5, gt=0, le=1)
    timeouts: Timeouts = Timeouts()
    bulk_threshold: int = Field(default=200_000, ge=0)
    lookback_seconds: int = Field(default=300, ge=0)


class HubSpotSource(StrictModel):
    """A HubSpot portal to pull from and push to."""

    type: Literal["hubspot"]
    base_url: str = "https://api.hubapi.com"
    token: Secret
    ca_bundle: str | None = None
    budget_share: float = Field(default=0.5, gt=0, le=1)
    timeouts: Timeouts = Timeouts()
    search_lag_seconds: int = Field(default=120, ge=0)
    lookback_seconds: int = Field(default=300, ge=0)


Source = SalesforceSource | HubSpotSource


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
    sources: dict[str, Source] = Field(default_factory=dict)
    schedules: list[Schedule] = Field(default_factory=list)
    status_thresholds: StatusThresholds = StatusThresholds()
