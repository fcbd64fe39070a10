"""A HubSpot source in settings.yaml: the portal's API host and its private-app token."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from connectors.settings import SourceSettings
from partnerplan.config import Secret


class HubSpotSource(SourceSettings):
    """A HubSpot portal to pull from and push to.

    ``search_lag_seconds``: HubSpot's search index trails writes by seconds to minutes. A pull
    reads everything search shows up to now, but its watermark stops this far before now, so
    the next run reads that stretch again and gets what search had not indexed yet.
    ``portal_id`` and ``app_url``: the portal's id ("Hub ID") and app host, for links to
    records (``partnerplan explain``); ``GET /account-info/v3/details`` answers both
    (``portalId``, ``uiDomain``).
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
    archived_listing_every_minutes: int = Field(default=360, ge=0)
