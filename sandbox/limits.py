"""The CRMs' own limits, as the realistic profile enforces them: rolling windows and long requests.

A real sync is bound by the network and by the CRM's rate limits, not by CPU; these classes let
the sandbox say no where the real CRM would, so that client-side pacing can be tested and
benchmarked against something that pushes back.

* :class:`HubSpotWindows` counts calls per access token in HubSpot's rolling 10-second window
  and in the search endpoints' per-second window. A refused call is not counted (it was not
  served), so a client that backs off gets its capacity back as the window rolls.
* :class:`LongRequests` tracks Salesforce requests in flight, for the org's limit on concurrent
  long-running requests (25 requests running 20 s or more; a new one then gets 403).

Assumptions (the reference is silent, see ``reference/hubspot-api.md`` §2.6):

* both HubSpot windows are true rolling windows measured to the millisecond, not fixed
  one-second buckets: the strictest reading, so a client that passes here passes there;
* a search call counts in the 10-second window as well as in the per-second search window;
* the search window is per token, as the 10-second window is (HubSpot's changelog says "per
  authentication token"; the search guide says "per account": one token per account here).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass

PROFILES = ("realistic", "none")

REALISTIC: dict[str, float | int] = {
    # One round trip to a CRM region from a nearby cloud host; the per-record part is what
    # rendering and transferring a record costs, so a 2,000-record Salesforce page takes about
    # 0.7 s more than a 10-record one (real orgs: ~0.3-2 s a page), a 100-record HubSpot list
    # page ~35 ms more.
    "latency_ms": 120,
    "latency_per_record_ms": 0.35,
    # HubSpot private app, Professional/Enterprise: 190 per rolling 10 s, search 5 per second,
    # 650,000 a day (Professional; Enterprise 1,000,000). Changelog "Increasing our API limits".
    "hs_window_limit": 190,
    "hs_window_seconds": 10.0,
    "hs_search_per_second": 5,
    "hs_daily_limit": 650_000,
    # Salesforce Enterprise edition: 100,000 requests a day is the order of a mid-size org's
    # DailyApiRequests.Max (it grows with licences); 25 concurrent requests running >= 20 s.
    "sf_daily_limit": 100_000,
    "sf_long_request_seconds": 20.0,
    "sf_concurrent_long_limit": 25,
}

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"


def token_key(token: str) -> str:
    """A short digest of an access token: windows are kept per token, never by the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class _Window:
    """Arrival times (monotonic seconds) of the calls served in the last ``seconds``."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def count(self, now: float, seconds: float) -> int:
        """Calls served in ``(now - seconds, now]``, dropping older ones."""
        horizon = now - seconds
        times = self.times
        while times and times[0] <= horizon:
            times.popleft()
        return len(times)


@dataclass(frozen=True)
class WindowLimits:
    """The HubSpot limits in force (``None`` = counted for the headers but not enforced)."""

    window_limit: int | None
    window_seconds: float
    search_per_second: int | None


class HubSpotWindows:
    """HubSpot's rolling windows per access token, checked and counted atomically."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._general: dict[str, _Window] = {}
        self._search: dict[str, _Window] = {}

    def clear(self) -> None:
        """Forget every call (a new fault spec starts with empty windows)."""
        with self._lock:
            self._general.clear()
            self._search.clear()

    def admit(
        self, token: str, search: bool, limits: WindowLimits, now: float | None = None
    ) -> tuple[str | None, int]:
        """Count one call unless a window is full.

        Returns:
            (the ``policyName`` that refuses the call or ``None``, calls now in the 10 s window).
            A refused call is not counted in either window.
        """
        now = time.monotonic() if now is None else now
        key = token_key(token)
        with self._lock:
            general = self._general.setdefault(key, _Window())
            in_window = general.count(now, limits.window_seconds)
            searches = self._search.setdefault(key, _Window()) if search else None
            if searches is not None:
                recent = searches.count(now, 1.0)
                if limits.search_per_second is not None and recent >= limits.search_per_second:
                    return SECONDLY, in_window
            if limits.window_limit is not None and in_window >= limits.window_limit:
                return TEN_SECONDLY, in_window
            general.times.append(now)
            if searches is not None:
                searches.times.append(now)
            return None, in_window + 1


class LongRequests:
    """Salesforce requests in flight, for the concurrent long-running request limit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[int, float] = {}
        self._ids = itertools.count(1)
        self.peak = 0  # the most requests ever in flight at once: proof that answers overlap

    def enter(self, threshold: float, limit: int | None, now: float | None = None) -> int | None:
        """Register a new request; ``None`` when ``limit`` requests already run >= ``threshold``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if limit is not None:
                running_long = sum(1 for t in self._started.values() if now - t >= threshold)
                if running_long >= limit:
                    return None
            ticket = next(self._ids)
            self._started[ticket] = now
            self.peak = max(self.peak, len(self._started))
            return ticket

    def leave(self, ticket: int | None) -> None:
        """The request of ``ticket`` has been answered."""
        if ticket is not None:
            with self._lock:
                self._started.pop(ticket, None)

    def running_long(self, threshold: float, now: float | None = None) -> int:
        """How many requests in flight have been running ``threshold`` seconds or more."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return sum(1 for t in self._started.values() if now - t >= threshold)
