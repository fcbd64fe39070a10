"""Syncing many streams at once in this process: the lanes of ``partnerplan run``.

Against a real CRM a sync waits on the network, not on the CPU: every page is a round trip of
0.3-2 s. Synced one after another, a run costs the sum of every stream's chain of calls; here
each source gets a lane of its own, a bounded pool of threads as wide as its connector's
``concurrency`` (how many streams its CRM's limits let one process sync at once), and the
lanes of the two CRMs run side by side, so a run costs about its longest stream's chain.

Two phases: every source's partner streams first (all at once), then all other streams. An
activity stored before its partner arrives waits unlinked until the partner's page links it;
with partners stored first, activities link as they are stored, and the partner streams (one
record per partner) are a few calls each. Compute and push are not run here: they run once,
after every sync of the invocation ended (:func:`worker.runner.run_once`).

What each thread may touch: its own connector (:meth:`~worker.pipeline.Context.lease`), its
own run row and stream, and the store through :mod:`worker.writes`. A stream that fails is
collected as an error and the others go on. Ctrl-C (or SIGTERM) reaches the main thread: it
sets the invocation's stop event, each thread stops at its next page boundary
(:class:`~worker.pull.StreamStopped`), threads that have not started a stream start none,
and the caller marks the runs interrupted. A thread still blocked on a CRM call after
:data:`GRACE_SECONDS` is left behind (its threads are daemons; it stores nothing more).
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from partnerplan.errors import ConfigurationError, PartnerplanError
from partnerplan.logs import get_logger, redact
from plans.store import RunRow
from worker import jobs, writes
from worker.pipeline import Context, execute

log = get_logger(__name__)
GRACE_SECONDS = 5.0
"""How long an interrupted invocation waits for its threads to reach a page boundary."""
_POLL_SECONDS = 0.2


def collecting(ctx: Context, errors: list[str]) -> Callable[[str, int], None]:
    """Execute one run; a failure is appended to ``errors`` (redacted), never raised."""

    def run_one(stage: str, run_id: int) -> None:
        try:
            execute(ctx, stage, run_id)
        except PartnerplanError as exc:
            errors.append(redact(f"{stage} #{run_id}: {exc}"))
        except Exception as exc:  # a bug or an unexpected failure: keep the other streams going
            log.exception("run crashed", stage=stage, run_id=run_id)
            errors.append(redact(f"{stage} #{run_id}: {exc.__class__.__name__}: {exc}"))

    return run_one


def lanes(ctx: Context, runs: Sequence[RunRow]) -> dict[str, int]:
    """How many threads each source's lane has: its concurrency, at most its stream count.

    A store whose sessions share one connection (in-memory SQLite) gets one lane of one
    thread for every source: its streams sync one at a time (:func:`writes.shared_connection`).
    """
    counts: dict[str, int] = defaultdict(int)
    for run in runs:
        assert run.source is not None
        counts[run.source] += 1
    if writes.shared_connection(ctx.engine):
        return {source: 1 for source in counts}
    width: dict[str, int] = {}
    for source, count in counts.items():
        try:
            width[source] = min(count, ctx.concurrency(source))
        except ConfigurationError:  # each of its runs fails with the reason, one at a time
            width[source] = 1
    return width


def longest_first(engine: Engine, runs: Sequence[RunRow]) -> list[RunRow]:
    """``runs`` with the streams whose last sync took longest first; never-synced ones lead.

    A lane runs its streams in this order, so the long chains (a first load, the biggest
    object) start at once and the short ones fill in beside them: the run then lasts about its
    longest stream, where a long stream queued last behind short ones would add to them.
    """
    latest = (
        select(func.max(col(RunRow.id)))
        .where(
            col(RunRow.stage) == "sync_stream",
            col(RunRow.outcome) == jobs.SUCCEEDED,
            col(RunRow.stream).in_([run.stream for run in runs]),
        )
        .group_by(col(RunRow.stream))
    )
    query = select(col(RunRow.stream), col(RunRow.started_at), col(RunRow.finished_at)).where(
        col(RunRow.id).in_(latest)
    )
    took: dict[str | None, float] = {}
    with Session(engine) as session:
        for stream, started, finished in session.execute(query):
            if started is not None and finished is not None:
                took[stream] = (finished - started).total_seconds()
    return sorted(runs, key=lambda run: -took.get(run.stream, float("inf")))


def sync_streams(ctx: Context, runs: Sequence[RunRow], errors: list[str]) -> None:
    """Execute the ``sync_stream`` runs, partner streams first, each source in its lane.

    Raises:
        KeyboardInterrupt: The invocation was interrupted (a signal in this thread, or one
            raised in a stream's); ``ctx.stop`` is set and the threads have stopped or been
            left behind; the caller marks the runs.
    """
    partners = {name for name, s in ctx.project.mappings.streams.items() if s.kind == "partner"}
    ordered = longest_first(ctx.engine, runs)
    first = [run for run in ordered if run.stream in partners]
    rest = [run for run in ordered if run.stream not in partners]
    width = lanes(ctx, runs)
    one_lane = writes.shared_connection(ctx.engine)
    for phase in (first, rest):
        if phase:
            _run_phase(ctx, phase, width, collecting(ctx, errors), one_lane=one_lane)


def _run_phase(
    ctx: Context,
    runs: Sequence[RunRow],
    width: dict[str, int],
    run_one: Callable[[str, int], None],
    *,
    one_lane: bool,
) -> None:
    """Run ``runs`` in per-source lanes; return when all ended, or raise on an interrupt."""
    waiting: dict[str, queue.SimpleQueue[int]] = defaultdict(queue.SimpleQueue)
    for run in runs:
        assert run.id is not None and run.source is not None
        waiting["*" if one_lane else run.source].put(run.id)
    ended: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()

    def lane(todo: queue.SimpleQueue[int]) -> None:
        try:
            while not ctx.stop.is_set():
                try:
                    run_id = todo.get_nowait()
                except queue.Empty:
                    break
                run_one("sync_stream", run_id)
        except BaseException as exc:  # an interrupt raised in this thread: stop every lane
            ctx.stop.set()
            ended.put(exc)
            return
        ended.put(None)

    threads = [
        threading.Thread(
            target=contextvars.copy_context().run,  # the invocation's log and run context
            args=(lane, todo),
            name=f"sync-{source}-{n}",
            daemon=True,
        )
        for source, todo in waiting.items()
        for n in range(1 if one_lane else width[source])
    ]
    try:
        for thread in threads:
            thread.start()
        interrupted = _wait(ended, len(threads))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, here in the main thread
        interrupted = True
    if interrupted:
        ctx.stop.set()
        deadline = time.monotonic() + GRACE_SECONDS
        for thread in threads:
            if thread.ident is not None:  # started
                thread.join(max(0.0, deadline - time.monotonic()))
        left = sum(thread.is_alive() for thread in threads)
        if left:
            log.warning("streams still waiting on a CRM call were left behind", threads=left)
        raise KeyboardInterrupt


def _wait(ended: queue.SimpleQueue[BaseException | None], count: int) -> bool:
    """Wait until ``count`` lanes ended; True as soon as one ended on an interrupt."""
    for _ in range(count):
        while True:
            try:
                outcome = ended.get(timeout=_POLL_SECONDS)  # a signal is handled between polls
                break
            except queue.Empty:
                continue
        if isinstance(outcome, KeyboardInterrupt):
            return True
        if outcome is not None:  # pragma: no cover - run_one collects every Exception
            raise outcome
    return False
