"""Describes are reused for a while, seen again after their lifetime, re-checked before a miss."""

from __future__ import annotations

import pytest

from connectors.errors import MissingField
from connectors.schema_cache import SchemaCache
from connectors.spec import StreamSpec
from tests.connectors.against import DEALS, OPPORTUNITIES, hubspot, salesforce

PROPERTIES = r"GET /crm/v3/properties/([\w-]+)"
DESCRIBE = r"GET sobjects/(\w+)/describe"


def _calls(sb, server: str, endpoint: str) -> int:
    return int(sb.stats(server)["calls_by_endpoint"].get(endpoint, 0))


def test_a_describe_is_reused_within_its_lifetime_and_asked_again_after():
    """Two reads within the TTL load once; a read after it loads again."""
    now = [0.0]
    cache = SchemaCache(clock=lambda: now[0])
    loads: list[int] = []

    def load() -> set[str]:
        loads.append(1)
        return {"amount"}

    cache.get(("portal", "deals"), 60, load)
    now[0] = 59
    cache.get(("portal", "deals"), 60, load)
    assert 1 == len(loads)
    now[0] = 61
    cache.get(("portal", "deals"), 60, load)
    assert 2 == len(loads)


def test_hubspot_properties_are_asked_once_for_every_connector_of_the_portal(sandbox):
    """Two connectors (two runs of one worker) check deals' fields: one properties call."""
    hubspot(sandbox).check_fields(DEALS)
    hubspot(sandbox).check_fields(DEALS)
    assert 1 == _calls(sandbox, "hubspot", PROPERTIES)


def test_a_property_the_cache_lacks_is_asked_for_again_before_the_stream_fails(sandbox):
    """A stream needing a property the cached list lacks re-asks once, then names it."""
    connector = hubspot(sandbox)
    connector.check_fields(DEALS)
    wanting = StreamSpec(**{**DEALS.__dict__, "fields": (*DEALS.fields, "partner_tier__c")})
    with pytest.raises(MissingField, match="partner_tier__c"):
        connector.check_fields(wanting)
    assert 2 == _calls(sandbox, "hubspot", PROPERTIES)


def test_salesforce_describes_are_shared_by_connectors_and_re_checked_on_a_miss(sandbox):
    """A second connector reuses the describes; a missing field re-asks them before failing."""
    salesforce(sandbox).check_fields(OPPORTUNITIES)
    salesforce(sandbox).check_fields(OPPORTUNITIES)
    assert 2 == _calls(sandbox, "salesforce", DESCRIBE)  # Opportunity, and Account (a path)
    wanting = StreamSpec(**{**OPPORTUNITIES.__dict__, "fields": ("Partner_Tier__c",)})
    with pytest.raises(MissingField, match="Partner_Tier__c"):
        salesforce(sandbox).check_fields(wanting)
    assert 3 == _calls(sandbox, "salesforce", DESCRIBE)
