"""After `partnerplan run`, each CRM shows exactly what `partnerplan status` shows."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from partnerplan.worker.cli import run as cli

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
