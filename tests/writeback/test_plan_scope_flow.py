"""`partnerplan run` against the sandbox: plans synced once a run, only changed plans built."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import AS_OF, Flow, make_flow_factory, won_q4_deal
from worker import jobs, pipeline, runner
from writeback import planpush
from writeback.planparts import Bundle


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    """The shipped config (its plans pushed to both CRMs) on a fresh sandbox, as of AS_OF."""
    monkeypatch.setattr(jobs, "now", lambda: AS_OF)
    with make_flow_factory(tmp_path, monkeypatch) as make:
        yield make()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """How often the plans are synced, and which plans each plan push built."""
    seen: dict[str, Any] = {"sync_plans": 0, "built": []}
    sync, build = runner.sync_plans, planpush.build

    def syncing(*args: Any, **kwargs: Any) -> set[int]:
        seen["sync_plans"] += 1
        return sync(*args, **kwargs)

    def building(*args: Any, **kwargs: Any) -> Bundle:
        bundle = build(*args, **kwargs)
        seen["built"].append({r.plan for r in bundle.records})
        return bundle

    monkeypatch.setattr(runner, "sync_plans", syncing)
    monkeypatch.setattr(pipeline, "sync_plans", syncing)
    monkeypatch.setattr(planpush, "build", building)
    return seen


def _raise_target(flow: Flow) -> None:
    """Raise P-00003's 2026-Q4 revenue target in config (its template gets an override)."""
    path = flow.config / "plans" / "2026-q4-programs.yaml"
    text = path.read_text()
    override = "P-00006: {skip: true}"
    assert override in text
    raised = "P-00003: {targets: {won_revenue: {value: 80000}}}"
    path.write_text(text.replace(override, f"{override}\n      {raised}"))


def test_a_run_syncs_the_plans_once_and_builds_only_the_changed_plans(
    flow: Flow, counted: dict[str, Any]
):
    """A first run builds every plan; after one deal changes (its progress moves, its plans'
    scores do not), the run syncs the plans once and its push builds no plan; then a plan's
    terms change and only that plan is built, in each CRM."""
    assert 0 == flow.run()
    first = (counted["sync_plans"], len(counted["built"]), bool(counted["built"][0]))
    deal = won_q4_deal(flow, "P-00001")
    flow.sandbox.touch("salesforce", "Opportunity", [deal["Id"]], {"Amount": deal["Amount"] + 7})
    counted.update(sync_plans=0, built=[])
    assert 0 == flow.run()
    changed = (counted["sync_plans"], counted["built"])
    counted.update(sync_plans=0, built=[])
    _raise_target(flow)
    assert 0 == flow.run()
    assert (1, 2, True) == first  # one sync; a build per CRM, every plan
    assert 1 == changed[0]
    assert set() == set().union(*changed[1])  # its plans' scores did not move: none built
    assert (1, [{"P-00003-2026-Q4"}] * 2) == (counted["sync_plans"], counted["built"])
