"""Helpers for the connector tests against the sandbox CRMs: settings, connectors, id sets.

The connectors are built exactly as the worker builds them (settings models, ``connect``-style
constructors, TLS against the sandbox's own CA), with a retry policy that records the pauses the
CRM asked for but never sleeps, so a 429 storm costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from connectors.base import Page, Watermark
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSource
from connectors.retry import RetryPolicy
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSource
from connectors.spec import StreamSpec
from sandbox import Sandbox

OPPORTUNITIES = StreamSpec(
    name="sf_opportunities",
    source="salesforce",
    object="Opportunity",
    fields=("Name", "Amount", "CurrencyIsoCode", "StageName", "PartnerAccount.Partner_Key__c"),
    modified_field="SystemModstamp",
)
DEALS = StreamSpec(
    name="hs_deals",
    source="hubspot",
    object="deals",
    fields=("dealname", "amount", "deal_currency_code", "dealstage"),
    modified_field="hs_lastmodifieddate",
)
PROPERTIES = r"GET /crm/v3/properties/([\w-]+)"
"""The sandbox's endpoint of HubSpot's properties call (its key in ``stats``)."""
DESCRIBE = r"GET sobjects/(\w+)/describe"
"""The sandbox's endpoint of Salesforce's describe call."""
FAST = {"window_calls": 1000, "window_seconds": 1, "search_per_second": 1000, "margin": 1}
"""Limits the pacer never waits on: these tests are about other things than pacing."""


def no_sleep(attempts: int = 10, on_sleep: Callable[[float], None] | None = None) -> RetryPolicy:
    """A retry policy that never sleeps (``on_sleep`` runs instead, e.g. to end an outage)."""
    return RetryPolicy(
        attempts=attempts, backoff=0.001, max_backoff=0.001, sleep=on_sleep or (lambda _s: None)
    )


def sf_source(sb: Sandbox, **overrides: Any) -> SalesforceSource:
    """Settings for the sandbox org: client-credentials login, the sandbox CA trusted."""
    data: dict[str, Any] = {
        "type": "salesforce",
        "instance_url": sb.salesforce_url,
        "auth": {
            "flow": "client_credentials",
            "client_id": SecretStr(sb.salesforce_client_id),
            "client_secret": SecretStr(sb.salesforce_client_secret),
        },
        "ca_bundle": sb.ca_bundle,
        "lookback_seconds": 0,
    }
    data.update(overrides)
    return SalesforceSource.model_validate(data)


def hs_source(sb: Sandbox, **overrides: Any) -> HubSpotSource:
    """Settings for the sandbox portal (no search lag: the sandbox indexes at once)."""
    data: dict[str, Any] = {
        "type": "hubspot",
        "base_url": sb.hubspot_url,
        "token": SecretStr(sb.hubspot_token),
        "search_lag_seconds": 0,
        "first_load": "search",  # these tests read the search pager; test_listing the choice
        "rate_limits": FAST,
        "lookback_seconds": 0,
    }
    data.update(overrides)
    return HubSpotSource.model_validate(data)


def salesforce(
    sb: Sandbox, retry: RetryPolicy | None = None, page_size: int | None = None, **overrides: Any
) -> SalesforceConnector:
    """A Salesforce connector on the sandbox."""
    return SalesforceConnector(
        "salesforce", sf_source(sb, **overrides), retry=retry or no_sleep(), page_size=page_size
    )


def hubspot(
    sb: Sandbox,
    retry: RetryPolicy | None = None,
    page_size: int = 200,
    now: Callable[[], datetime] | None = None,
    **overrides: Any,
) -> HubSpotConnector:
    """A HubSpot connector on the sandbox."""
    source = hs_source(sb, **overrides)
    return HubSpotConnector(
        "hubspot", source, retry=retry or no_sleep(), page_size=page_size, now=now
    )


def sf_ids(records: Iterable[dict[str, Any]]) -> list[str]:
    """Record ids of Salesforce records, in order."""
    return [str(r["Id"]) for r in records]


def hs_ids(records: Iterable[dict[str, Any]]) -> list[str]:
    """Record ids of HubSpot records, in order."""
    return [str(r["id"]) for r in records]


def live_sf_ids(sb: Sandbox, object: str) -> set[str]:
    """Ids of every record of ``object`` that is not deleted, from the sandbox's own store."""
    return {r["Id"] for r in sb.records("salesforce", object) if not r.get("IsDeleted")}


def live_hs_ids(sb: Sandbox, object: str) -> set[str]:
    """Ids of every record of ``object`` that is not archived."""
    return {str(r["id"]) for r in sb.records("hubspot", object) if not r.get("archived")}


def drain(pages: Iterable[Page]) -> tuple[list[dict[str, Any]], Watermark | None]:
    """Every record of ``pages`` in order, and the last page's watermark."""
    records: list[dict[str, Any]] = []
    mark: Watermark | None = None
    for page in pages:
        records.extend(page.records)
        mark = page.watermark or mark
    return records, mark


def calls(sb: Sandbox, server: str, endpoint: str) -> int:
    """How many calls ``server`` answered on ``endpoint`` (a route pattern) so far."""
    return int(sb.stats(server)["calls_by_endpoint"].get(endpoint, 0))
