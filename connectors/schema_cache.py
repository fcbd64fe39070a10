"""Describes (an object's fields or properties) kept per process for a while, not asked every run.

Every stream of every run checks its fields against the CRM before pulling (a describe per
object: Salesforce ``sobjects/X/describe``, HubSpot ``/crm/v3/properties/X``), and a long-lived
worker runs many. Fields change rarely, so a describe is reused for ``ttl`` seconds
(``schema_cache_seconds`` in the source's settings): a field added in the CRM is seen within
that time. A field that a stream needs and the cached describe lacks is never trusted to the
cache: the connector drops the entry (:meth:`SchemaCache.forget`) and asks again before it
fails the stream, so an admin who just created the field is not told it is missing.

The cache is keyed by the org / portal (a digest, never a token) and the object, and shared by
every connector of the process: the threads of a concurrent run describe an object once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Clock = Callable[[], float]


class SchemaCache:
    """Describes by ``(org key, object)``, each reused for ``ttl`` seconds (thread-safe).

    Args:
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], ttl: float, load: Callable[[], Any]) -> Any:
        """The cached describe of ``key`` if younger than ``ttl``; else ``load()``, cached."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry[0] < ttl:
            return entry[1]
        value = load()
        with self._lock:
            self._entries[key] = (now, value)
        return value

    def forget(self, key: tuple[str, str]) -> None:
        """Drop ``key``, so that the next :meth:`get` asks the CRM again."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Drop everything (tests; a process that knows the CRM's schema changed)."""
        with self._lock:
            self._entries.clear()


SCHEMAS = SchemaCache()
"""The process's describes, shared by every connector."""
