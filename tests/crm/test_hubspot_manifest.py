"""The HubSpot manifest holds the same plan as the Salesforce one, and the sandbox portal has it.

``crm/hubspot/partnerplan-properties.yaml`` is the HubSpot side of the contract
``crm/salesforce/partnerplan-fields.yaml`` states for Salesforce: the same parts, the same
vocabulary and the same picklist values, so both CRMs hold one plan under one set of keys.
"""

from __future__ import annotations

from sandbox.hs_schema import object_type
from writeback.manifest import load_manifest

SALESFORCE = load_manifest("salesforce/partnerplan-fields.yaml")
HUBSPOT = load_manifest("hubspot/partnerplan-properties.yaml")
ONLY_SALESFORCE = {("plan", "owner"), ("target_account", "account")}
"""A Salesforce OwnerId is a User; HubSpot owners are not resolved from config e-mails. A target
account's ``account:`` in a plan file is a Salesforce Account Id (HubSpot gets the name)."""
ONLY_HUBSPOT = {("plan", "partner_key"), ("progress", "origin")}
"""The partner's key on the plan (search by it), the origin on progress (CRM-authored targets
are told apart by it; in Salesforce by their plan's origin)."""


def _vocabulary(manifest):
    return {(part, name) for part, o in manifest.objects.items() for name in o.fields}


def test_both_manifests_have_the_same_parts_and_vocabulary():
    """Same parts, same value names, but for the documented differences."""
    assert set(SALESFORCE.objects) == set(HUBSPOT.objects)
    assert _vocabulary(SALESFORCE) - ONLY_SALESFORCE == _vocabulary(HUBSPOT) - ONLY_HUBSPOT


def test_picklists_offer_the_same_values_in_both_crms():
    """A status, a kind or a side is written with the same API value to either CRM."""
    different = []
    for part, entry in SALESFORCE.objects.items():
        for name, field in entry.fields.items():
            other = HUBSPOT.objects[part].fields.get(name)
            if field.values is not None and (other is None or other.values != field.values):
                different.append((part, name))
    assert [] == different


def test_the_sandbox_portal_has_every_pushed_property_and_option():
    """Each pushed property exists on its sandbox object, a picklist with at least its values."""
    missing = []
    for _, entry in HUBSPOT.pushed():
        kind = object_type(entry.object, api=False)
        assert kind is not None, entry.object
        for field in [
            entry.key_field,
            *(f.field for f in entry.fields.values() if f.kind != "reference"),
        ]:
            prop = kind.props.get(field or "")
            if prop is None:
                missing.append((entry.object, field))
        for name, spec in entry.fields.items():
            prop = kind.props.get(spec.field)
            if spec.values and prop is not None and not set(spec.values) <= set(prop.options):
                missing.append((entry.object, name, "options"))
    assert [] == missing
