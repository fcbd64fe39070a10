"""Quarantined records: a few make a run "succeeded with warnings", too many fail it."""

from __future__ import annotations

import pytest

from plans.db import session_scope
from plans.store import QuarantineRow, RunRow
from tests.plans.factories import activity, add_activities
from worker import verdict


def _stream(engine, stored: int, quarantined: int, this_run: int) -> int:
    """A stream `opps` of source `test` with stored and quarantined records, and its sync run."""
    with session_scope(engine) as session:
        add_activities(
            session, [activity(None, "opportunity", stream="opps") for _ in range(stored)]
        )
        session.add_all(
            QuarantineRow(
                source="test", stream="opps", object="Opportunity", record_id=f"q{n}", reason="x"
            )
            for n in range(quarantined)
        )
        row = RunRow(
            trigger="cli",
            stage="sync_stream",
            source="test",
            stream="opps",
            outcome="running",
            records_pulled=max(this_run, 1),
            records_quarantined=this_run,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


@pytest.mark.parametrize(
    ("stored", "quarantined", "this_run", "outcome"),
    [
        (100, 0, 0, "succeeded"),
        (90, 10, 10, "succeeded"),  # 10 % of the stream: at the limit, a warning
        (69, 31, 31, "failed"),  # a first sync that could not map 31 %
        (9_999, 1, 1, "succeeded"),  # an incremental whose one pulled record failed
    ],
)
def test_a_sync_fails_when_its_stream_has_too_many_quarantined_records(
    sqlite_engine, stored, quarantined, this_run, outcome
):
    """With max_quarantined_share 10 %: 31 % of the stream fails it, 1 in 10,000 does not."""
    run_id = _stream(sqlite_engine, stored, quarantined, this_run)
    assert outcome == verdict.judge(sqlite_engine, run_id, "succeeded", None, 0.1)[0]


def test_the_failure_says_how_many_and_what_to_do(sqlite_engine):
    """The error names the counts, the share and the commands that fix it."""
    run_id = _stream(sqlite_engine, 690, 310, 310)
    _, error = verdict.judge(sqlite_engine, run_id, "succeeded", None, 0.1)
    assert "310 of the stream's 1,000 records are quarantined (31%)" in (error or "")
    assert "partnerplan quarantine retry" in (error or "")


def test_a_succeeded_run_with_quarantined_records_shows_warnings():
    """The store keeps `succeeded`; people read `succeeded with warnings`."""
    clean = RunRow(trigger="cli", stage="sync_stream", outcome="succeeded")
    warned = RunRow(trigger="cli", stage="sync_stream", outcome="succeeded", records_quarantined=3)
    assert ["succeeded", "succeeded with warnings"] == [verdict.shown(clean), verdict.shown(warned)]
