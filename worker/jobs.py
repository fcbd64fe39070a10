"""Runs as durable jobs: created pending, claimed once, finished with an outcome.

At-least-once delivery means an actor may receive the same run twice, or two workers may
receive it at once; :func:`claim` is a single conditional UPDATE so exactly one of them gets
it, and a finished run is never executed again. A run whose worker died (kill -9) stops
heartbeating and becomes claimable again after ``STALE_AFTER``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

# The outcome vocabulary is the store's (plans.runs); re-exported for the stages' convenience.
from plans.runs import FAILED as FAILED
from plans.runs import FINISHED as FINISHED
from plans.runs import INCOMPLETE as INCOMPLETE
from plans.runs import INTERRUPTED as INTERRUPTED
from plans.runs import PENDING as PENDING
from plans.runs import RUNNING as RUNNING
from plans.runs import SKIPPED as SKIPPED
from plans.runs import SUCCEEDED as SUCCEEDED
from plans.store import RunRow

INVOCATION: ContextVar[str | None] = ContextVar("invocation", default=None)
"""What started the runs being created (one ``partnerplan run``, one scheduler slot): stored
in each run's details so that ``partnerplan runs`` lists one line per invocation."""
STALE_AFTER = timedelta(seconds=int(os.environ.get("PARTNERPLAN_STALE_AFTER_SECONDS", "120")))
"""A running job silent for this long is presumed dead (heartbeats come every page)."""


def now() -> datetime:
    """The current time, aware UTC (one place to freeze in tests)."""
    return datetime.now(UTC)


def invocation() -> dict[str, str]:
    """``{"invocation": key}`` inside an invocation (:data:`INVOCATION`), else ``{}``."""
    key = INVOCATION.get()
    return {"invocation": key} if key else {}


def create(
    session: Session,
    stage: str,
    *,
    trigger: str,
    source: str | None = None,
    stream: str | None = None,
    args: dict[str, Any] | None = None,
    parent_id: int | None = None,
) -> RunRow:
    """Add a pending run to ``session`` (committed with the caller's unit of work)."""
    run = RunRow(
        stage=stage,
        trigger=trigger,
        source=source,
        stream=stream,
        parent_id=parent_id,
        created_at=now(),
        outcome=PENDING,
        details={"args": args or {}, **invocation()},
    )
    session.add(run)
    session.flush()
    return run


def claim(engine: Engine, run_id: int) -> RunRow | None:
    """Mark the run running and return it, or None if it is finished or held by a live worker."""
    stamp = now()
    with Session(engine) as session:
        result = session.execute(
            update(RunRow)
            .where(
                and_(
                    col(col(RunRow.id)) == run_id,
                    or_(
                        col(col(RunRow.outcome)) == PENDING,
                        and_(
                            col(col(RunRow.outcome)) == RUNNING,
                            col(col(RunRow.heartbeat_at)) < stamp - STALE_AFTER,
                        ),
                    ),
                )
            )
            .values(
                outcome=RUNNING,
                started_at=stamp,
                heartbeat_at=stamp,
                attempts=col(col(RunRow.attempts)) + 1,
                # each attempt counts from zero: a retried pull re-reads its pages
                records_pulled=0,
                records_mapped=0,
                records_quarantined=0,
                records_deleted=0,
                api_calls=0,
            )
        )
        session.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return session.get(RunRow, run_id)


def heartbeat(session: Session, run_id: int, **counts: int) -> None:
    """Record liveness and add ``counts`` (records_pulled=..., ...) in the caller's transaction."""
    values: dict[str, Any] = {"heartbeat_at": now()}
    for name, value in counts.items():
        values[name] = col(getattr(RunRow, name)) + value
    session.execute(update(RunRow).where(col(col(RunRow.id)) == run_id).values(**values))


def finish(
    session: Session,
    run_id: int,
    outcome: str,
    *,
    error: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Close the run with its outcome, in the caller's transaction."""
    run = session.get(RunRow, run_id)
    if run is None:  # pragma: no cover - runs are never deleted
        return
    run.outcome = outcome
    run.finished_at = now()
    run.error = error
    if details:
        run.details = {**run.details, **details}
    session.add(run)


def args_of(run: RunRow) -> dict[str, Any]:
    """The arguments a run was created with."""
    args: dict[str, Any] = run.details.get("args", {})
    return args


def stale(session: Session, *, pending_for: timedelta) -> Sequence[RunRow]:
    """Runs whose message was probably lost (pending too long) or whose worker died."""
    stamp = now()
    query = select(RunRow).where(
        or_(
            and_(
                col(col(RunRow.outcome)) == PENDING,
                col(col(RunRow.created_at)) < stamp - pending_for,
            ),
            and_(
                col(col(RunRow.outcome)) == RUNNING,
                col(col(RunRow.heartbeat_at)) < stamp - STALE_AFTER,
            ),
        )
    )
    return session.scalars(query).all()
