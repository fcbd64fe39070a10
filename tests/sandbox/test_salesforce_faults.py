"""Each Salesforce fault, seen through the unmodified simple-salesforce as the real API shows it."""

from __future__ import annotations

import time

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from sandbox import Sandbox
from tests.sandbox.conftest import API_VERSION
from tests.sandbox.helpers import sample, shape_differences, trusting

PAGED = "SELECT Id, SystemModstamp FROM Opportunity ORDER BY SystemModstamp, Id"
SMALL_PAGES = {"Sforce-Query-Options": "batchSize=200"}


def test_rate_limit_after_n_calls(sandbox: Sandbox, sf: Salesforce):
    """After N calls the next answers 429 with Retry-After (count-limited), then service resumes."""
    sandbox.set_faults("salesforce", rate_limit_after=1, rate_limit_count=1, retry_after=7)
    sf.query("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert (429, "REQUEST_LIMIT_EXCEEDED") == (
        caught.value.status,
        caught.value.content[0]["errorCode"],
    )
    assert 1 == sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"]


def test_rate_limit_answer_carries_retry_after(sandbox: Sandbox, ca_env: str):
    """The 429 response carries Retry-After and Sforce-Limit-Info headers."""
    sandbox.set_faults("salesforce", rate_limit_after=0, retry_after=7)
    answer = trusting(sandbox.ca_bundle).get(
        f"{sandbox.salesforce_url}/services/data/v{API_VERSION}/limits",
        headers={"Authorization": f"Bearer {sandbox.salesforce_session_id}"},
    )
    assert (429, "7") == (answer.status_code, answer.headers["Retry-After"])
    assert answer.headers["Sforce-Limit-Info"].startswith("api-usage=1/")


def test_server_error_burst(sandbox: Sandbox, sf: Salesforce):
    """A burst of 503s hits exactly the configured calls; the call after it succeeds."""
    sandbox.set_faults("salesforce", server_error_after=1, server_error_count=2)
    outcomes = []
    for _ in range(4):
        try:
            sf.query("SELECT Id FROM Account LIMIT 1")
            outcomes.append(200)
        except SalesforceGeneralError as exc:
            outcomes.append(exc.status)
    assert [200, 503, 503, 200] == outcomes


def test_latency(sandbox: Sandbox, sf: Salesforce):
    """Injected latency delays every answer by at least the configured time."""
    sandbox.set_faults("salesforce", latency_ms=150)
    started = time.monotonic()
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert time.monotonic() - started >= 0.15


def test_session_expiry_mid_paging_with_a_session_id(sandbox: Sandbox, sf: Salesforce):
    """With a bare session id, expiry after N calls surfaces as SalesforceExpiredSession
    (INVALID_SESSION_ID, the reference body) in the middle of query_all_iter."""
    sandbox.set_faults("salesforce", expire_session_after=2, page_size=50)
    rows = []
    with pytest.raises(SalesforceExpiredSession) as caught:
        rows.extend(sf.query_all_iter(PAGED))
    assert 100 == len(rows)
    assert sample("sf-error-401-invalid-session.json") == caught.value.content


def test_session_expiry_is_survived_by_a_login_flow(sandbox: Sandbox, ca_env: str):
    """With the client-credentials login the library logs in again on INVALID_SESSION_ID and the
    paged query completes."""
    port = sandbox.salesforce_url.rsplit(":", 1)[1]
    sf = Salesforce(
        consumer_key=sandbox.salesforce_client_id,
        consumer_secret=sandbox.salesforce_client_secret,
        domain=f"127.0.0.1:{port}/login",
        session=trusting(sandbox.ca_bundle),
        version=API_VERSION,
    )
    sandbox.set_faults("salesforce", expire_session_after=2, page_size=50)
    rows = list(sf.query_all_iter(PAGED))
    expected = len([r for r in sandbox.records("salesforce", "Opportunity") if not r["IsDeleted"]])
    assert expected == len(rows) == len({r["Id"] for r in rows})


def test_daily_budget_spent(sandbox: Sandbox, sf: Salesforce):
    """Once the daily budget is spent the API answers 403 REQUEST_LIMIT_EXCEEDED, and
    Sforce-Limit-Info told the client how close it was."""
    sandbox.set_faults("salesforce", api_budget=2)
    sf.query("SELECT Id FROM Account LIMIT 1")
    sf.query("SELECT Id FROM Account LIMIT 1")
    usage = sf.api_usage["api-usage"]
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert (2, 2) == (usage.used, usage.total)
    assert [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ] == (caught.value.content)


def test_query_timeout_for_one_object(sf: Salesforce, sandbox: Sandbox):
    """QUERY_TIMEOUT hits queries of the named object only."""
    sandbox.set_faults("salesforce", query_timeout=["Opportunity"])
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Opportunity")
    assert "QUERY_TIMEOUT" == caught.value.content[0]["errorCode"]
    assert 1 == sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"]


def test_invalid_query_locator(sandbox: Sandbox, sf: Salesforce):
    """The N-th query-more answers INVALID_QUERY_LOCATOR after the pages before it were served."""
    sandbox.set_faults("salesforce", invalid_locator_after=2, page_size=50)
    rows = []
    with pytest.raises(SalesforceMalformedRequest) as caught:
        rows.extend(sf.query_all_iter(PAGED))
    assert (100, "INVALID_QUERY_LOCATOR") == (len(rows), caught.value.content[0]["errorCode"])


def test_evicted_cursor_is_an_invalid_locator(sandbox: Sandbox, sf: Salesforce):
    """Opening more cursors than an org keeps invalidates the oldest one."""
    first = sf.query(PAGED, headers=SMALL_PAGES)
    for _ in range(20):
        sf.query(PAGED, headers=SMALL_PAGES)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert "INVALID_QUERY_LOCATOR" == caught.value.content[0]["errorCode"]


def test_partial_failures_in_collections(sandbox: Sandbox, sf: Salesforce):
    """fail_ids and fail_every reject chosen records inside an otherwise successful collection."""
    partner = sandbox.records("salesforce", "Account")[0]["Id"]
    sandbox.set_faults("salesforce", fail_ids=["k1"], fail_every=3)
    records = [
        {
            "attributes": {"type": "Partner_Plan_Progress__c"},
            "External_Id__c": f"k{n}",
            "Partner_Account__c": partner,
        }
        for n in range(6)
    ]
    path = "composite/sobjects/Partner_Plan_Progress__c/External_Id__c"
    results = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": records})
    written = [
        r["External_Id__c"] for r in sandbox.records("salesforce", "Partner_Plan_Progress__c")
    ]
    assert [True, False, False, True, True, False] == [r["success"] for r in results]
    assert ["k0", "k3", "k4"] == written
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" == results[1]["errors"][0]["statusCode"]


def test_records_change_while_a_sync_pages(sandbox: Sandbox, sf: Salesforce):
    """After page 1 someone edits 5 rows already served: this pass does not see them again, the
    next incremental pass from the watermark does."""
    sandbox.set_faults(
        "salesforce", change_after_page=1, change_object="Opportunity", change_count=5
    )
    first_pass = list(sf.query_all_iter(PAGED, headers=SMALL_PAGES))
    watermark = first_pass[-1]["SystemModstamp"].replace(".000+0000", "Z")
    incremental = (
        "SELECT Id FROM Opportunity WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id"
    )
    again = sf.query_all_iter(incremental.format(watermark))
    changed = {r["Id"] for r in again}
    assert len(first_pass) == len({r["Id"] for r in first_pass})
    assert {r["Id"] for r in first_pass[:200]} >= changed - {first_pass[-1]["Id"]}
    assert 5 == len(changed - {first_pass[-1]["Id"]})


def test_faults_over_http_and_unknown_keys(sandbox: Sandbox, ca_env: str):
    """POST /__sandbox/faults sets the same spec as set_faults; an unknown key is refused (400)."""
    session = trusting(sandbox.ca_bundle)
    url = f"{sandbox.salesforce_url}/__sandbox/faults"
    accepted = session.post(url, json={"latency_ms": 5})
    refused = session.post(url, json={"latency": 5})
    assert (200, 5) == (accepted.status_code, accepted.json()["latency_ms"])
    assert 400 == refused.status_code and "latency" in refused.json()["message"]
    assert 5 == sandbox.stats("salesforce")["faults"]["latency_ms"]
    assert (
        200 == session.delete(url).status_code
        and 0 == sandbox.stats("salesforce")["faults"]["latency_ms"]
    )


def test_stats_count_calls_records_and_writes(sandbox: Sandbox, sf: Salesforce, ca_env: str):
    """Stats count calls by endpoint, records served and write calls; reset zeroes them."""
    sandbox.reset_stats()
    list(sf.query_all_iter("SELECT Id FROM Lead", headers=SMALL_PAGES))
    sf.Account.update(sandbox.records("salesforce", "Account")[0]["Id"], {"Plan_Status__c": "x"})
    body = trusting(sandbox.ca_bundle).get(f"{sandbox.salesforce_url}/__sandbox/stats").json()
    leads = len([r for r in sandbox.records("salesforce", "Lead") if not r["IsDeleted"]])
    assert (leads, 1) == (body["records_served"]["Lead"], body["write_calls"])
    assert body["total_calls"] == sum(body["calls_by_endpoint"].values()) == -(-leads // 200) + 1
    assert [] == shape_differences(
        {"calls_by_endpoint": {}, "records_served": {}}, sandbox.stats("salesforce")
    )


def test_faults_can_be_on_from_the_start(make_sandbox, ca_env: str):
    """Faults given at start are active on the very first call."""
    sb = make_sandbox(seed=1, scale=1, faults={"salesforce": {"server_error_after": 0}})
    sf = Salesforce(
        instance_url=sb.salesforce_url,
        session_id=sb.salesforce_session_id,
        session=trusting(sb.ca_bundle),
        version=API_VERSION,
    )
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert 503 == caught.value.status
