"""HubSpot's fastest first load: the object listing or the search, whichever the limits let
finish sooner.

A pull with no watermark (a first load, ``run --full``) reads every record of an object. Two
endpoints can do it:

* **search** (``POST /crm/v3/objects/{type}/search``): 200 records a call, but at most
  ``search_per_second`` calls a second, and each counts in the 10-second window too;
* **listing** (``GET /crm/v3/objects/{type}?limit=100``): 100 records a call, under the
  10-second window only (190 per 10 s: 19 calls a second).

With associations, each page also costs one v4 batch read per associated kind (general window),
whichever endpoint read it. :func:`choose` compares the seconds per record each endpoint's
limits allow (the floor; per record rather than per object, so no ``total`` has to be asked
for first — the two differ by one page's rounding at most) and takes listing only when it is
strictly faster. At HubSpot's published limits as paced (:mod:`connectors.pacing`: 16.9 calls a
second in the window, 4 searches a second) and no associations, listing reads about 1,690
records a second and search 800: listing wins; with one associated kind, listing needs two
calls per 100 records (845 a second) and search a search and an association read per 200
(800 a second, bound by search), so listing still wins, narrowly; with two kinds search wins.

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

from collections.abc import Callable, Iterator
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


def floor(spec: StreamSpec, window: Rate, search: Rate, search_limit: int) -> Floor:
    """The least seconds per record listing and search take under the paced rates.

    Args:
        spec: The stream (its associations add one general call per page and kind).
        window: The 10-second window's pace (every call counts in it).
        search: The search endpoints' pace.
        search_limit: Records per search call.
    """
    extra = len(spec.associations)
    listing = (1 + extra) / window.per_second / LIST_LIMIT
    searching = max(1 / search.per_second, (1 + extra) / window.per_second) / search_limit
    return Floor(listing, searching)


def choose(
    spec: StreamSpec, configured: str, window: Rate, search: Rate, search_limit: int
) -> Method:
    """``list`` or ``search`` for a first load of ``spec`` (see the module docstring)."""
    if spec.filters or configured == "search":
        return "search"
    if configured == "list":
        return "list"
    speed = floor(spec, window, search, search_limit)
    return "list" if speed.list_seconds < speed.search_seconds else "search"


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
