"""What the HubSpot request handlers share: the portal's records and its faults.

:class:`~sandbox.hubspot.HubSpotApp` composes its routes from :mod:`hs_batch` and
:mod:`hs_meta`, so those modules cannot import it back; they are written against
:class:`HubSpotPortal`, which the app extends with routing, auth, rate-limit headers and search.
"""

from __future__ import annotations

from sandbox.faults import Injector
from sandbox.hs_store import HubSpotStore

DEFAULT_DAILY = 1_000_000


class HubSpotPortal:
    """One emulated portal's state that outlives a request.

    Attributes:
        store: the portal's records, properties and associations.
        faults: the fault spec and the API usage counted against the daily limit.
        url: where the portal is served (for the ``link`` of list pages).
    """

    def __init__(self, store: HubSpotStore) -> None:
        self.store = store
        self.url = ""
        self.faults = Injector(DEFAULT_DAILY, "hs_daily_limit")
