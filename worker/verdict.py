"""How a finished sync is judged when some of its records were quarantined.

A quarantined record is a record the store does not have. A stream sync that quarantined some
"succeeded with warnings" (the summary and ``partnerplan runs`` say so, and the run still
exits 0). When the records waiting in the stream's quarantine exceed ``max_quarantined_share``
of the stream's records (settings.yaml, default 10 %), the sync failed: the stream's numbers
are not trusted, and the run exits 1. A run that quarantined 31 % of its records once reported
plain "succeeded".

The share is of the stream's records (stored plus quarantined), not of one run's pull: an
incremental run that pulls one changed record and cannot map it has quarantined 100 % of its
pull, yet one record in ten thousand is a warning, not a failed sync. A first full sync that
cannot map a third of its records fails either way.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from plans.store import ActivityRow, QuarantineRow, RunRow
from worker import jobs

WARNINGS = "succeeded with warnings"
"""How a succeeded run that quarantined records is shown (the store keeps ``succeeded``)."""


def judge(
    engine: Engine, run_id: int, outcome: str, error: str | None, max_share: float
) -> tuple[str, str | None]:
    """The sync run's outcome and error once its stream's quarantine share is weighed."""
    if outcome != jobs.SUCCEEDED:
        return outcome, error
    with Session(engine) as session:
        run = session.get(RunRow, run_id)
        if run is None or not run.records_quarantined:
            return outcome, error
        waiting = session.scalar(
            select(func.count())
            .select_from(QuarantineRow)
            .where(
                col(QuarantineRow.source) == run.source,
                col(QuarantineRow.stream) == run.stream,
                col(QuarantineRow.resolved_at).is_(None),
            )
        )
        stored = session.scalar(
            select(func.count())
            .select_from(ActivityRow)
            .where(col(ActivityRow.source) == run.source, col(ActivityRow.stream) == run.stream)
        )
    quarantined, total = int(waiting or 0), int(waiting or 0) + int(stored or 0)
    if total and quarantined / total > max_share:
        return jobs.FAILED, (
            f"{quarantined:,} of the stream's {total:,} records are quarantined "
            f"({quarantined / total:.0%}), more than max_quarantined_share ({max_share:.0%}); "
            "see `partnerplan quarantine list`, fix the mapping, then "
            "`partnerplan quarantine retry`"
        )
    return outcome, error


def shown(run: RunRow) -> str:
    """The outcome as people read it: ``succeeded with warnings`` when records were quarantined."""
    if run.outcome == jobs.SUCCEEDED and run.records_quarantined:
        return WARNINGS
    return run.outcome
