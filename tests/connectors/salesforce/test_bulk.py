"""Bulk API 2.0 job states and CSV conversion, against `responses` (what the sandbox cannot do)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from connectors.base import Watermark
from connectors.salesforce.connector import SalesforceConnector
from partnerplan.errors import ConfigurationError, RetriableError
from tests.connectors.conftest import INSTANCE, TOKEN_URL, sf_source
from tests.connectors.salesforce.test_connector import ACCOUNT, BASE, OPPORTUNITY, SPEC

JOB = "7508d0000000001AAA"
CSV = (
    '"Id","SystemModstamp","Amount","PartnerAccount.Partner_Key__c","PartnerAccountId"\n'
    '"006000000000001AAA","2026-03-01T10:00:00.000Z","1200.50","P-00001","001000000000001AAA"\n'
    '"006000000000002AAA","2026-03-01T09:00:00.000Z","","",""\n'
)


@pytest.fixture
def bulk(no_sleep):
    """A connector whose first pull goes to Bulk 2.0 (COUNT 5 > threshold 1)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json={"access_token": "tok", "instance_url": INSTANCE})
        mock.get(f"{BASE}/sobjects/Opportunity/describe/", json=OPPORTUNITY)
        mock.get(f"{BASE}/sobjects/Account/describe/", json=ACCOUNT)
        mock.get(f"{BASE}/query/", json={"totalSize": 5, "done": True, "records": []})
        mock.post(f"{BASE}/jobs/query", json={"id": JOB, "state": "UploadComplete"})
        source = sf_source(bulk_threshold=1)
        yield mock, SalesforceConnector("sf", source, retry=no_sleep), no_sleep


def test_job_is_polled_with_growing_pauses_until_complete(bulk):
    """InProgress twice, then JobComplete: two pauses (0.5 s, 1 s) on the policy's clock."""
    mock, connector, retry = bulk
    pauses: list[float] = []
    retry.sleep = pauses.append
    for state in ("InProgress", "InProgress", "JobComplete"):
        mock.get(f"{BASE}/jobs/query/{JOB}", json={"id": JOB, "state": state})
    mock.get(f"{BASE}/jobs/query/{JOB}/results", body=CSV, headers={"Sforce-Locator": "null"})
    pages = list(connector.pull(SPEC, None))
    assert [0.5, 1.0] == pauses
    assert 1 == len(pages)
    stamp = datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert Watermark(stamp, "006000000000001AAA") == pages[0].watermark


def test_csv_values_become_the_types_the_rest_query_returns(bulk):
    """Decimal amounts, +0000 datetimes, and a null relationship as None, not as empty fields."""
    mock, connector, _ = bulk
    mock.get(f"{BASE}/jobs/query/{JOB}", json={"id": JOB, "state": "JobComplete"})
    mock.get(f"{BASE}/jobs/query/{JOB}/results", body=CSV, headers={"Sforce-Locator": "null"})
    first, second = next(iter(connector.pull(SPEC, None))).records
    assert Decimal("1200.50") == first["Amount"]
    assert "2026-03-01T10:00:00.000+0000" == first["SystemModstamp"]
    assert "P-00001" == first["PartnerAccount"]["Partner_Key__c"]
    assert "PartnerAccountId" not in first  # selected only to detect null relationships
    assert None is second["Amount"]
    assert None is second["PartnerAccount"]


def test_a_failed_job_is_a_retriable_error_naming_the_job_and_the_reason(bulk):
    """A job that ends Failed stops the load with a retriable error: the next run starts over."""
    mock, connector, _ = bulk
    mock.get(
        f"{BASE}/jobs/query/{JOB}",
        json={"id": JOB, "state": "Failed", "errorMessage": "Retried more than 15 times"},
    )
    with pytest.raises(RetriableError, match=f"{JOB} ended Failed: Retried more than 15 times"):
        list(connector.pull(SPEC, None))


def test_a_query_the_job_refuses_is_a_configuration_error(bulk):
    """INVALIDJOB at creation (a query Bulk 2.0 cannot run) asks for a configuration fix."""
    mock, connector, _ = bulk
    mock.replace(
        responses.POST,
        f"{BASE}/jobs/query",
        status=400,
        json=[{"errorCode": "INVALIDJOB", "message": "Unsupported query"}],
    )
    with pytest.raises(ConfigurationError, match="INVALIDJOB"):
        list(connector.pull(SPEC, None))


def test_results_pages_follow_the_locator_and_send_max_records(bulk):
    """Each results call passes the previous Sforce-Locator; maxRecords is the page size."""
    mock, connector, _ = bulk
    mock.get(f"{BASE}/jobs/query/{JOB}", json={"id": JOB, "state": "JobComplete"})
    mock.get(f"{BASE}/jobs/query/{JOB}/results", body=CSV, headers={"Sforce-Locator": "MTA"})
    mock.get(f"{BASE}/jobs/query/{JOB}/results", body=CSV, headers={"Sforce-Locator": "null"})
    pages = list(connector.pull(SPEC, None))
    calls = [c.request.url or "" for c in mock.calls if "/results" in (c.request.url or "")]
    assert 2 == len(calls)
    assert "locator" not in calls[0] and "locator=MTA" in calls[1]
    assert all("maxRecords=10000" in url for url in calls)
    assert [None, pages[-1].watermark] == [p.watermark for p in pages]
    create = next(c for c in mock.calls if (c.request.url or "").endswith("/jobs/query"))
    assert "ORDER BY" not in json.loads(create.request.body or "{}")["query"]
