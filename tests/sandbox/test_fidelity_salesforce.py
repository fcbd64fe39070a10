"""Issue 15, Salesforce: what third-party extractors tripped on, each against the real API's rules.

Point 3: Bulk API 1.0 query jobs work (simple-salesforce's ``sf.bulk``, CSV and XML jobs, PK
chunking), as ``/limits`` advertises. Point 4: the standard objects every org has are in the
global describe and can be queried, with their required fields and picklists. Point 6: deleted
records stay visible to ``queryAll`` and ``getDeleted`` while in the Recycle Bin (15 days),
never after.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox import Sandbox
from sandbox.formats import parse_instant
from sandbox.world import USD_RATE
from tests.sandbox.helpers import sample, shape_differences, trusting

NS = {"sf": "http://www.force.com/2009/06/asyncapi/dataload"}
STANDARD = [
    "User", "UserRole", "Contact", "Task", "Event", "Campaign", "CampaignMember", "Product2",
    "Pricebook2", "PricebookEntry", "OpportunityLineItem", "RecordType", "CurrencyType",
    "DatedConversionRate", "PartnerMarketingBudget", "PartnerFundAllocation",
    "PartnerFundRequest", "PartnerFundClaim", "ChannelProgram", "ChannelProgramLevel",
    "ChannelProgramMember", "Profile", "Organization", "Case", "OpportunityContactRole",
    "OpportunityStage", "Partner",
]  # fmt: skip


class Async:
    """Plain HTTP on ``/services/async/62.0/`` with the session header, as extractors send it."""

    def __init__(self, sb: Sandbox, content_type: str = "application/json") -> None:
        self.base = f"{sb.salesforce_url}/services/async/62.0/"
        self.session = trusting(sb.ca_bundle)
        self.session.headers.update(
            {"X-SFDC-Session": sb.salesforce_session_id, "Content-Type": content_type}
        )

    def post(self, path: str, data: Any, **headers: str) -> Any:
        answer = self.session.post(self.base + path, data=data, headers=headers, timeout=10)
        return answer

    def get(self, path: str) -> Any:
        return self.session.get(self.base + path, timeout=10)


def _xml(answer: Any) -> ET.Element:
    """An XML answer of the sandbox, parsed."""
    return ET.fromstring(answer.content)  # noqa: S314 - our own sandbox's answer, in a test


def _live(sb: Sandbox, name: str) -> list[dict[str, Any]]:
    return [r for r in sb.records("salesforce", name) if not r.get("IsDeleted")]


# -- point 3: Bulk API 1.0 ------------------------------------------------------------------


def test_simple_salesforce_bulk_query_reads_every_record_with_instants_as_epoch_ms(
    sandbox: Sandbox, sf: Salesforce
):
    """sf.bulk.Opportunity.query: every live record once; SystemModstamp in epoch ms."""
    rows = sf.bulk.Opportunity.query("SELECT Id, Name, CloseDate, SystemModstamp FROM Opportunity")
    live = {r["Id"]: r for r in _live(sandbox, "Opportunity")}
    first = rows[0]
    assert sorted(live) == sorted(r["Id"] for r in rows)
    assert parse_instant(live[first["Id"]]["SystemModstamp"]) == first["SystemModstamp"]
    assert "Opportunity" == first["attributes"]["type"]


def test_simple_salesforce_bulk_query_all_includes_the_recycle_bin(
    sandbox: Sandbox, sf: Salesforce
):
    """sf.bulk.Lead.query_all returns the leads deleted a moment ago, with IsDeleted."""
    gone = [r["Id"] for r in _live(sandbox, "Lead")[:2]]
    sandbox.delete("salesforce", "Lead", gone)
    rows = sf.bulk.Lead.query_all("SELECT Id, IsDeleted FROM Lead")
    plain = sf.bulk.Lead.query("SELECT Id FROM Lead")
    deleted = sorted(r["Id"] for r in rows if r["IsDeleted"])
    assert (sorted(gone), set()) == (deleted, set(gone) & {r["Id"] for r in plain})


def test_limits_count_the_bulk_batches_a_job_used(sandbox: Sandbox, sf: Salesforce):
    """/limits advertises DailyBulkApiBatches, and each batch spends one."""
    before = sf.limits()["DailyBulkApiBatches"]
    sf.bulk.Account.query("SELECT Id FROM Account")
    after = sf.limits()["DailyBulkApiBatches"]
    assert (15000, before["Remaining"] - 1) == (after["Max"], after["Remaining"])


def test_pk_chunking_splits_a_csv_job_into_id_range_batches_that_cover_every_record(
    sandbox: Sandbox,
):
    """chunkSize=100: the batch added is NotProcessed; the range batches' CSVs hold each Id once."""
    bulk = Async(sandbox)
    job = bulk.post(
        "job",
        '{"operation": "query", "object": "Opportunity", "contentType": "CSV"}',
        **{"Sforce-Enable-PKChunking": "chunkSize=100"},
    ).json()
    added = bulk.post(f"job/{job['id']}/batch", "SELECT Id, Name FROM Opportunity").json()
    bulk.post(f"job/{job['id']}", '{"state": "Closed"}')
    batches = bulk.get(f"job/{job['id']}/batch").json()["batchInfo"]
    chunks = [b for b in batches if b["id"] != added["id"]]
    seen: list[str] = []
    for chunk in chunks:
        for result in bulk.get(f"job/{job['id']}/batch/{chunk['id']}/result").json():
            text = bulk.get(f"job/{job['id']}/batch/{chunk['id']}/result/{result}").text
            seen.extend(row["Id"] for row in csv.DictReader(io.StringIO(text)))
    request = bulk.get(f"job/{job['id']}/batch/{chunks[0]['id']}/request").text
    total = len(sandbox.sf_store.table("Opportunity"))
    assert ("NotProcessed", {"Completed"}) == (
        next(b["state"] for b in batches if b["id"] == added["id"]),
        {b["state"] for b in chunks},
    )
    assert (-(-total // 100), sorted(r["Id"] for r in _live(sandbox, "Opportunity"))) == (
        len(chunks),
        sorted(seen),
    )
    assert request.startswith("SELECT Id, Name FROM Opportunity WHERE Id >= '006")


def test_an_xml_job_answers_jobinfo_result_lists_and_records_in_xml(sandbox: Sandbox):
    """An XML job (the API's default format): jobInfo, batchInfo, result-list, queryResult."""
    bulk = Async(sandbox, "application/xml; charset=UTF-8")
    job_xml = (
        '<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/'
        'asyncapi/dataload"><operation>query</operation><object>Account</object>'
        "<contentType>XML</contentType></jobInfo>"
    )
    job = _xml(bulk.post("job", job_xml))
    job_id = job.findtext("sf:id", namespaces=NS)
    batch = _xml(bulk.post(f"job/{job_id}/batch", "SELECT Id, Name FROM Account"))
    batch_id = batch.findtext("sf:id", namespaces=NS)
    results = _xml(bulk.get(f"job/{job_id}/batch/{batch_id}/result"))
    [result_id] = [r.text for r in results.findall("sf:result", NS)]
    records = _xml(bulk.get(f"job/{job_id}/batch/{batch_id}/result/{result_id}"))
    names = sorted(r.findtext("sf:Name", namespaces=NS) or "" for r in records)
    assert ("Open", "Completed") == (
        job.findtext("sf:state", namespaces=NS),
        batch.findtext("sf:state", namespaces=NS),
    )
    assert sorted(r["Name"] for r in _live(sandbox, "Account")) == names


def test_bulk_v1_errors_name_the_problem_in_the_apis_envelope(sandbox: Sandbox):
    """An ingest job and an unknown session answer InvalidJob / InvalidSessionId, 400."""
    bulk = Async(sandbox)
    ingest = bulk.post("job", '{"operation": "insert", "object": "Lead", "contentType": "CSV"}')
    bulk.session.headers["X-SFDC-Session"] = "not-a-session"
    anonymous = bulk.get("job/750000000000000")
    assert (400, "InvalidJob") == (ingest.status_code, ingest.json()["exceptionCode"])
    assert (400, "InvalidSessionId") == (anonymous.status_code, anonymous.json()["exceptionCode"])


# -- point 4: standard objects --------------------------------------------------------------


def test_the_global_describe_lists_every_standard_object(sf: Salesforce):
    """User, Contact, Task, the price book, currency and PRM objects are all described."""
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert [] == [name for name in STANDARD if name not in names]


@pytest.mark.parametrize("name", STANDARD)
def test_each_standard_object_can_be_queried(sf: Salesforce, name):
    """SELECT Id FROM each standard object answers (empty or with its few records)."""
    answer = sf.query(f"SELECT Id FROM {name}")  # noqa: S608 - fixed object names
    assert (True, answer["totalSize"]) == (answer["done"], len(answer["records"]))


def test_standard_fields_carry_their_required_flags_picklists_and_lookups(sf: Salesforce):
    """Task.WhoId points at Contact and Lead; Status is a required picklist; describe shape."""
    task = sf.Task.describe()
    fields = {f["name"]: f for f in task["fields"]}
    who, status = fields["WhoId"], fields["Status"]
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert (["Contact", "Lead"], "Who") == (who["referenceTo"], who["relationshipName"])
    assert (False, "Completed") == (status["nillable"], status["picklistValues"][2]["value"])
    assert (False, True) == (contact["LastName"]["nillable"], "Name" in contact)
    assert "Name" not in fields
    reference = sample("sf-describe-sobject-excerpt.json")
    reference["urls"] = {k: v for k, v in reference["urls"].items() if not k.startswith("ui")}
    assert [] == shape_differences(reference, task)


def test_currency_type_holds_the_rates_the_generated_amounts_use(sf: Salesforce):
    """CurrencyType: one active row per currency at the generated data's rate, USD corporate."""
    rows = sf.query("SELECT IsoCode, ConversionRate, IsCorporate FROM CurrencyType")["records"]
    rates = {r["IsoCode"]: (r["ConversionRate"], r["IsCorporate"]) for r in rows}
    assert {iso: (rate, iso == "USD") for iso, rate in USD_RATE.items()} == rates


def test_dated_conversion_rates_have_no_name_and_chain_their_ranges(sf: Salesforce):
    """DatedConversionRate has no Name (INVALID_FIELD); each range ends where the next starts."""
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Name FROM DatedConversionRate")
    rows = sf.query_all(
        "SELECT IsoCode, StartDate, NextStartDate FROM DatedConversionRate "
        "WHERE IsoCode = 'EUR' ORDER BY StartDate"
    )["records"]
    assert "INVALID_FIELD" == raised.value.content[0]["errorCode"]
    assert [r["StartDate"] for r in rows[1:]] == [r["NextStartDate"] for r in rows[:-1]]
    assert "9999-12-31" == rows[-1]["NextStartDate"]


def test_users_own_the_partner_accounts_by_region_and_members_mirror_the_tiers(
    sandbox: Sandbox, sf: Salesforce
):
    """A partner Account's owner is its region's manager; its program level is its tier."""
    accounts = sf.query_all(
        "SELECT Id, Region__c, Partner_Tier__c, Owner.Title FROM Account WHERE IsPartner = true"
    )["records"]
    members = sf.query_all("SELECT PartnerId, Level.Name FROM ChannelProgramMember")["records"]
    tiers = {m["PartnerId"]: m["Level"]["Name"] for m in members}
    assert {"Channel Manager"} == {a["Owner"]["Title"] for a in accounts}
    assert {a["Id"]: a["Partner_Tier__c"] for a in accounts} == tiers


# -- point 6: the Recycle Bin ---------------------------------------------------------------


def test_query_all_sees_deletions_only_while_they_are_in_the_recycle_bin(
    sandbox: Sandbox, sf: Salesforce
):
    """A lead deleted now is in queryAll; with a zero-day bin it is purged for good."""
    [lead] = [r["Id"] for r in _live(sandbox, "Lead")[:1]]
    sandbox.delete("salesforce", "Lead", [lead])
    soql = f"SELECT Id FROM Lead WHERE Id = '{lead}'"  # noqa: S608 - a generated id
    in_bin = sf.query_all(soql, include_deleted=True)["totalSize"]
    sandbox.set_faults("salesforce", recycle_bin_days=0)
    purged = sf.query_all(soql, include_deleted=True)["totalSize"]
    assert (1, 0) == (in_bin, purged)


def test_generated_deletions_older_than_the_bin_are_gone_and_get_deleted_agrees(
    sandbox: Sandbox, sf: Salesforce
):
    """queryAll and getDeleted list the same deletions: those of the last 15 days only."""
    now = datetime.now(UTC)
    old = sandbox.sf_store.records("Lead")  # every record the store holds, purged included
    horizon = now - timedelta(days=15)
    expected = sorted(
        r["Id"]
        for r in old
        if r["IsDeleted"] and datetime.fromisoformat(r["SystemModstamp"]) >= horizon
    )
    sandbox.delete("salesforce", "Lead", [_live(sandbox, "Lead")[0]["Id"]])
    expected = sorted([*expected, _live_deleted_now(sandbox)])
    listed = sf.query_all("SELECT Id FROM Lead WHERE IsDeleted = true", include_deleted=True)
    logged = sf.Lead.deleted(now - timedelta(days=29), now + timedelta(minutes=5))
    assert expected == sorted(r["Id"] for r in listed["records"])
    assert expected == sorted(r["id"] for r in logged["deletedRecords"])
    assert any(r["IsDeleted"] for r in old) and len(expected) < sum(r["IsDeleted"] for r in old)


def _live_deleted_now(sb: Sandbox) -> str:
    """The id of the lead the test deleted last (the newest stamp among deleted leads)."""
    deleted = [r for r in sb.records("salesforce", "Lead") if r["IsDeleted"]]
    return max(deleted, key=lambda r: r["SystemModstamp"])["Id"]
