"""`partnerplan runs` and `runs failed`: the run history and the dead-letter listing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from plans.db import session_scope
from plans.store import RunRow
from worker.cli import run as cli

T = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_runs_lists_newest_first_and_failed_lists_only_failures(sqlite_engine, tmp_path, capsys):
    """Every run is listed with its counts; `runs failed` shows only runs that failed for good."""
    with session_scope(sqlite_engine) as session:
        for stream, outcome, error in [
            ("opps", "succeeded", None),
            ("leads", "failed", "AuthenticationFailed: the CRM refused the credentials"),
            ("regs", "incomplete", "daily API budget share spent"),
        ]:
            session.add(
                RunRow(
                    trigger="cli",
                    stage="sync_stream",
                    source="sf",
                    stream=stream,
                    outcome=outcome,
                    error=error,
                    created_at=T,
                    records_pulled=7,
                )
            )
    url = str(sqlite_engine.url)
    base = ["--database-url", url, "--config", str(tmp_path), "--format", "json"]
    assert cli(["runs", *base]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert cli(["runs", "failed", *base]) == 0
    failed = json.loads(capsys.readouterr().out)
    assert [r["stream"] for r in listed] == ["regs", "leads", "opps"]
    assert [(r["stream"], r["error"]) for r in failed] == [
        ("leads", "AuthenticationFailed: the CRM refused the credentials")
    ]
