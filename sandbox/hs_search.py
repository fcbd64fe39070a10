"""HubSpot CRM search: filter groups (OR of ANDs), one sort, offset paging, the 10,000 cap.

Filters are compiled in :mod:`hs_filters`; a single filter group with a range on the modified
property narrows the scan by bisect. The last few result lists are cached per table version
(every write bumps it), so paging one search by offset does not re-run it.

Keyset paging stays linear too. A sync pages a window by moving a *lower bound*: ``modified
>= key AND modified < end [AND extra...]`` sorted by modified, then, inside a timestamp shared
by a whole page, ``modified == T AND hs_object_id > id`` sorted by id. Every request is a new
body, so a cache keyed by the whole body would miss each time and each request would re-scan
everything above its key just to return 200 results and count ``total``: O(n^2 / 200) over a
walk. For those two shapes (one group, ascending by modified; or ascending by id with natural
ids and the modified stamp unbounded or pinned to one millisecond) the result order is the
order of the sort key, so the matches above any bound are a suffix of the matches above a
lower one. The cache key therefore leaves out the GTE/GT filters on the sort property; the
match list is built once from its bound, with each match's key, and a later request whose
bound is not below it starts at ``bisect_left(keys, bound)`` (on integer keys GT ``v`` is GTE
``v + 1``). The answer is a :class:`Found` view over the shared arrays whose length is the
exact ``total``; when its stamps are in order the search lag cuts it by bisect as well. A walk
over n records thus costs one O(n) scan plus O(log n) a request. Other searches (several
groups, other or descending sorts, foreign ids) build their whole list, cached by body.
"""

from __future__ import annotations

import math
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from sandbox.hs_filters import (
    Row,
    getter,
    invalid,
    matching,
    modified_range,
    value_key,
)
from sandbox.hs_schema import ObjectType
from sandbox.table import Table

MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_RESULTS = 10_000
CACHED = 8  # result lists kept: a few arrays of 8-byte ints each


class Found:
    """A search's matches, in its order: ``indexes[start:end]``, a view over shared arrays.

    ``stamps``, when present, holds each match's modified stamp and is nondecreasing, so the
    search lag cuts the view by bisect instead of by reading every match.
    """

    __slots__ = ("end", "indexes", "stamps", "start")

    def __init__(
        self, indexes: array[int], stamps: array[int] | None = None, start: int = 0, end: int = -1
    ) -> None:
        self.indexes, self.stamps = indexes, stamps
        self.start, self.end = start, len(indexes) if end < 0 else end

    def __len__(self) -> int:
        return self.end - self.start

    def __iter__(self) -> Iterator[int]:
        return iter(self.indexes[self.start : self.end])

    def page(self, offset: int, limit: int) -> array[int]:
        """The ``limit`` matches from ``offset`` on (fewer at the end)."""
        first = self.start + offset
        return self.indexes[first : max(first, min(first + limit, self.end))]

    def visible(self, horizon: int, table: Table) -> Found:
        """Only the matches modified at or before ``horizon`` (what search has indexed)."""
        if self.stamps is not None:
            end = bisect_right(self.stamps, horizon, self.start, self.end)
            return Found(self.indexes, self.stamps, self.start, end)
        return Found(array("q", (i for i in self if table.stamp(i)[0] <= horizon)))


class _Entry(NamedTuple):
    low: int | None  # the bound the list was built from (None: unbounded)
    found: Found
    keys: array[int] | None  # each match's sort key, ascending (keyset lists only)


@dataclass(frozen=True)
class _Keyset:
    """A search whose order is its sort key's: the lower bound on that key, the other filters."""

    by_modified: bool
    low: int | None
    rest: list[dict[str, Any]]
    floor: int | None  # the modified range the other filters imply
    high: int | None


def _sort(sorts: list[Any]) -> tuple[str, bool]:
    """The sort property and whether it is descending (default: hs_object_id ascending)."""
    sort = sorts[0] if sorts else {"propertyName": "hs_object_id", "direction": "ASCENDING"}
    if isinstance(sort, str):  # the v12 model types sorts as strings; assumed ascending
        sort = {
            "propertyName": sort.lstrip("-"),
            "direction": "DESCENDING" if sort.startswith("-") else "ASCENDING",
        }
    name = sort.get("propertyName") or "hs_object_id"
    return name, str(sort.get("direction", "ASCENDING")).upper().startswith("DESC")


def _lower_bound(kind: ObjectType, name: str, spec: dict[str, Any]) -> int | None:
    """``b`` when ``spec`` says ``name >= b`` for integer values (a GTE or GT on ``name``).

    Stamps and natural ids are integers, so GT ``x`` is GTE ``floor(x) + 1``. A filter with a
    value that does not parse stays with the others, which refuse it as before.
    """
    op = str(spec.get("operator", "")).upper()
    if spec.get("propertyName") != name or op not in {"GTE", "GT"}:
        return None
    try:
        value = value_key(kind, name, spec.get("value"))
    except ValueError:
        return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return math.floor(value) + 1 if op == "GT" else math.ceil(value)


def _keyset(
    kind: ObjectType, table: Table, groups: list[dict[str, Any]], sorts: list[Any]
) -> _Keyset | None:
    """The keyset form of a search, when its order is its sort key's (see the module docstring).

    Ascending by modified, the order is ``(modified, index)`` whatever the ids are: what
    ``by_modified`` yields and what sorting by the stamp gives. Ascending by id with natural
    ids, it is index order when the stamp is unbounded (``by_index``) or pinned to one
    millisecond (``by_modified`` of that millisecond).
    """
    name, descending = _sort(sorts)
    by_modified = name == kind.modified
    if len(groups) != 1 or descending or not (by_modified or name == "hs_object_id"):
        return None
    if not by_modified and not table.natural_ids:
        return None
    filters = groups[0].get("filters") or []
    bounds = [_lower_bound(kind, name, spec) for spec in filters]
    rest = [spec for spec, bound in zip(filters, bounds, strict=True) if bound is None]
    floor, high = modified_range(kind, rest)
    pinned = floor is not None and high == floor + 1
    if not by_modified and not pinned and (floor, high) != (None, None):
        return None
    low = max((b for b in bounds if b is not None), default=None)
    return _Keyset(by_modified, low, rest, floor, high)


def _covers(entry: _Entry, low: int | None) -> bool:
    """True when a list built from bound ``entry.low`` holds every match at or above ``low``."""
    return entry.low is None or (low is not None and low >= entry.low)


class Searcher:
    """Runs searches for one HubSpot app and caches the last few result lists."""

    def __init__(self) -> None:
        self.cache: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self.lock = threading.Lock()

    def run(self, kind: ObjectType, table: Table, body: dict[str, Any]) -> Found:
        """The indexes matching the search body, in its order (archived never included)."""
        groups = body.get("filterGroups") or []
        sorts = body.get("sorts") or []
        total = sum(len(g.get("filters") or []) for g in groups)
        if (
            len(groups) > MAX_GROUPS
            or total > MAX_FILTERS
            or any(len(g.get("filters") or []) > MAX_PER_GROUP for g in groups)
        ):
            raise invalid(
                f"Too many filters: at most {MAX_GROUPS} filterGroups of {MAX_PER_GROUP} filters"
                f" and {MAX_FILTERS} filters in total are allowed"
            )
        if len(sorts) > 1:
            raise invalid("Only one sort is allowed per search")
        query, version = body.get("query"), table.version
        keyset = _keyset(kind, table, groups, sorts)
        if keyset is None:
            key: tuple[Any, ...] = (kind.name, version, orjson.dumps([groups, sorts, query]))
            entry = self._cached(key)
            if entry is None:
                found = Found(array("q", self._select(kind, table, groups, sorts, query)))
                entry = self._keep(key, table, version, _Entry(None, found, None))
            return entry.found
        key = (kind.name, version, orjson.dumps([keyset.rest, sorts, query]), "keyset")
        entry = self._cached(key)
        if entry is None or not _covers(entry, keyset.low):
            entry = self._keep(key, table, version, self._walk(kind, table, keyset, query))
        found, keys = entry.found, entry.keys
        if keyset.low is None or keys is None:
            return found
        return Found(found.indexes, found.stamps, bisect_left(keys, keyset.low), found.end)

    def _cached(self, key: tuple[Any, ...]) -> _Entry | None:
        with self.lock:
            entry = self.cache.get(key)
            if entry is not None:
                self.cache.move_to_end(key)
            return entry

    def _keep(self, key: tuple[Any, ...], table: Table, version: int, entry: _Entry) -> _Entry:
        """Cache ``entry`` unless the table changed while it was built (it may be torn)."""
        if table.version == version:
            with self.lock:
                self.cache[key] = entry
                self.cache.move_to_end(key)
                while len(self.cache) > CACHED:
                    self.cache.popitem(last=False)
        return entry

    def _walk(self, kind: ObjectType, table: Table, keyset: _Keyset, query: Any) -> _Entry:
        """Every match at or above the keyset's bound, in order, with its key and stamp."""
        low, floor, high = keyset.low, keyset.floor, keyset.high
        if keyset.by_modified:
            start = floor if low is None else low if floor is None else max(low, floor)
            candidates = table.by_modified(start, high)
        elif floor is None:
            candidates = table.by_index(_first_index(table, low))
        else:
            candidates = table.by_modified(floor, high)
        indexes, stamps, ids = array("q"), array("q"), array("q")
        for row in matching(kind, table, [{"filters": keyset.rest}], query, candidates):
            if not keyset.by_modified:
                record_id = int(table.id_of(row.index))
                if low is not None and record_id < low:
                    continue
                ids.append(record_id)
            indexes.append(row.index)
            stamps.append(row.ms)
        if keyset.by_modified:
            return _Entry(low, Found(indexes, stamps), stamps)
        return _Entry(low, Found(indexes, stamps if floor is not None else None), ids)

    def _select(
        self,
        kind: ObjectType,
        table: Table,
        groups: list[dict[str, Any]],
        sorts: list[Any],
        query: Any,
    ) -> Iterator[int]:
        name, descending = _sort(sorts)
        low, high = (
            modified_range(kind, groups[0].get("filters") or [])
            if len(groups) == 1
            else (None, None)
        )
        by_modified = name == kind.modified or low is not None or high is not None
        candidates = table.by_modified(low, high) if by_modified else table.by_index()
        rows = matching(kind, table, groups, query, candidates)
        natural = (
            table.natural_ids
            and not descending
            and (
                (name == kind.modified and by_modified)
                or (name == "hs_object_id" and not by_modified)
            )
        )
        if natural:
            yield from (row.index for row in rows)
            return
        get = getter(kind, name)

        def order(row: Row) -> tuple[bool, Any, int]:
            value = get(row)
            return value is None, value if value is not None else 0, row.index

        ordered = sorted(rows, key=order, reverse=descending)
        yield from (row.index for row in ordered)


def _first_index(table: Table, low: int | None) -> int:
    """The first index whose (natural, numeric) id is at least ``low``."""
    if low is None:
        return 0
    return bisect_left(range(len(table)), low, key=lambda index: int(table.id_of(index)))
