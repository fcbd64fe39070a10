"""Data freshness: each stream's last successful sync, stale when too old or never synced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from plans.db import session_scope
from plans.store import RunRow
from worker import jobs
from worker.freshness import stream_freshness

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _run(stream: str, outcome: str, finished: datetime) -> RunRow:
    return RunRow(
        trigger="t",
        stage="sync_stream",
        source="sf",
        stream=stream,
        outcome=outcome,
        created_at=finished,
        finished_at=finished,
    )


def test_stale_when_last_success_is_old_or_missing(engine, monkeypatch):
    """Fresh within the window; stale past it, after only failures, or never synced."""
    monkeypatch.setattr(jobs, "now", lambda: NOW)
    with session_scope(engine) as session:
        session.add(_run("opps", jobs.SUCCEEDED, NOW - timedelta(minutes=30)))
        session.add(_run("leads", jobs.SUCCEEDED, NOW - timedelta(hours=5)))
        session.add(_run("regs", jobs.SUCCEEDED, NOW - timedelta(hours=5)))
        session.add(_run("regs", jobs.FAILED, NOW - timedelta(minutes=5)))
    streams = [("sf", "opps"), ("sf", "leads"), ("sf", "regs"), ("sf", "certs")]
    with session_scope(engine) as session:
        rows = stream_freshness(session, streams, stale_after=timedelta(hours=2))
    assert [(r.stream, r.stale, r.last_outcome) for r in rows] == [
        ("opps", False, "succeeded"),
        ("leads", True, "succeeded"),
        ("regs", True, "failed"),
        ("certs", True, None),
    ]
