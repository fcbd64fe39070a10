"""Connection settings for each kind of CRM source (the ``sources:`` of settings.yaml)."""

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
