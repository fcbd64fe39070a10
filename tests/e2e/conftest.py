"""The whole flow against the sandbox: the shipped config, the real connectors, a real store."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from plans.db import make_engine
from plans.store import PlanRow, ProgressRow, RunRow, TargetRow
from sandbox import Sandbox
from tests.conftest import PG_ADMIN_URL
from worker import jobs
from worker.cli import run as cli
from worker.demo import sandbox_env

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden")
ANCHOR = date(2026, 11, 15)
AS_OF = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
"""The sandbox data is generated as of ANCHOR and progress computed as of AS_OF: both fixed,
so the golden file does not move with the calendar."""


@dataclass
class Flow:
    """One configured partnerplan against one sandbox and one store."""

    sandbox: Sandbox
    config: Path
    database_url: str

    def run(self, *args: str) -> int:
        """``partnerplan run`` with this flow's config and store."""
        return cli(
            ["run", "--config", str(self.config), "--database-url", self.database_url, *args]
        )

    def engine(self) -> Engine:
        """An engine on this flow's store."""
        return make_engine(self.database_url)

    def runs(self) -> list[RunRow]:
        """Every run so far, oldest first."""
        with Session(self.engine()) as session:
            return list(session.scalars(select(RunRow).order_by(RunRow.id)))  # type: ignore[arg-type]

    def progress(self) -> list[dict[str, Any]]:
        """Every progress row as the values a CRM user sees, sorted by plan and target."""
        with Session(self.engine()) as session:
            rows = session.execute(
                select(PlanRow.key, TargetRow.key, ProgressRow)
                .join(TargetRow, TargetRow.id == ProgressRow.target_id)  # type: ignore[arg-type]
                .join(PlanRow, PlanRow.id == ProgressRow.plan_id)  # type: ignore[arg-type]
            ).all()
        out = []
        for plan, target, p in rows:
            out.append(
                {
                    "plan": plan,
                    "target_key": target,
                    **{
                        k: None if getattr(p, k) is None else str(getattr(p, k))
                        for k in (
                            "actual",
                            "target",
                            "attainment",
                            "expected_to_date",
                            "forecast",
                            "gap",
                        )
                    },
                    "status": p.status,
                    "activity_count": p.activity_count,
                }
            )
        return sorted(out, key=lambda r: (r["plan"], r["target_key"]))


def partner_account(flow: Flow, partner_key: str) -> str:
    """The Salesforce Account Id of a sandbox partner."""
    return next(
        a["Id"]
        for a in flow.sandbox.records("salesforce", "Account")
        if a.get("Partner_Key__c") == partner_key
    )


def won_q4_deal(flow: Flow, partner_key: str) -> dict[str, Any]:
    """A live opportunity of the partner won in 2026-Q4 (it counts towards Q4 revenue)."""
    account = partner_account(flow, partner_key)
    return next(
        o
        for o in flow.sandbox.records("salesforce", "Opportunity")
        if o["PartnerAccountId"] == account
        and o["IsWon"]
        and not o["IsDeleted"]
        and "2026-10-01" <= o["CloseDate"] < "2027-01-01"
    )


def write_config(target: Path, **hubspot: Any) -> Path:
    """Copy the shipped config, with HubSpot's search lag off so fresh changes are visible,
    and its pace unbound: these sandboxes enforce no rate limit (test_pacing sets its own)."""
    shutil.copytree(REPO / "config", target)
    settings = yaml.safe_load((target / "settings.yaml").read_text())
    unbound = {"window_calls": 1000, "window_seconds": 1, "search_per_second": 1000}
    settings["sources"]["hubspot"].update(
        {"search_lag_seconds": 0, "rate_limits": unbound, **hubspot}
    )
    (target / "settings.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return target


def pg_url(schema: str) -> str:
    """A DATABASE_URL whose connections use ``schema`` (one test, one schema)."""
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def frozen_as_of(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Progress is computed as of AS_OF (runs and heartbeats use the same clock)."""
    monkeypatch.setattr(jobs, "now", lambda: AS_OF)
    return AS_OF


@contextmanager
def make_flow_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch | None = None
) -> Iterator[Callable[..., Flow]]:
    """Build Flows on fresh sandboxes (seed 3, 4 partners, fixed anchor), closed afterwards.

    The sandbox's variables go into the environment through ``monkeypatch`` (a module-scoped
    caller passes none and gets a patch of its own, undone on exit).
    """
    opened: list[Sandbox] = []
    with ExitStack() as stack:
        patch = monkeypatch or stack.enter_context(pytest.MonkeyPatch.context())

        def make(database_url: str | None = None, **sandbox_kwargs: Any) -> Flow:
            kwargs = {"seed": 3, "scale": 4, "anchor": ANCHOR, **sandbox_kwargs}
            sandbox = Sandbox(**kwargs)
            opened.append(sandbox)
            for name, value in sandbox_env(sandbox).items():
                patch.setenv(name, value)
            config = write_config(tmp_path / f"config-{len(opened)}")
            url = database_url or f"sqlite:///{tmp_path / 'store.db'}"
            return Flow(sandbox, config, url)

        try:
            yield make
        finally:
            for sandbox in opened:
                sandbox.close()


@pytest.fixture
def make_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flow]]:
    """Build a Flow on a fresh sandbox (seed 3, 4 partners, fixed anchor) and a store URL."""
    with make_flow_factory(tmp_path, monkeypatch) as make:
        yield make


def check_golden(name: str, actual: Any) -> None:
    """Compare with ``golden/NAME.json``; ``PARTNERPLAN_UPDATE_GOLDEN=1`` rewrites it."""
    path = GOLDEN / f"{name}.json"
    if os.environ.get("PARTNERPLAN_UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    assert json.loads(path.read_text()) == actual
