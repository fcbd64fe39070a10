"""Reading a HubSpot object in modified order through the search API, without the 10,000 cap.

Search pages by an ``after`` *offset*, and refuses offsets past 10,000. Offsets are also unsafe
for a sync: a record modified while we page moves out of the range, every later offset shifts by
one, and a record that was never modified is skipped for good. So this pager never sends an
offset. Every request starts at offset 0 from a *key*:

* range mode: ``modified >= T`` (then ``> T``), ``modified < window_end``, sorted by modified.
  The next request starts at the last page's timestamp ``T`` again; records at ``T`` already
  yielded are skipped by id, so a boundary shared by a few records is neither lost nor doubled.
* tie mode: when a whole page shares one timestamp (a bulk import stamping thousands of records
  with the same millisecond), the records at ``T`` are read ``modified == T AND hs_object_id > id``
  sorted by ``hs_object_id``, then range mode resumes at ``modified > T``.

Each request returns at most ``limit`` records however many match, so no window ever needs
splitting, and memory holds one page plus the ids seen at the current timestamp.

The pager stops only when HubSpot says there is nothing more: a page without
``paging.next``. A page shorter than ``limit`` says nothing (HubSpot may answer fewer records
than asked, and a pager that stopped there lost every later record); when more records
remain, the next request starts from the short page's last key like any other. A page that
comes back empty while ``paging.next`` says more remain gives no key to move on from, so the
next request follows HubSpot's own ``after`` from it.
The window ends ``search_lag_seconds`` before now: search indexes writes with a delay, and a
record it has not indexed yet is read by the next run, whose lookback starts before this end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.wire import epoch_ms, parse_timestamp

SearchFn = Callable[[list[dict[str, Any]], str, str | None], dict[str, Any]]
"""Runs one search: (filters, sort property, HubSpot's ``after`` or None) -> the response."""


@dataclass
class Cursor:
    """Where the pager is: the current timestamp and the ids already yielded at it."""

    at: datetime | None = None
    seen: set[str] = field(default_factory=set)

    def fresh(self, stamp: datetime, record_id: str) -> bool:
        """True (and remember it) if the record was not yielded yet."""
        if self.at is not None and (
            stamp < self.at or (stamp == self.at and record_id in self.seen)
        ):
            return False
        if stamp != self.at:
            self.at, self.seen = stamp, set()
        self.seen.add(record_id)
        return True


def _stamp(record: dict[str, Any], modified: str) -> datetime:
    value = (record.get("properties") or {}).get(modified) or record.get("updatedAt")
    return parse_timestamp(value)


def _filter(prop: str, op: str, value: str) -> dict[str, Any]:
    return {"propertyName": prop, "operator": op, "value": value}


def _following(body: dict[str, Any]) -> str | None:
    """HubSpot's continuation: ``paging.next.after``, None on the last page."""
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return None if after is None else str(after)


@dataclass
class SearchPager:
    """Yields batches of fresh records in (modified, id) order; see the module docstring.

    Attributes:
        search: Runs one search request.
        modified: The modified-time property (``hs_lastmodifieddate`` / ``lastmodifieddate``).
        extra: The mapping's own filters, already in HubSpot form.
        limit: Records per request (HubSpot's maximum is 200).
        between_pages: Called before every request but the first (the budget check).
    """

    search: SearchFn
    modified: str
    extra: list[dict[str, Any]]
    limit: int
    between_pages: Callable[[], None]

    def batches(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        """Every record with ``start <= modified < end``, as one list per request."""
        cursor = Cursor()
        op, key = "GTE", start
        after: str | None = None
        first = True
        while key < end:
            if not first:
                self.between_pages()
            first = False
            filters = [
                _filter(self.modified, op, str(epoch_ms(key))),
                _filter(self.modified, "LT", str(epoch_ms(end))),
                *self.extra,
            ]
            body = self.search(filters, self.modified, after)
            results = body.get("results", [])
            in_range = [r for r in results if start <= _stamp(r, self.modified) < end]
            batch = [r for r in in_range if cursor.fresh(_stamp(r, self.modified), r["id"])]
            if batch:
                yield batch
            after = _following(body)
            if after is None:
                return
            if not results:
                continue  # nothing to key on: follow HubSpot's own after (see module docstring)
            after = None
            stamps = [_stamp(r, self.modified) for r in (in_range or results)]
            last = stamps[-1]
            if stamps[0] == last:
                self.between_pages()
                yield from self._tie(last, cursor)
                op, key = "GT", last
            else:
                op, key = "GTE", last

    def _tie(self, stamp: datetime, cursor: Cursor) -> Iterator[list[dict[str, Any]]]:
        """Every record modified exactly at ``stamp``, paged by ``hs_object_id``."""
        last_id: str | None = None
        after: str | None = None
        first = True
        while True:
            if not first:
                self.between_pages()
            first = False
            filters = [_filter(self.modified, "EQ", str(epoch_ms(stamp))), *self.extra]
            if last_id is not None:
                filters.insert(1, _filter("hs_object_id", "GT", last_id))
            body = self.search(filters, "hs_object_id", after)
            results = body.get("results", [])
            batch = [r for r in results if cursor.fresh(_stamp(r, self.modified), r["id"])]
            if batch:
                yield batch
            after = _following(body)
            if after is None:
                return
            if results:
                after, last_id = None, str(results[-1]["id"])
