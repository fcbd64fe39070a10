"""A Salesforce source in settings.yaml: the org, the API version, how to authenticate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from connectors.settings import SourceSettings
from partnerplan.config import Secret, StrictModel


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


class SalesforceRateLimits(StrictModel):
    """The Salesforce limit the connector paces itself to.

    Salesforce meters requests per day (the budget, from ``Sforce-Limit-Info``), not per
    second; what refuses a burst is the org's limit of 25 concurrent long-running (20 s and
    longer) requests, shared with every other integration. ``in_flight``: at most this many
    requests of this org at once, across every thread and worker process; unset, the
    source's ``concurrent_streams`` (4 by default), leaving room for the org's other clients.
    """

    in_flight: int | None = Field(default=None, ge=1, le=25)


class SalesforceSource(SourceSettings):
    """A Salesforce org to pull from and push to.

    ``bulk_threshold``: a first pull (no watermark) of more records than this runs as a Bulk
    API 2.0 query job; 0 never uses Bulk 2.0 (and skips the ``SELECT COUNT()`` call).
    ``rate_limits``: the concurrent requests the connector allows itself
    (:class:`SalesforceRateLimits`).
    """

    type: Literal["salesforce"]
    instance_url: str
    api_version: str = "62.0"
    auth: SalesforceAuth
    bulk_threshold: int = Field(default=200_000, ge=0)
    rate_limits: SalesforceRateLimits = SalesforceRateLimits()
