"""Store writes while several streams sync at once: who may write, and when.

``partnerplan run`` syncs streams in threads (see :mod:`worker.streams`), and a distributed
deployment runs them in many processes. Each stream writes its own rows (activities,
quarantine and watermark by ``(source, stream)``, its own run row), so most writes never meet.
What they share, and how each store keeps it consistent:

* **SQLite** has one writer per database. Threads that all wait on SQLite's busy handler
  poll and sleep (up to 100 ms a turn) and starve one another, so every write unit of a sync
  takes one in-process lock per database file first, and holds it only for the unit: a page
  already fetched, mapped in the unit, committed. Never across a network call. Other
  processes on the same file (a scheduler beside a ``run``) still meet SQLite's own lock,
  which ``busy_timeout`` (:mod:`plans.db`) waits out.
* **PostgreSQL** takes concurrent writers. The rows several streams share are partners and
  their links (the partner streams of two CRMs can carry the same partner key) and the
  activities :func:`~plans.ingest.resolve_partners` links to them, which any activity stream
  may be writing. Upserting the same keys in different orders, or linking rows a page is
  upserting, can deadlock; so a unit that writes partners or links activities takes an
  exclusive transaction-level advisory lock and every other page unit takes it shared. Page
  units of different activity streams still run side by side; the lock is taken first thing
  in the transaction and released by its commit, so no row lock is ever waited on while it
  is held by a unit that waits on the advisory lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from plans.db import session_scope
from worker.locks import key_of

PARTNERS = key_of("partnerplan:partners")
"""The advisory lock key of the rows several streams share (partners and their links)."""

_writers: dict[str, threading.RLock] = {}
_guard = threading.Lock()


def _writer(engine: Engine) -> threading.RLock:
    """The lock of the SQLite database ``engine`` writes to (one per file in this process)."""
    name = engine.url.render_as_string(hide_password=True)
    with _guard:
        return _writers.setdefault(name, threading.RLock())


def shared_connection(engine: Engine) -> bool:
    """True when every session of ``engine`` shares ONE connection (in-memory SQLite).

    Two threads on one connection would share one transaction (one's commit would commit the
    other's half-written page), so such a store syncs its streams one at a time.
    """
    return isinstance(engine.pool, StaticPool)


@contextmanager
def unit(engine: Engine, *, partners: bool = False) -> Iterator[Session]:
    """One unit of work of a sync, committed on success; see the module docstring for locks.

    Args:
        engine: The store.
        partners: The unit writes partners or links activities to them (exclusive), rather
            than only its own stream's rows (shared).
    """
    if engine.dialect.name == "sqlite":
        with _writer(engine), session_scope(engine) as session:
            yield session
        return
    with session_scope(engine) as session:
        if engine.dialect.name == "postgresql":
            take = "pg_advisory_xact_lock" if partners else "pg_advisory_xact_lock_shared"
            session.connection().execute(text(f"SELECT {take}(:k)"), {"k": PARTNERS})
        yield session
