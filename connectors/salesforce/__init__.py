"""Salesforce: everything partnerplan knows about this CRM, in one folder.

``connector`` (SOQL pulls, queryAll deletions, Collections writes), ``auth`` (OAuth flows and
sessions), ``bulk`` (Bulk API 2.0 first loads), ``soql`` (query text), ``errors`` (HTTP and API
errors to partnerplan's), ``http`` (the pinned ``requests`` session), ``settings`` (a source in
settings.yaml), ``schema`` and ``dialect`` (what the other stages ask). :data:`CRM` is the entry
the registry holds.
"""

from __future__ import annotations

from typing import Any

from connectors.base import Connector
from connectors.registry import Crm
from connectors.retry import RetryPolicy
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.dialect import SalesforceDialect
from connectors.salesforce.settings import SalesforceSource


def connect(name: str, settings: Any, retry: RetryPolicy | None) -> Connector:
    """The connector of one Salesforce source (it logs in on first use)."""
    if not isinstance(settings, SalesforceSource):
        raise TypeError(f"source {name!r}: expected Salesforce settings, got {type(settings)}")
    return SalesforceConnector(name, settings, retry=retry)


CRM = Crm(
    kind="salesforce",
    settings=SalesforceSource,
    connect=connect,
    dialect=SalesforceDialect(),
    setup_hint=(
        "Salesforce fields and objects are metadata: deploy the SFDX project in crm/salesforce "
        "with the Salesforce CLI (`sf project deploy start`; see crm/salesforce/README.md)"
    ),
)
