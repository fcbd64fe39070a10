"""The store as the schema cache's shared layer: describes outlive the process that fetched them.

``partnerplan run`` started by cron is a new process every time, and its memory starts empty:
without this, every run asked the CRM for every object's describe (about a third of an
incremental run's calls, each before its stream's first page). :class:`StoreDescribes` keeps
them in the store's ``describe`` table, where the next process (or another worker) finds them;
the connectors reach it only through :data:`connectors.schema_cache.SCHEMAS`, which
:func:`share_describes` sets.

Reads go straight to the store; writes come from stream threads, so they go through
:func:`worker.writes.unit` like every other write of a sync (SQLite has one writer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from connectors.schema_cache import SCHEMAS, Key
from plans.db import upsert
from plans.store import DescribeRow
from worker.writes import shared_connection, unit


class StoreDescribes:
    """:class:`connectors.schema_cache.SharedSchemas` over the store's ``describe`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, key: Key) -> tuple[datetime, Any] | None:
        """The describe saved for ``key`` and when it was fetched, or None."""
        org, object = key
        with Session(self.engine) as session:
            row = session.exec(
                select(DescribeRow).where(DescribeRow.org == org, DescribeRow.object == object)
            ).first()
        return None if row is None else (row.fetched_at, row.value)

    def save(self, key: Key, fetched_at: datetime, value: Any) -> None:
        """Keep ``value`` as ``key``'s describe (replacing any older one)."""
        org, object = key
        row = {"org": org, "object": object, "fetched_at": fetched_at, "value": value}
        with unit(self.engine) as session:
            upsert(session, DescribeRow, [row], keys=("org", "object"))

    def forget(self, key: Key) -> None:
        """Drop ``key``'s describe."""
        org, object = key
        with unit(self.engine) as session:
            session.exec(
                delete(DescribeRow).where(
                    col(DescribeRow.org) == org, col(DescribeRow.object) == object
                )
            )


def share_describes(engine: Engine) -> None:
    """Make the store of ``engine`` the process's shared layer of describes.

    An in-memory SQLite store (one connection for every session) is left out: it dies with the
    process, so it has nothing to share, and a read on its one connection must not end the
    transaction of a unit that another part of the process has open.
    """
    SCHEMAS.share(None if shared_connection(engine) else StoreDescribes(engine))
