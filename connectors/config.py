"""Connection settings for each kind of CRM source (the ``sources:`` of settings.yaml)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from partnerplan.config import Secret, StrictModel


def _blank_is_none(value: object) -> object:
    """Read a blank ``ca_bundle`` as "not set".

    settings.yaml writes ``ca_bundle: ${SF_CA_BUNDLE:-}`` so that an unset variable means the
    system trust store. The substitution leaves ``""``, which ``requests`` would take as a path
    (and fail on) and hubspot-api-client as a file name; None is what both read as "default
    trust".
    """
    if isinstance(value, str) and not value.strip():
        return None
    return value


CaBundle = Annotated[str | None, BeforeValidator(_blank_is_none)]
"""A PEM file of CAs to trust instead of the system store; blank or absent: the system store."""


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
    """A Salesforce org to pull from and push to.

    ``bulk_threshold``: a first pull (no watermark) of more records than this runs as a Bulk
    API 2.0 query job; 0 never uses Bulk 2.0 (and skips the ``SELECT COUNT()`` call).
    """

    type: Literal["salesforce"]
    instance_url: str
    api_version: str = "62.0"
    auth: SalesforceAuth
    ca_bundle: CaBundle = None
    budget_share: float = Field(default=0.5, gt=0, le=1)
    timeouts: Timeouts = Timeouts()
    bulk_threshold: int = Field(default=200_000, ge=0)
    lookback_seconds: int = Field(default=300, ge=0)


class HubSpotSource(StrictModel):
    """A HubSpot portal to pull from and push to."""

    type: Literal["hubspot"]
    base_url: str = "https://api.hubapi.com"
    token: Secret
    ca_bundle: CaBundle = None
    budget_share: float = Field(default=0.5, gt=0, le=1)
    timeouts: Timeouts = Timeouts()
    search_lag_seconds: int = Field(default=120, ge=0)
    lookback_seconds: int = Field(default=300, ge=0)


Source = SalesforceSource | HubSpotSource
