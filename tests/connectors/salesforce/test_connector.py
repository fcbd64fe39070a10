"""Salesforce pulls, error translation, budgets and writes, against `responses`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import responses
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.base import Watermark
from connectors.errors import (
    DailyLimitReached,
    MissingField,
    QueryLocatorExpired,
    TransientHttpError,
)
from connectors.salesforce import errors as sf_errors
from connectors.salesforce.connector import SalesforceConnector
from connectors.spec import StreamSpec
from partnerplan.errors import (
    BudgetExhausted,
    ConfigurationError,
    FatalError,
    RateLimited,
    RecordError,
)
from tests.connectors.conftest import INSTANCE, TOKEN_URL, sf_source

BASE = f"{INSTANCE}/services/data/v62.0"
SPEC = StreamSpec(
    "opps", "sf", "Opportunity", ("Amount", "PartnerAccount.Partner_Key__c"), "SystemModstamp"
)
OPPORTUNITY = {
    "name": "Opportunity",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "IsDeleted", "type": "boolean"},
        {"name": "Amount", "type": "currency"},
        {"name": "SystemModstamp", "type": "datetime"},
        {
            "name": "PartnerAccountId",
            "type": "reference",
            "relationshipName": "PartnerAccount",
            "referenceTo": ["Account"],
        },
    ],
}
ACCOUNT = {
    "name": "Account",
    "fields": [{"name": "Id", "type": "id"}, {"name": "Partner_Key__c", "type": "string"}],
}


def _rec(n: int, stamp: str) -> dict[str, object]:
    return {
        "attributes": {"type": "Opportunity"},
        "Id": f"006000000000{n:03d}AAA",
        "Amount": 10.5,
        "SystemModstamp": stamp,
    }


def _id(n: int) -> str:
    return f"006000000000{n:03d}AAA"


@pytest.fixture
def sf(no_sleep):
    """A connector with login and describes answered."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json={"access_token": "tok", "instance_url": INSTANCE})
        mock.get(f"{BASE}/sobjects/Opportunity/describe/", json=OPPORTUNITY)
        mock.get(f"{BASE}/sobjects/Account/describe/", json=ACCOUNT)
        source = sf_source(budget_share=0.5, bulk_threshold=0)  # REST paging; Bulk 2.0 is tested
        yield mock, SalesforceConnector("sf", source, retry=no_sleep)  # against the sandbox


def _queries(mock: responses.RequestsMock) -> list[str]:
    return [
        requests.utils.unquote(c.request.url.split("q=", 1)[1]).replace("+", " ")
        for c in mock.calls
        if "q=" in (c.request.url or "")
    ]


def test_pull_queries_from_watermark_minus_lookback_ordered_by_modstamp_and_id(sf):
    """The SOQL filters SystemModstamp >= watermark - lookback and orders by (modstamp, Id)."""
    mock, connector = sf
    mock.get(
        f"{BASE}/query/",
        json={
            "done": True,
            "records": [
                _rec(1, "2026-03-01T11:56:00.000+0000"),
                _rec(2, "2026-03-01T12:00:00.000+0000"),
            ],
        },
    )
    since = Watermark(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), _id(2))
    pages = list(connector.pull(SPEC, since))
    expected = (
        "SELECT Id, SystemModstamp, Amount, PartnerAccount.Partner_Key__c FROM Opportunity "
        "WHERE SystemModstamp >= 2026-03-01T11:55:00Z ORDER BY SystemModstamp ASC, Id ASC"
    )
    assert [expected] == _queries(mock)
    assert [since] == [p.watermark for p in pages]
    assert Decimal("10.5") == pages[0].records[0]["Amount"]


def test_every_call_has_explicit_connect_and_read_timeouts(sf):
    """Each HTTP call carries the configured (connect, read) timeouts."""
    mock, connector = sf
    mock.get(f"{BASE}/query/", json={"done": True, "records": []})
    list(connector.pull(SPEC, None))
    assert {(10.0, 120.0)} == {c.request.req_kwargs["timeout"] for c in mock.calls}


def test_missing_field_names_the_object_and_the_field(sf):
    """A mapped field the org lacks fails check_fields naming object and field."""
    _mock, connector = sf
    spec = StreamSpec(
        "o", "sf", "Opportunity", ("Amount", "PartnerAccount.Tier__c"), "SystemModstamp"
    )
    with pytest.raises(MissingField) as caught:
        connector.check_fields(spec)
    assert "'Opportunity'" in str(caught.value) and "'PartnerAccount.Tier__c'" in str(caught.value)


def test_invalid_query_locator_restarts_after_the_last_page_without_duplicates(sf):
    """An expired cursor restarts the query at the last yielded timestamp; no record twice."""
    mock, connector = sf
    more = "/services/data/v62.0/query/01g-2"
    t1, t2 = "2026-03-01T10:00:00.000+0000", "2026-03-01T11:00:00.000+0000"
    mock.get(
        f"{BASE}/query/",
        json={"done": False, "nextRecordsUrl": more, "records": [_rec(1, t1), _rec(2, t2)]},
    )
    mock.get(
        INSTANCE + more,
        status=400,
        json=[{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}],
    )
    mock.get(f"{BASE}/query/", json={"done": True, "records": [_rec(2, t2), _rec(3, t2)]})
    ids = [r["Id"] for page in connector.pull(SPEC, None) for r in page.records]
    assert [_id(1), _id(2), _id(3)] == ids
    assert "SystemModstamp >= 2026-03-01T11:00:00Z" in _queries(mock)[-1]


def test_query_timeout_and_5xx_are_retried_honouring_retry_after(sf):
    """QUERY_TIMEOUT and a 503 with Retry-After are retried; the 503's wait is the header's."""
    mock, connector = sf
    mock.get(
        f"{BASE}/query/",
        status=400,
        json=[
            {
                "errorCode": "QUERY_TIMEOUT",
                "message": "Your query request was running for too long.",
            }
        ],
    )
    mock.get(
        f"{BASE}/query/",
        status=503,
        json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}],
        headers={"Retry-After": "7"},
    )
    mock.get(
        f"{BASE}/query/", json={"done": True, "records": [_rec(1, "2026-03-01T10:00:00.000+0000")]}
    )
    pages = list(connector.pull(SPEC, None))
    assert [_id(1)] == [r["Id"] for p in pages for r in p.records]
    assert connector.retry.waits[-1] == 7.0
    assert len(connector.retry.waits) == 2


def test_budget_share_spent_stops_between_pages_after_a_complete_page(sf):
    """At api-usage 60/100 with share 0.5, page 1 is yielded, then BudgetExhausted, no page 2."""
    mock, connector = sf
    more = "/services/data/v62.0/query/01g-2"
    mock.get(
        f"{BASE}/query/",
        json={
            "done": False,
            "nextRecordsUrl": more,
            "records": [_rec(1, "2026-03-01T10:00:00.000+0000")],
        },
        headers={"Sforce-Limit-Info": "api-usage=60/100"},
    )
    pages = connector.pull(SPEC, None)
    first = next(pages)
    with pytest.raises(BudgetExhausted, match="60 of 100"):
        next(pages)
    assert [_id(1)] == [r["Id"] for r in first.records]
    assert not [c for c in mock.calls if more in (c.request.url or "")]
    assert (connector.usage().daily_used, connector.usage().daily_max) == (60, 100)


def test_deletions_use_query_all_for_deleted_rows(sf):
    """Deletions come from queryAll with IsDeleted = true, as deleted pages (the delete log,
    asked because the date is older than the Recycle Bin's 15 days, has purged nothing since)."""
    mock, connector = sf
    mock.get(
        f"{BASE}/sobjects/Opportunity/deleted/",
        json={
            "deletedRecords": [],
            "earliestDateAvailable": "2026-01-01T00:00:00.000+0000",
            "latestDateCovered": "2026-03-02T00:00:00.000+0000",
        },
    )
    mock.get(
        f"{BASE}/queryAll/",
        json={
            "done": True,
            "records": [
                {"Id": _id(9), "SystemModstamp": "2026-03-02T00:00:00.000+0000", "IsDeleted": True}
            ],
        },
    )
    pages = list(connector.deletions(SPEC, datetime(2026, 3, 1, tzinfo=UTC)))
    assert [(True, [_id(9)])] == [(p.deleted, [r["Id"] for r in p.records]) for p in pages]
    assert "IsDeleted = true AND SystemModstamp >= 2026-03-01T00:00:00Z" in _queries(mock)[0]


def _error(cls, status, code, message="m", headers=None):
    return cls(f"{BASE}/x", status, "x", [{"errorCode": code, "message": message}])


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_error(SalesforceMalformedRequest, 400, "QUERY_TIMEOUT"), TransientHttpError),
        (_error(SalesforceMalformedRequest, 400, "INVALID_QUERY_LOCATOR"), QueryLocatorExpired),
        (_error(SalesforceMalformedRequest, 400, "INVALID_FIELD"), ConfigurationError),
        (_error(SalesforceMalformedRequest, 400, "STRING_TOO_LONG"), RecordError),
        (
            _error(
                SalesforceRefusedRequest,
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            ),
            DailyLimitReached,
        ),
        (
            _error(
                SalesforceRefusedRequest,
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "ConcurrentPerOrgLongTxn Limit exceeded.",
            ),
            RateLimited,
        ),
        (_error(SalesforceRefusedRequest, 403, "INSUFFICIENT_ACCESS"), ConfigurationError),
        (_error(SalesforceResourceNotFound, 404, "NOT_FOUND"), ConfigurationError),
        (_error(SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"), TransientHttpError),
        (_error(SalesforceGeneralError, 429, "TOO_MANY"), RateLimited),
        (_error(SalesforceGeneralError, 405, "METHOD_NOT_ALLOWED"), FatalError),
        (requests.exceptions.ReadTimeout(), TransientHttpError),
        (requests.exceptions.SSLError(), FatalError),
    ],
)
def test_error_translation(exc, expected):
    """Each Salesforce failure maps to the branch that says what the caller does about it."""
    assert expected is type(sf_errors.translate(exc, "sf"))


def test_a_bug_is_not_translated():
    """An exception that is not an HTTP failure is left to surface as itself."""
    assert None is sf_errors.translate(KeyError("x"), "sf")


def _results(records, fail=()):
    out = []
    for r in records:
        if r["External_Id__c"] in fail:
            out.append(
                {
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                            "message": "bad",
                            "fields": ["Target__c"],
                        }
                    ],
                }
            )
        else:
            out.append({"id": "a0D000000000001AAA", "success": True, "errors": [], "created": True})
    return out


def test_upsert_sends_200_records_a_call_and_reports_each_failure(sf):
    """450 records cost 3 Collections calls; exactly the failed records are reported failed."""
    mock, connector = sf
    bodies = []

    def answer(request):
        body = json.loads(request.body)
        bodies.append(body)
        return 200, {}, json.dumps(_results(body["records"], fail={"k-7", "k-300"}))

    url = f"{BASE}/composite/sobjects/Partner_Plan_Progress__c/External_Id__c"
    mock.add_callback(responses.PATCH, url, callback=answer)
    records = [{"External_Id__c": f"k-{i}", "Actual__c": Decimal("12.30")} for i in range(450)]
    results = connector.upsert("Partner_Plan_Progress__c", "External_Id__c", records)
    assert [len(b["records"]) for b in bodies] == [200, 200, 50]
    assert {False} == {b["allOrNone"] for b in bodies}
    assert [r.key for r in results if not r.ok] == ["k-7", "k-300"]
    assert results[7].error == "FIELD_CUSTOM_VALIDATION_EXCEPTION: bad (Target__c)"
    assert connector.usage().write_calls == 3
    assert bodies[0]["records"][0]["attributes"] == {"type": "Partner_Plan_Progress__c"}
    assert bodies[0]["records"][0]["Actual__c"] == 12.3


def test_a_batch_rejected_whole_is_split_to_isolate_the_bad_record(sf):
    """A 400 for the whole batch is bisected: good records are written, the bad one reported."""
    mock, connector = sf

    def answer(request):
        records = json.loads(request.body)["records"]
        if any(r["External_Id__c"] == "k-5" for r in records):
            return 400, {}, json.dumps([{"errorCode": "JSON_PARSER_ERROR", "message": "bad value"}])
        return 200, {}, json.dumps(_results(records))

    url = f"{BASE}/composite/sobjects/Partner_Plan_Progress__c/External_Id__c"
    mock.add_callback(responses.PATCH, url, callback=answer)
    records = [{"External_Id__c": f"k-{i}"} for i in range(8)]
    results = connector.upsert("Partner_Plan_Progress__c", "External_Id__c", records)
    assert [f"k-{i}" for i in range(8)] == [r.key for r in results]
    assert [r.key for r in results if not r.ok] == ["k-5"]
    assert "JSON_PARSER_ERROR" in (results[5].error or "")


def test_update_by_id_skips_records_whose_id_is_not_a_salesforce_id(sf):
    """An update with a malformed Id is reported failed and never sent."""
    mock, connector = sf
    sent = []

    def answer(request):
        records = json.loads(request.body)["records"]
        sent.extend(r["id"] for r in records)
        return (
            200,
            {},
            json.dumps([{"id": r["id"], "success": True, "errors": []} for r in records]),
        )

    mock.add_callback(responses.PATCH, f"{BASE}/composite/sobjects", callback=answer)
    good = "001000000000001AAA"
    results = connector.update(
        "Account", [{"Id": "x' OR 1=1", "Plan_Score__c": 1}, {"Id": good, "Plan_Score__c": 2}]
    )
    assert [good] == sent
    assert [r.ok for r in results] == [False, True]
