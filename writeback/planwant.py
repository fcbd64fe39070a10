"""What the plan push needs in a CRM, from its manifest, in the terms ``crm setup`` takes.

A CRM whose objects and fields are created through its API (HubSpot: ``partnerplan crm setup``)
gets every pushed object of its manifest as a :class:`~connectors.setup.WantedObject`: the key
as a unique text property, each value with its kind (a picklist as a choice of its values, a
flag as a checkbox), and the objects its records are associated with (the plan's partner
company; a section's plan; ...). Salesforce's are metadata, deployed from ``crm/salesforce``.
"""

from __future__ import annotations

from connectors.setup import ValueKind, WantedObject, WantedProperty
from writeback.manifest import FieldEntry, Manifest

_KINDS: dict[str, ValueKind] = {
    "text": "text",
    "number": "number",
    "percent": "percent",
    "money": "number",
    "date": "date",
    "datetime": "datetime",
    "picklist": "choice",
    "currency": "choice",
    "flag": "flag",
}
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF")
"""The currency select's options. Assumption: HubSpot's ``currency`` property lists the portal's
currencies; add yours in HubSpot's property settings if they are not among these."""
PARTNER_OBJECTS = frozenset({"companies", "Account"})
_LABELS = {
    "plan": "Partner plan",
    "section": "Partner plan section",
    "progress": "Partner plan progress",
    "action": "Partner plan action",
    "investment": "Partner plan investment",
    "target_account": "Partner plan target account",
}


def _property(entry: FieldEntry) -> WantedProperty | None:
    kind = _KINDS.get(entry.kind)
    if kind is None:
        return None  # references are associations; users are not written
    options = tuple(entry.values or (CURRENCIES if entry.kind == "currency" else ()))
    return WantedProperty(entry.field, kind, options=options)


def wanted_plan_objects(manifest: Manifest) -> list[WantedObject]:
    """Every object the plan push writes, with its properties and associations."""
    out: list[WantedObject] = []
    for part, entry in manifest.pushed():
        props = [WantedProperty(entry.key_field or "", "text", "Key", unique=True)]
        props += [p for f in entry.fields.values() if (p := _property(f)) is not None]
        targets = [f.to or "" for f in entry.fields.values() if f.kind == "reference"]
        partner = any(t in PARTNER_OBJECTS for t in targets)
        links = tuple(t for t in targets if t not in PARTNER_OBJECTS)
        out.append(
            WantedObject(entry.object, tuple(props), True, partner, _LABELS.get(part, ""), links)
        )
    return out


def merged(objects: list[WantedObject]) -> list[WantedObject]:
    """One wanted object per name, properties and links merged in order (progress is wanted by
    both ``progress:`` and ``plans:``)."""
    by_name: dict[str, WantedObject] = {}
    for item in objects:
        first = by_name.get(item.object)
        if first is None:
            by_name[item.object] = item
            continue
        names = {p.name for p in first.properties}
        props = first.properties + tuple(p for p in item.properties if p.name not in names)
        links = first.linked_to + tuple(t for t in item.linked_to if t not in first.linked_to)
        by_name[item.object] = WantedObject(
            first.object,
            props,
            first.custom or item.custom,
            first.linked_to_partner or item.linked_to_partner,
            first.label or item.label,
            links,
        )
    return list(by_name.values())
