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
        for position, item in enumerate(kinds[name]):
            record_id = _hubspot_record(hubspot, kind, item, f"hubspot.{name}[{position}]")
            for to, ids in (item.get("associations") or {}).items():
                links.extend((kind, record_id, to, str(i)) for i in ids)
    for kind, record_id, to, to_id in links:
        hubspot.link(kind, record_id, hubspot.kind(to, api=False), to_id)


def _hubspot_record(hubspot: HubSpotStore, kind: Any, item: dict[str, Any], where: str) -> str:
    """Store one HubSpot record of the data file; returns its id.

    ``createdAt`` (else the ``createdate``/``hs_createdate`` property) is when it was created,
    ``updatedAt`` (else the modified property) when it last changed; either defaults to the
    other, then to now. ``archived: true`` loads it into the recycle bin (``archivedAt``,
    else ``updatedAt``), where only ``archived=true`` listings see it.

    Raises:
        DatasetError: the record was created after it was last changed, or archived before.
    """
    props = dict(item.get("properties") or {})
    updated = _instant(item.get("updatedAt") or props.get(kind.modified))
    created = _instant(item.get("createdAt") or props.get(kind.created))
    updated = updated or created or now_ms()
    created = created or updated
    if created > updated:
        raise DatasetError(
            f"{where}: createdAt {item.get('createdAt') or props.get(kind.created)} is after "
            f"updatedAt {item.get('updatedAt') or props.get(kind.modified)}; a record cannot "
            f"change before it exists"
        )
    system = {"hs_object_id", kind.created, kind.modified}
    values = hubspot.coerce(kind, {k: v for k, v in props.items() if k not in system})
    record = hubspot.create(kind, values, updated, created=created)
    record_id = str(item.get("id") or record["p"]["hs_object_id"])
    if item.get("id"):
        record["p"]["hs_object_id"] = record_id
        hubspot.table(kind).put(record, record_id)
    if item.get("archived"):
        archived = _instant(item.get("archivedAt")) or updated
        if archived < updated:
            raise DatasetError(f"{where}: archivedAt is before updatedAt")
        hubspot.archive(kind, record, archived)
    return record_id


def _instant(text: Any) -> int | None:
    return parse_instant(str(text)) if text else None
