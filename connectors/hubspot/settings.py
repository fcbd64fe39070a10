"""A HubSpot source in settings.yaml: the portal's API host and its private-app token."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from connectors.settings import SourceSettings
from partnerplan.config import Secret, StrictModel


class HubSpotRateLimits(StrictModel):
    """HubSpot's published limits per private-app token (hubspot-api.md §2.6), and the share
    of them to aim at.

    ``window_calls`` per rolling ``window_seconds``: 190 per 10 s on Professional and
    Enterprise, 100 on Free and Starter, 250 with the capacity pack: set your tier's.
    ``search_per_second``: the search endpoints' own limit (5 per second per account); search
    calls count in the 10-second window too. ``margin`` / ``search_margin``: the share of
    each limit the pacer aims at, so that clock and travel time never push a call over (see
    :mod:`connectors.pacing` for the worst case): 90 % of the 10-second window leaves room for
    17 late calls; search's 5 a second leaves little, so 80 % (4 a second, one every 250 ms)
    tolerates a call a quarter of a second late.
    """

    window_calls: int = Field(default=190, ge=1)
    window_seconds: float = Field(default=10, gt=0)
    search_per_second: int = Field(default=5, ge=1)
    margin: float = Field(default=0.9, gt=0, le=1)
    search_margin: float = Field(default=0.8, gt=0, le=1)


class HubSpotSource(SourceSettings):
    """A HubSpot portal to pull from and push to.

    ``search_lag_seconds``: HubSpot's search index trails writes by seconds to minutes. A pull
    reads everything search shows up to now, but its watermark stops this far before now, so
    the next run reads that stretch again and gets what search had not indexed yet.
    ``portal_id`` and ``app_url``: the portal's id ("Hub ID") and app host, for links to
    records (``partnerplan explain``); ``GET /account-info/v3/details`` answers both
    (``portalId``, ``uiDomain``).
    ``rate_limits``: the limits the connector paces itself to (:class:`HubSpotRateLimits`).
    ``first_load``: how a pull with no watermark reads an object: ``auto`` picks listing or
    search by which the limits let finish sooner, ``list`` / ``search`` force one
    (:mod:`connectors.hubspot.listing`). Incremental pulls always search.
    ``archived_listing_every_minutes``: deletes show only in the archived listing, which is in
    id order with no time filter (reference §2.7), so it cannot stop at the last deletion seen
    and costs one call per 100 archived records, ever. An incremental run lists it only when
    this long has passed since the last listing (0: every run); a deletion then counts until
    the next listing at most this long after. ``run --full`` always lists it.
    """

    type: Literal["hubspot"]
    base_url: str = "https://api.hubapi.com"
    token: Secret
    search_lag_seconds: int = Field(default=120, ge=0)
    portal_id: int | None = None
    app_url: str = "https://app.hubspot.com"
    rate_limits: HubSpotRateLimits = HubSpotRateLimits()
    first_load: Literal["auto", "list", "search"] = "auto"
    archived_listing_every_minutes: int = Field(default=360, ge=0)
