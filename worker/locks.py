"""A per-stream lock so two syncs of the same stream never overlap, even across machines.

PostgreSQL: a session-level advisory lock held on a dedicated connection. It needs no expiry:
when the holder dies (kill -9, lost machine) its connection closes and the lock is released.
SQLite: an ``flock`` on a file beside the database; SQLite is single-machine by nature, and the
kernel releases ``flock`` when the process dies, so it shares the same no-expiry property.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

_memory_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def key_of(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks, from a lock's name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(engine: Engine, name: str, *, wait: bool = False) -> Iterator[bool]:
    """Take the lock ``name``; yield whether it was taken (always True with ``wait``).

    Without ``wait`` a held lock yields False at once (a second sync of a stream skips);
    with ``wait`` the caller queues behind the holder (computes run one after another).
    """
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name, wait) as taken:
            yield taken
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with _memory(name, wait) as taken:
            yield taken
        return
    with _flock(Path(database), name, wait) as taken:
        yield taken


@contextmanager
def _advisory(engine: Engine, name: str, wait: bool) -> Iterator[bool]:
    key = key_of(name)
    sql = "SELECT pg_advisory_lock(:k), true" if wait else "SELECT pg_try_advisory_lock(:k)"
    with engine.connect() as conn:
        row = conn.execute(text(sql), {"k": key}).one()
        taken = bool(row[-1])
        conn.commit()
        try:
            yield taken
        finally:
            if taken:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


@contextmanager
def _flock(database: Path, name: str, wait: bool) -> Iterator[bool]:
    folder = database.with_name(database.name + ".locks")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, like the store itself
    safe = hashlib.sha256(name.encode()).hexdigest()[:24]
    descriptor = os.open(folder / f"{safe}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    with os.fdopen(descriptor, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _memory(name: str, wait: bool) -> Iterator[bool]:
    with _guard:
        lock = _memory_locks.setdefault(name, threading.Lock())
    taken = lock.acquire(blocking=wait)
    try:
        yield taken
    finally:
        if taken:
            lock.release()
