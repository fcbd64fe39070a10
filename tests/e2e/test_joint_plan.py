"""Issue 17 end to end: a plan from config is published whole, shared, answered and accepted.

The partner reads the plan in the partner portal (a partner user's session of the sandbox org,
which answers as Salesforce's sharing set would), requests a change with a comment, partnerplan
pulls the response, the config changes a target, the new version goes back to shared, the
partner accepts, and ``plans show --format json`` says who accepted which version when.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from tests.e2e.conftest import Flow, partner_account
from tests.sandbox.helpers import trusting
from worker.cli import run as cli

KEY = "P-00003-2027-Q1"
SOQL = "SELECT Id, Version__c, Status__c FROM Partner_Business_Plan__c WHERE Period__c = '2027-Q1'"
"""What the partner's page reads of the plan (partner users do not see partnerplan's keys)."""
PLAN = {
    "key": KEY,
    "partner": "P-00003",
    "period": "2027-Q1",
    "status": "shared",
    "title": "Partner 3 and us, 2027 Q1",
    "summary": "Grow Platform revenue together.",
    "attachments": [
        {"title": "Signed plan", "path": "plans/files/signed-plan.txt"},
        {"title": "Kick-off deck", "url": "https://example.com/deck.pdf"},
    ],
    "sections": [
        {
            "name": "Sales objectives",
            "summary": "New logos in EMEA.",
            "targets": [
                {"metric": "won_revenue", "value": 150000, "currency": "USD", "weight": 2},
                {"metric": "registrations_submitted", "value": 12},
            ],
            "target_accounts": ["Globex", {"name": "Initech", "notes": "renewal in Q1"}],
        },
        {
            "name": "Joint investment",
            "investments": [
                {
                    "title": "Webinar series",
                    "amount": 20000,
                    "currency": "USD",
                    "vendor_share": 60,
                    "status": "approved",
                }
            ],
        },
        {
            "name": "Action plan",
            "action_items": [
                {"title": "Joint QBR", "due": "2027-02-15", "owner_side": "vendor"},
                {"title": "Certify two engineers", "due": "2027-03-01", "owner_side": "partner"},
            ],
        },
    ],
}


def _write_plan(flow: Flow, revenue: int) -> None:
    plan = json.loads(json.dumps(PLAN))
    plan["sections"][0]["targets"][0]["value"] = revenue
    files = flow.config / "plans" / "files"
    files.mkdir(exist_ok=True)
    (files / "signed-plan.txt").write_text("Signed by both sides.\n")
    text = yaml.safe_dump({"version": 1, "plans": [plan]}, sort_keys=False)
    (flow.config / "plans" / "joint.yaml").write_text(text)


def _partner(flow: Flow, partner_key: str) -> Salesforce:
    """A simple-salesforce client on the partner portal user's session of ``partner_key``."""
    return Salesforce(
        instance_url=flow.sandbox.salesforce_url,
        session_id=flow.sandbox.partner_session(partner_key),
        session=trusting(flow.sandbox.ca_bundle),
    )


def _records(flow: Flow, server: str, name: str) -> list[dict[str, Any]]:
    return [r for r in flow.sandbox.records(server, name) if not r.get("IsDeleted")]


def _show(flow: Flow, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    args = ["plans", "show", KEY, "--format", "json", "--config", str(flow.config)]
    assert 0 == cli([*args, "--database-url", flow.database_url])
    shown: dict[str, Any] = json.loads(capsys.readouterr().out)
    return shown


def _respond(partner: Salesforce, plan: dict[str, Any], kind: str, comment: str = "") -> None:
    partner.Partner_Plan_Response__c.create(
        {
            "Plan__c": plan["Id"],
            "Response__c": kind,
            "Comment__c": comment or None,
            "Plan_Version__c": plan["Version__c"],
        }
    )


@pytest.fixture
def published(make_flow: Any, frozen_as_of: Any) -> Flow:
    """A flow whose config holds the joint plan, run once."""
    flow: Flow = make_flow()
    _write_plan(flow, 150000)
    assert 0 == flow.run()
    return flow


def test_a_config_plan_is_published_whole_to_both_crms(published: Flow):
    """The plan, its 3 sections, 2 targets, 2 actions, 1 line, 2 accounts and 2 files, twice."""
    flow = published
    account = partner_account(flow, "P-00003")
    [plan] = [
        p
        for p in _records(flow, "salesforce", "Partner_Business_Plan__c")
        if p["External_Id__c"] == KEY
    ]
    children = {
        name: sorted(
            r["External_Id__c"]
            for r in _records(flow, "salesforce", name)
            if r.get("Plan__c") == plan["Id"]
        )
        for name in (
            "Partner_Plan_Section__c",
            "Partner_Plan_Progress__c",
            "Partner_Plan_Action__c",
            "Partner_Plan_Investment__c",
            "Partner_Plan_Target_Account__c",
        )
    }
    links = [
        r
        for r in _records(flow, "salesforce", "ContentDocumentLink")
        if r["LinkedEntityId"] == plan["Id"]
    ]
    hs_plan = next(
        r
        for r in flow.sandbox.records("hubspot", "partner_plan")
        if r["properties"]["plan_key"] == KEY
    )
    hs_counts = {
        name: sum(
            1
            for r in flow.sandbox.records("hubspot", name)
            if str(r["properties"].get(key, "")).startswith(KEY + ":")
        )
        for name, key in (
            ("partner_plan_section", "section_key"),
            ("partner_plan_progress", "progress_key"),
            ("partner_plan_action", "action_key"),
            ("partner_plan_investment", "line_key"),
            ("partner_plan_target_account", "account_key"),
        )
    }
    assert ("shared", account, 1.0, "config") == (
        plan["Status__c"],
        plan["Shared_With__c"],
        plan["Version__c"],
        plan["Origin__c"],
    )
    assert {
        "Partner_Plan_Section__c": [
            f"{KEY}:action-plan",
            f"{KEY}:joint-investment",
            f"{KEY}:sales-objectives",
        ],
        "Partner_Plan_Progress__c": [f"{KEY}:registrations_submitted", f"{KEY}:won_revenue"],
        "Partner_Plan_Action__c": [
            f"{KEY}:action-plan:certify-two-engineers",
            f"{KEY}:action-plan:joint-qbr",
        ],
        "Partner_Plan_Investment__c": [f"{KEY}:joint-investment:webinar-series"],
        "Partner_Plan_Target_Account__c": [
            f"{KEY}:sales-objectives:globex",
            f"{KEY}:sales-objectives:initech",
        ],
    } == children
    assert [("AllUsers", "V")] * 2 == [(link["Visibility"], link["ShareType"]) for link in links]
    assert ("shared", "true") == (
        hs_plan["properties"]["status"],
        hs_plan["properties"]["shared_with_partner"],
    )
    assert {
        "partner_plan_section": 3,
        "partner_plan_progress": 2,
        "partner_plan_action": 2,
        "partner_plan_investment": 1,
        "partner_plan_target_account": 2,
    } == hs_counts
    linked = {
        to: len(flow.sandbox.hs_store.links.get(("partner_plan", hs_plan["id"], to), []))
        for to in ("companies", "partner_plan_section", "partner_plan_progress", "notes")
    }
    assert {
        "companies": 1,
        "partner_plan_section": 3,
        "partner_plan_progress": 2,
        "notes": 2,
    } == linked


def test_the_partner_requests_a_change_then_accepts_the_new_version(published: Flow, capsys):
    """changes requested (with the comment) → config edit → version 2 shared → accepted."""
    flow = published
    partner = _partner(flow, "P-00003")
    [plan] = partner.query_all(SOQL)["records"]
    _respond(partner, plan, "request_changes", "Please lower the revenue target to 120k")
    assert 0 == flow.run()
    asked = _show(flow, capsys)
    _write_plan(flow, 120000)
    assert 0 == flow.run()
    [plan] = partner.query_all(SOQL)["records"]
    shared_again = (plan["Status__c"], plan["Version__c"])
    _respond(partner, plan, "accept")
    assert 0 == flow.run()
    accepted = _show(flow, capsys)
    user = flow.sandbox.sf_store.find_by("User", "AccountId", partner_account(flow, "P-00003"))
    assert ("changes_requested", ["Please lower the revenue target to 120k"]) == (
        asked["status"],
        [r["comment"] for r in asked["change_requests"]],
    )
    assert ("shared", 2.0) == shared_again
    assert ("accepted", 2, 2, user[0]["Id"], "Pat Partner 3", []) == (
        accepted["status"],
        accepted["version"],
        accepted["accepted_version"],
        accepted["accepted_by"],
        accepted["accepted_by_name"],
        accepted["change_requests"],
    )
    assert accepted["accepted_at"] is not None


def test_another_partner_cannot_read_the_plan(published: Flow):
    """Partner 1's session finds no plan of partner 3: not in queries, 'not found' by id."""
    flow = published
    [plan] = [
        p
        for p in _records(flow, "salesforce", "Partner_Business_Plan__c")
        if p["External_Id__c"] == KEY
    ]
    other = _partner(flow, "P-00001")
    seen = other.query_all(
        f"SELECT Id FROM Partner_Business_Plan__c WHERE Id = '{plan['Id']}'"  # noqa: S608
    )["totalSize"]
    with pytest.raises(SalesforceResourceNotFound) as raised:
        other.Partner_Business_Plan__c.get(plan["Id"])
    assert 0 == seen
    assert [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ] == raised.value.content


def test_an_unchanged_second_run_writes_nothing(published: Flow):
    """Nothing changed in config or CRM: no write call to either CRM."""
    flow = published
    assert 0 == flow.run()  # reads back what the first run wrote
    flow.sandbox.reset_stats()
    assert 0 == flow.run()
    writes = (
        flow.sandbox.stats("salesforce")["write_calls"],
        flow.sandbox.stats("hubspot")["write_calls"],
    )
    assert (0, 0) == writes


def test_the_plan_show_table_prints_the_whole_plan(published: Flow, capsys):
    """The table form names every section, target, action, line, account and attachment."""
    flow = published
    capsys.readouterr()
    args = ["plans", "show", KEY, "--config", str(flow.config), "--database-url"]
    assert 0 == cli([*args, flow.database_url])
    out = capsys.readouterr().out
    for text in (
        "Partner 3 and us, 2027 Q1",
        "Sales objectives",
        "Closed-won revenue",
        "Webinar series",
        "Certify two engineers",
        "Initech (renewal in Q1)",
        "Signed plan",
        "shared",
    ):
        assert text in out, text


def test_editing_an_accepted_plan_is_announced_then_shared_again_on_the_accepted_targets(
    published: Flow, capsys, monkeypatch
):
    """validate warns first; the run makes version 2, shared; the CRM keeps the accepted target
    value and shows the proposed one beside it."""
    flow = published
    partner = _partner(flow, "P-00003")
    [plan] = partner.query_all(SOQL)["records"]
    _respond(partner, plan, "accept")
    assert 0 == flow.run()
    _write_plan(flow, 180000)
    capsys.readouterr()
    monkeypatch.setenv("DATABASE_URL", flow.database_url)  # validate reads settings.yaml's store
    assert 0 == cli(["validate", "--config", str(flow.config)])
    warned = capsys.readouterr().err
    assert 0 == flow.run()
    shown = _show(flow, capsys)
    [revenue] = [t for t in shown["sections"][0]["targets"] if t["metric"] == "won_revenue"]
    record = next(
        r
        for r in _records(flow, "salesforce", "Partner_Plan_Progress__c")
        if r["External_Id__c"] == f"{KEY}:won_revenue"
    )
    assert "which Pat Partner 3 accepted" in warned
    assert "the next run makes version 2 and shares it with the partner" in warned
    assert ("shared", 2, 1, True) == (
        shown["status"],
        shown["version"],
        shown["accepted_version"],
        shown["locked"],
    )
    assert ("150000", "180000") == (revenue["value"], revenue["proposed"])
    assert (150000, 180000) == (record["Target__c"], record["Proposed_Target__c"])


def test_a_config_plan_edited_in_the_crm_is_reported_not_overwritten_until_resolved(
    published: Flow, capsys
):
    """A manager renames the plan in Salesforce: the run reports it (exit 1), keeps the CRM's
    name and config's; `plans resolve` lets config win on the next run."""
    flow = published
    [plan] = [
        p
        for p in _records(flow, "salesforce", "Partner_Business_Plan__c")
        if p["External_Id__c"] == KEY
    ]
    flow.sandbox.touch("salesforce", "Partner_Business_Plan__c", [plan["Id"]], {"Name": "Ours"})
    _write_plan(flow, 150000)
    capsys.readouterr()
    code = flow.run()
    printed = capsys.readouterr()
    err = " ".join((printed.out + printed.err).split())  # the console wraps long lines
    shown = _show(flow, capsys)
    name_after_run = flow.sandbox.sf_store.find("Partner_Business_Plan__c", plan["Id"])["Name"]
    args = ["plans", "resolve", KEY, "--config", str(flow.config), "--database-url"]
    assert 0 == cli([*args, flow.database_url])
    assert 0 == flow.run()
    resolved = flow.sandbox.sf_store.find("Partner_Business_Plan__c", plan["Id"])["Name"]
    assert (1, "Ours") == (code, name_after_run)
    assert "plan 'P-00003-2027-Q1' was edited in the CRM (title: CRM 'Ours'" in err
    assert {"title": {"crm": "Ours", "pushed": PLAN["title"]}} == shown["conflicts"]["salesforce"][
        "fields"
    ]
    assert PLAN["title"] == resolved


def test_a_response_set_on_the_hubspot_plan_record_is_pulled_like_any_other(
    published: Flow, capsys
):
    """A form sets the plan's response properties in HubSpot: the plan is accepted by that email."""
    flow = published
    [record] = [
        r
        for r in flow.sandbox.records("hubspot", "partner_plan")
        if r["properties"]["plan_key"] == KEY
    ]
    flow.sandbox.touch(
        "hubspot",
        "partner_plan",
        [record["id"]],
        {
            "partner_response": "accept",
            "partner_response_version": "1",
            "partner_responded_by": "pat@partner3.example.com",
            "partner_responded_at": "2026-11-15T09:30:00Z",
        },
    )
    assert 0 == flow.run()
    shown = _show(flow, capsys)
    assert ("accepted", "pat@partner3.example.com", "2026-11-15T09:30:00+00:00") == (
        shown["status"],
        shown["accepted_by"],
        shown["accepted_at"],
    )


def test_an_attachment_is_uploaded_again_only_when_its_content_changes(published: Flow):
    """The signed plan changes: one new version of the same document (Salesforce), the same
    note pointing at a new file (HubSpot); the link attachment is not sent again."""
    flow = published
    sb = flow.sandbox
    documents = len(_records(flow, "salesforce", "ContentDocument"))
    notes = {n["id"]: n["properties"]["hs_attachment_ids"] for n in sb.records("hubspot", "notes")}
    (flow.config / "plans" / "files" / "signed-plan.txt").write_text("Signed, amended.\n")
    sb.reset_stats()
    assert 0 == flow.run()
    versions = sorted(
        (v["Title"], v["VersionNumber"], v["IsLatest"])
        for v in _records(flow, "salesforce", "ContentVersion")
        if v["Title"] in ("Kick-off deck", "Signed plan")
    )
    after = {n["id"]: n["properties"]["hs_attachment_ids"] for n in sb.records("hubspot", "notes")}
    changed = [n for n in notes if notes[n] != after[n]]
    assert documents == len(_records(flow, "salesforce", "ContentDocument"))
    assert [
        ("Kick-off deck", "1", True),
        ("Signed plan", "1", False),
        ("Signed plan", "2", True),
    ] == versions
    assert (set(notes), 1) == (set(after), len(changed))
    assert (1, 2) == (sb.stats("salesforce")["write_calls"], sb.stats("hubspot")["write_calls"])


def test_an_action_removed_from_the_plan_is_removed_from_both_crms(published: Flow):
    """The plan file drops an action item: its record goes (Recycle Bin / archived), once."""
    flow = published
    plan = json.loads(json.dumps(PLAN))
    plan["sections"][2]["action_items"] = plan["sections"][2]["action_items"][:1]
    text = yaml.safe_dump({"version": 1, "plans": [plan]}, sort_keys=False)
    (flow.config / "plans" / "joint.yaml").write_text(text)
    assert 0 == flow.run()
    sf = sorted(
        r["External_Id__c"]
        for r in _records(flow, "salesforce", "Partner_Plan_Action__c")
        if r["External_Id__c"].startswith(KEY)
    )
    hs = sorted(
        r["properties"]["action_key"]
        for r in flow.sandbox.records("hubspot", "partner_plan_action")
        if not r.get("archived") and r["properties"]["action_key"].startswith(KEY)
    )
    flow.sandbox.reset_stats()
    assert 0 == flow.run()
    again = (
        flow.sandbox.stats("salesforce")["write_calls"],
        flow.sandbox.stats("hubspot")["write_calls"],
    )
    assert [f"{KEY}:action-plan:joint-qbr"] == sf == hs
    assert (0, 0) == again
