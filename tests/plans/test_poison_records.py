"""One poison record never blocks its page: it is quarantined with its reason, the rest is stored.

Each poison value is one a real CRM can hold and the store cannot: an amount past the scaled
BIGINT, an infinity, a NUL byte (PostgreSQL refuses it in text and in JSON), an unpaired UTF-16
surrogate, a 65-bit integer in an attribute, a year-9999 date. Every test runs on SQLite and on
PostgreSQL (the ``engine`` fixture), and reruns the same page to show it is not stuck.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session

from mappings.loader import load_mappings
from mappings.storable import MAX_AMOUNT, MONEY_SCALE
from plans.ingest import resolve_partners, store_batch
from plans.store import ActivityRow, PartnerRow, QuarantineRow
from plans.types import MONEY_SCALE as STORE_MONEY_SCALE
from tests.mappings.conftest import SHIPPED

NOW = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
P1 = "001000000000001AAA"


@pytest.fixture(scope="module")
def mappings():
    """The shipped mappings."""
    loaded, problems = load_mappings(SHIPPED)
    assert loaded is not None, problems
    return loaded


def _opportunity(i: int, **values):
    record = {
        "Id": f"006{i:015d}",
        "PartnerAccountId": P1,
        "StageName": "Closed Won",
        "IsClosed": True,
        "IsWon": True,
        "Amount": Decimal("100.00"),
        "CurrencyIsoCode": "USD",
        "CloseDate": "2026-03-01",
        "CreatedDate": "2026-01-05T10:00:00.000+0000",
        "Product_Line__c": "Platform",
        "SystemModstamp": "2026-04-02T11:20:31.000+0000",
        "IsDeleted": False,
    }
    record.update(values)
    return record


def _partner(record_id: str, key: str, name: str):
    return {
        "Id": record_id,
        "Name": name,
        "IsPartner": True,
        "Partner_Key__c": key,
        "Partner_Tier__c": "Gold",
        "Region__c": "EMEA",
        "SystemModstamp": "2026-04-02T11:20:31.000+0000",
        "IsDeleted": False,
    }


POISON = {
    "amount 1e15": ({"Amount": Decimal("1E+15")}, "Amount", "beyond the amounts the store holds"),
    "amount 1e300": ({"Amount": 1e300}, "Amount", "beyond the amounts the store holds"),
    "amount '1e309'": ({"Amount": "1e309"}, "Amount", "beyond the amounts the store holds"),
    "NUL in a partner id": ({"PartnerAccountId": "001\x00AAA"}, "PartnerAccountId", "NUL"),
    "lone surrogate": ({"Product_Line__c": "Plat\ud800form"}, "Product_Line__c", "surrogate"),
    "65-bit attribute": ({"Product_Line__c": 2**64}, "Product_Line__c", "does not fit in 64"),
    "year 9999": ({"CloseDate": "9999-12-31"}, "CloseDate", "outside 1900-01-01..2199-12-31"),
}


def _stored(session: Session) -> set[str]:
    return set(session.scalars(select(ActivityRow.record_id)))


def test_money_limits_match_the_store():
    """The mapping checks amounts against the same scale the store's money columns use."""
    assert (MONEY_SCALE, MAX_AMOUNT) == (STORE_MONEY_SCALE, Decimal("922337203685477.5807"))


@pytest.mark.parametrize("case", sorted(POISON))
def test_a_poison_record_is_quarantined_and_its_page_stored(engine, mappings, case):
    """Four clean records and one poison record: four stored, one quarantined naming its field."""
    values, field_label, reason = POISON[case]
    page = [_opportunity(i) for i in range(1, 5)] + [_opportunity(5, **values)]
    compiled = mappings.stream("sf_opportunities")
    for _ in range(2):  # the same page again: nothing stuck, nothing twice
        with Session(engine) as session:
            result = store_batch(session, "salesforce", compiled.name, compiled.map_many(page), NOW)
            session.commit()
    with Session(engine) as session:
        stored = _stored(session)
        (entry,) = session.scalars(select(QuarantineRow)).all()
    assert stored == {f"006{i:015d}" for i in range(1, 5)}
    assert (result.quarantined, entry.record_id, entry.attempts) == (1, f"006{5:015d}", 2)
    assert field_label in entry.reason
    assert reason in entry.reason


def test_a_nul_in_one_partner_name_does_not_unlink_the_others(engine, mappings):
    """The bad partner is quarantined; the other partner is stored and its activities linked."""
    partners = [_partner(P1, "P-00001", "Good"), _partner("001000000000002AAA", "P-00002", "B\x00d")]
    stream = mappings.stream("sf_partners")
    deals = mappings.stream("sf_opportunities")
    with Session(engine) as session:
        store_batch(session, "salesforce", deals.name, deals.map_many([_opportunity(1)]), NOW)
        result = store_batch(session, "salesforce", stream.name, stream.map_many(partners), NOW)
        resolve_partners(session)
        session.commit()
        keys = set(session.scalars(select(PartnerRow.key)))
        linked = session.scalar(select(ActivityRow.partner_id).where(ActivityRow.kind != "partner"))
        entry = session.scalars(select(QuarantineRow)).one()
    assert (keys, result.quarantined) == ({"P-00001"}, 1)
    assert linked is not None
    assert ("attributes.name", "Name") == (entry.field, entry.reason.split(":")[0])
    assert "\\u0000" in entry.raw["Name"]


def test_a_record_id_with_a_nul_is_quarantined_under_a_stable_key(engine, mappings):
    """A record whose own id cannot be stored still reaches quarantine, keyed by its content."""
    page = [_opportunity(1), {**_opportunity(2), "Id": "006\x00bad"}]
    compiled = mappings.stream("sf_opportunities")
    with Session(engine) as session:
        store_batch(session, "salesforce", compiled.name, compiled.map_many(page), NOW)
        session.commit()
        stored = _stored(session)
        entry = session.scalars(select(QuarantineRow)).one()
    assert stored == {f"006{1:015d}"}
    assert entry.record_id.startswith("missing-id:")
    assert "NUL" in entry.reason


def test_a_deleted_record_with_a_poison_value_is_still_recorded_deleted(engine, mappings):
    """A deletion is never refused: the unstorable value becomes null, the deletion is stored."""
    page = [_opportunity(1, Amount=Decimal("1E+20"), IsDeleted=True)]
    compiled = mappings.stream("sf_opportunities")
    with Session(engine) as session:
        store_batch(session, "salesforce", compiled.name, compiled.map_many(page), NOW)
        session.commit()
        row = session.scalars(select(ActivityRow)).one()
    assert (row.deleted, row.amount) == (True, None)
