"""Engines, sessions and the bulk upsert every stage writes through.

SQLite is the embedded default (``sqlite:///partnerplan.db``); ``DATABASE_URL`` selects
PostgreSQL (``postgresql+psycopg://…``). Upserts use the dialect's ``INSERT … ON CONFLICT`` in
batches sized to stay under each database's bound-parameter limit, never row by row.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import ARRAY, String, Table, any_, bindparam, event, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, create_engine

from partnerplan.errors import ConfigurationError
from plans import bulk
from plans.store import METADATA

DEFAULT_URL = "sqlite:///partnerplan.db"
POOL_OVERFLOW = 45
"""PostgreSQL connections an engine may open beyond its 5 pooled ones (two per syncing stream)."""
_CHUNK_ROWS = 10_000  # rows taken from the iterable at a time (a page is 2,000 records)
# What orjson would accept but the stdlib refuses goes to the stdlib, which refuses it as before.
_ORJSON_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def database_url(explicit: str | None = None) -> str:
    """``explicit``, else ``DATABASE_URL``, else the embedded SQLite file."""
    url = explicit or os.environ.get("DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; plain URLs from PaaS dashboards name none.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def json_dumps(value: Any) -> str:
    """JSON columns' serializer: orjson's speed, the stdlib's verdicts.

    The stdlib's ``json.dumps`` was the engines' serializer and showed in every profile (it runs
    for every activity's attributes). orjson writes the same values (without the blanks), and
    whatever it would refuse or write differently from the stdlib (non-string keys, integers
    beyond 64 bits, subclasses; datetimes and dataclasses, which the stdlib refuses) goes to
    ``json.dumps`` unchanged. One difference is left: a float NaN or infinity becomes ``null``
    (PostgreSQL refuses the stdlib's ``NaN`` anyway). Reading stays with the stdlib: orjson
    reads integers beyond 64 bits as floats.
    """
    try:
        return orjson.dumps(value, option=_ORJSON_STRICT).decode()
    except TypeError:
        return json.dumps(value)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the CLI read while a sync writes; busy_timeout waits out a concurrent writer.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str | None = None, *, schema: str | None = None) -> Engine:
    """Create an engine for ``url``; ``schema`` pins PostgreSQL's search_path (tests use it)."""
    resolved = database_url(url)
    kwargs: dict[str, Any] = {}
    if resolved.startswith("sqlite"):
        if resolved in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"check_same_thread": False}
    elif resolved.startswith("postgresql"):
        kwargs["pool_pre_ping"] = True
        # streams sync in threads, each holding a connection for its stream lock and one for
        # its unit of work: 5 + 10 connections left threads timing out on the pool
        kwargs["max_overflow"] = POOL_OVERFLOW
        if schema:
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    else:
        raise ConfigurationError(
            f"unsupported database URL scheme in {resolved.split(':', 1)[0]!r}; "
            "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
        )
    engine = create_engine(resolved, json_serializer=json_dumps, **kwargs)
    if engine.dialect.name == "sqlite":
        _private_file(engine.url.database)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _private_file(database: str | None) -> None:
    """Create a SQLite store file readable by its owner only (0600) before SQLite does.

    SQLite creates a missing file with the process's umask (often 0644: every user of the
    machine could read the partners' data) and gives its ``-wal`` / ``-shm`` files the
    database file's own permissions, so creating the file private keeps all three private.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def create_all(engine: Engine) -> None:
    """Create every table directly from the models (tests; production uses ``db upgrade``)."""
    METADATA.create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on any error: one unit of work."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


ANALYZE_FLOOR = 10_000
"""Rows changed before a table's first ANALYZE; after that, as many rows as it holds."""


def refresh_statistics(engine: Engine, table: str) -> bool:
    """PostgreSQL: ANALYZE ``table`` once it has changed by more than its size since the last.

    The planner picks plans from statistics, and a table loaded from empty by a first sync has
    none unless autovacuum happens to run (it is off on some servers, and slow to react to a
    load). Without them, PostgreSQL took the per-page lookup of 2,000 record ids as a filter
    over a whole stream's rows instead of an index probe per id, so a first sync of 1,000,000
    records slowed quadratically. Re-analyzing each time the table doubles costs about 8 quick,
    sampled ANALYZEs for a million rows. Returns True when it analyzed. SQLite plans these
    lookups well without statistics, so nothing is done there.
    """
    if engine.dialect.name != "postgresql":
        return False
    query = text(
        "SELECT s.n_mod_since_analyze, c.reltuples FROM pg_stat_user_tables s"
        " JOIN pg_class c ON c.oid = s.relid WHERE s.relid = to_regclass(:name)"
    )
    with engine.begin() as connection:
        row = connection.execute(query, {"name": table}).first()
        if row is None or row[0] < max(ANALYZE_FLOOR, row[1]):
            return False
        connection.execute(text(f"ANALYZE {table}"))  # our own table name, never user input
    return True


def one_of(column: ColumnElement[Any], values: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """``column IN values`` for text values, with the list bound as ONE parameter.

    ``in_()`` renders one placeholder per value at every execution; for the 2,000 record ids
    of a page that rendering cost three times the query. Bound whole (a JSON array read by
    ``json_each`` on SQLite, an array for ``= ANY`` on PostgreSQL) the statement is compiled
    once and cached, and both databases still look each value up in the column's index.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    listed = func.json_each(bindparam(None, json_dumps(list(values)), type_=String))
    return column.in_(select(listed.table_valued("value").c.value))


def _batches(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def upsert(
    conn: Connection | Session,
    table: Table | type[SQLModel],
    rows: Iterable[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str] | None = None,
    where_changed: str | None = None,
) -> int:
    """Insert ``rows`` or update them on conflict with ``keys``; returns the rows given.

    ``update`` names the columns overwritten on conflict (default: every column but the keys
    and ``id``). ``where_changed`` names a column (e.g. ``content_hash``) compared before
    updating, so re-storing identical records writes nothing. Every row has the keys of the
    first; a column left out takes its default. How the statements are built and bound:
    :mod:`plans.bulk`.
    """
    tbl: Table = table if isinstance(table, Table) else table.__table__  # type: ignore[attr-defined]
    connection = conn.connection() if isinstance(conn, Session) else conn
    dialect = connection.dialect
    if dialect.name not in bulk.INSERTS:  # pragma: no cover - make_engine refuses other dialects
        raise ConfigurationError(f"no upsert for dialect {dialect.name}")
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    columns = (
        tuple(update)
        if update is not None
        else tuple(c for c in first if c not in keys and c != "id")
    )
    shape = bulk.prepare(dialect, tbl, tuple(first), tuple(keys), columns, where_changed)
    encode = bulk.encoder(shape, tbl, dialect)
    total = 0
    for chunk in _batches(chain([first], iterator), _CHUNK_ROWS):
        for sql, params in bulk.statements(shape, encode, chunk, keys):
            connection.exec_driver_sql(sql, params)
        total += len(chunk)
    return total
