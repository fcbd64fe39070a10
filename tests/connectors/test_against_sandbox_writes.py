"""Batched writes against the sandbox CRMs: what they cost, and what a partial failure reports.

Calls are counted by the sandbox itself (``sb.stats``), and what landed is read back from its
store (``sb.records``), so neither side of an assertion comes from the connector under test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox import Sandbox
from tests.connectors.against import hubspot, salesforce

SF_OBJECT, SF_KEY = "Partner_Plan_Progress__c", "External_Id__c"
HS_OBJECT, HS_KEY = "partner_plan_progress", "progress_key"
SF_UPSERT = r"PATCH composite/sobjects/(\w+)/(\w+)"
HS_UPSERT = r"POST /crm/v3/objects/([\w-]+)/batch/upsert"
COMPUTED = datetime(2026, 4, 1, 6, 30, tzinfo=UTC)


def _key(n: int) -> str:
    return f"PLAN-2026Q2-P-{n // 10:05d}-m{n % 10}"


def _sf_rows(sb: Sandbox, count: int) -> list[dict[str, Any]]:
    account = next(a["Id"] for a in sb.records("salesforce", "Account") if a.get("IsPartner"))
    return [
        {
            SF_KEY: _key(n),
            "Partner_Account__c": account,
            "Plan_Key__c": "PLAN-2026Q2",
            "Metric__c": "sourced_revenue",
            "Target__c": Decimal("250000.10"),
            "Actual__c": Decimal(n) + Decimal("0.01"),
            "Status__c": "on_track",
            "Computed_At__c": COMPUTED,
        }
        for n in range(count)
    ]


def _hs_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            HS_KEY: _key(n),
            "plan_key": "PLAN-2026Q2",
            "metric": "sourced_revenue",
            "target": Decimal("250000.10"),
            "actual": Decimal(n) + Decimal("0.01"),
            "status": "on_track",
            "computed_at": COMPUTED,
        }
        for n in range(count)
    ]


def _calls(sb: Sandbox, server: str, endpoint: str) -> tuple[int, int]:
    stats = sb.stats(server)
    return stats["total_calls"], stats["calls_by_endpoint"].get(endpoint, 0)


def test_upserting_1000_progress_rows_costs_exactly_5_salesforce_calls(sandbox):
    """1,000 rows by External_Id__c: five Collections calls of 200, every row landed exactly."""
    rows = _sf_rows(sandbox, 1000)
    results = salesforce(sandbox).upsert(SF_OBJECT, SF_KEY, rows)
    assert (5, 5) == _calls(sandbox, "salesforce", SF_UPSERT)
    assert [_key(n) for n in range(1000)] == [r.key for r in results]
    assert all(r.ok and r.created for r in results)
    landed = {r[SF_KEY]: r for r in sandbox.records("salesforce", SF_OBJECT)}
    assert 1000 == len(landed)
    assert Decimal("999.01") == Decimal(str(landed[_key(999)]["Actual__c"]))
    again = salesforce(sandbox).upsert(SF_OBJECT, SF_KEY, rows)
    assert (10, 10) == _calls(sandbox, "salesforce", SF_UPSERT)
    assert all(r.ok and r.created is False for r in again)


def test_a_salesforce_partial_failure_reports_exactly_the_failed_rows_and_the_rest_land(sandbox):
    """Rows the org rejects inside a batch come back failed, by key; all others are written."""
    failing = [_key(7), _key(421), _key(999)]
    sandbox.set_faults("salesforce", fail_ids=failing)
    results = salesforce(sandbox).upsert(SF_OBJECT, SF_KEY, _sf_rows(sandbox, 1000))
    assert (5, 5) == _calls(sandbox, "salesforce", SF_UPSERT)
    assert failing == [r.key for r in results if not r.ok]
    assert all(r.error for r in results if not r.ok)
    landed = {r[SF_KEY] for r in sandbox.records("salesforce", SF_OBJECT)}
    assert {_key(n) for n in range(1000)} - set(failing) == landed


def test_upserting_1000_progress_rows_costs_exactly_10_hubspot_calls(sandbox):
    """1,000 rows by progress_key: ten batch upserts of 100, every row landed exactly."""
    results = hubspot(sandbox).upsert(HS_OBJECT, HS_KEY, _hs_rows(1000))
    assert (10, 10) == _calls(sandbox, "hubspot", HS_UPSERT)
    assert [_key(n) for n in range(1000)] == [r.key for r in results]
    assert all(r.ok and r.created for r in results)
    landed = {r["properties"][HS_KEY]: r for r in sandbox.records("hubspot", HS_OBJECT)}
    assert 1000 == len(landed)
    assert Decimal("999.01") == Decimal(landed[_key(999)]["properties"]["actual"])
    assert Decimal("250000.10") == Decimal(landed[_key(0)]["properties"]["target"])


def test_a_hubspot_partial_failure_reports_exactly_the_failed_rows_and_the_rest_land(sandbox):
    """A 207 names the failed inputs: exactly those are reported; the other 997 are written."""
    failing = [_key(7), _key(421), _key(999)]
    sandbox.set_faults("hubspot", fail_ids=failing)
    results = hubspot(sandbox).upsert(HS_OBJECT, HS_KEY, _hs_rows(1000))
    assert (10, 10) == _calls(sandbox, "hubspot", HS_UPSERT)
    assert failing == [r.key for r in results if not r.ok]
    assert all(r.error for r in results if not r.ok)
    landed = {r["properties"][HS_KEY] for r in sandbox.records("hubspot", HS_OBJECT)}
    assert {_key(n) for n in range(1000)} - set(failing) == landed


def test_a_hubspot_batch_rejected_whole_is_split_until_the_bad_row_is_alone(sandbox):
    """One invalid value makes HubSpot refuse its whole batch: only that row fails, 999 land."""
    rows = _hs_rows(1000)
    rows[250]["actual"] = "twelve"
    results = hubspot(sandbox).upsert(HS_OBJECT, HS_KEY, rows)
    assert [_key(250)] == [r.key for r in results if not r.ok]
    assert "twelve" in (results[250].error or "")
    landed = {r["properties"][HS_KEY] for r in sandbox.records("hubspot", HS_OBJECT)}
    assert 999 == len(landed)
    total, upserts = _calls(sandbox, "hubspot", HS_UPSERT)
    assert total == upserts
    # 9 good batches, the bad one once, then two calls per halving: 100, 50, 25, 12, 6, 3 -> 1
    assert 9 + 1 + 2 * 6 == upserts


def test_progress_records_are_associated_with_their_company_and_a_bad_pair_is_isolated(sandbox):
    """One unknown company fails alone and the other 149 pairs land (bisection, exact calls)."""
    connector = hubspot(sandbox)
    landed = connector.upsert(HS_OBJECT, HS_KEY, _hs_rows(150))
    company = next(
        c["id"]
        for c in sandbox.records("hubspot", "companies")
        if c["properties"].get("is_partner") == "true"
    )
    pairs = [(str(r.record_id), company) for r in landed]
    pairs[7] = (pairs[7][0], "99999999999")
    sandbox.reset_stats()
    results = connector.associate(HS_OBJECT, "companies", pairs)
    failed = [r.key for r in results if not r.ok]
    associated = {
        r["id"]
        for r in sandbox.records("hubspot", HS_OBJECT)
        if company in (r.get("associations") or {}).get("companies", [])
    }
    assert failed == [f"{pairs[7][0]}:99999999999"]
    assert associated == {a for a, _ in pairs} - {pairs[7][0]}
    # batch of 100 rejected, then both halves at each of 7 levels (100→50→…→1); batch of 50 ok
    assert sandbox.stats("hubspot")["total_calls"] == 1 + 2 * 7 + 1
