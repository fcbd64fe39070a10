"""Describes kept in the store: a new process within ``schema_cache_seconds`` asks the CRM for
none, asks again after it, and a field created since is still found (and the entry replaced).

A "process" here is a connector run with the in-memory cache cleared before it and the store
kept, the worker's shared layer set on the process's ``SCHEMAS`` as ``build_context`` does.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.schema_cache import SCHEMAS
from connectors.spec import StreamSpec
from plans.db import create_all, make_engine
from plans.store import DescribeRow
from sandbox import Sandbox
from sandbox.hs_schema import object_type
from sandbox.sf_schema import sobject
from sandbox.sf_types import Field
from tests.connectors.against import (
    DEALS,
    DESCRIBE,
    OPPORTUNITIES,
    PROPERTIES,
    calls,
    hubspot,
    salesforce,
)
from tests.connectors.test_schema_cache import T0, Clocks
from worker.describes import StoreDescribes, share_describes

TTL = 600.0
"""``schema_cache_seconds``' default, which the sandbox sources keep."""


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> Clocks:
    """The process's schema cache on fake clocks (no test sleeps through a ttl)."""
    fake = Clocks()
    monkeypatch.setattr(SCHEMAS, "clock", fake.monotonic)
    monkeypatch.setattr(SCHEMAS, "now", fake.wall)
    return fake


def _process(sb: Sandbox, *specs: StreamSpec) -> None:
    """One new process checking ``specs``' fields: an empty memory, the store as it is."""
    SCHEMAS.clear()
    for spec in specs:
        (salesforce(sb) if spec.source == "salesforce" else hubspot(sb)).check_fields(spec)


def _asked(sb: Sandbox) -> tuple[int, int]:
    """(Salesforce describes, HubSpot properties calls) so far."""
    return calls(sb, "salesforce", DESCRIBE), calls(sb, "hubspot", PROPERTIES)


def _stored(engine: Engine) -> dict[str, tuple[datetime, Any]]:
    """The store's describes by object: when fetched, and what."""
    with Session(engine) as session:
        rows = session.exec(select(DescribeRow)).all()
    return {row.object: (row.fetched_at, row.value) for row in rows}


def test_a_new_process_within_the_ttl_asks_for_no_describe_and_asks_again_after(
    sandbox, engine, clocks
):
    """The second process finds Opportunity, Account and deals in the store: 0 calls; a third,
    once the ttl has passed by the wall clock, asks each again."""
    share_describes(engine)
    _process(sandbox, OPPORTUNITIES, DEALS)
    first = _asked(sandbox)
    clocks.seconds = TTL - 1
    _process(sandbox, OPPORTUNITIES, DEALS)
    second = _asked(sandbox)
    clocks.seconds = TTL + 1
    _process(sandbox, OPPORTUNITIES, DEALS)
    assert ((2, 1), (2, 1), (4, 2)) == (first, second, _asked(sandbox))
    assert {"opportunity", "account", "deals"} == set(_stored(engine))


def test_what_comes_back_from_the_store_is_what_the_crm_gave(sandbox, engine):
    """A describe and a property list read from the store equal the ones asked of the CRM."""
    share_describes(engine)
    SCHEMAS.clear()
    asked = (salesforce(sandbox).describe("Opportunity"), hubspot(sandbox).properties("deals"))
    SCHEMAS.clear()
    stored = (salesforce(sandbox).describe("Opportunity"), hubspot(sandbox).properties("deals"))
    assert asked == stored
    assert (1, 1) == _asked(sandbox)


def test_a_property_created_after_the_store_was_filled_is_found_and_replaces_the_entry(
    sandbox, engine, clocks, monkeypatch
):
    """An admin creates a HubSpot property the stream now maps: the next process, finding the
    stored list without it, asks again, passes, and stores the new list for the one after."""
    deals = object_type("deals")
    assert deals is not None
    # the sandbox's object types are the module's: the property must not outlive this test
    monkeypatch.setattr(deals, "props", dict(deals.props))
    share_describes(engine)
    _process(sandbox, DEALS)
    requests.post(
        f"{sandbox.hubspot_url}/crm/v3/properties/deals",
        json={"name": "partner_tier", "label": "Partner tier", "type": "string"},
        headers={"Authorization": f"Bearer {sandbox.hubspot_token}"},
        verify=sandbox.ca_bundle,
        timeout=10,
    ).raise_for_status()
    clocks.seconds = 10
    wanting = StreamSpec(**{**DEALS.__dict__, "fields": (*DEALS.fields, "partner_tier")})
    _process(sandbox, wanting)
    _process(sandbox, wanting)
    fetched_at, names = _stored(engine)["deals"]
    assert (2, T0 + timedelta(seconds=10), True) == (
        calls(sandbox, "hubspot", PROPERTIES),
        fetched_at,
        "partner_tier" in names,
    )


def test_a_salesforce_field_created_after_the_store_was_filled_is_found(
    sandbox, engine, clocks, monkeypatch
):
    """The same for a Salesforce field: the stored describe lacks it, so it is asked again."""
    share_describes(engine)
    _process(sandbox, OPPORTUNITIES)
    opportunity = sobject("Opportunity")
    assert opportunity is not None
    created = Field("Partner_Tier__c", "string")
    monkeypatch.setattr(opportunity, "fields", [*opportunity.fields, created])
    monkeypatch.setitem(opportunity.by_lower, "partner_tier__c", created)
    clocks.seconds = 10
    wanting = StreamSpec(**{**OPPORTUNITIES.__dict__, "fields": ("Partner_Tier__c",)})
    _process(sandbox, wanting)
    fetched_at, described = _stored(engine)["opportunity"]
    assert (3, T0 + timedelta(seconds=10), True) == (
        calls(sandbox, "salesforce", DESCRIBE),
        fetched_at,
        "Partner_Tier__c" in {f["name"] for f in described["fields"]},
    )


def test_the_store_keeps_no_token(sandbox, engine):
    """The store's keys are digests: neither CRM's token nor secret appears in the table."""
    share_describes(engine)
    _process(sandbox, OPPORTUNITIES, DEALS)
    with Session(engine) as session:
        orgs = [row.org for row in session.exec(select(DescribeRow)).all()]
    secrets = (sandbox.hubspot_token, sandbox.salesforce_client_secret)
    assert orgs and not [org for org in orgs if any(s in org for s in secrets)]


def test_an_in_memory_store_is_not_shared():
    """A ``sqlite://`` store dies with the process: describes stay in memory only."""
    engine = make_engine("sqlite://")
    create_all(engine)
    share_describes(engine)
    assert SCHEMAS.shared is None


def test_a_file_store_is_shared(sqlite_engine):
    """Any store other processes can open becomes the shared layer."""
    share_describes(sqlite_engine)
    assert isinstance(SCHEMAS.shared, StoreDescribes)


def _locked(engine: Engine) -> sqlite3.Connection:
    """A connection holding the SQLite store's write lock, as the push's open transaction does."""
    holder = sqlite3.connect(str(engine.url.database), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_locked_sqlite_store_leaves_the_describe_pending_not_the_caller_waiting(sqlite_engine):
    """A save meeting the write lock (held by the thread's own transaction, which waiting could
    never see released) returns without error; the describe is read back from what is pending
    and written once the store is free."""
    shared = StoreDescribes(sqlite_engine)
    holder = _locked(sqlite_engine)
    shared.save(("org", "deals"), T0, ["amount"])
    pending = (shared.load(("org", "deals")), _stored(sqlite_engine))
    holder.rollback()
    holder.close()
    shared.flush()
    assert ((T0, ["amount"]), {}) == pending
    assert {"deals": (T0, ["amount"])} == _stored(sqlite_engine)


def test_a_describe_forgotten_while_the_store_is_locked_is_not_read_back(sqlite_engine):
    """A forget that cannot be written yet still hides the stored describe from this process,
    so the field it lacks is asked of the CRM rather than reported missing."""
    shared = StoreDescribes(sqlite_engine)
    shared.save(("org", "deals"), T0, ["amount"])
    holder = _locked(sqlite_engine)
    shared.forget(("org", "deals"))
    hidden = shared.load(("org", "deals"))
    holder.rollback()
    holder.close()
    shared.flush()
    assert (None, {}) == (hidden, _stored(sqlite_engine))
