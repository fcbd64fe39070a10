"""`partnerplan runs`: invocations with start, duration and trigger; `runs show`; `runs failed`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from plans.db import session_scope
from plans.store import RunRow
from worker.cli import run as cli

T = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _add(engine, **values) -> int:
    with session_scope(engine) as session:
        row = RunRow(
            trigger=values.pop("trigger", "cli"),
            stage=values.pop("stage", "sync_stream"),
            created_at=T,
            started_at=values.pop("started_at", T),
            finished_at=values.pop("finished_at", T + timedelta(seconds=90)),
            **values,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _three_runs(engine) -> None:
    for stream, outcome, error in [
        ("opps", "succeeded", None),
        ("leads", "failed", "AuthenticationFailed: the CRM refused the credentials"),
        ("regs", "incomplete", "daily API budget share spent"),
    ]:
        _add(
            engine,
            source="sf",
            stream=stream,
            outcome=outcome,
            error=error,
            records_pulled=7,
            details={"args": {}},
        )


def _base(engine, tmp_path, fmt: str = "json") -> list[str]:
    return ["--database-url", str(engine.url), "--config", str(tmp_path), "--format", fmt]


def test_runs_without_an_invocation_are_listed_one_by_one_newest_first(
    sqlite_engine, tmp_path, capsys
):
    """Runs that share no invocation each make a line; `runs failed` shows only failures."""
    _three_runs(sqlite_engine)
    assert cli(["runs", *_base(sqlite_engine, tmp_path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert cli(["runs", "failed", *_base(sqlite_engine, tmp_path)]) == 0
    failed = json.loads(capsys.readouterr().out)
    assert [3, 2, 1] == [r["invocation"] for r in listed]
    assert [("leads", "AuthenticationFailed: the CRM refused the credentials")] == [
        (r["stream"], r["error"]) for r in failed
    ]


def test_runs_groups_an_invocation_with_start_duration_trigger_and_outcomes(
    sqlite_engine, tmp_path, capsys
):
    """The runs of one `partnerplan run` make one line: first start, whole duration, outcomes."""
    invocation = {"args": {}, "invocation": "cli:1:x"}
    first = _add(sqlite_engine, stream="a", outcome="succeeded", details=invocation)
    _add(
        sqlite_engine,
        stream="b",
        outcome="succeeded",
        records_quarantined=2,
        records_pulled=10,
        details=invocation,
        finished_at=T + timedelta(seconds=150),
    )
    _add(sqlite_engine, stage="compute_progress", outcome="succeeded", details=invocation)
    assert cli(["runs", *_base(sqlite_engine, tmp_path)]) == 0
    (line,) = json.loads(capsys.readouterr().out)
    assert {
        "invocation": first,
        "trigger": "cli",
        "started_at": T.isoformat(),
        "seconds": 150.0,
        "runs": 3,
        "outcomes": {"succeeded": 2, "succeeded with warnings": 1},
        "quarantined": 2,
    } == {
        k: line[k]
        for k in (
            "invocation",
            "trigger",
            "started_at",
            "seconds",
            "runs",
            "outcomes",
            "quarantined",
        )
    }


def test_runs_table_shows_local_start_and_a_readable_duration(sqlite_engine, tmp_path, capsys):
    """The table gives the duration in minutes and seconds and points at `runs show`."""
    _add(sqlite_engine, stream="a", outcome="succeeded", details={"args": {}})
    assert cli(["runs", *_base(sqlite_engine, tmp_path, "table")]) == 0
    out = capsys.readouterr().out
    assert "1 min 30 s" in out and "partnerplan runs show ID" in out


def test_runs_show_lists_every_run_of_the_invocation(sqlite_engine, tmp_path, capsys):
    """`runs show ID` lists the runs of the invocation holding ID, a child run included."""
    parent = _add(sqlite_engine, stage="sync_source", source="sf", outcome="succeeded")
    child = _add(sqlite_engine, stream="opps", source="sf", outcome="succeeded", parent_id=parent)
    _add(sqlite_engine, stream="other", source="sf", outcome="succeeded")
    assert cli(["runs", "show", str(child), *_base(sqlite_engine, tmp_path)]) == 0
    assert [parent, child] == [r["run"] for r in json.loads(capsys.readouterr().out)]


def test_runs_show_an_unknown_id_is_bad_input(sqlite_engine, tmp_path, capsys):
    """A run id the store does not have is exit 2 with a pointer to `runs`."""
    assert cli(["runs", "show", "99", *_base(sqlite_engine, tmp_path)]) == 2
    assert "no run 99 in the store" in capsys.readouterr().err


def test_a_push_row_counts_the_write_calls_that_landed(sqlite_engine, tmp_path, capsys):
    """A push run's API calls are its destinations' write calls, not the zero it recorded."""
    report = {"sent": 5, "landed": 5, "failed": 0, "waiting": 0, "unlinked": 0, "write_calls": 5}
    push = _add(
        sqlite_engine,
        stage="push_progress",
        outcome="succeeded",
        details={"args": {}, "salesforce": report},
    )
    assert cli(["runs", "show", str(push), *_base(sqlite_engine, tmp_path)]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (5, 5, "salesforce: 5 landed, 0 rejected") == (
        row["api_calls"],
        row["records"],
        row["note"],
    )


def test_runs_csv_is_a_header_and_one_line_per_invocation(sqlite_engine, tmp_path, capsys):
    """`--format csv` prints CSV, not a table."""
    _three_runs(sqlite_engine)
    assert cli(["runs", *_base(sqlite_engine, tmp_path, "csv")]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert ["3", "2", "1"] == [r["invocation"] for r in rows]
