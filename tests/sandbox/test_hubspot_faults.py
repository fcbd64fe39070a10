"""Each HubSpot fault, seen through the unmodified hubspot-api-client as the real API shows it."""

from __future__ import annotations

import time

import hubspot
import orjson
import pytest
import urllib3
from hubspot.crm.deals import PublicObjectSearchRequest
from hubspot.crm.deals.exceptions import ApiException, ServiceException, UnauthorizedException
from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInputUpsert
from urllib3.util.retry import Retry

from sandbox import Sandbox
from tests.sandbox.helpers import sample, shape_differences


def test_rate_limit_after_n_calls_with_headers(sandbox: Sandbox, hs: hubspot.Client):
    """After N calls the client gets ApiException(429) with the TEN_SECONDLY_ROLLING body,
    Remaining 0 and Retry-After (a POST, so urllib3's default Retry does not retry it)."""
    sandbox.set_faults("hubspot", rate_limit_after=1, retry_after=2)
    api = hs.crm.deals.search_api
    api.do_search(public_object_search_request=PublicObjectSearchRequest(limit=1))
    with pytest.raises(ApiException) as caught:
        api.do_search(public_object_search_request=PublicObjectSearchRequest(limit=1))
    body = orjson.loads(caught.value.body)
    reference = sample("hs-error-429-ten-secondly-rolling.json")
    assert (429, []) == (caught.value.status, shape_differences(reference, body))
    headers = caught.value.headers
    assert ("0", "2") == (headers["X-HubSpot-RateLimit-Remaining"], headers["Retry-After"])


def test_a_retrying_client_recovers_from_a_burst_of_429s(sandbox: Sandbox):
    """With urllib3 Retry on 429 (POST allowed) a search survives two rate-limited answers."""
    sandbox.set_faults("hubspot", rate_limit_after=0, rate_limit_count=2, retry_after=0)
    retry = Retry(total=3, backoff_factor=0, status_forcelist=(429,), allowed_methods=None)
    client = hubspot.Client.create(
        access_token=sandbox.hubspot_token, host=sandbox.hubspot_url, retry=retry
    )
    page = client.crm.deals.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(limit=1)
    )
    assert (1, 3) == (len(page.results), sandbox.stats("hubspot")["total_calls"])


def test_daily_budget_spent_answers_429_daily(sandbox: Sandbox, hs: hubspot.Client):
    """Past the daily budget every call gets 429 with policyName DAILY and Daily-Remaining 0."""
    sandbox.set_faults("hubspot", api_budget=1)
    hs.crm.deals.basic_api.get_page(limit=1)
    with pytest.raises(ApiException) as caught:
        hs.crm.deals.basic_api.get_page(limit=1)
    assert ("DAILY", "0") == (
        orjson.loads(caught.value.body)["policyName"],
        caught.value.headers["X-HubSpot-RateLimit-Daily-Remaining"],
    )


def test_server_error_burst(sandbox: Sandbox, hs: hubspot.Client):
    """A 502 burst raises ServiceException for exactly the configured calls."""
    sandbox.set_faults(
        "hubspot", server_error_after=0, server_error_count=2, server_error_status=502
    )
    statuses = []
    for _ in range(3):
        try:
            hs.crm.deals.basic_api.get_page(limit=1)
            statuses.append(200)
        except ServiceException as exc:
            statuses.append(exc.status)
    assert [502, 502, 200] == statuses


def test_expired_token(sandbox: Sandbox, hs: hubspot.Client):
    """After N calls the token is refused: UnauthorizedException (401)."""
    sandbox.set_faults("hubspot", expire_session_after=1)
    hs.crm.deals.basic_api.get_page(limit=1)
    with pytest.raises(UnauthorizedException):
        hs.crm.deals.basic_api.get_page(limit=1)


def test_search_timeout(sandbox: Sandbox, hs: hubspot.Client):
    """A timed-out search answers 504 (a ServiceException); other types still search."""
    sandbox.set_faults("hubspot", query_timeout=["deals"])
    with pytest.raises(ServiceException) as caught:
        hs.crm.deals.search_api.do_search(
            public_object_search_request=PublicObjectSearchRequest(limit=1)
        )
    assert 504 == caught.value.status
    assert 1 == len(
        hs.crm.companies.search_api.do_search(public_object_search_request={"limit": 1}).results
    )


def test_partial_failure_in_batch_upsert(sandbox: Sandbox, hs: hubspot.Client):
    """fail_ids makes batch upsert answer 207: the others are written, the error names the input."""
    sandbox.set_faults("hubspot", fail_ids=["k2"])
    inputs = [
        {"idProperty": "progress_key", "id": f"k{n}", "properties": {"actual": "1"}}
        for n in range(4)
    ]
    answer = hs.crm.objects.batch_api.upsert(
        "2-1003", BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
    )
    written = [
        r["properties"]["progress_key"] for r in sandbox.records("hubspot", "partner_plan_progress")
    ]
    assert (1, ["k2"]) == (answer.num_errors, answer.errors[0].context["ids"])
    assert ["k0", "k1", "k3"] == written


def test_records_change_while_a_search_pages(sandbox: Sandbox, hs: hubspot.Client):
    """After page 1 of a modified-date search, 3 deals already served move to now: the same
    search (a new snapshot) then returns them at its end."""
    sandbox.set_faults("hubspot", change_after_page=1, change_object="deals", change_count=3)
    body = {
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 20,
    }
    first = hs.crm.deals.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(**body)
    )
    following = hs.crm.deals.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(**body, after="0")
    )
    moved = [d.id for d in first.results[:3]]
    total = following.total
    last = hs.crm.deals.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(**body, after=str(total - 3))
    )
    assert moved == [d.id for d in last.results]
    assert [d.id for d in first.results[3:]] == [d.id for d in following.results[:17]]


def test_introspection_over_http(sandbox: Sandbox, hs: hubspot.Client):
    """/__sandbox/faults, /__sandbox/stats and /__sandbox/records/{type} answer over HTTP."""
    pool = urllib3.PoolManager()
    base = sandbox.hubspot_url + "/__sandbox"
    set_answer = pool.request("POST", base + "/faults", body=orjson.dumps({"page_size": 3}))
    page = hs.crm.deals.basic_api.get_page(limit=100)
    stats = orjson.loads(pool.request("GET", base + "/stats").data)
    records = orjson.loads(pool.request("GET", base + "/records/deals").data)
    unknown = pool.request("GET", base + "/records/butterflies")
    assert (200, 3) == (set_answer.status, len(page.results))
    assert ({"deals": 3}, 1, 0) == (
        stats["records_served"],
        stats["total_calls"],
        stats["write_calls"],
    )
    assert sandbox.records("hubspot", "deals") == records
    assert 404 == unknown.status


def test_search_lag_hides_fresh_changes(sandbox: Sandbox, hs: hubspot.Client):
    """With an indexing lag, a just-changed deal is missing from search but present in get."""
    deal = next(d for d in sandbox.records("hubspot", "deals") if not d["archived"])
    sandbox.touch("hubspot", "deals", [deal["id"]], {"dealname": "Renamed"})
    sandbox.set_faults("hubspot", search_lag_ms=60_000)
    name_filter = {"propertyName": "dealname", "operator": "EQ", "value": "Renamed"}
    request = PublicObjectSearchRequest(filter_groups=[{"filters": [name_filter]}])
    lagging = hs.crm.deals.search_api.do_search(public_object_search_request=request)
    sandbox.clear_faults("hubspot")
    indexed = hs.crm.deals.search_api.do_search(public_object_search_request=request)
    fetched = hs.crm.deals.basic_api.get_by_id(deal["id"], properties=["dealname"])
    assert (0, [deal["id"]]) == (lagging.total, [d.id for d in indexed.results])
    assert "Renamed" == fetched.properties["dealname"]


def test_latency(sandbox: Sandbox, hs: hubspot.Client):
    """Injected latency delays every answer by at least the configured time."""
    sandbox.set_faults("hubspot", latency_ms=150)
    started = time.monotonic()
    hs.crm.deals.basic_api.get_page(limit=1)
    assert time.monotonic() - started >= 0.15
