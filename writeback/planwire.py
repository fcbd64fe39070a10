"""A plan's record in one CRM's terms: its manifest's fields, parents inline or as associations.

:func:`wire` maps a :class:`~writeback.planrecords.PartRecord` onto the manifest's object for a
dialect: values by kind (a percent 0.85 is sent as 85, a flag is set when its value is present),
parents by key inline where the CRM sets relationships by external id (Salesforce,
:meth:`~connectors.dialect.Dialect.parent_reference`), or as associations to make after the
write where the CRM ties records by association (HubSpot). The fingerprint hashes what is sent,
the freshness field (``data_as_of``) excepted, as progress records are fingerprinted: a value a
CRM user would see changes it; a recompute that changes nothing does not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.dialect import Dialect
from writeback.manifest import FieldEntry, Manifest, ObjectEntry
from writeback.payloads import plain
from writeback.planparts import Claim, PartRecord, Ref

FRESH = frozenset({"data_as_of"})
"""Values that say when, not what: sent along with a change, never a reason to push alone."""


@dataclass
class Wired:
    """One record as a CRM gets it.

    Attributes:
        record: What it was made from.
        object: The CRM object.
        fields: CRM field → value, the key field included.
        links: Associations to make after the write: (associated object type, parent).
        fingerprint: Hash of what is sent (freshness excepted).
        pushed: The values by vocabulary name, JSON-ready (kept as the last pushed state).
    """

    record: PartRecord | Claim
    object: str
    fields: dict[str, Any]
    links: list[tuple[str, Ref]] = field(default_factory=list)
    fingerprint: str = ""
    pushed: dict[str, Any] = field(default_factory=dict)


def _value(spec: FieldEntry, value: Any, currency: bool) -> tuple[bool, Any]:
    """Whether to send ``value`` for ``spec``, and in which form."""
    if spec.kind == "currency" and not currency:
        return False, None
    if spec.kind == "user" and value is not None and "@" in str(value):
        return False, None  # an e-mail: CRM users are not resolved from config (assumption)
    if spec.kind == "flag":
        return True, value is not None
    if spec.kind == "percent" and value is not None:
        return True, Decimal(value) * 100
    return True, value


def _plain(value: Any) -> Any:
    if isinstance(value, Ref):
        return value.key or value.id
    return plain(value)


def wire(
    record: PartRecord | Claim,
    entry: ObjectEntry,
    manifest: Manifest,
    dialect: Dialect,
    *,
    currency: bool,
) -> Wired:
    """``record`` in the CRM's fields (see the module docstring)."""
    associating = dialect.partner_link.via == "association"
    if isinstance(record, Claim):
        fields: dict[str, Any] = {"id": record.record_id}
        nulls: frozenset[str] = frozenset()
        if "key" in record.values and entry.key_field:
            fields[entry.key_field] = record.values["key"]
    else:
        fields = {entry.key_field or "": record.key}
        nulls = record.nulls
    links: list[tuple[str, Ref]] = []
    fresh: set[str] = set()
    pushed: dict[str, Any] = {}
    for name, spec in entry.fields.items():
        if name not in record.values:
            continue
        value = record.values[name]
        if value is None and name not in nulls:
            continue
        send, value = _value(spec, value, currency)
        if not send:
            continue
        pushed[name] = _plain(value)
        if name in FRESH:
            fresh.add(spec.field)
        if isinstance(value, Ref):
            if associating:
                links.append((spec.field, value))
            elif value.id is not None:
                fields[spec.field] = value.id
            else:
                key_field = manifest.key_field_of(spec.to or "") or ""
                inline = dialect.parent_reference(spec.field, key_field, value.key or "")
                fields.update(inline or {})
            continue
        if spec.kind == "reference" and associating:
            continue  # an association is never undone by a blank: nothing to send
        fields[spec.field] = value
    body = {k: _plain(v) if not isinstance(v, dict) else v for k, v in fields.items()}
    text = json.dumps(
        [
            entry.object,
            sorted((k, v) for k, v in body.items() if k not in fresh),
            sorted((to, _plain(ref)) for to, ref in links),
        ],
        default=str,
        separators=(",", ":"),
    )
    fingerprint = hashlib.sha256(text.encode()).hexdigest()
    return Wired(record, entry.object, fields, links, fingerprint, pushed)
