"""The SOQL subset: parsing, Salesforce's error layout, and evaluation against the store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sandbox.sf_store import SalesforceStore
from sandbox.soql import DateLit, SoqlError, parse
from sandbox.soql_eval import compile_query, select
from sandbox.world import World


@pytest.fixture(scope="module")
def store() -> SalesforceStore:
    return SalesforceStore(World.create(11, 3, date(2026, 4, 15)))


def run(store: SalesforceStore, soql: str, include_deleted: bool = False) -> list[dict]:
    plan = compile_query(parse(soql), store)
    table = store.table(plan.sobject.name)
    return [table.record(i) for i in select(plan, store, include_deleted)]


def live(store: SalesforceStore, name: str) -> list[dict]:
    table = store.table(name)
    records = (table.record(i) for i in table.by_index())
    return [r for r in records if r and not r["IsDeleted"]]


def test_malformed_query_message_has_the_caret_layout():
    """A syntax error names the row, the column and the token, with a caret under it."""
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id FRM Opportunity")
    expected = (
        "\nSELECT Id FRM Opportunity\n          ^\nERROR at Row:1:Column:11\n"
        "unexpected token: 'FRM'"
    )
    assert ("MALFORMED_QUERY", expected) == (caught.value.code, str(caught.value))


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT FROM Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account WHERE Name = ",
        "SELECT Id FROM Account LIMIT x",
        "SELECT Id FROM Account ORDER Name",
        "SELECT Id FROM Account WHERE Name NOT = 'x'",
        "SELECT Id FROM Account WHERE CreatedDate > 2024-02-31T00:00:00Z",
    ],
)
def test_malformed_queries_are_refused(soql: str):
    """Incomplete or impossible queries raise MALFORMED_QUERY, never a Python error."""
    with pytest.raises(SoqlError) as caught:
        parse(soql)
    assert "MALFORMED_QUERY" == caught.value.code


def test_literals_escapes_and_relative_dates():
    """Quoted strings unescape; TODAY and LAST_N_DAYS:n become dates relative to today (UTC)."""
    query = parse(r"SELECT Id FROM Lead WHERE LastName = 'O\'Neil' AND ConvertedDate = TODAY")
    today = datetime.now(UTC).date().isoformat()
    assert ("O'Neil", DateLit(today)) == (query.where.items[0].value, query.where.items[1].value)
    window = parse("SELECT Id FROM Lead WHERE ConvertedDate = LAST_N_DAYS:7").where
    start = (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
    assert ("AND", DateLit(start), DateLit(today)) == (
        window.op,
        window.items[0].value,
        window.items[1].value,
    )


def test_incremental_order_equals_a_full_sort(store: SalesforceStore):
    """The bisect path for SystemModstamp >= X ORDER BY SystemModstamp, Id returns exactly what
    filtering and sorting every record would."""
    records = live(store, "Opportunity")
    middle = sorted(r["SystemModstamp"] for r in records)[len(records) // 2]
    literal = datetime.fromtimestamp(middle / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = sorted(
        (r["SystemModstamp"], r["Id"]) for r in records if r["SystemModstamp"] >= middle
    )
    soql = "SELECT Id FROM Opportunity WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id"
    found = run(store, soql.format(literal))
    assert expected == [(r["SystemModstamp"], r["Id"]) for r in found]


def test_filters_match_a_python_reference(store: SalesforceStore):
    """AND/OR/NOT, IN/NOT IN, LIKE (case-insensitive), null tests and numbers evaluate like
    the same predicate written in Python."""
    records = live(store, "Opportunity")
    expected = sorted(
        r["Id"]
        for r in records
        if (r["Amount"] is None or r["Amount"] > 50_000)
        and r["CurrencyIsoCode"] not in {"JPY"}
        and (r["Product_Line__c"] == "Platform" or "seats" in r["Name"].lower())
        and not r["IsWon"]
    )
    soql = (
        "SELECT Id FROM Opportunity WHERE (Amount = null OR Amount > 50000)"
        " AND CurrencyIsoCode NOT IN ('JPY') AND (Product_Line__c = 'platform' OR Name LIKE"
        " '%SEATS%') AND NOT IsWon = true ORDER BY Id"
    )
    assert expected == [r["Id"] for r in run(store, soql)]


def test_limit_offset_and_deleted(store: SalesforceStore):
    """LIMIT/OFFSET slice the ordered result; deleted rows appear only when asked for."""
    everything = run(store, "SELECT Id FROM Lead ORDER BY Id", include_deleted=True)
    visible = run(store, "SELECT Id FROM Lead ORDER BY Id")
    page = run(store, "SELECT Id FROM Lead ORDER BY Id LIMIT 5 OFFSET 10")
    assert [r["Id"] for r in visible[10:15]] == [r["Id"] for r in page]
    assert {r["Id"] for r in everything} - {r["Id"] for r in visible} == {
        r["Id"] for r in everything if r["IsDeleted"]
    }


def test_relationship_fields_filter_and_nest(store: SalesforceStore):
    """A lookup path in WHERE filters by the parent's field."""
    partner = next(a for a in live(store, "Account") if a["Partner_Key__c"] == "P-00002")
    expected = sorted(
        r["Id"]
        for r in live(store, "Deal_Registration__c")
        if r["Partner_Account__c"] == partner["Id"]
    )
    soql = "SELECT Id FROM Deal_Registration__c WHERE Partner_Account__r.Partner_Key__c = 'P-00002'"
    assert expected == sorted(r["Id"] for r in run(store, soql))


def test_unknown_relationship_is_invalid_field(store: SalesforceStore):
    """An unknown relationship name is INVALID_FIELD, as Salesforce reports it."""
    with pytest.raises(SoqlError) as caught:
        compile_query(parse("SELECT Partner.Name FROM Opportunity"), store)
    assert "INVALID_FIELD" == caught.value.code
    assert "Didn't understand relationship 'Partner'" in str(caught.value)
