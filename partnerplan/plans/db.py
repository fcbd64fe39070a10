"""Engines, sessions and the bulk upsert every stage writes through.

SQLite is the embedded default (``sqlite:///partnerplan.db``); ``DATABASE_URL`` selects
PostgreSQL (``postgresql+psycopg://…``). Upserts use the dialect's ``INSERT … ON CONFLICT`` in
batches sized to stay under each database's bound-parameter limit, never row by row.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from partnerplan.errors import ConfigurationError

DEFAULT_URL = "sqlite:///partnerplan.db"
# SQLite allows 32,766 bound parameters (3.32+); PostgreSQL 65,535. Stay well below both.
_MAX_PARAMS = 30_000
_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def database_url(explicit: str | None = None) -> str:
    """``explicit``, else ``DATABASE_URL``, else the embedded SQLite file."""
    url = explicit or os.environ.get("DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; plain URLs from PaaS dashboards name none.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


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
        if schema:
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    else:
        raise ConfigurationError(
            f"unsupported database URL scheme in {resolved.split(':', 1)[0]!r}; "
            "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
        )
    engine = create_engine(resolved, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_all(engine: Engine) -> None:
    """Create every table directly from the models (tests; production uses ``db upgrade``)."""
    import partnerplan.plans.store  # noqa: F401  (registers the tables)

    SQLModel.metadata.create_all(engine)


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
    """Insert ``rows`` or update them on conflict with ``keys``; returns rows sent.

    ``update`` names the columns overwritten on conflict (default: every column but the keys
    and ``id``). ``where_changed`` names a column (e.g. ``content_hash``) compared before
    updating, so re-storing identical records writes nothing.
    """
    tbl: Table = table if isinstance(table, Table) else table.__table__  # type: ignore[attr-defined]
    connection = conn.connection() if isinstance(conn, Session) else conn
    dialect = connection.dialect.name
    if dialect not in _INSERTS:  # pragma: no cover - make_engine refuses other dialects
        raise ConfigurationError(f"no upsert for dialect {dialect}")
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    columns = (
        list(update) if update is not None else [c for c in first if c not in keys and c != "id"]
    )
    size = max(1, _MAX_PARAMS // max(1, len(first)))
    total = 0
    for chunk in _batches(chain([first], iterator), size):
        total += _upsert_batch(
            connection, tbl, _INSERTS[dialect], chunk, keys, columns, where_changed
        )
    return total


def _upsert_batch(
    connection: Connection,
    tbl: Table,
    insert_fn: Any,
    chunk: list[Mapping[str, Any]],
    keys: Sequence[str],
    columns: Sequence[str],
    where_changed: str | None,
) -> int:
    # One statement executed with many parameter sets: SQLAlchemy compiles it once (cached) and
    # batches the rows ("insertmanyvalues"); a literal multi-row VALUES clause would be compiled
    # anew for every batch, which cost 6x the time of the insert itself.
    stmt = insert_fn(tbl)
    if columns:
        excluded = stmt.excluded
        where = None
        if where_changed is not None:
            where = tbl.c[where_changed].is_distinct_from(excluded[where_changed])
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: excluded[c] for c in columns},
            where=where,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    connection.execute(stmt, list(chunk))
    return len(chunk)
