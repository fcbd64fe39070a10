"""Secrets never travel: a `${VAR}` outside settings.yaml stays text, wherever it would go."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.e2e.conftest import Flow

PLAN = """\
version: 1
plans:
  - key: Q4-${HUBSPOT_TOKEN}
    partner: P-00002
    period: 2026-Q4
    status: active
    sections:
      - name: Sales ${SF_CLIENT_SECRET}
        summary: "Summary ${SF_CLIENT_SECRET}"
        targets:
          - {metric: won_deals, value: 3}
"""


def _store_text(flow: Flow) -> str:
    with flow.engine().connect() as connection:
        tables = [
            "plan",
            "section",
            "target",
            "progress",
            "push_state",
            "run",
            "activity",
            "quarantine",
        ]
        rows = [connection.execute(text(f"SELECT * FROM {table}")).all() for table in tables]  # noqa: S608 (fixed names)
    return json.dumps([[list(map(str, row)) for row in table] for table in rows])


def test_a_reference_in_a_plan_file_never_yields_the_secret(make_flow, capsys, frozen_as_of):
    """Plan key and section keep `${...}` as text: CRMs, store and output never see a secret."""
    flow = make_flow()
    for plan in (flow.config / "plans").glob("*.yaml"):
        if plan.name != "p-00001.yaml":
            plan.unlink()
    (flow.config / "plans" / "q4.yaml").write_text(PLAN)
    assert flow.run() == 0
    captured = capsys.readouterr()
    token, secret = flow.sandbox.hubspot_token, flow.sandbox.salesforce_client_secret
    crm = json.dumps(
        [
            flow.sandbox.records("salesforce", "Partner_Plan_Progress__c"),
            flow.sandbox.records("hubspot", "partner_plan_progress"),
        ],
        default=str,
    )
    keys = {
        r["External_Id__c"] for r in flow.sandbox.records("salesforce", "Partner_Plan_Progress__c")
    }
    everywhere = {"crm": crm, "store": _store_text(flow), "out": captured.out, "err": captured.err}
    assert "Q4-${HUBSPOT_TOKEN}:won_deals" in keys
    assert [] == [where for where, body in everywhere.items() if token in body or secret in body]
