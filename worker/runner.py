"""In-process mode: ``partnerplan run`` performs the whole flow once, in this process.

Streams are synced concurrently, each source in a lane as wide as its connector allows,
partner streams first (:mod:`worker.streams`); once every sync has ended, ONE compute covers
every partner any stream touched (not one per stream), then one push. A stream that fails does not
stop the others. The run as a whole succeeds only when every stream completed, no target was
held back stale, and every record reached the CRM; otherwise :attr:`RunSummary.problems` says
which and why, and the command exits 1. An interrupted run (Ctrl-C, SIGTERM) marks what it
had started and raises :class:`Interrupted`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from partnerplan.errors import ConfigurationError, Interrupted
from partnerplan.logs import get_logger
from plans.changes import Changes
from plans.db import session_scope
from plans.planstore import sync_plans
from plans.store import RunRow
from worker import jobs, writes
from worker.dispatch import InlineDispatcher
from worker.pipeline import Context
from worker.streams import collecting, sync_streams
from writeback.push import retries_due

log = get_logger(__name__)


@dataclass
class RunSummary:
    """The runs one invocation executed, in order, and what kept it from complete success."""

    runs: list[RunRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Each reason the run is not a complete success, for a person to act on.

        A stream that failed or stopped early (its numbers were held back), targets kept at
        their last good values because a stream they read is partial, records the CRM
        rejected, and any error a run raised.
        """
        out: list[str] = []
        for run in self.runs:
            what = run.stream or run.stage.replace("_", " ")
            if run.outcome in (jobs.FAILED, jobs.INCOMPLETE):
                out.append(f"{what}: {run.outcome}: {run.error or 'no reason recorded'}")
            stale = run.details.get("stale_targets") or 0
            if stale:
                because = "; ".join(run.details.get("stale_because", []))
                out.append(
                    f"{stale} target(s) kept their last good values (stale), because {because}"
                )
        known = "\n".join(out)
        out.extend(e for e in self.errors if e not in known)
        return out

    @property
    def ok(self) -> bool:
        """True when every stream completed, nothing is stale and every write landed."""
        return not self.problems


def execute_all(ctx: Context, dispatcher: InlineDispatcher, errors: list[str]) -> None:
    """Drain ``dispatcher``, executing each run; failures are collected, not raised.

    Stream syncs queued one after another (a ``sync_source`` fans out into them) run together
    in the sources' lanes (:func:`~worker.streams.sync_streams`), as ``partnerplan run``'s do;
    the other stages run one at a time, in the order they were sent.
    """
    run_one = collecting(ctx, errors)
    ctx.stop = threading.Event()
    try:
        while dispatcher.queue:
            stage, run_id = dispatcher.queue.popleft()
            if stage != "sync_stream":
                run_one(stage, run_id)
                continue
            batch = [run_id]
            while dispatcher.queue and dispatcher.queue[0][0] == "sync_stream":
                batch.append(dispatcher.queue.popleft()[1])
            with Session(ctx.engine) as session:
                rows = session.scalars(select(RunRow).where(col(RunRow.id).in_(batch))).all()
            sync_streams(ctx, rows, errors)
    except KeyboardInterrupt:
        raise _interrupted(ctx, [], dispatcher) from None


def _interrupted(
    ctx: Context, ids: list[int], dispatcher: InlineDispatcher | None = None
) -> Interrupted:
    """Mark the invocation's unfinished runs and say so (the CLI prints it, exits 130)."""
    if dispatcher is not None:
        ids = ids + [run_id for _, run_id in dispatcher.sent]
        dispatcher.queue.clear()
    stopped = interrupt(ctx, ids)
    return Interrupted(
        f"interrupted: {stopped} run(s) marked interrupted; the next run resumes from the "
        "stored watermarks"
    )


def interrupt(ctx: Context, ids: list[int]) -> int:
    """Mark the runs ``ids`` that are still running or pending ``interrupted``; returns how many.

    Without this, a Ctrl-C left them ``running`` or ``pending`` for good: the recovery sweep
    would resend them to a worker that was never coming, and ``runs`` showed them in flight.
    """
    with writes.unit(ctx.engine) as session:
        rows = session.scalars(
            select(RunRow).where(
                col(RunRow.id).in_(ids), col(RunRow.outcome).in_([jobs.PENDING, jobs.RUNNING])
            )
        ).all()
        for row in rows:
            assert row.id is not None
            jobs.finish(session, row.id, jobs.INTERRUPTED, error="interrupted by a signal")
    return len(rows)


def run_once(
    ctx: Context,
    dispatcher: InlineDispatcher,
    *,
    streams: list[str] | None = None,
    full: bool = False,
    trigger: str = "cli",
) -> RunSummary:
    """Sync the chosen streams (all by default), compute what they touched, push what changed."""
    chosen = streams or ctx.project.mappings.ordered()
    unknown = sorted(set(chosen) - set(ctx.project.mappings.streams))
    if unknown:
        known = ", ".join(sorted(ctx.project.mappings.streams))
        raise ConfigurationError(f"unknown stream(s) {', '.join(unknown)}; known: {known}")
    summary = RunSummary()
    with session_scope(ctx.engine) as session:
        sync_runs = [
            jobs.create(
                session,
                "sync_stream",
                trigger=trigger,
                source=ctx.project.mappings.streams[name].source,
                stream=name,
                args={"full": full, "chain": False},
            )
            for name in chosen
        ]
    ids = [r.id for r in sync_runs if r.id is not None]
    ctx.stop = threading.Event()  # this invocation's: an earlier one's interrupt is over
    try:
        sync_streams(ctx, sync_runs, summary.errors)
    except KeyboardInterrupt:
        raise _interrupted(ctx, ids) from None

    touched, changes, recovered = what_changed(ctx.engine, ids)
    with session_scope(ctx.engine) as session:
        plans_changed = sync_plans(session, ctx.project.plans, jobs.now())
        follow_up = None
        if touched or plans_changed or recovered:
            everything = plans_changed or recovered
            follow_up = jobs.create(
                session,
                "compute_progress",
                trigger=trigger,
                args={
                    "partner_ids": None if everything else sorted(touched),
                    "changes": None if everything else changes.to_json(),
                    "chain": True,
                    "plans_changed": bool(plans_changed),
                    # the plans were synced just above, after every stream: the compute
                    # need not sync them again (see pipeline.compute_progress)
                    "plans_synced": len(plans_changed),
                },
            )
        elif retries_due(session, jobs.now()):
            # nothing changed, but records the CRM rejected are due to be sent again
            follow_up = jobs.create(session, "push_progress", trigger=trigger)
        sent = None if follow_up is None else (follow_up.stage, follow_up.id)
    del changes, follow_up  # a full sync's notes name every partner: not held through the rest
    if sent is not None:
        dispatcher.send(*sent)  # type: ignore[arg-type]
        execute_all(ctx, dispatcher, summary.errors)

    all_ids = ids + [run_id for _, run_id in dispatcher.sent if run_id not in ids]
    with Session(ctx.engine) as session:
        rows = session.scalars(select(RunRow).where(col(RunRow.id).in_(all_ids))).all()
        summary.runs = sorted(rows, key=lambda r: r.id or 0)
    return summary


def what_changed(engine: Engine, ids: list[int]) -> tuple[set[int], Changes, bool]:
    """What the syncs ``ids`` noted: the partners they touched, their changes merged, and
    whether any recovered a stream.

    Each run's details carry its changes as JSON, one entry per partner and kind: after a full
    sync of every stream that is every partner many times over. The runs are read here and let
    go on return, so only the merged notes outlive the reading.
    """
    with Session(engine) as session:
        finished = list(session.scalars(select(RunRow).where(col(RunRow.id).in_(ids))))
    touched: set[int] = set()
    changes = Changes()
    recovered = False
    for run in finished:
        touched.update(run.details.get("touched_partners", []))
        noted = Changes.from_json(run.details.get("changes"))
        if noted is None:
            changes.all_of(run.details.get("touched_partners", []))
        else:
            changes.add(noted)
        recovered = recovered or bool(run.details.get("recovered"))
    return touched, changes, recovered


def recover(ctx: Context, *, pending_for: timedelta = timedelta(minutes=5)) -> int:
    """Send again the runs whose message was lost or whose worker died; returns how many."""
    with session_scope(ctx.engine) as session:
        lost = list(jobs.stale(session, pending_for=pending_for))
        for run in lost:
            if run.outcome == jobs.RUNNING:
                run.outcome = jobs.PENDING
                session.add(run)
    for run in lost:
        assert run.id is not None
        ctx.dispatcher.send(run.stage, run.id)
    if lost:
        log.info("re-sent lost runs", count=len(lost))
    return len(lost)
