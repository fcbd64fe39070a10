"""HubSpot CRM search: filter groups (OR of ANDs), one sort, offset paging, the 10,000 cap.

Filters on the modified property compare the record's stamp without building it, and a single
filter group with a range on it narrows the scan by bisect; the result of the last few
searches is cached per table version, so paging through one search does not re-run it.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from partnerplan.connectors.sandbox.formats import parse_instant
from partnerplan.connectors.sandbox.hs_schema import ObjectType
from partnerplan.connectors.sandbox.hs_store import HsError
from partnerplan.connectors.sandbox.table import Table

MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_RESULTS = 10_000
_OPERATORS = {
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
}  # fmt: skip


def _invalid(message: str) -> HsError:
    return HsError(400, "VALIDATION_ERROR", message)


class _Row:
    __slots__ = ("_record", "index", "table")

    def __init__(self, table: Table, index: int) -> None:
        self.table, self.index = table, index
        self._record: dict[str, Any] | None = None

    @property
    def props(self) -> dict[str, Any]:
        if self._record is None:
            self._record = self.table.record(self.index) or {"p": {}}
        props: dict[str, Any] = self._record["p"]
        return props


def _key(kind: ObjectType, name: str, value: Any) -> Any:
    """A filter value or stored string made comparable for property ``name``."""
    prop = kind.props.get(name)
    kind_of = prop.type if prop else "string"
    if value is None:
        return None
    text = str(value)
    if name == "hs_object_id" or kind_of == "number":
        return float(text)
    if kind_of == "datetime":
        return (
            int(float(text)) if text.lstrip("-").replace(".", "").isdigit() else parse_instant(text)
        )
    if kind_of == "date":
        if text.isdigit():
            from partnerplan.connectors.sandbox.formats import ms_day

            return ms_day(int(text))
        return text[:10]
    if kind_of == "enumeration":
        return text
    return text.lower()


def _getter(kind: ObjectType, name: str) -> Callable[[_Row], Any]:
    if name == kind.modified:
        return lambda row: row.table.stamp(row.index)[0]
    if name == "hs_object_id":
        return lambda row: (
            float(row.table.id_of(row.index))
            if row.table.natural_ids
            else float(row.props["hs_object_id"])
        )
    return lambda row: _key(kind, name, row.props.get(name))


def _filter(kind: ObjectType, spec: dict[str, Any]) -> Callable[[_Row], bool]:
    name, op = spec.get("propertyName") or "", str(spec.get("operator") or "EQ").upper()
    if op not in _OPERATORS:
        raise _invalid(f"Unsupported operator: {op}")
    get = _getter(kind, name)
    if op == "HAS_PROPERTY":
        return lambda row: get(row) not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return lambda row: get(row) in (None, "")
    try:
        if op in {"IN", "NOT_IN"}:
            values = {_key(kind, name, v) for v in spec.get("values") or []}
            if op == "IN":
                return lambda row: get(row) in values
            return lambda row: get(row) not in values
        if op == "BETWEEN":
            low, high = _key(kind, name, spec.get("value")), _key(kind, name, spec.get("highValue"))
            return lambda row: (v := get(row)) is not None and low <= v <= high
        value = _key(kind, name, spec.get("value"))
    except ValueError as exc:
        raise _invalid(f"Invalid value for property {name}: {exc}") from exc
    if op in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
        token = str(spec.get("value") or "").lower().replace("*", "")

        def contains(row: _Row) -> bool:
            return token in str(row.props.get(name) or "").lower()

        if op == "CONTAINS_TOKEN":
            return contains
        return lambda row: not contains(row)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "EQ": lambda a, b: a == b,
        "NEQ": lambda a, b: a != b,
        "LT": lambda a, b: a is not None and a < b,
        "LTE": lambda a, b: a is not None and a <= b,
        "GT": lambda a, b: a is not None and a > b,
        "GTE": lambda a, b: a is not None and a >= b,
    }
    test = compare[op]
    return lambda row: test(get(row), value)


def _bounds(kind: ObjectType, filters: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    low = high = None
    for spec in filters:
        if spec.get("propertyName") != kind.modified:
            continue
        op = str(spec.get("operator", "")).upper()
        try:
            value = _key(kind, kind.modified, spec.get("value"))
            top = _key(kind, kind.modified, spec.get("highValue")) if op == "BETWEEN" else None
        except ValueError:
            continue
        if op in {"GTE", "GT", "EQ", "BETWEEN"} and value is not None:
            start = value + 1 if op == "GT" else value
            low = start if low is None else max(low, start)
        if op in {"LT", "LTE", "EQ", "BETWEEN"} and value is not None:
            end = top if op == "BETWEEN" and top is not None else value
            stop = value if op == "LT" else end + 1
            high = stop if high is None else min(high, stop)
    return low, high


class Searcher:
    """Runs searches for one HubSpot app and caches the last few result lists."""

    def __init__(self) -> None:
        self.cache: OrderedDict[tuple[Any, ...], array[int]] = OrderedDict()
        self.lock = threading.Lock()

    def run(self, kind: ObjectType, table: Table, body: dict[str, Any]) -> array[int]:
        """The indexes matching the search body, in its order (archived never included)."""
        groups = body.get("filterGroups") or []
        sorts = body.get("sorts") or []
        total = sum(len(g.get("filters") or []) for g in groups)
        if (
            len(groups) > MAX_GROUPS
            or total > MAX_FILTERS
            or any(len(g.get("filters") or []) > MAX_PER_GROUP for g in groups)
        ):
            raise _invalid(
                f"Too many filters: at most {MAX_GROUPS} filterGroups of {MAX_PER_GROUP} filters"
                f" and {MAX_FILTERS} filters in total are allowed"
            )
        if len(sorts) > 1:
            raise _invalid("Only one sort is allowed per search")
        key = (kind.name, table.version, orjson.dumps([groups, sorts, body.get("query")]))
        with self.lock:
            found = self.cache.get(key)
        if found is not None:
            return found
        found = array("q", self._select(kind, table, groups, sorts, body.get("query")))
        with self.lock:
            self.cache[key] = found
            while len(self.cache) > 8:
                self.cache.popitem(last=False)
        return found

    def _select(
        self,
        kind: ObjectType,
        table: Table,
        groups: list[dict[str, Any]],
        sorts: list[Any],
        query: Any,
    ) -> Iterator[int]:
        predicates = [[_filter(kind, f) for f in g.get("filters") or []] for g in groups]
        sort = sorts[0] if sorts else {"propertyName": "hs_object_id", "direction": "ASCENDING"}
        if isinstance(sort, str):  # the v12 model types sorts as strings; assumed ascending
            sort = {
                "propertyName": sort.lstrip("-"),
                "direction": "DESCENDING" if sort.startswith("-") else "ASCENDING",
            }
        name = sort.get("propertyName") or "hs_object_id"
        descending = str(sort.get("direction", "ASCENDING")).upper().startswith("DESC")
        low, high = (
            _bounds(kind, groups[0].get("filters") or []) if len(groups) == 1 else (None, None)
        )
        by_modified = name == kind.modified or low is not None or high is not None
        candidates = table.by_modified(low, high) if by_modified else table.by_index()
        text = str(query).lower() if query else None
        rows = (_Row(table, index) for index in candidates)
        rows = (row for row in rows if not table.stamp(row.index)[1])
        if predicates:
            rows = (row for row in rows if any(all(p(row) for p in group) for group in predicates))
        if text:
            rows = (
                row for row in rows if any(text in str(v).lower() for v in row.props.values() if v)
            )
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
        get = _getter(kind, name)

        def order(row: _Row) -> tuple[bool, Any, int]:
            value = get(row)
            return value is None, value if value is not None else 0, row.index

        ordered = sorted(rows, key=order, reverse=descending)
        yield from (row.index for row in ordered)
