"""Loading exact records (the ``--data`` JSON format) into empty sandbox stores.

Format: ``{"salesforce": {"SObjectName": [record, ...]}, "hubspot": {"objectType":
[{"id", "properties", "associations"}, ...]}}``. System fields (Id, CreatedDate,
SystemModstamp, hs_object_id, createdAt/updatedAt, ...) are filled in when absent.
"""

from __future__ import annotations

from typing import Any

from sandbox.formats import now_ms, parse_instant
from sandbox.hs_store import HubSpotStore
from sandbox.sf_schema import sobject
from sandbox.sf_store import SalesforceStore


class DatasetError(ValueError):
    """The data file names an unknown object or holds a record the CRM would refuse."""


def load(data: dict[str, Any], salesforce: SalesforceStore, hubspot: HubSpotStore) -> None:
    """Insert every record of ``data``; accounts and companies first so lookups resolve."""
    unknown = sorted(set(data) - {"salesforce", "hubspot"})
    if unknown:
        raise DatasetError(f"unknown top-level keys {unknown}; use 'salesforce' and 'hubspot'")
    objects = data.get("salesforce") or {}
    order = sorted(objects, key=lambda name: (name.lower() != "account", name))
    for name in order:
        o = sobject(name)
        if o is None:
            raise DatasetError(f"salesforce: unknown sObject {name!r}")
        for record in objects[name]:
            salesforce.insert(o.name, record, trusted=True)
    kinds = data.get("hubspot") or {}
    links: list[tuple[Any, str, str, str]] = []
    for name in sorted(kinds, key=lambda n: (n != "companies", n)):
        kind = hubspot.kind(name, api=False)
        table = hubspot.table(kind)
        for item in kinds[name]:
            props = dict(item.get("properties") or {})
            stamp = _instant(item.get("updatedAt")) or now_ms()
            system = {"hs_object_id", kind.created, kind.modified}
            record = hubspot.create(
                kind,
                hubspot.coerce(kind, {k: v for k, v in props.items() if k not in system}),
                stamp,
            )
            if item.get("createdAt"):
                record["_created"] = _instant(item["createdAt"])
            if item.get("id"):
                record["p"]["hs_object_id"] = str(item["id"])
                table.put(record, str(item["id"]))
            for to, ids in (item.get("associations") or {}).items():
                links.extend((kind, record["p"]["hs_object_id"], to, str(i)) for i in ids)
    for kind, record_id, to, to_id in links:
        hubspot.link(kind, record_id, hubspot.kind(to, api=False), to_id)


def _instant(text: Any) -> int | None:
    return parse_instant(str(text)) if text else None
