"""HubSpot search filters compiled to row predicates, and the rows of a table that pass them.

A filter on the modified property reads the record's stamp (``Table.stamp``) without building
the record; every other property builds it once per row, on first use. Values are compared as
HubSpot compares them: numbers and ids as numbers, datetimes as epoch ms, strings folded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sandbox.formats import ms_day, parse_instant
from sandbox.hs_schema import ObjectType
from sandbox.hs_store import HsError
from sandbox.table import Table

OPERATORS = {
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
}  # fmt: skip


def invalid(message: str) -> HsError:
    """HubSpot's 400 for a search it refuses."""
    return HsError(400, "VALIDATION_ERROR", message)


class Row:
    """One candidate record: its stamp read at once, its properties built on first use."""

    __slots__ = ("_record", "deleted", "index", "ms", "table")

    def __init__(self, table: Table, index: int) -> None:
        self.table, self.index = table, index
        self.ms, self.deleted = table.stamp(index)
        self._record: dict[str, Any] | None = None

    @property
    def props(self) -> dict[str, Any]:
        """The record's properties (empty for a gap)."""
        if self._record is None:
            self._record = self.table.record(self.index) or {"p": {}}
        props: dict[str, Any] = self._record["p"]
        return props


def value_key(kind: ObjectType, name: str, value: Any) -> Any:
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
            return ms_day(int(text))
        return text[:10]
    if kind_of == "enumeration":
        return text
    return text.lower()


def getter(kind: ObjectType, name: str) -> Callable[[Row], Any]:
    """Reads property ``name`` of a row as :func:`value_key` makes it comparable."""
    if name == kind.modified:
        return lambda row: row.ms
    if name == "hs_object_id":
        return lambda row: (
            float(row.table.id_of(row.index))
            if row.table.natural_ids
            else float(row.props["hs_object_id"])
        )
    return lambda row: value_key(kind, name, row.props.get(name))


def predicate(kind: ObjectType, spec: dict[str, Any]) -> Callable[[Row], bool]:
    """The test of one filter; raises HubSpot's 400 for an unknown operator or a bad value."""
    name, op = spec.get("propertyName") or "", str(spec.get("operator") or "EQ").upper()
    if op not in OPERATORS:
        raise invalid(f"Unsupported operator: {op}")
    get = getter(kind, name)
    if op == "HAS_PROPERTY":
        return lambda row: get(row) not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return lambda row: get(row) in (None, "")
    try:
        if op in {"IN", "NOT_IN"}:
            values = {value_key(kind, name, v) for v in spec.get("values") or []}
            if op == "IN":
                return lambda row: get(row) in values
            return lambda row: get(row) not in values
        if op == "BETWEEN":
            low, high = (
                value_key(kind, name, spec.get("value")),
                value_key(kind, name, spec.get("highValue")),
            )
            return lambda row: (v := get(row)) is not None and low <= v <= high
        value = value_key(kind, name, spec.get("value"))
    except ValueError as exc:
        raise invalid(f"Invalid value for property {name}: {exc}") from exc
    if op in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
        token = str(spec.get("value") or "").lower().replace("*", "")

        def contains(row: Row) -> bool:
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


def modified_range(
    kind: ObjectType, filters: list[dict[str, Any]]
) -> tuple[int | None, int | None]:
    """``[low, high)`` on the modified stamp that a group's filters imply (None: unbounded)."""
    low = high = None
    for spec in filters:
        if spec.get("propertyName") != kind.modified:
            continue
        op = str(spec.get("operator", "")).upper()
        try:
            value = value_key(kind, kind.modified, spec.get("value"))
            top = value_key(kind, kind.modified, spec.get("highValue")) if op == "BETWEEN" else None
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


def matching(
    kind: ObjectType,
    table: Table,
    groups: list[dict[str, Any]],
    query: Any,
    candidates: Iterator[int],
) -> Iterator[Row]:
    """The live candidates that match a group's every filter and the free-text query."""
    predicates = [[predicate(kind, f) for f in g.get("filters") or []] for g in groups]
    text = str(query).lower() if query else None
    rows = (row for row in (Row(table, index) for index in candidates) if not row.deleted)
    if predicates:
        rows = (row for row in rows if any(all(p(row) for p in group) for group in predicates))
    if text:
        rows = (row for row in rows if any(text in str(v).lower() for v in row.props.values() if v))
    return rows
