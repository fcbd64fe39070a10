"""The daily API budget: how much of the CRM's daily allowance a sync may spend.

CRMs report their daily usage in response headers, each in its own way (each connector reads
its own), and not always on every answer (HubSpot's search answers carry none, the very calls a
pull is made of). The connector feeds each reading to :meth:`Budget.observe`, counts each call
that carried none with :meth:`Budget.spent` (so a pull of searches still moves the estimate),
and checks :meth:`Budget.check` between pages: once
``budget_share`` of the allowance is used, the pull stops at that page boundary with
:class:`~partnerplan.errors.BudgetExhausted`, so other integrations sharing the org keep the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from partnerplan.errors import BudgetExhausted


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
