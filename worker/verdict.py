"""How a finished sync is judged when some of its records were quarantined.

A quarantined record is a record the store does not have: a stream that quarantined a few
"succeeded with warnings" (the summary and ``partnerplan runs`` say so, and the run still
exits 0); one that quarantined more than ``max_quarantined_share`` of what it pulled
(settings.yaml, default 10 %) failed: its numbers are not trusted, and the run exits 1. A run
that quarantined 31 % of its records once reported plain "succeeded".
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from plans.store import RunRow
from worker import jobs

WARNINGS = "succeeded with warnings"
"""How a succeeded run that quarantined records is shown (the store keeps ``succeeded``)."""


def judge(
    engine: Engine, run_id: int, outcome: str, error: str | None, max_share: float
) -> tuple[str, str | None]:
    """The sync run's outcome and error once its quarantine share is weighed."""
    if outcome != jobs.SUCCEEDED:
        return outcome, error
    with Session(engine) as session:
        run = session.get(RunRow, run_id)
        pulled = run.records_pulled if run is not None else 0
        quarantined = run.records_quarantined if run is not None else 0
    if pulled and quarantined / pulled > max_share:
        return jobs.FAILED, (
            f"{quarantined:,} of {pulled:,} records quarantined ({quarantined / pulled:.0%}), "
            f"more than max_quarantined_share ({max_share:.0%}); see `partnerplan quarantine "
            "list`, fix the mapping, then `partnerplan quarantine retry`"
        )
    return outcome, error


def shown(run: RunRow) -> str:
    """The outcome as people read it: ``succeeded with warnings`` when records were quarantined."""
    if run.outcome == jobs.SUCCEEDED and run.records_quarantined:
        return WARNINGS
    return run.outcome
