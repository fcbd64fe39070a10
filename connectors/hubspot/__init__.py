"""HubSpot: everything partnerplan knows about this CRM, in one folder.

``connector`` (keyset search pulls, archived listings, batch writes, associations), ``search``
(the keyset pager), ``writes`` (batch bodies and per-record results), ``errors`` (HTTP errors
to partnerplan's), ``setup`` (properties and custom objects write-back needs), ``settings``,
``schema`` and ``dialect``. :data:`CRM` is the entry the registry holds.
"""

from __future__ import annotations

from typing import Any

from connectors.base import Connector
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.dialect import HubSpotDialect
from connectors.hubspot.settings import HubSpotSource
from connectors.hubspot.setup import HubSpotSetup
from connectors.registry import Crm
from connectors.retry import RetryPolicy
from connectors.setup import CrmSetup


def connect(name: str, settings: Any, retry: RetryPolicy | None) -> Connector:
    """The connector of one HubSpot source (a private-app token needs no login)."""
    if not isinstance(settings, HubSpotSource):
        raise TypeError(f"source {name!r}: expected HubSpot settings, got {type(settings)}")
    return HubSpotConnector(name, settings, retry=retry)


def setup(name: str, settings: Any) -> CrmSetup:
    """Creates the properties and custom objects write-back needs, through the API."""
    if not isinstance(settings, HubSpotSource):
        raise TypeError(f"source {name!r}: expected HubSpot settings, got {type(settings)}")
    return HubSpotSetup(name, settings)


CRM = Crm(
    kind="hubspot",
    settings=HubSpotSource,
    connect=connect,
    dialect=HubSpotDialect(),
    setup=setup,
)
