"""The daily API budget: how much of the CRM's daily allowance a sync may spend.

Salesforce reports usage on every REST response (``Sforce-Limit-Info: api-usage=N/M``), HubSpot
on most (``X-HubSpot-RateLimit-Daily`` and ``-Daily-Remaining``), but not on search answers,
the very calls a pull is made of. The connector feeds each reading to :meth:`Budget.observe`,
counts each call that carried none with :meth:`Budget.spent` (so a pull of searches still
moves the estimate), and checks :meth:`Budget.check` between pages: once
``budget_share`` of the allowance is used, the pull stops at that page boundary with
:class:`~partnerplan.errors.BudgetExhausted`, so other integrations sharing the org keep the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from partnerplan.errors import BudgetExhausted

_SFORCE_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass
class Budget:
    """The share of the daily API allowance this connector may use, and the last reading."""

    source: str
    share: float
    used: int | None = None
    limit: int | None = None

    def observe(self, used: int, limit: int) -> None:
        """Record the CRM's latest report of calls used today out of ``limit``."""
        self.used, self.limit = used, limit

    def observe_salesforce(self, headers: Mapping[str, str]) -> None:
        """Read ``Sforce-Limit-Info: api-usage=N/M`` if the response carries it."""
        value = headers.get("Sforce-Limit-Info")
        match = _SFORCE_USAGE.search(value) if value else None
        if match:
            self.observe(int(match.group(1)), int(match.group(2)))

    def observe_hubspot(self, headers: Mapping[str, str]) -> None:
        """Read ``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining``; else count one call spent."""
        daily = headers.get("X-HubSpot-RateLimit-Daily")
        remaining = headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        if daily and remaining and daily.isdigit() and remaining.isdigit():
            self.observe(int(daily) - int(remaining), int(daily))
        else:
            self.spent()

    def spent(self, calls: int = 1) -> None:
        """Add calls made since the last reading to the estimate (once a reading exists)."""
        if self.used is not None:
            self.used += calls

    @property
    def exhausted(self) -> bool:
        """True once the configured share of the daily allowance is used."""
        if self.used is None or not self.limit:
            return False
        return self.used >= self.share * self.limit

    def check(self) -> None:
        """Raise :class:`BudgetExhausted` if the share is spent (call between pages only)."""
        if self.exhausted:
            raise BudgetExhausted(
                f"source {self.source!r}: {self.used:,} of {self.limit:,} daily API calls are "
                f"used, which reaches budget_share {self.share:g}; the sync stopped at a page "
                f"boundary and the next run resumes from the stored watermark. Raise "
                f"budget_share in settings.yaml or wait for the daily allowance to reset"
            )
