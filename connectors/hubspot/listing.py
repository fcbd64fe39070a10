"""HubSpot's fastest first load: the object listing or the search, whichever the limits let
finish sooner.

A pull with no watermark (a first load, ``run --full``) reads every record of an object. Two
endpoints can do it:

* **search** (``POST /crm/v3/objects/{type}/search``): 200 records a call, but at most
  ``search_per_second`` calls a second, and each counts in the 10-second window too;
* **listing** (``GET /crm/v3/objects/{type}?limit=100``): 100 records a call, under the
  10-second window only (190 per 10 s: 19 calls a second).

With associations, each page also costs one v4 batch read per associated kind (general window),
whichever endpoint read it. :func:`choose` compares the seconds per record each endpoint
allows (per record rather than per object, so no ``total`` has to be asked for first — the
two differ by one page's rounding at most) and takes listing only when it is strictly faster.
A stream's pages come one after another, so its time is the larger of two bounds: its share
of the limits and the calls' own latency, as this process has seen it on that endpoint (on
any endpoint of the portal when not on that one; none seen: the limits alone). The window and
the search limit are two pools; the connector weighs each stream as sharing them with half
its source's ``concurrent_streams`` (lanes are full at a run's start and empty out towards its
end), or with the first loads of the same token already on that pool in this process
(:class:`Loads`), when they are more: a pool that several loads already chose is slower for
the next one, so a run does not pile its loads onto search while the window idles.
At the realistic profile's latency (~0.155 s a list call, ~0.19 s a search) that lists
the streams without associations and searches those with (listing would take an extra call
per 100 records, not per 200, on the stream's chain), so a run uses both pools at once.

Measured on the sandbox's realistic profile: 10,000 deals, one stream alone, list 15.9 s (100
calls, latency-bound), search 12.5 s (50 calls, 4 a second); four such streams at once, list
23.7 s, search 50.8 s; no latency, one stream, list 5.9 s, search 12.5 s. ``partnerplan run
--full`` at scale 200 (HubSpot side, 0 x 429 each): every stream listed 57.5 s (582 calls, the
deals chain of list + association reads bound it), every stream searched 63.1 s (211 searches
at 4 a second bound it), the mix chosen here 41.8 s (429 calls, 118 searches).

By the limits alone (:mod:`connectors.pacing`: 16.9 calls a second in the window, 4 searches
a second), with no associations, listing reads about 1,690 records a second and search 800;
with one associated kind listing needs two calls per 100 records (845 a second) and search a
search and an association read per 200 (800 a second); with two kinds search wins.

Listing is used only where it reads exactly what search would:

* **no filters** on the stream: listing cannot filter, and HubSpot's filter semantics (string
  comparison of numbers, case rules) are not reproduced client-side, so a filtered stream keeps
  searching;
* **first loads only**: listing cannot ask "modified since", so incremental pulls search.

The watermark and horizon of a listed load: listing pages come in id order, not modified
order, so no page but the last carries a watermark (an interrupted load starts over, as a Bulk
2.0 load does). The last carries ``(start, "")``, where ``start`` is when the listing began:
every record modified before ``start`` was read at its state of at least ``start`` (each is read
after ``start``, and listing, unlike search, sees writes at once), so the data is complete as of
``start``; a record modified during the listing, whether read before or after its change, has a
modified time at or after ``start`` and is read again by the next run's search from the
watermark (minus the lookback). The connector's horizon, ``start - search_lag_seconds``, is
earlier than that, so it holds for a listed load too.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from connectors.pacing import Rate
from connectors.spec import StreamSpec

LIST_LIMIT = 100
"""Records per listing call: HubSpot's maximum."""
Method = Literal["list", "search"]


@dataclass(frozen=True)
class Floor:
    """Seconds per record each endpoint's limits allow, for one stream."""

    list_seconds: float
    search_seconds: float

    def per_records(self, records: int) -> tuple[float, float]:
        """(listing, search) seconds for ``records`` records."""
        return self.list_seconds * records, self.search_seconds * records


@dataclass(frozen=True)
class Conditions:
    """What else bounds a stream's pace besides the rates.

    Attributes:
        streams: Streams sharing the token's limits at once (the source's concurrency).
        list_latency: Seconds a listing call takes (0: not known).
        search_latency: Seconds a search call takes (0: not known).
        listing: Other first loads of the token listing now (:class:`Loads`).
        searching: Other first loads of the token searching now.
    """

    streams: int = 1
    list_latency: float = 0.0
    search_latency: float = 0.0
    listing: int = 0
    searching: int = 0


def floor(
    spec: StreamSpec,
    window: Rate,
    search: Rate,
    search_limit: int,
    conditions: Conditions = Conditions(),
) -> Floor:
    """The least seconds per record listing and search take for one stream.

    Args:
        spec: The stream (its associations add one general call per page and kind).
        window: The 10-second window's pace (every call counts in it).
        search: The search endpoints' pace.
        search_limit: Records per search call.
        conditions: The streams sharing the limits and the calls' latency.
    """
    calls = 1 + len(spec.associations)
    share = max(1, conditions.streams)
    window_share = max(share, conditions.listing + conditions.searching + 1)
    search_share = max(share, conditions.searching + 1)
    window_call = window_share / window.per_second
    listing = max(calls * window_call, calls * conditions.list_latency) / LIST_LIMIT
    searching = (
        max(
            search_share / search.per_second,
            calls * window_call,
            calls * conditions.search_latency,
        )
        / search_limit
    )
    return Floor(listing, searching)


def choose(
    spec: StreamSpec,
    configured: str,
    window: Rate,
    search: Rate,
    search_limit: int,
    conditions: Conditions = Conditions(),
) -> Method:
    """``list`` or ``search`` for a first load of ``spec`` (see the module docstring)."""
    if spec.filters or configured == "search":
        return "search"
    if configured == "list":
        return "list"
    speed = floor(spec, window, search, search_limit, conditions)
    return "list" if speed.list_seconds < speed.search_seconds else "search"


class Loads:
    """The first loads running now in this process, by token and method (thread-safe): what
    :func:`floor` counts as already sharing each pool."""

    def __init__(self) -> None:
        self._running: Counter[tuple[str, Method]] = Counter()
        self._lock = threading.Lock()

    def count(self, key: str, method: Method) -> int:
        """First loads of token ``key`` on ``method`` now."""
        with self._lock:
            return self._running[(key, method)]

    @contextmanager
    def running(self, key: str, method: Method) -> Iterator[None]:
        """Count one first load of ``key`` on ``method`` while the block runs."""
        with self._lock:
            self._running[(key, method)] += 1
        try:
            yield
        finally:
            with self._lock:
                self._running[(key, method)] -= 1


class Latency:
    """A moving average of call durations by key (thread-safe; 0 for a key never seen)."""

    def __init__(self, weight: float = 0.2) -> None:
        self.weight = weight
        self._seconds: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def observe(self, key: tuple[str, str], seconds: float) -> None:
        """Fold one call's duration into the average of ``key``."""
        with self._lock:
            before = self._seconds.get(key)
            self._seconds[key] = (
                seconds if before is None else before + self.weight * (seconds - before)
            )

    def get(self, key: tuple[str, str]) -> float:
        """The average duration of ``key``'s calls; if none was seen, the slowest average of
        the same first part (another endpoint of the portal); 0 if none at all."""
        with self._lock:
            if key in self._seconds:
                return self._seconds[key]
            related = [v for (head, _), v in self._seconds.items() if head == key[0]]
            return max(related, default=0.0)


ListFn = Callable[[str | None], dict[str, Any]]
"""Asks for one listing page: (HubSpot's ``after`` or None) -> the response."""


def pages(list_page: ListFn, between_pages: Callable[[], None]) -> Iterator[list[dict[str, Any]]]:
    """Every live record, one list per listing call, following ``paging.next.after``."""
    after: str | None = None
    first = True
    while True:
        if not first:
            between_pages()
        first = False
        body = list_page(after)
        yield body.get("results", [])
        following = ((body.get("paging") or {}).get("next") or {}).get("after")
        if following is None:
            return
        after = str(following)
