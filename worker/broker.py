"""Dramatiq on Redis: the broker and the actors, bound explicitly (no global-broker import trap).

Actors receive only a run id; the run row holds the arguments and the outcome (see
:mod:`worker.jobs`). Retries: a handful with capped exponential backoff, never for
configuration errors. Messages that exhaust their retries land in Dramatiq's dead-letter set,
listed by ``partnerplan runs failed`` together with the failed runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from partnerplan.errors import ConfigurationError
from partnerplan.logs import get_logger
from worker.dispatch import ActorDispatcher
from worker.pipeline import MAX_ATTEMPTS, STAGES, Context, execute
from worker.runner import recover

NAMESPACE = "partnerplan"
QUEUE = "partnerplan"
log = get_logger(__name__)
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

    def context(self) -> Context:
        """This thread's Context (engines and connectors are reused across messages)."""
        ctx: Context | None = getattr(self._local, "context", None)
        if ctx is None:
            ctx = self._factory(self.dispatcher)
            self._local.context = ctx
        return ctx

    def _body(self, stage: str) -> Callable[[int], None]:
        def body(run_id: int) -> None:
            execute(self.context(), stage, run_id)

        body.__name__ = stage
        return body


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
