"""Custom objects by bare name: HubSpot no longer resolves them, so the connector sends ``p_name``.

HubSpot's 2025 change ("Removed support for referencing custom object types by base name")
makes ``/crm/v3/objects/deal_registrations`` a 400; the mappings may still say
``deal_registrations``, and the connector turns it into the documented short name.
"""

from __future__ import annotations

import pytest

from connectors.hubspot.schema import api_object_type
from connectors.spec import StreamSpec
from sandbox import Sandbox
from tests.connectors.against import drain, hs_ids, hubspot, live_hs_ids


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("deal_registrations", "p_deal_registrations"),
        ("p_deal_registrations", "p_deal_registrations"),
        ("p4242424_deal_registrations", "p4242424_deal_registrations"),
        ("2-1001", "2-1001"),
        ("deals", "deals"),
        ("ticket", "ticket"),
        ("0-3", "0-3"),
    ],
)
def test_each_name_a_mapping_may_use_is_sent_as_hubspot_resolves_it(written, sent):
    """Standard names, type ids and qualified names go as written; bare custom names as p_."""
    assert sent == api_object_type(written)


@pytest.mark.parametrize("written", ["deal_registrations", "2-1001", "p_deal_registrations"])
def test_a_custom_object_pulls_under_any_name_a_mapping_uses(sandbox: Sandbox, written):
    """deal_registrations, 2-1001 and p_deal_registrations all pull every live registration."""
    spec = StreamSpec("hs_regs", "hubspot", written, ("status",), "hs_lastmodifieddate")
    records, _ = drain(hubspot(sandbox).pull(spec, None))
    assert live_hs_ids(sandbox, "deal_registrations") == set(hs_ids(records))
