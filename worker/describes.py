"""The store as the schema cache's shared layer: describes outlive the process that fetched them.

``partnerplan run`` started by cron is a new process every time, and its memory starts empty:
without this, every run asked the CRM for every object's describe (about a third of an
incremental run's calls, each before its stream's first page). :class:`StoreDescribes` keeps
them in the store's ``describe`` table, where the next process (or another worker) finds them;
the connectors reach it only through :data:`connectors.schema_cache.SCHEMAS`, which
:func:`share_describes` sets.

Reads go straight to the store; writes come from stream threads, so they go through
:func:`worker.writes.unit` like every other write of a sync (SQLite has one writer). A write
never waits for SQLite's lock for long: the thread asking may itself hold it (the push keeps
its transaction open across its CRM calls, and checks its objects' fields in between), and
waiting out ``busy_timeout`` would stall it 30 s for a lock it can never get. A change that
finds the store locked is kept pending and written with the next one, or at exit.
"""

from __future__ import annotations

import atexit
import threading
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, delete, select

from connectors.schema_cache import SCHEMAS, Key
from partnerplan.logs import get_logger
from plans.db import upsert
from plans.store import DescribeRow
from worker.writes import shared_connection, unit

log = get_logger(__name__)

BUSY_MS = 100
"""How long a write of describes waits for SQLite's lock before it is left pending."""

Change = tuple[datetime, Any] | None
"""A describe to keep (when fetched, what), or None: drop it."""


class StoreDescribes:
    """:class:`connectors.schema_cache.SharedSchemas` over the store's ``describe`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pending: dict[Key, Change] = {}
        self._lock = threading.Lock()

    def load(self, key: Key) -> tuple[datetime, Any] | None:
        """The describe saved for ``key`` (or still waiting to be) and when it was fetched."""
        with self._lock:
            if key in self._pending:
                return self._pending[key]
        org, object = key
        with Session(self.engine) as session:
            row = session.exec(
                select(DescribeRow).where(DescribeRow.org == org, DescribeRow.object == object)
            ).first()
        return None if row is None else (row.fetched_at, row.value)

    def save(self, key: Key, fetched_at: datetime, value: Any) -> None:
        """Keep ``value`` as ``key``'s describe (replacing any older one)."""
        self._write(key, (fetched_at, value))

    def forget(self, key: Key) -> None:
        """Drop ``key``'s describe."""
        self._write(key, None)

    def flush(self) -> None:
        """Write the changes a locked store left pending (at exit: for the next process)."""
        self._write(None, None)

    def _write(self, key: Key | None, change: Change) -> None:
        """Apply ``change`` to ``key`` with every pending one; if SQLite is locked, keep them."""
        with self._lock:
            if key is not None:
                self._pending[key] = change
            changes = dict(self._pending)
        if not changes:
            return
        try:
            with unit(self.engine) as session:
                _apply(session, changes)
        except OperationalError as exc:
            if "locked" not in str(exc.orig):
                raise
            log.debug("describes_pending", objects=len(changes))
            return
        with self._lock:
            for written, done in changes.items():
                if self._pending.get(written, ...) is done:
                    del self._pending[written]


def _apply(session: Session, changes: dict[Key, Change]) -> None:
    """Write ``changes`` in ``session``, waiting at most :data:`BUSY_MS` for SQLite's lock."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    waited = 0
    if sqlite:
        waited = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_MS}")
    try:
        for (org, object), change in changes.items():
            if change is None:
                session.exec(
                    delete(DescribeRow).where(
                        col(DescribeRow.org) == org, col(DescribeRow.object) == object
                    )
                )
                continue
            fetched_at, value = change
            row = {"org": org, "object": object, "fetched_at": fetched_at, "value": value}
            upsert(session, DescribeRow, [row], keys=("org", "object"))
    finally:
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {waited}")


def share_describes(engine: Engine) -> None:
    """Make the store of ``engine`` the process's shared layer of describes.

    An in-memory SQLite store (one connection for every session) is left out: it dies with the
    process, so it has nothing to share, and a read on its one connection must not end the
    transaction of a unit that another part of the process has open.
    """
    SCHEMAS.share(None if shared_connection(engine) else StoreDescribes(engine))
    _flush_at_exit()


@cache
def _flush_at_exit() -> None:
    """Once per process: at exit, write what the shared layer left pending."""
    atexit.register(_flush)


def _flush() -> None:
    shared = SCHEMAS.shared
    if not isinstance(shared, StoreDescribes):
        return
    try:
        shared.flush()
    except Exception as exc:  # the process is ending: the next one asks the CRM instead
        log.debug("describes_lost", error=exc.__class__.__name__)
