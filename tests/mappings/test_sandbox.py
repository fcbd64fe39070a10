"""The shipped mappings map every record the sandbox CRMs serve, through the real connectors.

This is what makes the demo work out of the box: a drift between the sandbox's data model
(sandbox/DATA.md) and config/mappings shows up here as quarantined records.
"""

from __future__ import annotations

from collections import Counter

import pytest

from connectors.crms import REGISTRY
from connectors.hubspot.settings import HubSpotSource
from connectors.salesforce.settings import SalesforceSource
from mappings.activity import Rejection
from partnerplan.config import EnvStr
from sandbox.sandbox import Sandbox
from tests.sandbox.plan_records import seed_plan_records


@pytest.fixture(scope="module")
def connectors():
    """Connectors to a small sandbox (one partner, ~500 activities)."""
    with Sandbox(seed=3, scale=1) as sandbox:
        seed_plan_records(sandbox)  # the sandbox generates no plans or funds: one of each
        salesforce = SalesforceSource.model_validate(
            {
                "type": "salesforce",
                "instance_url": sandbox.salesforce_url,
                "ca_bundle": str(sandbox.ca_bundle),
                "auth": {"flow": "session", "session_id": EnvStr(sandbox.salesforce_session_id)},
            }
        )
        hubspot = HubSpotSource.model_validate(
            {
                "type": "hubspot",
                "base_url": sandbox.hubspot_url,
                "token": EnvStr(sandbox.hubspot_token),
            }
        )
        yield {
            "salesforce": REGISTRY.connect("salesforce", salesforce),
            "hubspot": REGISTRY.connect("hubspot", hubspot),
        }


def test_every_sandbox_record_maps_with_no_quarantine(shipped, connectors):
    """Pulling each shipped stream in full and mapping it quarantines nothing."""
    failures: Counter[tuple[str, str | None, str]] = Counter()
    mapped: Counter[str] = Counter()
    for stream in shipped.streams.values():
        connector = connectors[stream.source]
        for page in connector.pull(stream.spec(), None):
            for item in stream.map_many(page.records):
                if isinstance(item, Rejection):
                    failures[(stream.name, item.field, item.reason)] += 1
                else:
                    mapped[stream.name] += 1
        for page in connector.deletions(stream.spec(), None):
            for raw in page.records:
                assert not isinstance(stream.map(raw, deleted=True), Rejection)
    assert dict(failures) == {}
    assert sorted(name for name, count in mapped.items() if count) == sorted(shipped.streams)
