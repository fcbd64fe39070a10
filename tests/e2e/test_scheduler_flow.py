"""The scheduler without Redis: it runs the due slots itself, once per slot."""

from __future__ import annotations

import yaml

from worker.cli import run as cli
from worker.project import load_project


def test_in_process_scheduler_runs_the_due_slot_once(make_flow):
    """`scheduler --once` with an every-minute sync runs every stream once, then computes."""
    flow = make_flow()
    path = flow.config / "settings.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["schedules"] = [{"cron": "* * * * *"}]
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    args = [
        "scheduler",
        "--once",
        "--config",
        str(flow.config),
        "--database-url",
        flow.database_url,
    ]
    assert cli(args) == 0
    runs = flow.runs()
    streams = [r.stream for r in runs if r.stage == "sync_stream"]
    assert sorted(streams) == sorted(load_project(flow.config).mappings.streams)
    assert {r.stage for r in runs} == {
        "sync_source",
        "sync_stream",
        "compute_progress",
        "push_progress",
    }
    assert {r.outcome for r in runs} == {"succeeded"}
    assert all(r.trigger.startswith("schedule:") for r in runs)
