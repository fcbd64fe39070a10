"""The records of one CRM object: generated on demand from their index, plus an overlay of changes.

A record is a plain dict of field values with three internal keys: ``_i`` (its index, which also
orders its id), ``_ms`` (last-modified instant, epoch ms) and ``_del`` (deleted/archived).
Generated records are never stored; a record that was changed, inserted or deleted is stored in
``overrides`` and indexed in ``moved`` by ``(_ms, _i)``. Two orders are cheap: by index (= by id)
and by ``(modified, id)``, the order of every incremental sync.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

Record = dict[str, Any]
CACHED = 4096  # generated records kept built per table (callers never mutate them)


class _Stamps:
    """The generated records' modified instants as a sequence that ``bisect`` can search."""

    def __init__(self, count: int, stamp: Callable[[int], int]) -> None:
        self.count, self.stamp = count, stamp

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> int:
        return self.stamp(index)


class Table:
    """One object's records; thread-safe for the servers' request threads."""

    def __init__(
        self,
        name: str,
        count: int,
        make: Callable[[int], Record],
        stamp: Callable[[int], int],
        deleted: Callable[[int], bool],
        id_of: Callable[[int], str],
        index_of: Callable[[str], int | None],
    ) -> None:
        self.name, self.count = name, count
        # Lookups (an Opportunity's partner Account) hit the same few records again and again.
        self._make = lru_cache(maxsize=CACHED)(make)
        self._stamp, self._deleted = stamp, deleted
        self.id_of, self._index_of = id_of, index_of
        self.overrides: dict[int, Record] = {}
        self.moved: list[tuple[int, int]] = []
        self.foreign: dict[str, int] = {}
        self.next_index = count
        self.version = 0
        self.lock = threading.RLock()

    def __len__(self) -> int:
        return self.next_index

    def record(self, index: int) -> Record | None:
        """The current record at ``index`` (None for a gap)."""
        found = self.overrides.get(index)
        if found is not None:
            return found
        return self._make(index) if 0 <= index < self.count else None

    def stamp(self, index: int) -> tuple[int, bool]:
        """``(modified ms, deleted)`` without building the record: what filters mostly need."""
        found = self.overrides.get(index)
        if found is not None:
            return found["_ms"], found["_del"]
        return self._stamp(index), self._deleted(index)

    def index(self, record_id: str) -> int | None:
        """The index of the record with ``record_id``, or None."""
        if record_id in self.foreign:
            return self.foreign[record_id]
        index = self._index_of(record_id)
        if index is None or index >= self.next_index:
            return None
        return index if index < self.count or index in self.overrides else None

    def get(self, record_id: str) -> Record | None:
        """The record with ``record_id`` (deleted ones included), or None."""
        index = self.index(record_id)
        return None if index is None else self.record(index)

    def new_index(self) -> int:
        """Reserve the index (and so the id) of a record about to be inserted."""
        with self.lock:
            self.next_index += 1
            return self.next_index - 1

    def put(self, record: Record, record_id: str | None = None) -> None:
        """Store ``record`` (its ``_i`` says where), re-indexing it by its modified instant."""
        with self.lock:
            index = record["_i"]
            old = self.overrides.get(index)
            if old is not None:
                position = bisect_left(self.moved, (old["_ms"], index))
                del self.moved[position]
            self.overrides[index] = record
            insort(self.moved, (record["_ms"], index))
            if record_id is not None and record_id != self.id_of(index):
                self.foreign[record_id] = index
            self.version += 1

    @property
    def natural_ids(self) -> bool:
        """True when id order equals index order (no record was loaded with its own id)."""
        return not self.foreign

    def by_modified(self, low: int | None = None, high: int | None = None) -> Iterator[int]:
        """Indexes with ``low <= modified < high`` in ``(modified, id)`` order, deleted included."""
        stamps = _Stamps(self.count, self._stamp)
        first = 0 if low is None else bisect_left(stamps, low)
        last = self.count if high is None else bisect_left(stamps, high)
        overrides = self.overrides

        def generated() -> Iterator[tuple[int, int]]:
            stamp = self._stamp
            for index in range(first, last):
                if index not in overrides:
                    yield stamp(index), index

        with self.lock:
            moved = self.moved
            start = 0 if low is None else bisect_left(moved, (low, -1))
            stop = len(moved) if high is None else bisect_left(moved, (high, -1))
            changed = moved[start:stop]
        for _, index in heapq.merge(generated(), changed):
            yield index

    def by_index(self, start: int = 0) -> Iterator[int]:
        """Indexes from ``start`` in id order (gaps skipped), deleted included."""
        for index in range(start, self.next_index):
            if index < self.count or index in self.overrides:
                yield index
