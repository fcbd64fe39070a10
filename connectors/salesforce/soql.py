"""Building SOQL without ever concatenating a value into it.

Identifiers (object and field names) come from the mapping and are checked against a strict
pattern; values go through simple-salesforce's ``format_soql`` quoting, or, for Id values, are
validated as 15/18 alphanumerics. Datetimes are written as absolute UTC literals, never relative
ones (``LAST_N_DAYS`` is evaluated in the running user's time zone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from simple_salesforce.format import format_soql

from connectors.spec import Filter, StreamSpec
from partnerplan.errors import ConfigurationError

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_SF_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
_OPS = {
    "eq": "=",
    "ne": "!=",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "in": "IN",
    "not_in": "NOT IN",
}


def identifier(name: str) -> str:
    """Return ``name`` if it is a safe SOQL identifier (``Field__c``, ``Parent.Field``)."""
    if not _IDENT.match(name):
        raise ConfigurationError(
            f"{name!r} is not a valid Salesforce object or field name; use the API name "
            f"(letters, digits, underscores; relationship paths joined by dots)"
        )
    return name


def is_record_id(value: str) -> bool:
    """Whether ``value`` looks like a Salesforce record Id (15 or 18 alphanumerics)."""
    return bool(_SF_ID.match(value))


def record_id(value: Any) -> str:
    """Return ``value`` if it is a valid Salesforce Id, else raise ValueError."""
    text = str(value)
    if not is_record_id(text):
        raise ValueError(f"{text!r} is not a Salesforce record Id (15 or 18 letters and digits)")
    return text


def datetime_literal(value: datetime) -> str:
    """An absolute UTC dateTime literal, to the second (SOQL takes no fractions)."""
    if value.tzinfo is None:
        raise ValueError("SOQL datetimes must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(value: Any, field_type: str | None) -> str:
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, date):
        return value.isoformat()
    if field_type in ("id", "reference") and value is not None:
        if isinstance(value, list | tuple | set):
            return format_soql("{}", [record_id(v) for v in value])
        return format_soql("{}", record_id(value))
    if field_type in ("date", "datetime") and isinstance(value, str):
        parsed: date
        parsed = (
            datetime.fromisoformat(value) if field_type == "datetime" else date.fromisoformat(value)
        )
        if isinstance(parsed, datetime):
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return datetime_literal(parsed)
        return parsed.isoformat()
    return format_soql("{}", value)


def condition(flt: Filter, field_type: str | None = None) -> str:
    """One WHERE condition for a mapping's filter, the value quoted or validated."""
    name = identifier(flt.field)
    if flt.op == "is_null":
        return f"{name} = null"
    if flt.op == "not_null":
        return f"{name} != null"
    if flt.op in ("in", "not_in") and not isinstance(flt.value, list | tuple | set):
        raise ConfigurationError(f"filter on {flt.field!r}: {flt.op} needs a list of values")
    try:
        return f"{name} {_OPS[flt.op]} {_value(flt.value, field_type)}"
    except ValueError as exc:
        raise ConfigurationError(f"filter on {flt.field!r}: {exc}") from exc


def select_list(spec: StreamSpec) -> list[str]:
    """``Id``, the modified field, then the mapping's fields, without duplicates."""
    seen: dict[str, str] = {}
    for name in ("Id", spec.modified_field, *spec.fields):
        seen.setdefault(identifier(name).lower(), name)
    return list(seen.values())


def changed_since(
    spec: StreamSpec,
    start: datetime | None,
    field_types: dict[str, str] | None = None,
) -> str:
    """The incremental query: records with ``modified >= start``, ordered by (modified, Id)."""
    types = field_types or {}
    modified = identifier(spec.modified_field)
    where = [condition(f, types.get(f.field.lower())) for f in spec.filters]
    if start is not None:
        where.insert(0, f"{modified} >= {datetime_literal(start)}")
    return _query(select_list(spec), spec.object, where, modified)


def deleted_since(spec: StreamSpec, since: datetime | None) -> str:
    """The queryAll for deletions: ``IsDeleted = true`` rows, ordered by (modified, Id)."""
    modified = identifier(spec.modified_field)
    where = ["IsDeleted = true"]
    if since is not None:
        where.append(f"{modified} >= {datetime_literal(since)}")
    return _query(["Id", modified, "IsDeleted"], spec.object, where, modified)


def count(spec: StreamSpec, field_types: dict[str, str] | None = None) -> str:
    """``SELECT COUNT()`` for the stream: decides between REST paging and Bulk 2.0."""
    types = field_types or {}
    where = [condition(f, types.get(f.field.lower())) for f in spec.filters]
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT COUNT() FROM {identifier(spec.object)}{clause}"  # noqa: S608  # SOQL: names validated, values quoted


def _query(fields: Iterable[str], object: str, where: list[str], modified: str) -> str:
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    names = ", ".join(identifier(f) for f in fields)
    order = f" ORDER BY {modified} ASC, Id ASC"
    return f"SELECT {names} FROM {identifier(object)}{clause}{order}"  # noqa: S608  # SOQL: names validated, values quoted
