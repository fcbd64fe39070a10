"""The unmodified simple-salesforce against the sandbox: queries, describe, writes, Bulk, OAuth."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceMalformedRequest,
)

from sandbox import Sandbox
from tests.sandbox.conftest import API_VERSION
from tests.sandbox.helpers import SF_DATETIME, sample, shape_differences, trusting

INCREMENTAL = (
    "SELECT Id, Name, StageName, Amount, CurrencyIsoCode, CloseDate, IsClosed, IsWon, AccountId,"
    " Account.Name, PartnerAccountId, IsDeleted, CreatedDate, LastModifiedDate, SystemModstamp"
    " FROM Opportunity WHERE SystemModstamp >= 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id"
)


def live(records: list[dict]) -> list[dict]:
    return [r for r in records if not r["IsDeleted"]]


def test_query_all_iter_pages_through_every_live_record_in_order(sandbox: Sandbox, sf: Salesforce):
    """query_all_iter follows path-only nextRecordsUrl pages and returns each live row once, in
    (SystemModstamp, Id) order."""
    expected = sorted(
        (r["SystemModstamp"], r["Id"]) for r in live(sandbox.records("salesforce", "Opportunity"))
    )
    rows = list(sf.query_all_iter(INCREMENTAL, headers={"Sforce-Query-Options": "batchSize=200"}))
    assert expected == [(r["SystemModstamp"], r["Id"]) for r in rows]
    assert sandbox.stats("salesforce")["calls_by_endpoint"]["GET (query|queryAll)/([\\w-]+)"] == 1


def test_query_page_matches_the_reference_body(sandbox: Sandbox, sf: Salesforce):
    """A first page has the reference shape: totalSize of the whole result, done false, a path
    nextRecordsUrl, and records with attributes, nested parents and +0000 datetimes."""
    page = sf.query(INCREMENTAL, headers={"Sforce-Query-Options": "batchSize=200"})
    reference = sample("sf-query-page1-done-false.json")
    reference["records"][0].pop("OwnerId")  # not in DATA.md's Opportunity
    assert [] == shape_differences(reference, page)
    assert len(live(sandbox.records("salesforce", "Opportunity"))) == page["totalSize"]
    assert re.fullmatch(rf"/services/data/v{API_VERSION}/query/01g\w+-200", page["nextRecordsUrl"])
    assert re.fullmatch(SF_DATETIME, page["records"][0]["SystemModstamp"])
    assert list(page["records"][0])[:4] == ["attributes", "Id", "Name", "StageName"]


def test_batch_size_is_clamped_to_200_through_2000(sf: Salesforce):
    """Sforce-Query-Options batchSize below 200 still gives 200-record pages."""
    page = sf.query("SELECT Id FROM Opportunity", headers={"Sforce-Query-Options": "batchSize=50"})
    assert 200 == len(page["records"])


def test_query_all_shows_deleted_rows_that_query_hides(sandbox: Sandbox, sf: Salesforce):
    """queryAll returns the IsDeleted rows query leaves out."""
    leads = [r["Id"] for r in sandbox.records("salesforce", "Lead") if not r["IsDeleted"]]
    sandbox.delete("salesforce", "Lead", leads[:3])  # in the Recycle Bin (the generated
    # deletions are older than its 15 days)
    records = sandbox.records("salesforce", "Lead")
    deleted = sorted(r["Id"] for r in records if r["IsDeleted"])
    soql = "SELECT Id, IsDeleted FROM Lead ORDER BY Id"
    visible = {r["Id"] for r in sf.query_all_iter(soql)}
    everything = list(sf.query_all_iter(soql, include_deleted=True))
    assert deleted and not visible & set(deleted)
    assert deleted == sorted(r["Id"] for r in everything if r["IsDeleted"])
    assert len(records) == len(everything)


def test_count_and_relationship_filters(sandbox: Sandbox, sf: Salesforce):
    """COUNT() answers totalSize only; WHERE follows lookups, IN, LIKE, dates and NOT."""
    partner = next(
        a for a in sandbox.records("salesforce", "Account") if a["Partner_Key__c"] == "P-00001"
    )
    expected = sum(
        1
        for o in live(sandbox.records("salesforce", "Opportunity"))
        if o["PartnerAccountId"] == partner["Id"]
        and o["StageName"] in {"Closed Won", "Closed Lost"}
        and o["CloseDate"] >= "2025-01-01"
        and not (o["Name"] or "").startswith("Acme")
    )
    soql = (
        "SELECT COUNT() FROM Opportunity WHERE PartnerAccount.Partner_Key__c = 'P-00001'"
        " AND StageName IN ('Closed Won', 'Closed Lost') AND CloseDate >= 2025-01-01"
        " AND NOT Name LIKE 'acme%'"
    )
    answer = sf.query(soql)
    assert [] == shape_differences(sample("sf-query-count-only.json"), answer)
    assert {"totalSize": expected, "done": True, "records": []} == dict(answer)


def test_order_by_several_fields_and_limit(sandbox: Sandbox, sf: Salesforce):
    """ORDER BY Amount DESC NULLS LAST, Id with LIMIT sorts like Salesforce."""
    rows = [r for r in live(sandbox.records("salesforce", "Opportunity")) if r["Amount"]]
    expected = [r["Id"] for r in sorted(rows, key=lambda r: (-r["Amount"], r["Id"]))][:5]
    soql = "SELECT Id, Amount FROM Opportunity ORDER BY Amount DESC NULLS LAST, Id LIMIT 5"
    assert expected == [r["Id"] for r in sf.query(soql)["records"]]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FRM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id, Bogus__c FROM Opportunity", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
        ("SELECT Id FROM Opportunity WHERE CloseDate > 2024-01-01T00:00:00Z", "INVALID_FIELD"),
    ],
)
def test_bad_queries_raise_what_salesforce_raises(sf: Salesforce, soql: str, code: str):
    """Malformed or unknown names give 400 with Salesforce's errorCode, as a JSON array."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert code == caught.value.content[0]["errorCode"]


def test_describe_global_and_object(sf: Salesforce):
    """Global and per-object describe have the reference keys, custom objects and fields too."""
    assert [] == shape_differences(sample("sf-describe-global-excerpt.json"), sf.describe())
    described = sf.Partner_Plan_Progress__c.describe()
    reference = sample("sf-describe-sobject-excerpt.json")
    reference["urls"] = {k: v for k, v in reference["urls"].items() if not k.startswith("ui")}
    assert [] == shape_differences(reference, described)
    external = [f["name"] for f in described["fields"] if f["externalId"]]
    assert ["External_Id__c"] == external
    assert "a0E" == described["keyPrefix"]


def test_upsert_by_external_id_creates_then_updates(sandbox: Sandbox, sf: Salesforce):
    """SFType.upsert answers 201 when it creates and 200 when it updates (API >= 46)."""
    partner = sandbox.records("salesforce", "Account")[0]["Id"]
    body = {"Partner_Account__c": partner, "Metric__c": "revenue", "Target__c": 1000}
    created = sf.Partner_Plan_Progress__c.upsert("External_Id__c/P-00001-rev", body)
    updated = sf.Partner_Plan_Progress__c.upsert("External_Id__c/P-00001-rev", {"Actual__c": 250})
    rows = sandbox.records("salesforce", "Partner_Plan_Progress__c")
    assert (201, 200) == (created, updated)
    assert [("P-00001-rev", partner, 1000.0, 250.0)] == [
        (r["External_Id__c"], r["Partner_Account__c"], r["Target__c"], r["Actual__c"]) for r in rows
    ]


def test_collection_upsert_reports_each_record(sandbox: Sandbox, sf: Salesforce):
    """Collections upsert answers one result per record: created flags and per-record errors."""
    partner = sandbox.records("salesforce", "Account")[0]["Id"]

    def record(key: str, account: str) -> dict:
        return {
            "attributes": {"type": "Partner_Plan_Progress__c"},
            "External_Id__c": key,
            "Partner_Account__c": account,
        }

    path = "composite/sobjects/Partner_Plan_Progress__c/External_Id__c"
    sf.restful(path, method="PATCH", json={"allOrNone": False, "records": [record("a", partner)]})
    batch = [record("a", partner), record("b", "0018d00000009ZZAAA"), record("c", partner)]
    results = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": batch})
    assert [] == shape_differences(
        sample("sf-collections-upsert-response-partial-failure.json"), results
    )
    assert [(True, False), (False, None), (True, True)] == [
        (r["success"], r.get("created")) for r in results
    ]
    assert "INVALID_CROSS_REFERENCE_KEY" == results[1]["errors"][0]["statusCode"]
    keys = [r["External_Id__c"] for r in sandbox.records("salesforce", "Partner_Plan_Progress__c")]
    assert ["a", "c"] == keys


def test_all_or_none_rolls_the_whole_collection_back(sandbox: Sandbox, sf: Salesforce):
    """With allOrNone one bad record fails the call: nothing is written, the rest roll back."""
    partner = sandbox.records("salesforce", "Account")[0]["Id"]
    good = {"attributes": {"type": "Partner_Plan_Progress__c"}, "Partner_Account__c": partner}
    bad = {"attributes": {"type": "Partner_Plan_Progress__c"}, "Bogus__c": 1}
    results = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": True, "records": [bad, good]}
    )
    reference = sample("sf-collections-create-response-allornone-rollback.json")
    assert [] == shape_differences(reference, results)
    assert ["INVALID_FIELD", "ALL_OR_NONE_OPERATION_ROLLED_BACK"] == [
        r["errors"][0]["statusCode"] for r in results
    ]
    assert [] == sandbox.records("salesforce", "Partner_Plan_Progress__c")


def test_collection_update_bumps_stamps(sandbox: Sandbox, sf: Salesforce):
    """Collections update changes fields and moves SystemModstamp to now."""
    target = live(sandbox.records("salesforce", "Account"))[0]
    change = {"attributes": {"type": "Account"}, "id": target["Id"], "Plan_Status__c": "On track"}
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": [change]})
    after = next(r for r in sandbox.records("salesforce", "Account") if r["Id"] == target["Id"])
    assert [{"id": target["Id"], "success": True, "errors": []}] == results
    assert ("On track", True) == (
        after["Plan_Status__c"],
        after["SystemModstamp"] > target["SystemModstamp"],
    )


def test_bulk2_query_returns_the_same_rows_as_csv(sandbox: Sandbox, sf: Salesforce):
    """sf.bulk2 query pages CSV by Sforce-Locator; the rows equal the REST query's."""
    soql = "SELECT Id, Name, Amount, IsWon, PartnerAccount.Partner_Key__c FROM Opportunity"
    pages = list(sf.bulk2.Opportunity.query(soql, max_records=150, wait=0.01))
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    expected = [r["Id"] for r in sf.query_all_iter(soql + " ORDER BY Id")]
    assert expected == [r["Id"] for r in rows]
    assert len(pages) == -(-len(expected) // 150)
    assert {"true", "false"} == {r["IsWon"] for r in rows}


def test_limit_info_header_feeds_api_usage(sf: Salesforce):
    """Every response carries Sforce-Limit-Info; simple-salesforce turns it into api_usage."""
    sf.query("SELECT Id FROM Account LIMIT 1")
    sf.limits()
    usage = sf.api_usage["api-usage"]
    assert (2, 100_000) == (usage.used, usage.total)
    assert [] == shape_differences({"DailyApiRequests": {"Max": 1, "Remaining": 1}}, sf.limits())


def test_client_credentials_login_through_the_library(sandbox: Sandbox, ca_env: str):
    """The library's own client-credentials flow gets a token and instance URL from the sandbox."""
    port = sandbox.salesforce_url.rsplit(":", 1)[1]
    sf = Salesforce(
        consumer_key=sandbox.salesforce_client_id,
        consumer_secret=sandbox.salesforce_client_secret,
        domain=f"127.0.0.1:{port}/login",  # simple-salesforce appends ".salesforce.com"
        session=trusting(sandbox.ca_bundle),
        version=API_VERSION,
    )
    assert 1 == sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"]
    assert sandbox.salesforce_url == f"https://{sf.sf_instance}"


def test_refresh_token_grant(sandbox: Sandbox, ca_env: str):
    """The refresh_token grant answers the reference token body; a wrong token answers 400."""
    url = f"{sandbox.salesforce_url}/services/oauth2/token"
    form = {
        "grant_type": "refresh_token",
        "client_id": sandbox.salesforce_client_id,
        "refresh_token": sandbox.salesforce_refresh_token,
    }
    session = trusting(sandbox.ca_bundle)
    answer = session.post(url, data=form)
    refused = session.post(url, data={**form, "refresh_token": "nope"})
    assert [] == shape_differences(sample("sf-oauth2-token-response.json"), answer.json())
    assert (200, sandbox.salesforce_url) == (answer.status_code, answer.json()["instance_url"])
    assert (400, "invalid_grant") == (refused.status_code, refused.json()["error"])


def test_ca_bundle_env_variables_override_a_plain_session(sandbox: Sandbox, ca_env: str):
    """The pitfall: REQUESTS_CA_BUNDLE overrides a plain Session's verify; ours is kept."""
    plain = requests.Session()
    plain.verify = sandbox.ca_bundle
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(f"{sandbox.salesforce_url}/services/data/")
    assert (
        200
        == trusting(sandbox.ca_bundle).get(f"{sandbox.salesforce_url}/services/data/").status_code
    )


def test_get_updated_and_deleted(sandbox: Sandbox, sf: Salesforce):
    """SFType.updated/deleted list the ids changed or deleted in a recent window."""
    opportunities = sandbox.records("salesforce", "Opportunity")
    changed, removed = opportunities[0]["Id"], opportunities[1]["Id"]
    sandbox.touch("salesforce", "Opportunity", [changed])
    sandbox.delete("salesforce", "Opportunity", [removed])
    start = datetime.now(UTC) - timedelta(hours=1)
    end = datetime.now(UTC) + timedelta(minutes=2)
    updated = sf.Opportunity.updated(start, end)
    deleted = sf.Opportunity.deleted(start, end)
    assert [changed] == updated["ids"]
    assert [removed] == [r["id"] for r in deleted["deletedRecords"]]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.updated(start - timedelta(days=40), end)
    assert "INVALID_REPLICATION_DATE" == caught.value.content[0]["errorCode"]


def test_password_logins_through_the_library(sandbox: Sandbox, ca_env: str):
    """The library's OAuth password flow and its SOAP login() both get a working session."""
    port = sandbox.salesforce_url.rsplit(":", 1)[1]
    common = {
        "username": sandbox.salesforce_username,
        "domain": f"127.0.0.1:{port}/login",  # simple-salesforce appends ".salesforce.com"
        "session": trusting(sandbox.ca_bundle),
        "version": API_VERSION,
    }
    oauth = Salesforce(
        password=sandbox.salesforce_password + sandbox.salesforce_security_token,
        consumer_key=sandbox.salesforce_client_id,
        consumer_secret=sandbox.salesforce_client_secret,
        **common,
    )
    soap = Salesforce(
        password=sandbox.salesforce_password,
        security_token=sandbox.salesforce_security_token,
        **common,
    )
    for sf in (oauth, soap):
        assert 1 == sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"]
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(password="wrong", security_token="x", **common)
    assert "INVALID_LOGIN" == caught.value.code


def test_jwt_bearer_grant(sandbox: Sandbox, ca_env: str):
    """An RS256 assertion signed with the sandbox's key gets a token; a wrong subject does not."""
    key = Path(sandbox.salesforce_private_key_file).read_bytes()
    url = f"{sandbox.salesforce_url}/services/oauth2/token"

    def grant(subject: str) -> requests.Response:
        claims = {
            "iss": sandbox.salesforce_client_id,
            "sub": subject,
            "aud": sandbox.salesforce_url,
            "exp": int(time.time()) + 180,
        }
        assertion = jwt.encode(claims, key, algorithm="RS256")
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
        return trusting(sandbox.ca_bundle).post(url, data=form)

    accepted, refused = grant(sandbox.salesforce_username), grant("someone@else")
    assert (200, sandbox.salesforce_url) == (accepted.status_code, accepted.json()["instance_url"])
    assert (400, "invalid_grant") == (refused.status_code, refused.json()["error"])
