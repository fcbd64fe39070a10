"""The bulk upsert's statements: compiled once, many rows per statement, bound at driver level.

:func:`plans.db.upsert` stores every page of every stream, so its cost per row is
the sync's. Three costs dominated it when SQLAlchemy executed it with many parameter sets:

* per-row parameter processing (a dict per row, a call per value through the type
  decorators): here each column's own bind processor runs on the row and the values go to
  the driver as they are, so what is stored does not change;
* on SQLite, one statement execution per row: with foreign keys on, every execution of an
  upsert that may update ``partner_id`` sets up a statement journal, which cost half as much
  again as the insert itself;
* on PostgreSQL, one statement per row for the server to execute.

So one ``INSERT … VALUES (…), (…), … ON CONFLICT`` carries many rows: up to 1,024 on SQLite,
32 on PostgreSQL (50,000 rows: 32-row statements took 40 % less client CPU and 30 % less
time than one row per statement; 128 rows and more gained less). Full statements go in one
``executemany``; the rows left over go in statements of power-of-two sizes, so a handful of
distinct statements serve every batch and both databases keep them prepared (preparing a
1,000-row statement costs SQLite more than executing it).

Rows repeating a key are applied in order, as executing them one by one would: SQLite does
so within a statement; PostgreSQL refuses to touch a row twice in one statement, so there a
batch that repeats a key goes one row per statement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnDefault, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from partnerplan.errors import ConfigurationError

INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
MAX_PARAMS = 30_000
"""Parameters per statement: SQLite allows 32,766 (3.32+), PostgreSQL 65,535."""
MAX_ROWS = {"sqlite": 1024, "postgresql": 32}
"""Rows per statement at most, per dialect (fewer for wide tables, under :data:`MAX_PARAMS`)."""
_VALUES = " VALUES "


@dataclass(frozen=True)
class Upsert:
    """One upsert shape (table, columns given, conflict keys, columns updated) for one dialect.

    Attributes:
        head: The SQL up to ``VALUES``.
        group: One row's placeholders, ``(?, ?, …)``.
        tail: The ``ON CONFLICT`` clause.
        names: The row keys, in the order the placeholders bind them.
        defaults: Columns the SQL binds that the rows leave out, with their (scalar) defaults.
        max_rows: Rows per statement at most (a power of two).
        unique_per_statement: The database refuses a statement that touches a row twice.
    """

    head: str
    group: str
    tail: str
    names: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...]
    max_rows: int
    unique_per_statement: bool

    def sql(self, rows: int) -> str:
        """The statement for ``rows`` rows."""
        return _sql(self.head, self.group, self.tail, rows)


@lru_cache(maxsize=256)
def _sql(head: str, group: str, tail: str, rows: int) -> str:
    return head + ", ".join([group] * rows) + tail


@lru_cache(maxsize=128)
def prepare(
    dialect: Dialect,
    tbl: Table,
    row_keys: tuple[str, ...],
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    where_changed: str | None,
) -> Upsert:
    """Compile the upsert for rows with ``row_keys`` (once per shape and dialect)."""
    stmt = INSERTS[dialect.name](tbl)
    if columns:
        excluded = stmt.excluded
        where = None
        if where_changed is not None:
            where = tbl.c[where_changed].is_distinct_from(excluded[where_changed])
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: excluded[c] for c in columns}, where=where
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    # Positional placeholders repeat for every row; PostgreSQL's psycopg takes %s as well.
    same_kind: Callable[..., Dialect] = type(dialect)
    positional = dialect if dialect.positional else same_kind(paramstyle="format")
    compiled = stmt.compile(dialect=positional, column_keys=list(row_keys), for_executemany=True)
    names = tuple(compiled.positiontup or ())
    head, group, tail = _split_values(compiled.string, len(names))
    defaults = []
    for name in names:
        if name in row_keys:
            continue
        default = tbl.c[name].default
        if not (isinstance(default, ColumnDefault) and default.is_scalar):  # pragma: no cover
            raise ConfigurationError(f"upsert into {tbl.name} needs a value for {name}")
        defaults.append((name, default.arg))
    max_rows = min(MAX_ROWS[dialect.name], MAX_PARAMS // max(1, len(names)))
    return Upsert(
        head,
        group,
        tail,
        names,
        tuple(defaults),
        max_rows=1 << (max_rows.bit_length() - 1),
        unique_per_statement=dialect.name == "postgresql",
    )


def _split_values(sql: str, params: int) -> tuple[str, str, str]:
    """``INSERT … VALUES (…) ON CONFLICT …`` as its head, its one row group and its tail."""
    start = sql.index(_VALUES) + len(_VALUES)
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            break
    group = sql[start : end + 1]
    if group.count("?") + group.count("%s") != params:  # pragma: no cover - a new dialect
        raise ConfigurationError(f"cannot repeat the VALUES row of {sql[:80]!r}")
    return sql[:start], group, sql[end + 1 :]


def encoder(
    upsert: Upsert, tbl: Table, dialect: Dialect
) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A function turning one row into its driver-level values, in placeholder order.

    Each value goes through its column type's bind processor for ``dialect``: the very
    function SQLAlchemy would have run, so the stored values are the same.
    """
    names = upsert.names
    processors = [
        (index, processor)
        for index, name in enumerate(names)
        if (processor := tbl.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    defaults = dict(upsert.defaults)

    def encode(row: Mapping[str, Any]) -> list[Any]:
        if defaults:
            row = {**defaults, **row}
        values = [row[name] for name in names]
        for index, processor in processors:
            values[index] = processor(values[index])
        return values

    return encode


def statements(
    upsert: Upsert,
    encode: Callable[[Mapping[str, Any]], list[Any]],
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """What to ``executemany`` for ``rows``: (SQL, parameter sets), each set a flat tuple."""
    encoded = [encode(row) for row in rows]
    size = upsert.max_rows
    if upsert.unique_per_statement and size > 1:
        key_of = itemgetter(*keys)
        if len({key_of(row) for row in rows}) < len(rows):
            size = 1
    full = len(encoded) - len(encoded) % size
    if full:
        sets = [tuple(chain.from_iterable(encoded[i : i + size])) for i in range(0, full, size)]
        yield upsert.sql(size), sets
    start = full
    while start < len(encoded):
        part = 1 << ((len(encoded) - start).bit_length() - 1)
        yield upsert.sql(part), [tuple(chain.from_iterable(encoded[start : start + part]))]
        start += part
