"""The scheduler: cron slots computed by croniter, each slot enqueued once across schedulers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from sqlalchemy import func, select
from sqlmodel import Session

from partnerplan.config import parse
from plans.store import RunRow
from worker.dispatch import InlineDispatcher
from worker.pipeline import Context
from worker.project import Project
from worker.scheduler import check, due, redis_claim, tick
from worker.settings import Schedule, Settings

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _ctx(engine, schedules: list[Schedule]) -> Context:
    project = Project(root=Path(), settings=Settings(schedules=schedules))
    return Context(project=project, engine=engine, dispatcher=InlineDispatcher())


def test_due_lists_every_slot_in_the_window():
    """Every-15-minutes over one hour gives four slots; a daily 03:00 gives none at 08:00-09:00."""
    schedules = [Schedule(cron="*/15 * * * *"), Schedule(cron="0 3 * * *", action="recompute")]
    slots = due(schedules, T0, T0 + timedelta(hours=1))
    assert [s.at for s in slots] == [T0 + timedelta(minutes=m) for m in (15, 30, 45, 60)]


def test_invalid_cron_is_reported_at_its_line(tmp_path):
    """A cron typo is a config error at FILE:LINE, found by croniter, not at 3 a.m."""
    path = tmp_path / "settings.yaml"
    path.write_text("schedules:\n  - cron: '*/15 * * *'\n  - cron: '61 * * * *'\n")
    doc = parse(path)
    schedules = [Schedule(**s) for s in doc.data["schedules"]]
    rendered = [p.render() for p in check(schedules, doc)]
    assert [r.split(": ")[0] for r in rendered] == [f"{path}:2", f"{path}:3"]


def test_two_schedulers_enqueue_each_slot_once(sqlite_engine, redis_url):
    """Started twice, the schedulers together enqueue each due slot exactly once."""
    client = redis.Redis.from_url(redis_url)
    prefix = uuid.uuid4().hex

    def claim(key: str, ttl: timedelta) -> bool:
        return redis_claim(client)(f"{prefix}:{key}", ttl)

    schedules = [Schedule(cron="*/15 * * * *", action="recompute")]
    first, second = _ctx(sqlite_engine, schedules), _ctx(sqlite_engine, schedules)
    won_a = tick(first, claim, after=T0, until=T0 + timedelta(hours=1))
    won_b = tick(second, claim, after=T0, until=T0 + timedelta(hours=1))
    won_a += tick(first, claim, after=T0 + timedelta(minutes=50), until=T0 + timedelta(hours=2))
    won_b += tick(second, claim, after=T0 + timedelta(minutes=50), until=T0 + timedelta(hours=2))
    with Session(sqlite_engine) as session:
        runs = session.scalar(select(func.count()).select_from(RunRow))
    assert (len(won_a), len(won_b), runs) == (8, 0, 8)
    client.delete(*client.keys(f"{prefix}:*"))
