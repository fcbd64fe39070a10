"""Salesforce getUpdated / getDeleted: ``GET /sobjects/{name}/updated|deleted/?start=&end=``.

Rules from the REST guide (salesforce-api.md §2.7): seconds are truncated, ``start`` must be
before ``end`` and within the last 30 days (else ``INVALID_REPLICATION_DATE``), the window
is half-open on SystemModstamp, and ``latestDateCovered`` is ``end``. Deletions are those still
in the Recycle Bin (:meth:`SalesforceOrg.purged_before`), as ``queryAll`` sees them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.formats import now_ms, parse_instant, sf_datetime
from sandbox.httpbase import Request, Response, json_response
from sandbox.sf_org import SalesforceOrg
from sandbox.sf_schema import sobject
from sandbox.table import Table

WINDOW_MS = 30 * 86_400_000


def routes(org: SalesforceOrg) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
    """The replication routes, bound to ``org`` (listed before the record routes)."""

    def replicate(request: Request, version: str, name: str, kind: str) -> Response:
        return _replicate(org, request, name, kind)

    return [("GET", re.compile(r"^sobjects/(\w+)/(updated|deleted)$"), replicate)]


def _error(code: str, message: str) -> Response:
    return json_response(400, [{"message": message, "errorCode": code}])


def _replicate(org: SalesforceOrg, request: Request, name: str, kind: str) -> Response:
    o = sobject(name)
    if o is None:
        return json_response(
            404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
        )
    try:
        start = parse_instant(request.param("start") or "")
        end = parse_instant(request.param("end") or "")
    except ValueError:
        return _error("MALFORMED_QUERY", "start and end must be ISO-8601 dateTimes with a zone")
    start, end = start - start % 60_000, end - end % 60_000
    now = now_ms()
    if start >= end:
        return _error("INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
    if start < now - WINDOW_MS:
        return _error("INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
    table = org.store.table(o.name)
    body: dict[str, Any] = {"latestDateCovered": sf_datetime(min(end, now))}
    found = [i for i in table.by_modified(start, end) if table.stamp(i)[1] == (kind == "deleted")]

    def record_id(index: int) -> str:
        if table.natural_ids:
            return table.id_of(index)
        return str((table.record(index) or {}).get("Id"))

    if kind == "updated":
        body["ids"] = [record_id(i) for i in found]
    else:
        # The delete log holds what the Recycle Bin holds: a start within 30 days is legal,
        # but deletions older than the bin's stay are gone. earliestDateAvailable is "the
        # timestamp of the last physically deleted object" (GetDeletedResult): a client whose
        # last listing is at or after it has missed nothing.
        horizon = org.purged_before()
        body["deletedRecords"] = [
            {"id": record_id(i), "deletedDate": sf_datetime(table.stamp(i)[0])}
            for i in found
            if table.stamp(i)[0] >= horizon
        ]
        body["earliestDateAvailable"] = sf_datetime(_last_purged(table, horizon, now))
    return json_response(200, body)


def _last_purged(table: Table, horizon: int, now: int) -> int:
    """When the newest record purged from the bin was deleted; else the oldest record's stamp
    (nothing was ever purged, so nothing after it can have been missed)."""
    last: int | None = None
    oldest: int | None = None
    for index in table.by_modified(None, horizon):
        ms, deleted = table.stamp(index)
        oldest = ms if oldest is None else oldest
        if deleted:
            last = ms
    if last is not None:
        return last
    return oldest if oldest is not None else now - WINDOW_MS
