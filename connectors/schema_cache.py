"""Describes (an object's fields or properties) reused for a while, not asked every run.

Every stream of every run checks its fields against the CRM before pulling (a describe per
object: Salesforce ``sobjects/X/describe``, HubSpot ``/crm/v3/properties/X``), and a long-lived
worker runs many. Fields change rarely, so a describe is reused for ``ttl`` seconds
(``schema_cache_seconds`` in the source's settings): a field added in the CRM is seen within
that time. A field that a stream needs and the cached describe lacks is never trusted to the
cache: the connector drops the entry (:meth:`SchemaCache.forget`) and asks again before it
fails the stream, so an admin who just created the field is not told it is missing.

The cache is keyed by the org / portal (a digest, never a token) and the object, and shared by
every connector of the process: the threads of a concurrent run describe an object once.

A process lives shorter than the ttl when ``partnerplan run`` is started by cron every few
minutes, and a fresh process would ask every describe again (a third of an incremental run's
calls). So behind the memory sits an optional :class:`SharedSchemas` layer, which the worker
sets to the store (:meth:`SchemaCache.share`): a describe another process fetched within the
ttl, by wall-clock time, is used from there. Connectors never see the store; the worker hands
it in. The shared layer is a saving, never a requirement: when it fails (the store is down or
locked), the cache warns once and asks the CRM as if it were not there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from partnerplan.logs import get_logger

log = get_logger(__name__)

Clock = Callable[[], float]
WallClock = Callable[[], datetime]
Key = tuple[str, str]
"""(org / portal digest, object): what a describe is cached by."""


class SharedSchemas(Protocol):
    """Describes kept beyond the process, so that the next process need not ask the CRM.

    Values are what a connector's ``load`` returns and must survive a JSON round trip
    unchanged (dicts, lists, strings, numbers: no sets, tuples or datetimes).
    """

    def load(self, key: Key) -> tuple[datetime, Any] | None:
        """The describe saved for ``key`` and when it was fetched (aware UTC), or None."""

    def save(self, key: Key, fetched_at: datetime, value: Any) -> None:
        """Keep ``value`` as ``key``'s describe, fetched at ``fetched_at`` (aware UTC)."""

    def forget(self, key: Key) -> None:
        """Drop ``key``'s describe, so that no process uses it again."""


def utc_now() -> datetime:
    """The wall-clock time, aware UTC: the shared layer's entries age by it across processes."""
    return datetime.now(UTC)


class SchemaCache:
    """Describes by ``(org key, object)``, each reused for ``ttl`` seconds (thread-safe).

    Args:
        clock: Monotonic seconds, for the entries in memory (tests pass a fake one).
        now: Wall-clock time, for the shared layer's entries (tests pass a fake one).
    """

    def __init__(self, clock: Clock = time.monotonic, now: WallClock = utc_now) -> None:
        self.clock = clock
        self.now = now
        self.shared: SharedSchemas | None = None
        self._entries: dict[Key, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._warned = False

    def share(self, shared: SharedSchemas | None) -> None:
        """Look in ``shared`` behind the memory (None: memory only); warn anew if it fails."""
        self.shared = shared
        self._warned = False

    def get(self, key: Key, ttl: float, load: Callable[[], Any]) -> Any:
        """The describe of ``key`` if younger than ``ttl``, from memory or the shared layer;
        else ``load()`` (the CRM), kept in both."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry[0] < ttl:
            return entry[1]
        found = self._shared_entry(key, ttl)
        if found is not None:
            age, value = found
            with self._lock:
                self._entries[key] = (now - age, value)  # expires when the shared one does
            return value
        fetched_at = self.now()
        value = load()
        with self._lock:
            self._entries[key] = (now, value)
        if ttl > 0:
            self._use_shared("save", lambda shared: shared.save(key, fetched_at, value))
        return value

    def forget(self, key: Key) -> None:
        """Drop ``key`` here and in the shared layer, so that the next :meth:`get` asks the CRM."""
        with self._lock:
            self._entries.pop(key, None)
        self._use_shared("forget", lambda shared: shared.forget(key))

    def clear(self) -> None:
        """Drop everything in memory (tests: a new process); the shared layer is left as it is."""
        with self._lock:
            self._entries.clear()

    def _shared_entry(self, key: Key, ttl: float) -> tuple[float, Any] | None:
        """``key``'s age in seconds and describe from the shared layer, if within ``ttl``.

        An entry stamped up to ``ttl`` in the future (another machine's clock runs ahead) is
        taken as fresh; one further ahead is not trusted, and the CRM is asked again.
        """
        if ttl <= 0:
            return None
        entry = self._use_shared("load", lambda shared: shared.load(key))
        if entry is None:
            return None
        fetched_at, value = entry
        age = (self.now() - fetched_at).total_seconds()
        if not -ttl < age < ttl:
            return None
        return max(age, 0.0), value

    def _use_shared(self, action: str, call: Callable[[SharedSchemas], Any]) -> Any:
        """``call(shared)``, or None when there is no shared layer or it fails (warned once)."""
        shared = self.shared
        if shared is None:
            return None
        try:
            return call(shared)
        except Exception as exc:  # whatever the store raises, the sync goes on without it
            if not self._warned:
                self._warned = True
                log.warning(
                    "schema_cache_shared_failed",
                    action=action,
                    error=exc.__class__.__name__,
                    fallback="describes are asked of the CRM; the store is tried again each time",
                )
            return None


SCHEMAS = SchemaCache()
"""The process's describes, shared by every connector (the worker sets its shared layer)."""
