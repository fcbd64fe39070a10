"""The module Dramatiq's worker processes import (``dramatiq worker.entry``).

It configures partnerplan's logging first (every line, Dramatiq's own included, through the
same JSON-or-console pipeline at ``PARTNERPLAN_LOG_LEVEL``; ``partnerplan worker`` passes
``--skip-logging`` so Dramatiq adds no plain-text handler of its own), reads ``REDIS_URL``
(required), ``PARTNERPLAN_CONFIG`` and ``DATABASE_URL`` from the environment, declares the
actors on a Redis broker with Dramatiq's Prometheus middleware (unless ``PARTNERPLAN_METRICS``
is ``off``), and starts the recovery sweep that re-sends runs whose message a Redis restart lost
or whose worker was killed.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from partnerplan.logs import configure

configure(os.environ.get("PARTNERPLAN_LOG_LEVEL", "warning"))

import dramatiq  # noqa: E402 - after logging: importing Dramatiq may log
from dramatiq.middleware.prometheus import Prometheus  # noqa: E402

from worker.broker import ActorSet, redis_broker, start_recovery  # noqa: E402
from worker.health import serve_worker  # noqa: E402
from worker.runtime import build_context  # noqa: E402


class Metrics(Prometheus):
    """Dramatiq's Prometheus middleware, its exposition served by :func:`serve_worker`.

    Dramatiq's own server answers every path with its metrics; ours adds partnerplan's (from
    the store and from every worker process) and a real ``/healthz``.
    """

    @property
    def forks(self) -> list[Callable[[], int]]:
        """The function Dramatiq forks a process for: the metrics and health server."""
        return [serve_worker]


broker = redis_broker(os.environ["REDIS_URL"])
if os.environ.get("PARTNERPLAN_METRICS", "on") != "off":
    broker.add_middleware(Metrics())
dramatiq.set_broker(broker)
ACTORS = ActorSet(broker, lambda dispatcher: build_context(dispatcher))
start_recovery(ACTORS, every=float(os.environ.get("PARTNERPLAN_RECOVER_SECONDS", "60")))
