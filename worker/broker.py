"""Dramatiq on Redis: the broker and the actors, bound explicitly (no global-broker import trap).

Actors receive only a run id; the run row holds the arguments and the outcome (see
:mod:`worker.jobs`). Concurrency: each worker thread executes one run at a time, so a process
syncs up to ``--threads`` streams at once, and never more than a source's
``concurrent_streams`` of that source (the bound ``partnerplan run`` keeps too): a stream
whose source has no free slot in the process is not claimed but sent again after
:data:`SLOT_WAIT_MS`, leaving the thread free for other work. Across processes and machines,
the CRM's rate limits are kept by the connectors' pacing, shared through Redis.

Retries: a handful with capped exponential backoff, never for configuration errors. Messages
that exhaust their retries land in Dramatiq's dead-letter set, listed by ``partnerplan runs
failed`` together with the failed runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from sqlmodel import Session

from partnerplan.errors import ConfigurationError
from partnerplan.logs import get_logger
from plans.store import RunRow
from worker.dispatch import ActorDispatcher
from worker.pipeline import MAX_ATTEMPTS, STAGES, Context, execute
from worker.runner import recover

NAMESPACE = "partnerplan"
QUEUE = "partnerplan"
log = get_logger(__name__)
SLOT_WAIT_MS = 2_000
"""A stream whose source has no free slot in this process is sent again after this long."""
TIME_LIMITS_MS = {
    "sync_source": 60_000,
    "sync_stream": 6 * 3_600_000,
    "compute_progress": 1_800_000,
    "push_progress": 3_600_000,
}


def redis_broker(url: str, *, namespace: str | None = None) -> RedisBroker:
    """A RedisBroker; namespace and dead-worker redelivery timeout can be set by env.

    ``PARTNERPLAN_BROKER_NAMESPACE`` lets several deployments (or test runs) share one Redis;
    ``PARTNERPLAN_BROKER_HEARTBEAT_MS`` is how long a silent worker's messages stay claimed.
    """
    namespace = namespace or os.environ.get("PARTNERPLAN_BROKER_NAMESPACE", NAMESPACE)
    heartbeat_ms = int(os.environ.get("PARTNERPLAN_BROKER_HEARTBEAT_MS", "60000"))
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=url, namespace=namespace, heartbeat_timeout=heartbeat_ms
    )


class ActorSet:
    """One actor per stage, declared on ``broker``; each worker thread builds its Context once."""

    def __init__(self, broker: dramatiq.Broker, context_factory: Callable[[Any], Context]) -> None:
        self.broker = broker
        self._factory = context_factory
        self._local = threading.local()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._guard = threading.Lock()
        self.actors: dict[str, Any] = {
            stage: dramatiq.actor(
                actor_name=stage,
                broker=broker,
                queue_name=QUEUE,
                max_retries=MAX_ATTEMPTS - 1,
                min_backoff=1_000,
                max_backoff=60_000,
                time_limit=TIME_LIMITS_MS[stage],
                throws=(ConfigurationError,),
            )(self._body(stage))
            for stage in STAGES
        }
        self.dispatcher = ActorDispatcher(self.actors)

    def _slot(self, ctx: Context, source: str) -> threading.BoundedSemaphore:
        """The process-wide slots of ``source``: as many as its ``concurrent_streams``."""
        with self._guard:
            if source not in self._slots:
                self._slots[source] = threading.BoundedSemaphore(ctx.concurrency(source))
            return self._slots[source]

    def context(self) -> Context:
        """This thread's Context (engines and connectors are reused across messages)."""
        ctx: Context | None = getattr(self._local, "context", None)
        if ctx is None:
            ctx = self._factory(self.dispatcher)
            self._local.context = ctx
        return ctx

    def _body(self, stage: str) -> Callable[[int], None]:
        def body(run_id: int) -> None:
            ctx = self.context()
            source = _syncs(ctx, run_id) if stage == "sync_stream" else None
            if source is None:
                execute(ctx, stage, run_id)
                return
            slot = self._slot(ctx, source)
            if not slot.acquire(blocking=False):  # the source's streams fill this process
                self.actors[stage].send_with_options(args=(run_id,), delay=SLOT_WAIT_MS)
                return
            try:
                execute(ctx, stage, run_id)
            finally:
                slot.release()

        body.__name__ = stage
        return body


def _syncs(ctx: Context, run_id: int) -> str | None:
    """The source a ``sync_stream`` run syncs (None when the run is gone)."""
    with Session(ctx.engine) as session:
        run = session.get(RunRow, run_id)
        return None if run is None else run.source


def start_recovery(actors: ActorSet, *, every: float) -> threading.Event:
    """Re-send lost runs every ``every`` seconds from a daemon thread; set the event to stop.

    Every worker process runs one; duplicates are harmless because a run is claimed once.
    """
    pending_for = timedelta(seconds=max(every, 1) * 2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                recover(actors.context(), pending_for=pending_for)
            except Exception:  # the store or Redis is down: try again next round
                log.warning("recovery sweep failed; retrying", exc_info=True)

    threading.Thread(target=loop, name="partnerplan-recovery", daemon=True).start()
    return stop
