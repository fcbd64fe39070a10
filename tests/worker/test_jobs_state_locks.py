"""Durable runs, watermarks and stream locks: the parts that make the worker restartable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from connectors.base import Watermark
from plans.db import session_scope
from plans.store import RunRow
from worker import jobs, locks, state

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _pending(engine) -> int:
    with session_scope(engine) as session:
        run = jobs.create(session, "sync_stream", trigger="test", source="sf", stream="opps")
        assert run.id is not None
        return run.id


def test_a_run_is_claimed_once_even_when_delivered_twice(engine):
    """At-least-once delivery: the second delivery of a claimed run does nothing."""
    run_id = _pending(engine)
    first = jobs.claim(engine, run_id)
    second = jobs.claim(engine, run_id)
    assert (first is not None, second) == (True, None)
    assert first.outcome == jobs.RUNNING and first.attempts == 1


def test_a_finished_run_is_never_executed_again(engine):
    """A redelivered message for a finished run is ignored."""
    run_id = _pending(engine)
    jobs.claim(engine, run_id)
    with session_scope(engine) as session:
        jobs.finish(session, run_id, jobs.SUCCEEDED)
    assert jobs.claim(engine, run_id) is None


def test_a_run_whose_worker_died_becomes_claimable(engine, monkeypatch):
    """A running run that stopped heartbeating (kill -9) is claimed again after STALE_AFTER."""
    run_id = _pending(engine)
    monkeypatch.setattr(jobs, "now", lambda: T0)
    jobs.claim(engine, run_id)
    monkeypatch.setattr(jobs, "now", lambda: T0 + jobs.STALE_AFTER - timedelta(seconds=1))
    assert jobs.claim(engine, run_id) is None
    monkeypatch.setattr(jobs, "now", lambda: T0 + jobs.STALE_AFTER + timedelta(seconds=1))
    again = jobs.claim(engine, run_id)
    assert again is not None and again.attempts == 2


def test_stale_lists_lost_messages_and_dead_workers(engine, monkeypatch):
    """Pending runs nobody picked up and running runs without heartbeat are found for re-send."""
    monkeypatch.setattr(jobs, "now", lambda: T0)
    lost, dead, fresh = _pending(engine), _pending(engine), _pending(engine)
    jobs.claim(engine, dead)
    monkeypatch.setattr(jobs, "now", lambda: T0 + timedelta(minutes=10))
    jobs.claim(engine, fresh)
    with Session(engine) as session:
        found = {r.id for r in jobs.stale(session, pending_for=timedelta(minutes=5))}
    assert found == {lost, dead}


def test_heartbeat_adds_counts(engine):
    """Counts accumulate page by page on the run row."""
    run_id = _pending(engine)
    with session_scope(engine) as session:
        jobs.heartbeat(session, run_id, records_pulled=2000, api_calls=1)
        jobs.heartbeat(session, run_id, records_pulled=150, api_calls=1)
    with Session(engine) as session:
        run = session.get(RunRow, run_id)
    assert (run.records_pulled, run.api_calls) == (2150, 2)


def test_watermark_only_moves_forward(engine):
    """Re-storing an older page (overlap, redelivery) never moves the watermark back."""
    newer = Watermark(T0 + timedelta(minutes=5), "006B")
    with session_scope(engine) as session:
        state.advance(session, "sf", "opps", Watermark(T0, "006A"))
        state.advance(session, "sf", "opps", newer)
        state.advance(session, "sf", "opps", Watermark(T0 + timedelta(minutes=5), "006A"))
    with Session(engine) as session:
        assert state.watermark(session, "sf", "opps") == newer


def test_watermark_rolls_back_with_its_page(engine):
    """A page whose transaction fails leaves the watermark where it was."""
    with session_scope(engine) as session:
        state.advance(session, "sf", "opps", Watermark(T0, "006A"))
    try:
        with session_scope(engine) as session:
            state.advance(session, "sf", "opps", Watermark(T0 + timedelta(hours=1), "006Z"))
            raise RuntimeError("crash while storing the page")
    except RuntimeError:
        pass
    with Session(engine) as session:
        assert state.watermark(session, "sf", "opps") == Watermark(T0, "006A")


def test_stream_lock_excludes_a_second_holder(engine):
    """Two syncs of one stream never overlap; other streams are not blocked."""
    with (
        locks.exclusive(engine, "stream:sf:opps") as first,
        locks.exclusive(engine, "stream:sf:opps") as second,
        locks.exclusive(engine, "stream:sf:leads") as other,
    ):
        assert (first, second, other) == (True, False, True)
    with locks.exclusive(engine, "stream:sf:opps") as after:
        assert after is True


def test_waiting_lock_queues_behind_the_holder(engine):
    """A compute waits for the one before it instead of overlapping it."""
    import threading

    order: list[str] = []
    second_trying = threading.Event()

    def second() -> None:
        second_trying.set()
        with locks.exclusive(engine, "compute", wait=True) as taken:
            order.append(f"second in ({taken})")

    with locks.exclusive(engine, "compute", wait=True):
        order.append("first in")
        thread = threading.Thread(target=second)
        thread.start()
        second_trying.wait(10)
        thread.join(timeout=0.5)  # observe it blocked, not a readiness wait
        blocked = thread.is_alive()
        order.append("first out")
    thread.join(10)
    assert blocked is True
    assert order == ["first in", "first out", "second in (True)"]
