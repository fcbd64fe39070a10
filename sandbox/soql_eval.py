"""Running a parsed SOQL query against the sandbox store, and rendering rows as the API does.

A query compiles to getters and a predicate over a lazy ``Row``: the modified instant and the
deleted flag come without building the record, so ``WHERE SystemModstamp >= X`` over a million
rows costs a bisect plus a cheap scan. When the ORDER BY is the incremental order
(``SystemModstamp[, Id]``) the store's own order is used and nothing is sorted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sandbox.formats import sf_datetime
from sandbox.sf_schema import NUMBER_TYPES, Field, SObject, sobject
from sandbox.soql import (
    BoolOp,
    Compare,
    DateLit,
    DateTimeLit,
    InList,
    Like,
    Path,
    Query,
    SoqlError,
    _malformed,
)
from sandbox.table import Record, Table

Getter = Callable[["Row"], Any]
Predicate = Callable[["Row"], bool]


class Catalog(Protocol):
    """What the engine needs from the Salesforce store."""

    def table(self, name: str) -> Table:
        """The table of sObject ``name``."""
        ...

    def lookup(self, name: str, record_id: str | None) -> Record | None:
        """The record of ``name`` with ``record_id`` (None when the lookup is empty)."""
        ...


class Row:
    """One candidate record, built only when a filter or the output needs more than its stamp."""

    __slots__ = ("_record", "_stamp", "index", "table")

    def __init__(self, table: Table, index: int) -> None:
        self.table, self.index = table, index
        self._record: Record | None = None
        self._stamp: tuple[int, bool] | None = None

    @property
    def record(self) -> Record:
        """The full record."""
        if self._record is None:
            self._record = self.table.record(self.index) or {}
        return self._record

    @property
    def stamp(self) -> tuple[int, bool]:
        """``(SystemModstamp ms, IsDeleted)``."""
        if self._stamp is None:
            self._stamp = self.table.stamp(self.index)
        return self._stamp


@dataclass
class Plan:
    """A compiled query: ready to select rows and render them."""

    query: Query
    sobject: SObject
    predicate: Predicate | None
    sort_keys: list[tuple[Getter, bool, bool]]
    low: int | None
    high: int | None
    natural: bool
    columns: list[tuple[str, bool, tuple[str, ...] | None]]


def _field_error(query: Query, path: Path, message: str) -> SoqlError:
    return _malformed(query.text, path.column, message, "INVALID_FIELD")


def resolve(query: Query, root: SObject, path: Path, catalog: Catalog) -> tuple[Field, Getter]:
    """The field a path names and a getter for it, following lookups (``PartnerAccount.X``)."""
    current, steps = root, []
    for part in path.parts[:-1]:
        lookup = current.relationship(part)
        target = sobject(lookup.reference_to or "") if lookup else None
        if lookup is None or target is None:
            raise _field_error(
                query,
                path,
                f"Didn't understand relationship '{part}' in field path. If you are attempting"
                " to use a custom relationship, be sure to append the '__r' after the custom"
                " relationship name.",
            )
        steps.append((lookup.name, target.name))
        current = target
    final = current.field(path.parts[-1])
    if final is None:
        raise _field_error(
            query,
            path,
            f"No such column '{path.parts[-1]}' on entity '{current.name}'. If you are attempting"
            " to use a custom field, be sure to append the '__c' after the custom field name."
            " Please reference your WSDL or the describe call for the appropriate names.",
        )
    name = final.name
    if not steps and name == "SystemModstamp":
        return final, lambda row: row.stamp[0]
    if not steps and name == "IsDeleted":
        return final, lambda row: row.stamp[1]
    if not steps:
        return final, lambda row: row.record.get(name)

    def follow(row: Row) -> Any:
        record: Record | None = row.record
        for lookup_field, target in steps:
            record = catalog.lookup(target, record.get(lookup_field) if record else None)
        return record.get(name) if record else None

    return final, follow


def _normalise(f: Field, value: Any, query: Query, path: Path) -> Any:
    """A literal made comparable with stored values of ``f``, or INVALID_FIELD if it cannot be."""
    if value is None:
        return None
    kind = f.type
    wanted: tuple[type, ...]
    if kind == "datetime":
        if isinstance(value, DateTimeLit):
            return value.ms
        wanted_name = "dateTime"
    elif kind == "date":
        if isinstance(value, DateLit):
            return value.day
        wanted_name = "date"
    elif kind in NUMBER_TYPES:
        wanted = (int, float)
        if isinstance(value, wanted) and not isinstance(value, bool):
            return float(value)
        wanted_name = kind
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        wanted_name = "boolean"
    else:
        if isinstance(value, str):
            return value.lower()
        wanted_name = "string"
    raise _field_error(
        query,
        path,
        f"value of filter criterion for field '{f.name}' must be of type {wanted_name}"
        " and should not be enclosed in quotes"
        if wanted_name != "string"
        else f"value of filter criterion for field '{f.name}' must be of type string"
        " and should be enclosed in quotes",
    )


def _lowered(getter: Getter, f: Field) -> Getter:
    if f.type in NUMBER_TYPES or f.type in {"datetime", "date", "boolean"}:
        return getter

    def lower(row: Row) -> Any:
        value = getter(row)
        return value.lower() if isinstance(value, str) else value

    return lower


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a is not None and b is not None and a < b,
    "<=": lambda a, b: a is not None and b is not None and a <= b,
    ">": lambda a, b: a is not None and b is not None and a > b,
    ">=": lambda a, b: a is not None and b is not None and a >= b,
}


def _condition(node: Any, query: Query, root: SObject, catalog: Catalog) -> Predicate:
    if isinstance(node, BoolOp):
        parts = [_condition(item, query, root, catalog) for item in node.items]
        if node.op == "NOT":
            return lambda row: not parts[0](row)
        if node.op == "AND":
            return lambda row: all(part(row) for part in parts)
        return lambda row: any(part(row) for part in parts)
    f, raw = resolve(query, root, node.path, catalog)
    getter = _lowered(raw, f)
    if isinstance(node, Compare):
        compare, value = _OPS[node.op], _normalise(f, node.value, query, node.path)
        return lambda row: compare(getter(row), value)
    if isinstance(node, InList):
        values = {_normalise(f, v, query, node.path) for v in node.values}
        if node.negate:
            return lambda row: getter(row) not in values
        return lambda row: getter(row) in values
    assert isinstance(node, Like)
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in node.pattern)
    regex = re.compile(pattern, re.IGNORECASE | re.DOTALL)
    return lambda row: isinstance(value := raw(row), str) and regex.fullmatch(value) is not None


def _bounds(where: Any) -> tuple[int | None, int | None]:
    """The SystemModstamp range implied by the top-level AND of the WHERE clause."""
    items = where.items if isinstance(where, BoolOp) and where.op == "AND" else (where,)
    low = high = None
    for item in items:
        if not (
            isinstance(item, Compare)
            and item.path.parts[-1].lower() == "systemmodstamp"
            and len(item.path.parts) == 1
            and isinstance(item.value, DateTimeLit)
        ):
            continue
        ms = item.value.ms
        if item.op in {">=", ">", "="}:
            start = ms + 1 if item.op == ">" else ms
            low = start if low is None else max(low, start)
        if item.op in {"<", "<=", "="}:
            stop = ms if item.op == "<" else ms + 1
            high = stop if high is None else min(high, stop)
    return low, high


def compile_query(query: Query, catalog: Catalog) -> Plan:
    """Check names against the schema and build the plan.

    Raises:
        SoqlError: INVALID_TYPE or INVALID_FIELD, with the caret where the name is.
    """
    root = sobject(query.sobject)
    if root is None:
        raise _malformed(
            query.text,
            query.sobject_column,
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a"
            " custom object, be sure to append the '__c' after the entity name. Please reference"
            " your WSDL or the describe call for the appropriate names.",
            "INVALID_TYPE",
        )
    columns: list[tuple[str, bool, tuple[str, ...] | None]] = []
    for path in query.fields:
        f, _ = resolve(query, root, path, catalog)
        nested = path.parts if len(path.parts) > 1 else None
        columns.append((f.name, f.type == "datetime", nested))
    if isinstance(query.count, Path):
        resolve(query, root, query.count, catalog)
    predicate = _condition(query.where, query, root, catalog) if query.where else None
    sort_keys = []
    for item in query.order:
        f, getter = resolve(query, root, item.path, catalog)
        sort_keys.append((_lowered(getter, f), item.descending, item.nulls_last))
    names = [(o.path.parts, o.descending) for o in query.order]
    natural = (
        names
        in (
            [(("SystemModstamp",), False)],
            [(("SystemModstamp",), False), (("Id",), False)],
        )
        or not names
        or names == [(("Id",), False)]
    )
    natural = natural and catalog.table(root.name).natural_ids
    low, high = _bounds(query.where) if query.where else (None, None)
    return Plan(query, root, predicate, sort_keys, low, high, natural, columns)


def select(
    plan: Plan, catalog: Catalog, include_deleted: bool, purged_before: int | None = None
) -> Iterator[int]:
    """The indexes of the matching records, in the query's order, OFFSET and LIMIT applied.

    ``include_deleted`` (queryAll) adds the records in the Recycle Bin: those deleted at or
    after ``purged_before`` (epoch ms); records deleted earlier have been purged for good.
    """
    table = catalog.table(plan.sobject.name)
    names = [(o.path.parts, o.descending) for o in plan.query.order]
    modified_order = bool(names) and names[0] == (("SystemModstamp",), False)
    use_modified = modified_order or plan.low is not None or plan.high is not None
    candidates = table.by_modified(plan.low, plan.high) if use_modified else table.by_index()
    rows: Iterator[Row] = (Row(table, index) for index in candidates)
    if not include_deleted:
        rows = (row for row in rows if not row.stamp[1])
    elif purged_before is not None:
        horizon = purged_before
        rows = (row for row in rows if not row.stamp[1] or row.stamp[0] >= horizon)
    if plan.predicate is not None:
        predicate = plan.predicate
        rows = (row for row in rows if predicate(row))
    if not plan.natural or (names and not modified_order and use_modified):
        ordered = list(rows)
        for getter, descending, nulls_last in reversed(plan.sort_keys):
            null_rank = 1 if nulls_last != descending else 0

            def key(row: Row, getter: Getter = getter, null_rank: int = null_rank) -> Any:
                value = getter(row)
                return (null_rank, 0) if value is None else (1 - null_rank, value)

            ordered.sort(key=key, reverse=descending)
        rows = iter(ordered)
    query, skipped, taken = plan.query, 0, 0
    for row in rows:
        if skipped < query.offset:
            skipped += 1
            continue
        if query.limit is not None and taken >= query.limit:
            return
        taken += 1
        yield row.index


Renderer = Callable[[Field, Any], Any]
"""A stored value → its wire form (REST: dateTimes as ``...000+0000``)."""


def rest_value(f: Field, value: Any) -> Any:
    """A value as the REST API writes it."""
    return sf_datetime(value) if f.type == "datetime" and value is not None else value


def render(
    plan: Plan, catalog: Catalog, record: Record, version: str, value: Renderer = rest_value
) -> dict[str, Any]:
    """One record as the REST API returns it: attributes, then SELECT fields in order.

    ``value`` writes each stored value (Bulk API 1.0 JSON writes dates as epoch ms).
    """
    out = _shell(plan.sobject.name, record, version)
    for name, is_datetime, nested in plan.columns:
        if nested is None:
            raw = record.get(name)
            if value is rest_value:  # the hot path: no field lookup
                out[name] = sf_datetime(raw) if is_datetime and raw is not None else raw
            else:
                f = plan.sobject.field(name)
                assert f is not None
                out[name] = value(f, raw)
        else:
            _put(out, plan.sobject, nested, record, catalog, version, value)
    return out


def _shell(name: str, record: Record, version: str) -> dict[str, Any]:
    url = f"/services/data/v{version}/sobjects/{name}/{record['Id']}"
    return {"attributes": {"type": name, "url": url}}


def _put(
    out: dict[str, Any],
    owner: SObject,
    parts: tuple[str, ...],
    record: Record,
    catalog: Catalog,
    version: str,
    value: Renderer,
) -> None:
    if len(parts) == 1:
        f = owner.field(parts[0])
        assert f is not None
        out[f.name] = value(f, record.get(f.name))
        return
    lookup = owner.relationship(parts[0])
    assert lookup is not None and lookup.relationship_name is not None
    target = sobject(lookup.reference_to or "")
    assert target is not None
    name = lookup.relationship_name
    parent = catalog.lookup(target.name, record.get(lookup.name))
    if parent is None:
        out[name] = None
        return
    nested = out.get(name) or _shell(target.name, parent, version)
    out[name] = nested
    _put(nested, target, parts[1:], parent, catalog, version, value)
