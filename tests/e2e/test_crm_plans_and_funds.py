"""Issue 17 end to end: a plan a channel manager authors in the CRM, and fund utilization.

A plan created in Salesforce (origin crm, a section, a target on a progress record) is pulled
like any stream, computed, and its progress pushed onto the manager's own target record (claimed
with the key progress is upserted by: no duplicate). A plan with a fund-utilization target
computes it from the sandbox's fund allocations and claims, in both CRMs, checked against values
worked out by hand below.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import select
from sqlmodel import Session

from plans.store import PlanRow, ProgressRow, TargetRow
from tests.e2e.conftest import Flow, partner_account


def _crm_plan(flow: Flow) -> tuple[str, str]:
    """A Q1 2027 plan for partner 4 as a channel manager creates it; (plan id, target id)."""
    account = partner_account(flow, "P-00004")
    sb = flow.sandbox
    [plan] = sb.insert(
        "salesforce",
        "Partner_Business_Plan__c",
        [
            {
                "Name": "Partner 4 growth plan",
                "Partner_Account__c": account,
                "Shared_With__c": account,
                "Period__c": "2027-Q1",
                "Start_Date__c": "2027-01-01",
                "End_Date__c": "2027-03-31",
                "Status__c": "shared",
                "Version__c": 1,
                "Origin__c": "crm",
            }
        ],
    )
    [section] = sb.insert(
        "salesforce",
        "Partner_Plan_Section__c",
        [{"Name": "Pipeline", "Plan__c": plan, "Order__c": 1, "Kind__c": "sales_objectives"}],
    )
    [target] = sb.insert(
        "salesforce",
        "Partner_Plan_Progress__c",
        [
            {
                "Name": "Pipeline created",
                "Plan__c": plan,
                "Section__c": section,
                "Metric__c": "pipeline_created",
                "Target__c": 500000,
                "Weight__c": 1,
                "CurrencyIsoCode": "USD",
            }
        ],
    )
    return plan, target


def test_a_plan_authored_in_the_crm_is_computed_and_its_progress_pushed(make_flow, frozen_as_of):
    """The manager's target record gets partnerplan's key and values; no second record appears."""
    flow: Flow = make_flow()
    plan_id, target_id = _crm_plan(flow)
    assert 0 == flow.run()
    records = [
        r
        for r in flow.sandbox.records("salesforce", "Partner_Plan_Progress__c")
        if r["Plan__c"] == plan_id or (r["External_Id__c"] or "").startswith(plan_id)
    ]
    with Session(flow.engine()) as session:
        row = session.scalar(select(PlanRow).where(PlanRow.key == plan_id))
        progress = session.execute(
            select(TargetRow.key, ProgressRow.actual, ProgressRow.status).join(
                ProgressRow, ProgressRow.target_id == TargetRow.id
            )
        ).all()
    assert row is not None
    [record] = records
    computed = {key: (actual, status) for key, actual, status in progress}
    assert ("crm", "shared") == (row.origin, row.status)
    assert (target_id, f"{plan_id}:{target_id}") == (record["Id"], record["External_Id__c"])
    assert Decimal(str(record["Actual__c"])) == computed[target_id][0]
    assert record["Status__c"] == computed[target_id][1]


FUND_PLAN = {
    "key": "P-00001-2027-Q1",
    "partner": "P-00001",
    "period": "2027-Q1",
    "status": "active",
    "sections": [
        {
            "name": "Joint investment",
            "targets": [
                {"metric": "fund_utilization", "value": 80},
                {"metric": "funds_claimed", "value": 10000, "currency": "USD"},
            ],
        }
    ],
}


def _funds(flow: Flow) -> None:
    """Q1 2027 funds of partner 1, in both CRMs (amounts worked out in the test below)."""
    sb = flow.sandbox
    account = partner_account(flow, "P-00001")
    [budget] = sb.insert(
        "salesforce",
        "PartnerMarketingBudget",
        [{"Title": "2027 MDF", "Amount": 100000, "StartDate": "2027-01-01",
          "EndDate": "2027-12-31", "CurrencyIsoCode": "USD"}],
    )  # fmt: skip
    sb.insert(
        "salesforce",
        "PartnerFundAllocation",
        [
            {"Title": "Q1 demand gen", "BudgetId": budget, "ChannelPartnerId": account,
             "Amount": 10000, "CurrencyIsoCode": "USD"},
            {"Title": "Q1 events", "BudgetId": budget, "ChannelPartnerId": account,
             "Amount": 5000, "CurrencyIsoCode": "USD"},
        ],
    )  # fmt: skip
    [request] = sb.insert(
        "salesforce",
        "PartnerFundRequest",
        [{"Title": "Webinars", "BudgetId": budget, "ChannelPartnerId": account,
          "RequestedAmount": 8000, "Amount": 7000, "Status": "Approved",
          "StartDate": "2027-01-15", "CurrencyIsoCode": "USD"}],
    )  # fmt: skip
    claimed = datetime(2027, 2, 10, 12, tzinfo=UTC).isoformat()
    sb.insert(
        "salesforce",
        "PartnerFundClaim",
        [
            {"Title": "Webinar 1", "RequestId": request, "ChannelPartnerId": account,
             "Amount": 4000, "Status": "Approved", "CurrencyIsoCode": "USD",
             "CreatedDate": claimed},
            {"Title": "Webinar 2", "RequestId": request, "ChannelPartnerId": account,
             "Amount": 2000, "Status": "Submitted", "CurrencyIsoCode": "USD",
             "CreatedDate": claimed},
            {"Title": "Lunch", "RequestId": request, "ChannelPartnerId": account,
             "Amount": 1000, "Status": "Rejected", "CurrencyIsoCode": "USD",
             "CreatedDate": claimed},
        ],
    )  # fmt: skip
    company = "10000000000"  # partner P-00001's company (sandbox/DATA.md)
    sb.insert(
        "hubspot",
        "partner_funds",
        [
            {"fund_name": "Q1 co-op", "record_type": "allocation", "amount": "5000",
             "currency": "USD", "fund_date": "2027-01-05", "partner_company_id": company},
            {"fund_name": "Q1 co-op claim", "record_type": "claim", "status": "submitted",
             "amount": "1000", "currency": "USD", "fund_date": "2027-03-01",
             "partner_company_id": company},
        ],
    )  # fmt: skip


def test_fund_utilization_is_computed_from_allocations_and_claims(make_flow, frozen_as_of, capsys):
    """Allocated 10,000 + 5,000 (Salesforce) + 5,000 (HubSpot) = 20,000; claimed (submitted or
    approved; the rejected 1,000 does not count) 4,000 + 2,000 + 1,000 = 7,000: utilization 35 %
    of an 80 % target (attainment 0.4375), and 7,000 of a 10,000 claim target."""
    flow: Flow = make_flow()
    (flow.config / "plans" / "funds.yaml").write_text(
        yaml.safe_dump({"version": 1, "plans": [FUND_PLAN]}, sort_keys=False)
    )
    _funds(flow)
    assert 0 == flow.run()
    with Session(flow.engine()) as session:
        rows = session.execute(
            select(TargetRow.key, ProgressRow.actual, ProgressRow.attainment)
            .join(ProgressRow, ProgressRow.target_id == TargetRow.id)
            .join(PlanRow, PlanRow.id == TargetRow.plan_id)
            .where(PlanRow.key == "P-00001-2027-Q1")
        ).all()
    got: dict[str, Any] = {key: (actual, attainment) for key, actual, attainment in rows}
    assert {
        "fund_utilization": (Decimal("35.0000"), Decimal("0.4375")),
        "funds_claimed": (Decimal("7000.0000"), Decimal("0.7000")),
    } == got
