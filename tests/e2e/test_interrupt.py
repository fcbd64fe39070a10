"""Ctrl-C or SIGTERM mid-run: exit 130 with one line, nothing left running or pending."""

from __future__ import annotations

from typing import Any

from worker import jobs, pipeline


def test_an_interrupted_run_marks_its_runs_and_the_next_run_finishes(
    make_flow, monkeypatch, capsys, frozen_as_of
):
    """The third stream is interrupted: 130, its runs 'interrupted'; the next run completes."""
    flow = make_flow()
    real = pipeline.pull_and_store
    calls: list[str] = []

    def interrupted_third(*args: Any, **kwargs: Any) -> Any:
        calls.append("pull")
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "pull_and_store", interrupted_third)
    assert flow.run() == 130
    err = capsys.readouterr().err
    outcomes = [r.outcome for r in flow.runs()]
    lines = [line for line in err.splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1
    assert outcomes.count(jobs.SUCCEEDED) == 2
    assert jobs.INTERRUPTED in outcomes
    assert not {jobs.PENDING, jobs.RUNNING} & set(outcomes)

    monkeypatch.setattr(pipeline, "pull_and_store", real)
    assert flow.run() == 0
