"""The push stage's body. Write-back itself (issue 8) is not built yet: this stage reports
how many progress rows changed since they were last pushed and writes nothing to any CRM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import Session

from partnerplan.logs import get_logger
from partnerplan.plans.store import ProgressRow
from partnerplan.worker import jobs

if TYPE_CHECKING:
    from partnerplan.worker.pipeline import Context

log = get_logger(__name__)


@dataclass
class PushSummary:
    """What a push did, for the run record."""

    outcome: str
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def push_all(ctx: Context, session: Session) -> PushSummary:
    """Report the progress rows a write-back would send; nothing is written (not built yet)."""
    rows = session.scalar(select(func.count()).select_from(ProgressRow)) or 0
    log.info("write-back is not configured in this version; nothing pushed", progress_rows=rows)
    return PushSummary(
        outcome=jobs.SKIPPED,
        error="write-back not built yet",
        details={"progress_rows": rows},
    )
