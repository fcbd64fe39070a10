"""plans show's data: the whole plan from the store, and CRM-authored plans read from activities."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import yaml
from sqlmodel import Session

from plans.crmplans import read_crm
from plans.planfile import load_plans
from plans.planstore import sync_plans
from plans.show import plan_view
from tests.plans.factories import activity, add_activities, add_partners, catalogue

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
PLAN = {
    "key": "P-1-Q1",
    "partner": "P-1",
    "period": "2027-Q1",
    "status": "shared",
    "title": "Joint plan",
    "summary": "Together.",
    "attachments": [{"title": "Deck", "url": "https://example.com/deck.pdf"}],
    "sections": [
        {
            "name": "Sales objectives",
            "summary": "Grow.",
            "targets": [{"metric": "won_deals", "value": 5}],
            "target_accounts": [{"name": "Initech", "notes": "renewal"}],
        },
        {
            "name": "Joint investment",
            "investments": [{"title": "Webinars", "amount": 1000, "currency": "USD"}],
        },
        {"name": "Action plan", "action_items": [{"title": "QBR", "due": "2027-02-01"}]},
    ],
}


def _store(session: Session, tmp_path: Path) -> int:
    partner = add_partners(session, "P-1")["P-1"]
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "p.yaml").write_text(yaml.safe_dump({"version": 1, "plans": [PLAN]}))
    plans, problems = load_plans(tmp_path, catalogue(), fiscal_year_start_month=1)
    assert plans is not None, problems
    sync_plans(session, plans, NOW)
    return partner


def test_the_view_holds_every_part_of_the_plan_and_its_funds(sqlite_engine, tmp_path):
    """Sections in order with targets, accounts, lines (the plan's and the period's funds),
    actions; the change request still open; attachments."""
    with Session(sqlite_engine) as session:
        partner = _store(session, tmp_path)
        add_activities(
            session,
            [
                activity(
                    partner,
                    "fund",
                    status="allocated",
                    amount=5000,
                    occurred_on=date(2027, 1, 10),
                    attributes={"fund_type": "allocation", "title": "Q1 MDF"},
                ),
                activity(
                    partner,
                    "fund",
                    status="approved",
                    amount=900,
                    occurred_on=date(2027, 1, 12),
                    attributes={"fund_type": "approval"},
                ),
                activity(
                    partner,
                    "plan_response",
                    status="request_changes",
                    attributes={
                        "plan_key": "P-1-Q1",
                        "comment": "More MDF",
                        "version": 1,
                        "by": "005X",
                        "at": "2026-11-14T10:00:00+00:00",
                    },
                ),
            ],
        )
        sync_plans(session, load_plans(tmp_path, catalogue(), fiscal_year_start_month=1)[0], NOW)
        view = plan_view(session, "P-1-Q1", catalogue())
    assert view is not None
    data = view.as_dict()
    sections = data["sections"]
    assert ("changes_requested", 1, ["More MDF"]) == (
        data["status"],
        data["version"],
        [r["comment"] for r in data["change_requests"]],
    )
    assert ["Sales objectives", "Joint investment", "Action plan"] == [s["name"] for s in sections]
    assert (["won_deals"], ["Initech"]) == (
        [t["key"] for t in sections[0]["targets"]],
        [a["name"] for a in sections[0]["accounts"]],
    )
    assert [("Webinars", "plan"), ("Q1 MDF", "fund_allocation")] == [
        (i["title"], i["source"]) for i in sections[1]["investments"]
    ]
    assert (["QBR"], [{"title": "Deck", "url": "https://example.com/deck.pdf"}]) == (
        [a["title"] for a in sections[2]["actions"]],
        data["attachments"],
    )


def test_a_crm_plan_is_built_from_its_records(sqlite_engine):
    """A CRM plan record, its section and target become a plan keyed by the record's id."""
    with Session(sqlite_engine) as session:
        partner = add_partners(session, "P-1")["P-1"]
        add_activities(
            session,
            [
                activity(
                    partner,
                    "plan",
                    record_id="a0F1",
                    status="shared",
                    attributes={
                        "key": None,
                        "origin": "crm",
                        "title": "Manager's plan",
                        "period": "2027-Q1",
                        "status": "shared",
                    },
                ),
                activity(
                    partner,
                    "plan_section",
                    record_id="a0G1",
                    attributes={
                        "plan": "a0F1",
                        "title": "Pipeline",
                        "order": 1,
                        "kind": "sales_objectives",
                    },
                ),
                activity(
                    partner,
                    "plan_target",
                    record_id="a0E1",
                    attributes={
                        "plan": "a0F1",
                        "section": "a0G1",
                        "metric": "pipeline_created",
                        "value": "250000",
                        "currency": "USD",
                        "external": None,
                    },
                ),
            ],
        )
        [plan] = read_crm(session).plans
    [target] = plan.targets
    assert ("a0F1", "crm", "Manager's plan", "2027-Q1") == (
        plan.key,
        plan.origin,
        plan.title,
        plan.period.name,
    )
    assert ("a0E1", "Pipeline", "pipeline_created", Decimal(250000)) == (
        target.key,
        target.section,
        target.metric,
        target.value,
    )
    assert {"a0E1": {"record_id": "a0E1", "external": None}} == (plan.crm or {})["targets"]
