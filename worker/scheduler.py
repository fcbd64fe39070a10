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
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from mappings.loader import MappingSet
from partnerplan.logs import get_logger
from plans.db import session_scope
from plans.store import RunRow
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


def due(
    schedules: list[Schedule], after: datetime, until: datetime, timezone: str = "UTC"
) -> list[Slot]:
    """Every slot in ``(after, until]`` of every schedule, oldest first, times in UTC.

    The cron expressions are read in ``timezone`` (settings.yaml's ``timezone:``): ``0 6 * *
    1-5`` is 06:00 on weekdays where the team works, through daylight-saving changes.
    """
    zone = ZoneInfo(timezone)
    slots: list[Slot] = []
    for index, schedule in enumerate(schedules):
        itr = croniter(schedule.cron, after.astimezone(zone))
        while True:
            at: datetime = itr.get_next(datetime).astimezone(UTC)
            if at > until:
                break
            slots.append(Slot(index, schedule, at))
    return sorted(slots, key=lambda s: (s.at, s.index))


def next_slot(schedules: list[Schedule], after: datetime, timezone: str = "UTC") -> Slot | None:
    """The first slot after ``after`` of any schedule (what ``scheduler --once`` announces)."""
    zone = ZoneInfo(timezone)
    upcoming = [
        Slot(i, s, croniter(s.cron, after.astimezone(zone)).get_next(datetime).astimezone(UTC))
        for i, s in enumerate(schedules)
    ]
    return min(upcoming, key=lambda s: (s.at, s.index), default=None)


def describe(schedule: Schedule) -> str:
    """What a schedule does, for people: ``sync of every source``, ``recompute``, ..."""
    if schedule.action != "sync":
        return schedule.action
    if schedule.stream:
        return f"sync of stream {schedule.stream}"
    return f"sync of source {schedule.source}" if schedule.source else "sync of every source"


@dataclass
class SlotOutcome:
    """Where the runs a slot started (and the runs they started) stand."""

    outcomes: dict[str, int]
    errors: list[str]

    @property
    def finished(self) -> bool:
        """Whether every run has an outcome (none pending or running)."""
        return not set(self.outcomes) - set(jobs.FINISHED)

    @property
    def failed(self) -> bool:
        """Whether any run failed or was incomplete."""
        return bool(self.outcomes.get(jobs.FAILED) or self.outcomes.get(jobs.INCOMPLETE))

    def render(self) -> str:
        """``13 runs: 12 succeeded, 1 failed``."""
        total = sum(self.outcomes.values())
        parts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.outcomes.items()))
        return f"{total} run(s): {parts}" if total else "no runs"


def slot_outcome(engine: Engine, run_ids: list[int]) -> SlotOutcome:
    """The outcome of ``run_ids`` and of every run they started (followed by ``parent_id``)."""
    outcomes: dict[str, int] = {}
    errors: list[str] = []
    with Session(engine) as session:
        frontier = list(run_ids)
        while frontier:
            rows = list(session.scalars(select(RunRow).where(col(RunRow.id).in_(frontier))))
            children = session.scalars(
                select(col(RunRow.id)).where(col(RunRow.parent_id).in_(frontier))
            )
            frontier = [i for i in children if i is not None]
            for row in rows:
                outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
                if row.error and row.outcome in (jobs.FAILED, jobs.INCOMPLETE):
                    errors.append(f"{row.stream or row.stage} #{row.id}: {row.error}")
    return SlotOutcome(outcomes, errors)


def enqueue_slot(
    engine: Engine, dispatcher: Dispatcher, mappings: MappingSet, slot: Slot
) -> list[int]:
    """Create (and send) the runs a slot calls for; returns their ids."""
    schedule = slot.schedule
    trigger = f"schedule:{slot.at.isoformat()}"
    token = jobs.INVOCATION.set(f"{trigger}#{slot.index}")  # one line in `partnerplan runs`
    try:
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
                runs = [
                    jobs.create(session, "sync_source", trigger=trigger, source=s) for s in sources
                ]
    finally:
        jobs.INVOCATION.reset(token)
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
    timezone: str = "UTC",
) -> list[tuple[Slot, list[int]]]:
    """Enqueue every due slot this scheduler wins; returns those slots and their run ids."""
    won = []
    for slot in due(schedules, after, until, timezone):
        if not claim(slot.key, SLOT_TTL):
            log.info("slot_taken", slot=slot.key, cron=slot.schedule.cron)
            continue
        ids = enqueue_slot(engine, dispatcher, mappings, slot)
        log.info(
            "slot_started",
            cron=slot.schedule.cron,
            at=slot.at.isoformat(),
            action=describe(slot.schedule),
            runs=ids,
        )
        won.append((slot, ids))
    return won


def redis_claim(client: object) -> Callable[[str, timedelta], bool]:
    """A claim function backed by Redis ``SET key NX EX``: first caller wins, others lose."""

    def claim(key: str, ttl: timedelta) -> bool:
        return bool(client.set(key, "1", nx=True, ex=int(ttl.total_seconds())))  # type: ignore[attr-defined]

    return claim
