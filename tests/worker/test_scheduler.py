"""The scheduler: cron slots computed by croniter, each slot enqueued once across schedulers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import func, select
from sqlmodel import Session

from mappings.loader import MappingSet
from partnerplan.config import parse, validate
from plans.store import RunRow
from worker.dispatch import InlineDispatcher
from worker.scheduler import due, redis_claim, tick
from worker.settings import Schedule, cron_problem, settings_model

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


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
    assert validate(doc, settings_model()) is None
    rendered = [p.render() for p in doc.problems]
    assert [r.split(": ")[0] for r in rendered] == [f"{path}:2", f"{path}:3"]


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        ("*/15 * * *", "has 4 field(s); write 5 (minute hour day-of-month month day-of-week)"),
        ("0 25 * * *", "the hour field '25' is not valid; it takes 0-23"),
        ("61 * * * *", "the minute field '61' is not valid; it takes 0-59"),
        ("0 3 * * mon-fry", "the day of week field 'mon-fry' is not valid; it takes 0-6 or sun"),
    ],
)
def test_a_cron_error_names_the_field_and_its_range(cron, says):
    """A bad cron expression says which field is wrong and what it takes, not just "invalid"."""
    problem = cron_problem(cron) or ""
    assert says in problem


def test_valid_cron_expressions_pass():
    """Ranges, lists, steps and names are all accepted."""
    for cron in ("*/15 * * * *", "0 3 * * 1-5", "0 6,18 1 jan-mar *", "30 2 * * sun"):
        assert cron_problem(cron) is None


def test_two_schedulers_enqueue_each_slot_once(sqlite_engine, redis_url):
    """Started twice, the schedulers together enqueue each due slot exactly once."""
    client = redis.Redis.from_url(redis_url)
    prefix = uuid.uuid4().hex

    def claim(key: str, ttl: timedelta) -> bool:
        return redis_claim(client)(f"{prefix}:{key}", ttl)

    schedules = [Schedule(cron="*/15 * * * *", action="recompute")]

    def scheduler(after: datetime, until: datetime) -> list:
        dispatcher = InlineDispatcher()
        return tick(
            sqlite_engine, dispatcher, MappingSet(), schedules, claim, after=after, until=until
        )

    won_a = scheduler(T0, T0 + timedelta(hours=1))
    won_b = scheduler(T0, T0 + timedelta(hours=1))
    won_a += scheduler(T0 + timedelta(minutes=50), T0 + timedelta(hours=2))
    won_b += scheduler(T0 + timedelta(minutes=50), T0 + timedelta(hours=2))
    with Session(sqlite_engine) as session:
        runs = session.scalar(select(func.count()).select_from(RunRow))
    assert (len(won_a), len(won_b), runs) == (8, 0, 8)
    client.delete(*client.keys(f"{prefix}:*"))


def test_cron_is_read_in_the_configured_time_zone():
    """`0 6 * * *` in Europe/Paris fires at 05:00 UTC in winter and 04:00 UTC in summer."""
    schedules = [Schedule(cron="0 6 * * *")]
    winter = due(schedules, T0, T0 + timedelta(days=1), "Europe/Paris")
    summer_start = datetime(2026, 7, 1, tzinfo=UTC)
    summer = due(schedules, summer_start, summer_start + timedelta(days=1), "Europe/Paris")
    assert [datetime(2026, 11, 28, 5, 0, tzinfo=UTC), datetime(2026, 7, 1, 4, 0, tzinfo=UTC)] == [
        winter[0].at,
        summer[0].at,
    ]


def test_an_unknown_time_zone_is_a_config_error(tmp_path):
    """`timezone: Mars/Olympus` is reported at its line with an example of a valid name."""
    path = tmp_path / "settings.yaml"
    path.write_text("version: 1\ntimezone: Mars/Olympus\n")
    doc = parse(path)
    assert validate(doc, settings_model()) is None
    assert "unknown time zone 'Mars/Olympus'" in doc.problems[0].render()
