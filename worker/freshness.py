"""How fresh each stream's data is: its last successful sync, and whether that is too old.

A channel manager trusts a number only if it is recent; ``partnerplan status`` shows this
beside the progress so that a stalled stream (expired credentials, a spent API budget) is seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from plans.store import RunRow, WatermarkRow
from worker import jobs


@dataclass(frozen=True)
class StreamFreshness:
    """One stream's last successful sync and watermark."""

    source: str
    stream: str
    last_success_at: datetime | None
    watermark: datetime | None
    last_outcome: str | None
    stale: bool


def stream_freshness(
    session: Session, streams: list[tuple[str, str]], *, stale_after: timedelta
) -> list[StreamFreshness]:
    """Freshness of each (source, stream); never synced counts as stale."""
    succeeded = dict(
        session.execute(
            select(col(RunRow.stream), func.max(RunRow.finished_at))
            .where(col(RunRow.stage) == "sync_stream", col(RunRow.outcome) == jobs.SUCCEEDED)
            .group_by(col(RunRow.stream))
        ).all()
    )
    latest_ids = (
        select(func.max(RunRow.id))
        .where(col(RunRow.stage) == "sync_stream", col(RunRow.outcome).in_(jobs.FINISHED))
        .group_by(col(RunRow.stream))
    )
    outcomes = dict(
        session.execute(
            select(col(RunRow.stream), col(RunRow.outcome)).where(col(RunRow.id).in_(latest_ids))
        ).all()
    )
    marks = dict(
        session.execute(select(col(WatermarkRow.stream), col(WatermarkRow.modified_at))).all()
    )
    now = jobs.now()
    out = []
    for source, stream in streams:
        last = succeeded.get(stream)
        out.append(
            StreamFreshness(
                source=source,
                stream=stream,
                last_success_at=last,
                watermark=marks.get(stream),
                last_outcome=outcomes.get(stream),
                stale=last is None or now - last > stale_after,
            )
        )
    return out
