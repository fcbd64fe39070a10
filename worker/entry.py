"""The module Dramatiq's worker processes import (``dramatiq worker.entry``).

It reads ``REDIS_URL`` (required), ``PARTNERPLAN_CONFIG`` and ``DATABASE_URL`` from the
environment, declares the actors on a Redis broker, and starts the recovery sweep that
re-sends runs whose message a Redis restart lost or whose worker was killed.
"""

from __future__ import annotations

import os

import dramatiq

from partnerplan.logs import configure
from worker.broker import ActorSet, redis_broker, start_recovery
from worker.runtime import build_context

configure(os.environ.get("PARTNERPLAN_LOG_LEVEL", "info"))
broker = redis_broker(os.environ["REDIS_URL"])
dramatiq.set_broker(broker)
ACTORS = ActorSet(broker, lambda dispatcher: build_context(dispatcher))
start_recovery(ACTORS, every=float(os.environ.get("PARTNERPLAN_RECOVER_SECONDS", "60")))
