"""The plan push: one upsert per part and CRM batch, parents first, diff-only, conflicts held."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from plans.planfile import load_plans
from plans.planstore import sync_plans
from plans.store import PartnerLinkRow, PartnerRow, PlanRow, PushStateRow, TargetRow
from tests.plans.factories import catalogue
from tests.writeback.helpers import FakeConnector
from writeback.config import WritebackFile
from writeback.planpush import Publication, push_plans

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
KINDS = {"salesforce": "salesforce"}
UNITS = {"won_revenue": "money", "new_logos": "count"}
WRITEBACK = WritebackFile.model_validate({"destinations": {"salesforce": {"plans": {}}}})


def _plan(key: str, partner: str, sections: int = 1, summary: str = "Grow.") -> dict[str, Any]:
    return {
        "key": key,
        "partner": partner,
        "period": "2027-Q1",
        "status": "shared",
        "sections": [
            {
                "name": f"Section {n}",
                "summary": summary if n == 0 else "",
                "targets": [{"metric": "new_logos", "value": 3}] if n == 0 else [],
                "action_items": [{"title": "Joint QBR", "due": "2027-02-15"}] if n == 0 else [],
                "investments": (
                    [{"title": "Webinars", "amount": 1000, "currency": "USD", "vendor_share": 50}]
                    if n == 0
                    else []
                ),
                "target_accounts": ["Globex"] if n == 0 else [],
            }
            for n in range(sections)
        ],
    }


def linked_store(engine: Engine, tmp_path: Path) -> Callable[[Session, list[dict[str, Any]]], None]:
    """Two partners linked in Salesforce in ``engine``; a function that syncs plan dicts into
    the store."""
    with Session(engine) as session:
        for n, key in enumerate(("P-1", "P-2")):
            partner = PartnerRow(key=key, name=key)
            session.add(partner)
            session.flush()
            assert partner.id is not None
            session.add(
                PartnerLinkRow(partner_id=partner.id, source="salesforce", record_id=f"001P{n}")
            )
        session.commit()

    def sync(session: Session, plans: list[dict[str, Any]]) -> None:
        folder = tmp_path / "config"
        (folder / "plans").mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump({"version": 1, "plans": plans})
        (folder / "plans" / "p.yaml").write_text(text)
        loaded, problems = load_plans(Path(folder), catalogue(), fiscal_year_start_month=1)
        assert loaded is not None, problems
        sync_plans(session, loaded, NOW)

    return sync


@pytest.fixture
def store(sqlite_engine, tmp_path):
    """Two partners linked in Salesforce; a function that syncs plan dicts into the store."""
    return linked_store(sqlite_engine, tmp_path)


def _push(session: Session, connector: FakeConnector) -> Any:
    return push_plans(session, WRITEBACK, KINDS, lambda _: connector, UNITS, NOW)


def test_each_part_goes_in_one_call_parents_first_set_by_key(sqlite_engine, store):
    """Two plans: plans, sections, actions, lines, accounts: five calls; parents by key."""
    connector = FakeConnector()
    with Session(sqlite_engine) as session:
        store(session, [_plan("A", "P-1"), _plan("B", "P-2")])
        summary = _push(session, connector)
    objects = [(o, len(records)) for o, _, records in connector.upserts]
    section = connector.upserts[1][2][0]
    assert ("succeeded", 5) == (summary.outcome, connector.write_calls)
    assert [
        ("Partner_Business_Plan__c", 2),
        ("Partner_Plan_Section__c", 2),
        ("Partner_Plan_Action__c", 2),
        ("Partner_Plan_Investment__c", 2),
        ("Partner_Plan_Target_Account__c", 2),
    ] == objects
    assert {"Plan__r": {"External_Id__c": "A"}, "External_Id__c": "A:section-0"} == {
        k: section[k] for k in ("Plan__r", "External_Id__c")
    }


def test_a_shared_plan_is_shared_with_its_partner_account(sqlite_engine, store):
    """Shared: Shared_With__c is the partner's Account; the status and version go along."""
    connector = FakeConnector()
    with Session(sqlite_engine) as session:
        store(session, [_plan("A", "P-1")])
        _push(session, connector)
    plan = connector.upserts[0][2][0]
    assert ("001P0", "001P0", "shared", 1) == (
        plan["Partner_Account__c"],
        plan["Shared_With__c"],
        plan["Status__c"],
        plan["Version__c"],
    )


def test_an_unchanged_second_push_sends_nothing(sqlite_engine, store):
    """Nothing changed since the last push: no call at all."""
    connector = FakeConnector()
    with Session(sqlite_engine) as session:
        store(session, [_plan("A", "P-1")])
        _push(session, connector)
        again = FakeConnector()
        _push(session, again)
    assert (0, []) == (again.write_calls, again.upserts)


def test_an_edited_summary_re_sends_only_its_section(sqlite_engine, store):
    """One section's summary changes: one call, with that one record."""
    with Session(sqlite_engine) as session:
        store(session, [_plan("A", "P-1")])
        _push(session, FakeConnector())
        store(session, [_plan("A", "P-1", summary="Grow faster.")])
        again = FakeConnector()
        _push(session, again)
    assert [("Partner_Plan_Section__c", ["A:section-0"])] == [
        (o, [r["External_Id__c"] for r in records]) for o, _, records in again.upserts
    ]


def test_201_sections_go_in_two_calls(sqlite_engine, store):
    """Batches are the CRM's largest: 201 records of one part take two calls, not more."""
    connector = FakeConnector()
    with Session(sqlite_engine) as session:
        store(session, [_plan("A", "P-1", sections=201)])
        _push(session, connector)
    sections = [records for o, _, records in connector.upserts if o == "Partner_Plan_Section__c"]
    assert ([200, 1], 6) == ([len(r) for r in sections], connector.write_calls)


def test_a_plan_edited_in_the_crm_is_held_and_reported(sqlite_engine, store):
    """A conflict: the plan's own record is not written over; the push says so."""
    connector = FakeConnector()
    with Session(sqlite_engine) as session:
        store(session, [_plan("A", "P-1")])
        row = session.scalars(select(PlanRow)).one()
        row.conflicts = {
            "salesforce": {
                "record_id": "a0F1",
                "fields": {"title": {"crm": "Renamed", "pushed": "A"}},
            }
        }
        summary = _push(session, connector)
    objects = [o for o, _, _ in connector.upserts]
    assert "Partner_Business_Plan__c" not in objects
    assert "incomplete" == summary.outcome
    assert "plan 'A' was edited in the CRM (title: CRM 'Renamed'" in (summary.error or "")


def test_a_targets_place_travels_with_its_values(sqlite_engine, store):
    """The progress push gets each target's plan and section by key, unit and weight."""
    with Session(sqlite_engine) as session:
        store(session, [_plan("A", "P-1")])
        publication = Publication(session, WRITEBACK, KINDS, lambda _: FakeConnector(), UNITS, NOW)
        publication.prepare()
        plan = session.scalars(select(PlanRow)).one()
        target = session.scalars(select(TargetRow)).one()
        place = publication.placement("salesforce", plan, target)
        states = len(session.scalars(select(PushStateRow)).all())
    assert {
        "Plan__r": {"External_Id__c": "A"},
        "Section__r": {"External_Id__c": "A:section-0"},
        "Unit__c": "count",
        "Weight__c": 1,
        "Proposed_Target__c": None,
    } == {k: v for k, v in (place or {}).items()}
    assert 0 == states  # preparing sends nothing and records nothing
