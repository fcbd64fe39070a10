"""After `partnerplan run`, each CRM shows exactly what `partnerplan status` shows."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tests.e2e.conftest import Flow, partner_account, won_q4_deal
from worker.cli import run as cli

FIELDS = {  # status JSON field → (Salesforce field, HubSpot property), as config/writeback.yaml
    "target_value": ("Target__c", "target"),
    "actual": ("Actual__c", "actual"),
    "expected_to_date": ("Expected_To_Date__c", "expected_to_date"),
    "forecast": ("Forecast__c", "forecast"),
    "gap": ("Gap__c", "gap"),
    "status": ("Status__c", "status"),
    "period": ("Period__c", "period"),
    "metric": ("Metric__c", "metric"),
}


def _same(expected: Any, value: Any) -> bool:
    if expected is None:
        return value in (None, "")
    try:
        return Decimal(str(expected)) == Decimal(str(value))
    except ArithmeticError:
        return str(expected) == str(value)


def test_every_active_target_has_one_record_per_crm_equal_to_status(make_flow, capsys):
    """Field by field, the CRMs' progress records equal `status --format json`."""
    flow = make_flow()
    assert flow.run() == 0
    capsys.readouterr()
    args = ["status", "--format", "json", "--config", str(flow.config)]
    assert cli([*args, "--database-url", flow.database_url]) == 0
    lines = [line for line in json.loads(capsys.readouterr().out) if line["partner_linked"]]
    sf = {
        r["External_Id__c"]: r
        for r in flow.sandbox.records("salesforce", "Partner_Plan_Progress__c")
    }
    hs = {
        r["properties"]["progress_key"]: r["properties"]
        for r in flow.sandbox.records("hubspot", "partner_plan_progress")
    }
    keys = {f"{line['plan']}:{line['target']}" for line in lines}
    mismatches = []
    for line in lines:
        key = f"{line['plan']}:{line['target']}"
        for name, (sf_field, hs_field) in FIELDS.items():
            if not _same(line[name], sf[key][sf_field]):
                mismatches.append((key, sf_field, line[name], sf[key][sf_field]))
            if not _same(line[name], hs[key][hs_field]):
                mismatches.append((key, hs_field, line[name], hs[key][hs_field]))
        if line["attainment"] is not None:
            percent = Decimal(str(line["attainment"])) * 100
            if not _same(percent, sf[key]["Attainment__c"]):
                mismatches.append((key, "Attainment__c", percent, sf[key]["Attainment__c"]))
    assert len(keys) >= 10
    assert (set(sf), set(hs)) == (keys, keys)
    assert mismatches == []


def test_one_changed_opportunity_pushes_only_the_targets_it_affects(make_flow, frozen_as_of):
    """A won Q4 deal's amount changes: only its partner's affected targets are re-sent."""
    flow = make_flow()
    assert flow.run() == 0
    p1 = partner_account(flow, "P-00001")
    deal = won_q4_deal(flow, "P-00001")
    before = {
        r["External_Id__c"]: r["Actual__c"]
        for r in flow.sandbox.records("salesforce", "Partner_Plan_Progress__c")
    }
    rollup_before = _rollup(flow, p1)
    flow.sandbox.reset_stats()
    flow.sandbox.touch("salesforce", "Opportunity", [deal["Id"]], {"Amount": deal["Amount"] + 1000})
    assert flow.run() == 0
    after = {
        r["External_Id__c"]: r["Actual__c"]
        for r in flow.sandbox.records("salesforce", "Partner_Plan_Progress__c")
    }
    changed = {key for key in after if after[key] != before.get(key)}
    rollup_changed = _rollup(flow, p1) != rollup_before
    push = [r for r in flow.runs() if r.stage == "push_progress"][-1]
    sent = push.details["salesforce"]["sent"]
    assert changed and all(key.startswith("P-00001-") for key in changed)
    assert sent == len(changed) + rollup_changed
    assert flow.sandbox.stats("salesforce")["write_calls"] == 1 + rollup_changed


def _rollup(flow: Flow, account_id: str) -> tuple[Any, Any]:
    account = next(
        a for a in flow.sandbox.records("salesforce", "Account") if a["Id"] == account_id
    )
    return account["Plan_Score__c"], account["Plan_Status__c"]
