"""The bulk upsert's statements: compiled once, many rows per statement, bound at driver level.

:func:`partnerplan.plans.db.upsert` stores every page of every stream, so its cost per row is
the sync's. Two costs dominated it when SQLAlchemy executed it with many parameter sets:

* per-row parameter processing (a dict per row, a call per value through the type
  decorators): here each column's own bind processor runs on the row and the values go to
  the driver as they are, so what is stored does not change;
* on SQLite, one statement execution per row (``executemany``): with foreign keys on, every
  execution of an upsert that may update ``partner_id`` sets up a statement journal, which
  cost half as much again as the insert. There one ``INSERT … VALUES (…), (…), … ON
  CONFLICT`` carries up to :data:`MAX_ROWS` rows; statement sizes are powers of two, so a
  handful of distinct statements serve every batch and SQLite keeps them prepared (preparing
  one costs more than executing it). Rows repeating a key are applied in order, as before.

PostgreSQL keeps one row per statement and ``executemany``: psycopg pipelines those, while it
re-parses a statement longer than 4 KB at every execution (multi-row statements measured
three times the client CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import ColumnDefault, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from partnerplan.errors import ConfigurationError

INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
MAX_PARAMS = 30_000
"""Parameters per statement: SQLite allows 32,766 (3.32+), PostgreSQL 65,535."""
MAX_ROWS = 1024
"""Rows per statement at most (fewer for wide tables, to stay under :data:`MAX_PARAMS`)."""
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
        max_rows: Rows per statement at most (a power of two); 1 means one row per
            statement, all of them in one ``executemany``.
    """

    head: str
    group: str
    tail: str
    names: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...]
    max_rows: int

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
    max_rows = min(MAX_ROWS, MAX_PARAMS // max(1, len(names))) if dialect.name == "sqlite" else 1
    return Upsert(head, group, tail, names, tuple(defaults), 1 << (max_rows.bit_length() - 1))


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
) -> Iterator[tuple[str, tuple[Any, ...] | list[tuple[Any, ...]]]]:
    """What to execute for ``rows``: (SQL, one flat parameter tuple, or a list for executemany)."""
    if upsert.max_rows == 1:
        yield upsert.sql(1), [tuple(encode(row)) for row in rows]
        return
    start = 0
    while start < len(rows):
        size = min(upsert.max_rows, 1 << ((len(rows) - start).bit_length() - 1))
        batch = rows[start : start + size]
        yield upsert.sql(size), tuple(chain.from_iterable(map(encode, batch)))
        start += size
