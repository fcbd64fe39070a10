"""Quarantined records: a few make a run "succeeded with warnings", too many fail it."""

from __future__ import annotations

import pytest

from plans.db import session_scope
from plans.store import RunRow
from worker import verdict


def _run(engine, pulled: int, quarantined: int) -> int:
    with session_scope(engine) as session:
        row = RunRow(
            trigger="cli",
            stage="sync_stream",
            outcome="running",
            records_pulled=pulled,
            records_quarantined=quarantined,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


@pytest.mark.parametrize(
    ("pulled", "quarantined", "outcome"),
    [(100, 0, "succeeded"), (100, 10, "succeeded"), (100, 31, "failed"), (0, 0, "succeeded")],
)
def test_a_sync_above_the_allowed_share_of_quarantined_records_fails(
    sqlite_engine, pulled, quarantined, outcome
):
    """With max_quarantined_share 10 %, 31 of 100 quarantined fails; 10 of 100 does not."""
    run_id = _run(sqlite_engine, pulled, quarantined)
    assert outcome == verdict.judge(sqlite_engine, run_id, "succeeded", None, 0.1)[0]


def test_the_failure_says_how_many_and_what_to_do(sqlite_engine):
    """The error names the counts, the share and the commands that fix it."""
    run_id = _run(sqlite_engine, 1000, 310)
    _, error = verdict.judge(sqlite_engine, run_id, "succeeded", None, 0.1)
    assert "310 of 1,000 records quarantined (31%)" in (error or "")
    assert "partnerplan quarantine retry" in (error or "")


def test_a_succeeded_run_with_quarantined_records_shows_warnings():
    """The store keeps `succeeded`; people read `succeeded with warnings`."""
    clean = RunRow(trigger="cli", stage="sync_stream", outcome="succeeded")
    warned = RunRow(trigger="cli", stage="sync_stream", outcome="succeeded", records_quarantined=3)
    assert ["succeeded", "succeeded with warnings"] == [verdict.shown(clean), verdict.shown(warned)]
