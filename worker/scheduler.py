"""The scheduler: turns the cron expressions of settings.yaml into runs, once per slot.

Safe to start twice: each due slot is claimed with one Redis ``SET NX`` on a key naming the
schedule and the slot's time, so only one scheduler enqueues it, whichever wakes first; the
other sees the key and skips. Without Redis (in-process mode) the scheduler runs the flow
itself and a file/advisory lock keeps a second scheduler idle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from sqlalchemy.engine import Engine

from mappings.loader import MappingSet
from partnerplan.logs import get_logger
from plans.db import session_scope
from worker import jobs
from worker.dispatch import Dispatcher
from worker.settings import Schedule

log = get_logger(__name__)
SLOT_TTL = timedelta(days=2)


@dataclass(frozen=True)
class Slot:
    """One firing of one schedule."""

    index: int
    schedule: Schedule
    at: datetime

    @property
    def key(self) -> str:
        """A key unique to (schedule definition, firing time)."""
        what = self.schedule.model_dump_json()
        digest = hashlib.sha256(what.encode()).hexdigest()[:16]
        return f"partnerplan:schedule:{digest}:{self.at.isoformat()}"


def due(schedules: list[Schedule], after: datetime, until: datetime) -> list[Slot]:
    """Every slot in ``(after, until]`` of every schedule, oldest first."""
    slots: list[Slot] = []
    for index, schedule in enumerate(schedules):
        itr = croniter(schedule.cron, after)
        while True:
            at: datetime = itr.get_next(datetime)
            if at > until:
                break
            slots.append(Slot(index, schedule, at))
    return sorted(slots, key=lambda s: (s.at, s.index))


def enqueue_slot(
    engine: Engine, dispatcher: Dispatcher, mappings: MappingSet, slot: Slot
) -> list[int]:
    """Create (and send) the runs a slot calls for; returns their ids."""
    schedule = slot.schedule
    trigger = f"schedule:{slot.at.isoformat()}"
    with session_scope(engine) as session:
        if schedule.action == "recompute":
            runs = [
                jobs.create(
                    session,
                    "compute_progress",
                    trigger=trigger,
                    args={"partner_ids": None, "chain": True},
                )
            ]
        elif schedule.action == "push":
            runs = [jobs.create(session, "push_progress", trigger=trigger)]
        elif schedule.stream is not None:
            stream = mappings.streams[schedule.stream]
            runs = [
                jobs.create(
                    session,
                    "sync_stream",
                    trigger=trigger,
                    source=stream.source,
                    stream=stream.name,
                    args={"chain": True},
                )
            ]
        else:
            sources = (
                [schedule.source]
                if schedule.source
                else sorted({stream.source for stream in mappings.streams.values()})
            )
            runs = [jobs.create(session, "sync_source", trigger=trigger, source=s) for s in sources]
    for run in runs:
        dispatcher.send(run.stage, run.id)  # type: ignore[arg-type]
    return [r.id for r in runs if r.id is not None]


def tick(
    engine: Engine,
    dispatcher: Dispatcher,
    mappings: MappingSet,
    schedules: list[Schedule],
    claim: Callable[[str, timedelta], bool],
    *,
    after: datetime,
    until: datetime,
) -> list[Slot]:
    """Enqueue every due slot this scheduler wins; returns the slots it enqueued."""
    won = []
    for slot in due(schedules, after, until):
        if not claim(slot.key, SLOT_TTL):
            log.info("slot taken by another scheduler", slot=slot.key)
            continue
        enqueue_slot(engine, dispatcher, mappings, slot)
        won.append(slot)
    return won


def redis_claim(client: object) -> Callable[[str, timedelta], bool]:
    """A claim function backed by Redis ``SET key NX EX``: first caller wins, others lose."""

    def claim(key: str, ttl: timedelta) -> bool:
        return bool(client.set(key, "1", nx=True, ex=int(ttl.total_seconds())))  # type: ignore[attr-defined]

    return claim
