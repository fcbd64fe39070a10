"""In-process mode: ``partnerplan run`` performs the whole flow once, in order, in this process.

Streams are synced one after another (partner streams first); then ONE compute covers every
partner any stream touched (not one per stream), then one push. A stream that fails does not
stop the others; the run as a whole then exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from partnerplan.errors import ConfigurationError, PartnerplanError
from partnerplan.logs import get_logger, redact
from plans.db import session_scope
from plans.planstore import sync_plans
from plans.store import RunRow
from worker import jobs
from worker.dispatch import InlineDispatcher
from worker.pipeline import Context, execute

log = get_logger(__name__)


@dataclass
class RunSummary:
    """The runs one invocation executed, in order, and whether all of them succeeded."""

    runs: list[RunRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no run failed (incomplete and skipped runs are not failures)."""
        return not self.errors and all(r.outcome != jobs.FAILED for r in self.runs)


def execute_all(ctx: Context, dispatcher: InlineDispatcher, errors: list[str]) -> None:
    """Drain ``dispatcher``, executing each run; failures are collected, not raised."""

    def run_one(stage: str, run_id: int) -> None:
        try:
            execute(ctx, stage, run_id)
        except PartnerplanError as exc:
            errors.append(redact(f"{stage} #{run_id}: {exc}"))
        except Exception as exc:  # a bug or an unexpected failure: keep the other streams going
            log.exception("run crashed", stage=stage, run_id=run_id)
            errors.append(redact(f"{stage} #{run_id}: {exc.__class__.__name__}: {exc}"))

    dispatcher.drain(run_one)


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
    for run in sync_runs:
        dispatcher.send(run.stage, run.id)  # type: ignore[arg-type]
    execute_all(ctx, dispatcher, summary.errors)

    ids = [r.id for r in sync_runs]
    with Session(ctx.engine) as session:
        finished = list(session.scalars(select(RunRow).where(col(RunRow.id).in_(ids))))
    touched: set[int] = set()
    for run in finished:
        touched.update(run.details.get("touched_partners", []))
    with session_scope(ctx.engine) as session:
        plans_changed = sync_plans(session, ctx.project.plans)
        compute = None
        if touched or plans_changed:
            compute = jobs.create(
                session,
                "compute_progress",
                trigger=trigger,
                args={"partner_ids": None if plans_changed else sorted(touched), "chain": True},
            )
    if compute is not None:
        dispatcher.send(compute.stage, compute.id)  # type: ignore[arg-type]
        execute_all(ctx, dispatcher, summary.errors)

    all_ids = ids + [run_id for _, run_id in dispatcher.sent if run_id not in ids]
    with Session(ctx.engine) as session:
        rows = session.scalars(select(RunRow).where(col(RunRow.id).in_(all_ids))).all()
        summary.runs = sorted(rows, key=lambda r: r.id or 0)
    return summary


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
