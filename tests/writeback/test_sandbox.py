"""Write-back against the sandbox CRMs with the real connectors: what lands, and what it costs."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import Session

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSource
from connectors.retry import RetryPolicy
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSource
from connectors.wire import parse_timestamp
from plans.store import ProgressRow, PushStateRow
from tests.writeback.helpers import T0, seed, set_actual
from tests.writeback.test_push import KINDS, shipped
from worker import jobs
from writeback import push
from writeback.config import WritebackFile

NO_SLEEP = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.001, sleep=lambda _s: None)


def connectors_for(sb):
    sf = SalesforceSource.model_validate(
        {
            "type": "salesforce",
            "instance_url": sb.salesforce_url,
            "ca_bundle": sb.ca_bundle,
            "auth": {"flow": "session", "session_id": SecretStr(sb.salesforce_session_id)},
        }
    )
    hs = HubSpotSource.model_validate(
        {"type": "hubspot", "base_url": sb.hubspot_url, "token": SecretStr(sb.hubspot_token)}
    )
    return {
        "salesforce": SalesforceConnector("salesforce", sf, retry=NO_SLEEP),
        "hubspot": HubSpotConnector("hubspot", hs, retry=NO_SLEEP),
    }


def partner_ids(sb):
    """The sandbox's partner Account ids and company ids, in partner-key order."""
    accounts = sorted(
        (a["Partner_Key__c"], a["Id"])
        for a in sb.records("salesforce", "Account")
        if a.get("Partner_Key__c")
    )
    companies = sorted(
        (c["properties"]["partner_key"], c["id"])
        for c in sb.records("hubspot", "companies")
        if c["properties"].get("partner_key")
    )
    return [i for _, i in accounts], [i for _, i in companies]


def progress_only() -> WritebackFile:
    model = shipped()
    return WritebackFile(
        destinations={
            name: dest.model_copy(update={"rollup": None})
            for name, dest in model.destinations.items()
        }
    )


def run_push(session, writeback, connectors, now=T0):
    plans = push.plan(session, writeback, KINDS, {}, now)
    summary = push.push(session, plans, connectors.__getitem__, now)
    session.flush()
    return summary


def writes(sb):
    return sb.stats("salesforce")["write_calls"], sb.stats("hubspot")["write_calls"]


def _number(value):
    return None if value in (None, "") else Decimal(str(value))


def test_every_target_has_exactly_one_record_in_each_crm_with_its_values(sandbox, sqlite_engine):
    """After a push, each target's progress record holds the stored values, field by field."""
    sf_ids, hs_ids = partner_ids(sandbox)
    connectors = connectors_for(sandbox)
    with Session(sqlite_engine) as session:
        seed(session, partners=2, targets=3, sf_ids=sf_ids, hs_ids=hs_ids)
        summary = run_push(session, shipped(), connectors)
        stored = {(row.plan_id, row.target_id): row for row in session.scalars(select(ProgressRow))}
    assert summary.outcome == jobs.SUCCEEDED
    sf_records = sandbox.records("salesforce", "Partner_Plan_Progress__c")
    hs_records = sandbox.records("hubspot", "partner_plan_progress")
    sf_keys = sorted(r["External_Id__c"] for r in sf_records)
    hs_keys = sorted(r["properties"]["progress_key"] for r in hs_records)
    expected_keys = sorted(f"P-0000{p}-2026:t000{t}" for p in (1, 2) for t in range(3))
    assert (expected_keys, expected_keys) == (sf_keys, hs_keys)
    row = next(iter(stored.values()))
    for record in sf_records:
        assert _number(record["Actual__c"]) == row.actual
        assert _number(record["Attainment__c"]) == row.attainment * 100
        assert _number(record["Gap__c"]) == row.gap
        assert record["Status__c"] == row.status
        assert parse_timestamp(record["Computed_At__c"]) == row.computed_at
    for record in hs_records:
        props = record["properties"]
        assert _number(props["actual"]) == row.actual
        assert _number(props["expected_to_date"]) == row.expected_to_date
        assert parse_timestamp(props["data_as_of"]) == row.data_as_of
    companies = {
        r["properties"]["progress_key"]: (r.get("associations") or {}).get("companies")
        for r in hs_records
    }
    assert companies == {
        f"P-0000{p}-2026:t000{t}": [hs_ids[p - 1]] for p in (1, 2) for t in range(3)
    }
    accounts = {a["Id"]: a for a in sandbox.records("salesforce", "Account")}
    assert _number(accounts[sf_ids[0]]["Plan_Score__c"]) == Decimal("62.50")
    assert accounts[sf_ids[0]]["Plan_Status__c"] == "on_track"


def test_a_push_with_nothing_changed_makes_no_write_call(sandbox, sqlite_engine):
    """The second push of unchanged progress sends nothing to either CRM."""
    sf_ids, hs_ids = partner_ids(sandbox)
    connectors = connectors_for(sandbox)
    with Session(sqlite_engine) as session:
        seed(session, partners=2, targets=3, sf_ids=sf_ids, hs_ids=hs_ids)
        run_push(session, shipped(), connectors)
        before = writes(sandbox)
        run_push(session, shipped(), connectors)
    assert before == writes(sandbox)


def test_one_changed_target_sends_one_record_per_crm(sandbox, sqlite_engine):
    """Changing one target's actual writes that record only, in one call per CRM."""
    sf_ids, hs_ids = partner_ids(sandbox)
    connectors = connectors_for(sandbox)
    with Session(sqlite_engine) as session:
        seeded = seed(session, partners=2, targets=3, sf_ids=sf_ids, hs_ids=hs_ids)
        run_push(session, shipped(), connectors)
        before = writes(sandbox)
        set_actual(session, seeded.target_ids[2], Decimal("999.25"))
        summary = run_push(session, shipped(), connectors)
    after = writes(sandbox)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
    assert (summary.details["salesforce"]["sent"], summary.details["hubspot"]["sent"]) == (1, 1)
    sf = {r["External_Id__c"]: r for r in sandbox.records("salesforce", "Partner_Plan_Progress__c")}
    assert sf["P-00001-2026:t0002"]["Actual__c"] == 999.25


@pytest.mark.slow
def test_a_thousand_changed_targets_cost_the_fewest_write_calls(sandbox, sqlite_engine):
    """1,000 changed targets: ceil(1000/200) Salesforce and ceil(1000/100) HubSpot write calls."""
    sf_ids, hs_ids = partner_ids(sandbox)
    connectors = connectors_for(sandbox)
    with Session(sqlite_engine) as session:
        seed(session, partners=1, targets=1000, sf_ids=sf_ids, hs_ids=hs_ids)
        run_push(session, progress_only(), connectors)
        for row in session.scalars(select(ProgressRow)):
            row.actual = Decimal("1.25")
        session.flush()
        before = writes(sandbox)
        summary = run_push(session, progress_only(), connectors)
    after = writes(sandbox)
    assert (after[0] - before[0], after[1] - before[1]) == (
        math.ceil(1000 / 200),
        math.ceil(1000 / 100),
    )
    assert (summary.details["salesforce"]["landed"], summary.details["hubspot"]["landed"]) == (
        1000,
        1000,
    )


def test_injected_record_failures_land_later_and_the_rest_land_now(sandbox, sqlite_engine):
    """Per-record faults: others land, the failed are recorded, and land once the fault clears."""
    sf_ids, hs_ids = partner_ids(sandbox)
    connectors = connectors_for(sandbox)
    bad = "P-00002-2026:t0001"
    sandbox.set_faults("salesforce", fail_ids=[bad])
    sandbox.set_faults("hubspot", fail_ids=[bad])
    with Session(sqlite_engine) as session:
        seed(session, partners=2, targets=3, sf_ids=sf_ids, hs_ids=hs_ids)
        first = run_push(session, progress_only(), connectors)
        failed = {
            s.destination: s
            for s in session.scalars(select(PushStateRow).where(PushStateRow.record_key == bad))
        }
        sf_keys = {
            r["External_Id__c"] for r in sandbox.records("salesforce", "Partner_Plan_Progress__c")
        }
        hs_keys = {
            r["properties"]["progress_key"]
            for r in sandbox.records("hubspot", "partner_plan_progress")
        }
        assert first.outcome == jobs.INCOMPLETE
        assert (len(sf_keys), bad in sf_keys, len(hs_keys), bad in hs_keys) == (5, False, 5, False)
        assert all(s.last_error and s.attempts == 1 for s in failed.values())
        sandbox.clear_faults("salesforce")
        sandbox.clear_faults("hubspot")
        later = run_push(session, progress_only(), connectors, now=T0 + push.BACKOFF)
        rows = list(
            session.scalars(select(PushStateRow).where(PushStateRow.last_error.is_not(None)))
        )
    assert (later.outcome, rows) == (jobs.SUCCEEDED, [])
    assert len(sandbox.records("salesforce", "Partner_Plan_Progress__c")) == 6
    assert len(sandbox.records("hubspot", "partner_plan_progress")) == 6
