"""The stages of the flow as plain functions of a run: the bodies every actor executes.

Each stage claims its run, does its work in units that commit data and checkpoint together,
and finishes by creating the runs of the next stage in the same transaction as its own
outcome; only after that commit are their messages sent. The same functions run in-process
(``partnerplan run``) and inside Dramatiq actors (``partnerplan worker``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Engine

from connectors.base import Connector
from connectors.crms import REGISTRY
from connectors.settings import SourceSettings
from partnerplan.errors import ConfigurationError
from partnerplan.logs import bind_run, get_logger, redact
from plans.changes import Changes
from plans.db import session_scope
from plans.engine import compute_progress as compute
from plans.ingest import resolve_partners
from plans.planstore import sync_plans
from plans.store import RunRow
from worker import jobs, locks, verdict, writes
from worker.dispatch import Dispatcher
from worker.project import Project
from worker.pull import StreamStopped, pull_and_store
from worker.trust import kind_trust
from writeback.planpush import Publication, combine
from writeback.push import push_all, retries_due

log = get_logger(__name__)
MAX_ATTEMPTS = 5
"""A failing run is tried this many times (with backoff) before it is marked failed."""


class Observer(Protocol):
    """Hears about progress (the CLI draws bars from it); every method is optional noise."""

    def stream_started(self, stream: str) -> None: ...

    def page(self, stream: str, records: int) -> None: ...

    def stream_finished(self, stream: str, outcome: str) -> None: ...


class NullObserver:
    """Ignores progress (workers log instead)."""

    def stream_started(self, stream: str) -> None:
        """Nothing to draw."""

    def page(self, stream: str, records: int) -> None:
        """Nothing to draw."""

    def stream_finished(self, stream: str, outcome: str) -> None:
        """Nothing to draw."""


@dataclass
class Context:
    """What every stage needs: the validated config, the store, connectors, a dispatcher.

    Connectors are not shared between threads: a connector keeps its HTTP session, its call
    counts (each run's ``api_calls`` is the difference over its pull) and its CRM session
    state, none of it safe to use from two threads at once. A stream syncing in a thread of
    its own :meth:`lease`-s a connector of its source for the length of the sync; a returned
    one is reused by the next stream, so a source never has more connectors (and Salesforce
    logins) than streams syncing at once. The stages that run alone (compute, push) use
    :meth:`connector`, which takes an idle one when there is one; the push's sending threads
    lease theirs (:mod:`writeback.sender`).
    """

    project: Project
    engine: Engine
    dispatcher: Dispatcher
    connector_factory: Callable[[str, SourceSettings], Connector] = REGISTRY.connect
    observer: Observer = field(default_factory=NullObserver)
    max_attempts: int = MAX_ATTEMPTS
    """Tries before a failing run is marked failed; 1 in-process, where no broker retries."""
    stop: threading.Event = field(default_factory=threading.Event)
    """Set when the invocation is interrupted: syncing streams stop at their next page."""
    _connectors: dict[str, Connector] = field(default_factory=dict)
    _idle: dict[str, list[Connector]] = field(default_factory=dict)
    _held: threading.local = field(default_factory=threading.local)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def _build(self, source: str) -> Connector:
        settings = self.project.settings.sources.get(source)
        if settings is None:
            raise ConfigurationError(
                f"source {source!r} is used by a mapping but not defined under "
                "`sources:` in settings.yaml; add it"
            )
        return self.connector_factory(source, settings)

    def connector(self, source: str) -> Connector:
        """The connector this thread holds for ``source``, else the (cached) shared one."""
        held: dict[str, Connector] = getattr(self._held, "connectors", {})
        if source in held:
            return held[source]
        with self._guard:
            shared = self._connectors.get(source)
            if shared is None and self._idle.get(source):
                shared = self._connectors[source] = self._idle[source].pop()
        if shared is None:
            shared = self._build(source)
            with self._guard:
                shared = self._connectors.setdefault(source, shared)
        return shared

    @contextmanager
    def lease(self, source: str) -> Iterator[Connector]:
        """A connector of ``source`` for this thread alone, returned to the idle ones after."""
        with self._guard:
            idle = self._idle.setdefault(source, [])
            connector = idle.pop() if idle else None
        if connector is None:
            connector = self._build(source)
        held: dict[str, Connector] = self._held.__dict__.setdefault("connectors", {})
        held[source] = connector
        try:
            yield connector
        finally:
            del held[source]
            with self._guard:
                self._idle[source].append(connector)

    def concurrency(self, source: str) -> int:
        """How many streams of ``source`` may sync at once (its connector's ``concurrency``)."""
        with self.lease(source) as connector:
            return max(1, int(getattr(connector, "concurrency", 1)))


def _send_all(ctx: Context, runs: Iterable[RunRow]) -> None:
    for run in runs:
        assert run.id is not None
        ctx.dispatcher.send(run.stage, run.id)


def execute(ctx: Context, stage: str, run_id: int) -> str | None:
    """Claim and execute one run; returns its outcome, or None when it was not ours to run."""
    run = jobs.claim(ctx.engine, run_id)
    if run is None:
        log.info("run already taken or finished", run_id=run_id, stage=stage)
        return None
    body = STAGES[stage]
    with bind_run(run_id, stage, run.stream):  # run id, stage, stream on every event
        try:
            return body(ctx, run)
        except ConfigurationError as exc:
            _fail(ctx, run, exc, final=True)
            raise
        except Exception as exc:
            _fail(ctx, run, exc, final=run.attempts >= ctx.max_attempts)
            raise


def _fail(ctx: Context, run: RunRow, exc: Exception, *, final: bool) -> None:
    assert run.id is not None
    message = redact(f"{exc.__class__.__name__}: {exc}")
    with writes.unit(ctx.engine) as session:
        if final:
            jobs.finish(session, run.id, jobs.FAILED, error=message)
        else:  # let the broker's retry claim it again
            row = session.get(RunRow, run.id)
            if row is not None:
                row.outcome, row.error = jobs.PENDING, message
    log.warning("run failed", run_id=run.id, stage=run.stage, final=final, error=message)


def sync_source(ctx: Context, run: RunRow) -> str:
    """Fan out: one sync_stream run per stream of the source."""
    assert run.id is not None and run.source is not None
    args = jobs.args_of(run)
    with session_scope(ctx.engine) as session:
        children = [
            jobs.create(
                session,
                "sync_stream",
                trigger=run.trigger,
                source=run.source,
                stream=name,
                args={"full": bool(args.get("full")), "chain": True},
                parent_id=run.id,
            )
            for name in ctx.project.mappings.ordered(run.source)
        ]
        jobs.finish(session, run.id, jobs.SUCCEEDED, details={"streams": len(children)})
    _send_all(ctx, children)
    return jobs.SUCCEEDED


def sync_stream(ctx: Context, run: RunRow) -> str:
    """Pull one stream since its watermark, map and store it page by page, then chain compute."""
    assert run.id is not None and run.source is not None and run.stream is not None
    args = jobs.args_of(run)
    with locks.exclusive(ctx.engine, f"stream:{run.source}:{run.stream}") as taken:
        if not taken:
            with writes.unit(ctx.engine) as session:
                jobs.finish(session, run.id, jobs.SKIPPED, error="another sync holds the stream")
            return jobs.SKIPPED
        ctx.observer.stream_started(run.stream)
        with ctx.lease(run.source) as connector:
            pulled = pull_and_store(
                ctx.engine,
                run,
                ctx.project.mappings.streams[run.stream],
                connector,
                ctx.observer,
                full=bool(args.get("full")),
                stop=ctx.stop,
            )
    share = ctx.project.settings.max_quarantined_share  # too many quarantined: the sync failed
    outcome, error = verdict.judge(ctx.engine, run.id, pulled.outcome, pulled.error, share)
    next_runs: list[RunRow] = []
    if ctx.stop.is_set():  # interrupted while it pulled: the run is marked interrupted
        raise StreamStopped(run.stream)
    with writes.unit(ctx.engine) as session:
        jobs.finish(
            session,
            run.id,
            outcome,
            error=error,
            details={
                "touched_partners": sorted(pulled.touched),
                "recovered": pulled.recovered,
                "changes": pulled.changes.to_json(),
            },
        )
        if args.get("chain", True) and (pulled.touched or pulled.recovered):
            # a recovered stream may release targets held back on any partner: compute all
            scope = None if pulled.recovered else sorted(pulled.touched)
            next_runs.append(
                jobs.create(
                    session,
                    "compute_progress",
                    trigger=run.trigger,
                    args={
                        "partner_ids": scope,
                        "changes": None if scope is None else pulled.changes.to_json(),
                        "chain": True,
                    },
                    parent_id=run.id,
                )
            )
    ctx.observer.stream_finished(run.stream, outcome)
    _send_all(ctx, next_runs)
    return outcome


def link_partners(engine: Engine) -> set[int]:
    """Link activities stored before their partner, in a unit of its own, committed at once.

    Before the compute's own unit begins (it has sent no statement yet): the linking writes
    rows that streams syncing meanwhile may be writing, and takes the lock that keeps them
    apart (:mod:`worker.writes`) only for as long as the linking lasts.
    """
    with writes.unit(engine, partners=True) as session:
        return resolve_partners(session)


def compute_progress(ctx: Context, run: RunRow) -> str:
    """Recompute the progress of the touched partners' plans (all when no partners are given).

    The plans are synced from config first, unless the run says they were already
    (``plans_synced``: how many changed): ``partnerplan run`` syncs them once after every
    stream, to decide what to compute, and a second sync here would redo that work (a couple of
    seconds at scale) for nothing, since nothing runs in between. A compute chained from a
    worker's stream sync, or sent by the scheduler, has no such promise and syncs them itself.
    """
    assert run.id is not None
    args = jobs.args_of(run)
    settings = ctx.project.settings
    partner_ids = args.get("partner_ids")
    next_runs: list[RunRow] = []
    # Computes run one at a time: two overlapping computes could otherwise commit an older
    # snapshot of the activities last. Waiting is cheap; the next one reads fresh data.
    with (
        locks.exclusive(ctx.engine, "compute", wait=True),
        session_scope(ctx.engine) as session,
    ):
        linked = link_partners(ctx.engine)
        synced = args.get("plans_synced")
        changed_plans = (
            sync_plans(session, ctx.project.plans, jobs.now()) if synced is None else set()
        )
        # a changed plan definition (new plan, new target, a partner changing tier) needs a
        # full compute: its plans may belong to partners no stream touched, or to none yet
        scope = None if partner_ids is None or changed_plans else set(partner_ids) | linked
        now = jobs.now()
        result = compute(
            session,
            ctx.project.metrics,
            as_of=now,
            reporting_currency=settings.reporting_currency,
            thresholds=(settings.status_thresholds.on_track, settings.status_thresholds.at_risk),
            partner_ids=scope,
            # what the syncs changed, by kind and date: only the targets it can move
            changes=None if scope is None else Changes.from_json(args.get("changes")),
            trust=kind_trust(session, ctx.project.mappings),
            rates_source=ctx.project.plans.rates_source,
            history_retention_days=settings.history_retention_days,
        )
        jobs.finish(
            session,
            run.id,
            jobs.SUCCEEDED,
            details={
                "targets": result.targets,
                "unchanged_targets": result.unchanged,
                "changed_targets": len(result.changed_target_ids),
                "changed_plans": len(changed_plans) if synced is None else int(synced),
                "stale_targets": len(result.stale),
                "stale_because": sorted(set(result.stale.values())),
                "frozen_plans": len(result.frozen_plan_ids),
                "statements": result.statements,
            },
        )
        due = retries_due(session, now)
        plans_moved = bool(changed_plans) or bool(args.get("plans_changed"))
        if args.get("chain", True) and (result.changed_target_ids or due or plans_moved):
            next_runs.append(
                jobs.create(session, "push_progress", trigger=run.trigger, parent_id=run.id)
            )
    _send_all(ctx, next_runs)
    return jobs.SUCCEEDED


def labels(project: Project) -> dict[str, str]:
    """Each metric's label (what ``metric_label`` fields show a CRM user)."""
    return {key: metric.label for key, metric in project.metrics.metrics.items()}


def units(project: Project) -> dict[str, str]:
    """Each metric's unit (a plan's target records say how to read their numbers)."""
    return {key: str(metric.unit) for key, metric in project.metrics.metrics.items()}


def push_progress(ctx: Context, run: RunRow) -> str:
    """Publish the plans, then write changed progress back to the CRMs (the write-back stage)."""
    assert run.id is not None
    project = ctx.project
    # Pushes run one at a time, as computes do: two would each see a record unsent and both
    # write it (and both create its push state). The next one sends what this one left.
    with (
        locks.exclusive(ctx.engine, "push", wait=True),
        session_scope(ctx.engine) as session,
    ):
        now = jobs.now()
        kinds = project.settings.kinds()
        plans = Publication(
            session,
            project.writeback,
            kinds,
            ctx.connector,
            units(project),
            now,
            project.root,
            lease=ctx.lease,  # the plan push's write calls go several at once too
        )
        plans.publish()
        summary = push_all(
            session,
            project.writeback,
            kinds,
            ctx.connector,
            labels(project),
            now,
            placement=plans.placement,
            placement_digest=plans.digest,
            lease=ctx.lease,  # several write calls at once, each thread on its own connector
        )
        plans.link()
        summary = combine(plans.summary(), summary)
        jobs.finish(session, run.id, summary.outcome, error=summary.error, details=summary.details)
    return summary.outcome


STAGES: dict[str, Callable[[Context, RunRow], str]] = {
    "sync_source": sync_source,
    "sync_stream": sync_stream,
    "compute_progress": compute_progress,
    "push_progress": push_progress,
}
