"""The generated dataset: deterministic, shaped as DATA.md says, scaling to a million activities."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import pytest

from sandbox import Sandbox, ids
from sandbox.hs_data import ACTIVITY_TYPES, HubSpotData
from sandbox.hs_store import HubSpotStore
from sandbox.sf_data import ACTIVITY_OBJECTS, SalesforceData
from sandbox.sf_schema import OBJECTS
from sandbox.sf_store import SalesforceStore
from sandbox.world import World

ANCHOR = date(2026, 4, 15)


def stores(seed: int = 5, scale: int = 3) -> tuple[SalesforceStore, HubSpotStore]:
    world = World.create(seed, scale, ANCHOR)
    return SalesforceStore(world), HubSpotStore(world)


def test_same_seed_same_records_other_seed_other_records():
    """A seed fixes every record; another seed gives other data."""
    first, again, other = stores(5)[0], stores(5)[0], stores(6)[0]
    assert first.records("Opportunity") == again.records("Opportunity")
    assert first.records("Opportunity") != other.records("Opportunity")
    assert stores(5)[1].records("deals") == stores(5)[1].records("deals")


def test_scale_2000_is_about_a_million_activities():
    """--scale 2000 holds 600,000 Salesforce and 400,000 HubSpot activities (counted, not built)."""
    world = World.create(1, 2000, ANCHOR)
    salesforce = sum(SalesforceData(world).counts[name] for name in ACTIVITY_OBJECTS)
    hubspot = sum(HubSpotData(world).counts[name] for name in ACTIVITY_TYPES)
    assert (600_000, 400_000) == (salesforce, hubspot)


def test_salesforce_values_stay_in_data_md_value_sets():
    """Every picklist value, currency and lookup is one DATA.md allows; dates are dates."""
    sf, _ = stores()
    for name, o in OBJECTS.items():
        for record in sf.records(name):
            for f in o.fields:
                value = record[f.name]
                if f.values and value is not None:
                    assert value in f.values, (name, f.name, value)
                if f.type == "date" and value is not None:
                    date.fromisoformat(value)
                if f.type == "reference" and value is not None and f.name != "Id":
                    assert sf.lookup(f.reference_to or "", value) is not None or sf.table(
                        f.reference_to or ""
                    ).get(value), (name, f.name)


def test_ids_have_key_prefixes_and_checksums():
    """Salesforce ids are 18 characters with the object's key prefix and a valid checksum;
    HubSpot ids are numeric strings."""
    sf, hs = stores()
    for name, o in OBJECTS.items():
        for record in sf.records(name):
            assert record["Id"].startswith(o.prefix)
            assert record["Id"][15:] == ids.checksum(record["Id"][:15])
    assert all(r["id"].isdigit() for r in hs.records("deals"))
    assert "0120Y000000RXpxQAG" == "0120Y000000RXpx" + ids.checksum("0120Y000000RXpx")


def test_partners_are_the_same_in_both_crms():
    """Each partner has one Account and one company with the same key, name and tier."""
    sf, hs = stores()
    accounts = {
        a["Partner_Key__c"]: (a["Name"], a["Partner_Tier__c"], a["Region__c"])
        for a in sf.records("Account")
        if a["IsPartner"]
    }
    companies = {
        c["properties"]["partner_key"]: (
            c["properties"]["name"],
            c["properties"]["partner_tier"],
            c["properties"]["region"],
        )
        for c in hs.records("companies")
        if c["properties"]["is_partner"] == "true"
    }
    assert ["P-00001", "P-00002", "P-00003"] == sorted(accounts)
    assert accounts == companies


def test_dates_span_two_years_back_and_two_quarters_ahead():
    """Close dates lie within [anchor - 2 years, anchor + 2 quarters] and cover both sides."""
    sf, _ = stores(scale=4)
    days = [r["CloseDate"] for r in sf.records("Opportunity")]
    low, high = (
        (ANCHOR - timedelta(days=731)).isoformat(),
        (ANCHOR + timedelta(days=183)).isoformat(),
    )
    assert low <= min(days) and max(days) <= high
    assert min(days) < (ANCHOR - timedelta(days=365)).isoformat() < ANCHOR.isoformat() < max(days)


def test_few_deleted_and_a_bulk_import_tie():
    """A few percent of activities are deleted; a tenth of them share one modified instant."""
    sf, hs = stores(scale=10)
    opportunities = sf.records("Opportunity")
    deleted = sum(r["IsDeleted"] for r in opportunities) / len(opportunities)
    ties = Counter(r["SystemModstamp"] for r in opportunities).most_common(1)[0][1]
    deals = hs.records("deals")
    hs_ties = Counter(r["updatedAt"] for r in deals).most_common(1)[0][1]
    assert 0.01 <= deleted <= 0.06
    assert (len(opportunities) // 10, len(deals) // 10) == (ties, hs_ties)


def test_derived_flags_agree_with_stages():
    """IsClosed/IsWon follow StageName; hs_is_closed(_won) follow dealstage."""
    sf, hs = stores()
    for r in sf.records("Opportunity"):
        assert (r["IsClosed"], r["IsWon"]) == (
            r["StageName"].startswith("Closed"),
            r["StageName"] == "Closed Won",
        )
    for d in hs.records("deals"):
        p = d["properties"]
        assert (p["hs_is_closed"], p["hs_is_closed_won"]) == (
            str(p["dealstage"].startswith("closed")).lower(),
            str(p["dealstage"] == "closedwon").lower(),
        )


def test_hubspot_modified_property_and_strings():
    """Contacts carry lastmodifieddate, other types hs_lastmodifieddate, equal to updatedAt; every
    property value is a string or null."""
    _, hs = stores()
    for name, modified in (("contacts", "lastmodifieddate"), ("deals", "hs_lastmodifieddate")):
        for r in hs.records(name):
            assert r["updatedAt"] == r["properties"][modified]
            assert all(v is None or isinstance(v, str) for v in r["properties"].values())
    amounts = [d["properties"]["amount"] for d in hs.records("deals") if d["properties"]["amount"]]
    assert all(re.fullmatch(r"\d+(\.\d\d)?", a) for a in amounts)


def test_touch_delete_and_insert(sandbox: Sandbox):
    """touch bumps the stamps to now, delete is soft, insert fills the system fields."""
    before = sandbox.records("salesforce", "Opportunity")[0]
    sandbox.touch("salesforce", "Opportunity", [before["Id"]], {"Amount": 1234.5})
    sandbox.delete("hubspot", "deals", [sandbox.records("hubspot", "deals")[0]["id"]])
    new = sandbox.insert("salesforce", "Lead", [{"LastName": "Ng", "Company": "Acme"}])[0]
    after = next(r for r in sandbox.records("salesforce", "Opportunity") if r["Id"] == before["Id"])
    lead = next(r for r in sandbox.records("salesforce", "Lead") if r["Id"] == new)
    assert (1234.5, True) == (after["Amount"], after["SystemModstamp"] > before["SystemModstamp"])
    assert after["LastModifiedDate"] == after["SystemModstamp"]
    assert sandbox.records("hubspot", "deals")[0]["archived"]
    assert (False, lead["CreatedDate"]) == (lead["IsDeleted"], lead["SystemModstamp"])
    assert new.startswith("00Q") and len(new) == 18


def test_exact_data_loads_with_system_fields_filled(make_sandbox):
    """--data records load as given; Ids, stamps and hs_object_id are filled where absent."""
    data = {
        "salesforce": {
            "Account": [
                {"Id": "0018d0000000ABCAAA", "Name": "Acme Partners", "Partner_Key__c": "P-9"}
            ],
            "Opportunity": [
                {
                    "Name": "Deal",
                    "PartnerAccountId": "0018d0000000ABCAAA",
                    "StageName": "Closed Won",
                    "SystemModstamp": "2026-01-02T03:04:05.000+0000",
                },
            ],
        },
        "hubspot": {
            "companies": [{"id": "77", "properties": {"name": "Acme", "partner_key": "P-9"}}],
            "deals": [
                {
                    "properties": {"dealname": "Deal", "amount": "10"},
                    "associations": {"companies": ["77"]},
                }
            ],
        },
    }
    sb = make_sandbox(data=data)
    opportunity = sb.records("salesforce", "Opportunity")[0]
    deal = sb.records("hubspot", "deals")[0]
    assert 1 == len(sb.records("salesforce", "Account"))
    assert ("2026-01-02T03:04:05.000+0000", True, True) == (
        opportunity["SystemModstamp"],
        opportunity["IsWon"],
        opportunity["Id"].startswith("006"),
    )
    assert (["77"], deal["id"]) == (
        deal["associations"]["companies"],
        deal["properties"]["hs_object_id"],
    )
    assert "77" == sb.records("hubspot", "companies")[0]["id"]


def test_unknown_objects_in_data_are_refused(make_sandbox):
    """A data file naming an unknown sObject is refused with a message naming it."""
    with pytest.raises(ValueError, match="Widget__c"):
        make_sandbox(data={"salesforce": {"Widget__c": [{}]}})
