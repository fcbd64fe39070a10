"""The HubSpot search pager over an in-memory search that behaves like HubSpot's.

The fake applies the filters, sorts by the one requested property and returns at most
``page_size`` results (200, or fewer: HubSpot may answer a short page mid-stream), with
``paging.next.after`` when more match; the pager sends that offset only after an empty page.
It orders ties *randomly on every request*, so a pager that relied on a stable order among
equal timestamps would fail here.
"""

from __future__ import annotations

import operator
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.hubspot.search import SearchPager
from connectors.wire import epoch_ms

BASE = datetime(2026, 1, 1, tzinfo=UTC)
MOD = "hs_lastmodifieddate"
_OPS: dict[str, Callable[[int, int], bool]] = {
    "EQ": operator.eq,
    "GT": operator.gt,
    "GTE": operator.ge,
    "LT": operator.lt,
}


def _iso(stamp: datetime) -> str:
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class InMemorySearch:
    """A HubSpot-like search over ``records`` (id -> modified time)."""

    def __init__(self, modified: dict[int, datetime], seed: int = 7, page_size: int = 200) -> None:
        self.modified = modified
        self.page_size = page_size
        self.empty_pages: set[int] = set()  # request numbers answered with no results
        self.random = random.Random(seed)
        self.requests = 0
        self._ms: dict[datetime, int] = {}

    def _value(self, record_id: int, prop: str) -> int:
        if prop == "hs_object_id":
            return record_id
        stamp = self.modified[record_id]
        if stamp not in self._ms:
            self._ms[stamp] = epoch_ms(stamp)
        return self._ms[stamp]

    def __call__(
        self, filters: list[dict[str, Any]], sort: str, after: str | None = None
    ) -> dict[str, Any]:
        self.requests += 1
        tests = [(f["propertyName"], _OPS[f["operator"]], int(f["value"])) for f in filters]
        hits = [
            i
            for i in self.modified
            if all(test(self._value(i, prop), wanted) for prop, test, wanted in tests)
        ]
        tiebreak = {i: self.random.random() for i in hits}
        if sort == "hs_object_id":
            hits.sort()
        else:
            hits.sort(key=lambda i: (self.modified[i], tiebreak[i]))
        offset = int(after or 0)
        if self.requests in self.empty_pages:  # a transient empty page: nothing consumed
            return {"total": len(hits), "results": [], "paging": {"next": {"after": str(offset)}}}
        page = hits[offset : offset + self.page_size]
        results = [
            {
                "id": str(i),
                "properties": {MOD: _iso(self.modified[i]), "hs_object_id": str(i)},
                "updatedAt": _iso(self.modified[i]),
            }
            for i in page
        ]
        body: dict[str, Any] = {"total": len(hits), "results": results}
        if offset + self.page_size < len(hits):
            body["paging"] = {"next": {"after": str(offset + self.page_size)}}
        return body


def _pager(search: InMemorySearch, between=lambda: None) -> SearchPager:
    return SearchPager(search=search, modified=MOD, extra=[], limit=200, between_pages=between)


def test_25000_records_in_one_window_with_3000_and_12000_ties_are_all_read_once():
    """25,000 deals, 3,000 on one timestamp and 12,000 on another: each read exactly once."""
    modified = {i: BASE + timedelta(seconds=i % 500) for i in range(1, 10_001)}
    modified |= {i: BASE + timedelta(hours=1) for i in range(10_001, 13_001)}
    modified |= {i: BASE + timedelta(hours=2) for i in range(13_001, 25_001)}
    search = InMemorySearch(modified)
    ids = [
        r["id"] for batch in _pager(search).batches(BASE, BASE + timedelta(days=1)) for r in batch
    ]
    assert len(ids) == 25_000
    assert set(ids) == {str(i) for i in modified}


def test_batches_come_in_modified_order_so_each_watermark_covers_everything_before():
    """Every batch's records are at or after the previous batch's last timestamp."""
    modified = {i: BASE + timedelta(seconds=i // 3) for i in range(1, 2_001)}
    search = InMemorySearch(modified)
    last = BASE
    for batch in _pager(search).batches(BASE, BASE + timedelta(days=1)):
        stamps = [datetime.fromisoformat(r["properties"][MOD]) for r in batch]
        assert stamps == sorted(stamps)
        assert stamps[0] >= last
        last = stamps[-1]


def test_records_modified_during_the_sync_are_not_skipped():
    """Moving records forward between requests never makes an untouched record disappear."""
    modified = {i: BASE + timedelta(seconds=i) for i in range(1, 1_001)}
    search = InMemorySearch(modified)
    end = BASE + timedelta(days=1)
    touched = iter(range(1, 1_001, 97))

    def touch_one() -> None:
        moved = next(touched, None)
        if moved is not None:
            modified[moved] = BASE + timedelta(hours=5)

    ids = {r["id"] for b in _pager(search, touch_one).batches(BASE, end) for r in b}
    assert ids == {str(i) for i in modified}


def test_window_end_is_exclusive_and_start_inclusive():
    """Records at the window start are read; records at the end are left for the next run."""
    modified = {1: BASE, 2: BASE + timedelta(minutes=1), 3: BASE + timedelta(minutes=2)}
    search = InMemorySearch(modified)
    ids = [r["id"] for b in _pager(search).batches(BASE, BASE + timedelta(minutes=2)) for r in b]
    assert ids == ["1", "2"]


@pytest.mark.parametrize("count", [0, 199, 200, 201])
def test_page_boundaries(count):
    """Counts around the page size are read exactly once."""
    modified = {i: BASE + timedelta(seconds=i) for i in range(1, count + 1)}
    search = InMemorySearch(modified)
    ids = [r["id"] for b in _pager(search).batches(BASE, BASE + timedelta(days=1)) for r in b]
    assert sorted(ids, key=int) == [str(i) for i in range(1, count + 1)]


def test_short_pages_mid_stream_lose_nothing():
    """A search that answers 37 records a request when 200 were asked still yields all 1,000."""
    modified = {i: BASE + timedelta(seconds=i // 2) for i in range(1, 1_001)}
    search = InMemorySearch(modified, page_size=37)
    ids = [r["id"] for b in _pager(search).batches(BASE, BASE + timedelta(days=1)) for r in b]
    assert [str(i) for i in range(1, 1_001)] == sorted(ids, key=int)


def test_short_pages_inside_a_tie_lose_nothing():
    """450 records on one timestamp, served 37 at a time, are each read once."""
    modified = {i: BASE for i in range(1, 451)}
    search = InMemorySearch(modified, page_size=37)
    ids = [r["id"] for b in _pager(search).batches(BASE, BASE + timedelta(days=1)) for r in b]
    assert [str(i) for i in range(1, 451)] == sorted(ids, key=int)


def test_an_empty_page_with_paging_next_is_followed_by_hubspots_after():
    """An empty page that still says more remain is followed (with its after), not the end."""
    modified = {i: BASE + timedelta(seconds=i) for i in range(1, 501)}
    search = InMemorySearch(modified)
    search.empty_pages = {2}
    ids = [r["id"] for b in _pager(search).batches(BASE, BASE + timedelta(days=1)) for r in b]
    assert [str(i) for i in range(1, 501)] == sorted(ids, key=int)
    assert 4 == search.requests  # the empty page costs one request, nothing more
