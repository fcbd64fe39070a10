"""Describes are reused for a while, seen again after their lifetime, re-checked before a miss;
behind the memory, a shared layer (another process's describes) is used the same way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from connectors.errors import MissingField
from connectors.schema_cache import SCHEMAS, SchemaCache
from connectors.spec import StreamSpec
from partnerplan.logs import configure
from tests.connectors.against import (
    DEALS,
    DESCRIBE,
    OPPORTUNITIES,
    PROPERTIES,
    calls,
    drain,
    hs_ids,
    hubspot,
    salesforce,
    sf_ids,
)


def test_a_describe_is_reused_within_its_lifetime_and_asked_again_after():
    """Two reads within the TTL load once; a read after it loads again."""
    now = [0.0]
    cache = SchemaCache(clock=lambda: now[0])
    loads: list[int] = []

    def load() -> set[str]:
        loads.append(1)
        return {"amount"}

    cache.get(("portal", "deals"), 60, load)
    now[0] = 59
    cache.get(("portal", "deals"), 60, load)
    assert 1 == len(loads)
    now[0] = 61
    cache.get(("portal", "deals"), 60, load)
    assert 2 == len(loads)


def test_hubspot_properties_are_asked_once_for_every_connector_of_the_portal(sandbox):
    """Two connectors (two runs of one worker) check deals' fields: one properties call."""
    hubspot(sandbox).check_fields(DEALS)
    hubspot(sandbox).check_fields(DEALS)
    assert 1 == calls(sandbox, "hubspot", PROPERTIES)


def test_a_property_the_cache_lacks_is_asked_for_again_before_the_stream_fails(sandbox):
    """A stream needing a property the cached list lacks re-asks once, then names it."""
    connector = hubspot(sandbox)
    connector.check_fields(DEALS)
    wanting = StreamSpec(**{**DEALS.__dict__, "fields": (*DEALS.fields, "partner_tier__c")})
    with pytest.raises(MissingField, match="partner_tier__c"):
        connector.check_fields(wanting)
    assert 2 == calls(sandbox, "hubspot", PROPERTIES)


def test_salesforce_describes_are_shared_by_connectors_and_re_checked_on_a_miss(sandbox):
    """A second connector reuses the describes; a missing field re-asks them before failing."""
    salesforce(sandbox).check_fields(OPPORTUNITIES)
    salesforce(sandbox).check_fields(OPPORTUNITIES)
    assert 2 == calls(sandbox, "salesforce", DESCRIBE)  # Opportunity, and Account (a path)
    wanting = StreamSpec(**{**OPPORTUNITIES.__dict__, "fields": ("Partner_Tier__c",)})
    with pytest.raises(MissingField, match="Partner_Tier__c"):
        salesforce(sandbox).check_fields(wanting)
    assert 3 == calls(sandbox, "salesforce", DESCRIBE)


class MemoryShared:
    """A shared layer in a dict: what another process would have left in the store."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[datetime, Any]] = {}

    def load(self, key):
        return self.entries.get(key)

    def save(self, key, fetched_at, value):
        self.entries[key] = (fetched_at, value)

    def forget(self, key):
        self.entries.pop(key, None)


class BrokenShared:
    """A shared layer whose store is down: every call raises."""

    def load(self, key):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    save = forget = load


class Clocks:
    """A monotonic clock and a wall clock that move together, only when told."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def monotonic(self) -> float:
        return self.seconds

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)


T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _counting(value: Any) -> tuple[list[int], Any]:
    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return value

    return loads, load


def test_a_describe_another_process_fetched_within_the_ttl_is_used_without_asking():
    """An entry of the shared layer 30 s old (ttl 60, wall clock) is used and not asked."""
    clocks, shared = Clocks(), MemoryShared()
    shared.entries[("org", "deals")] = (T0 - timedelta(seconds=30), ["amount"])
    cache = SchemaCache(clock=clocks.monotonic, now=clocks.wall)
    cache.share(shared)
    loads, load = _counting(["amount", "dealname"])
    assert ["amount"] == cache.get(("org", "deals"), 60, load)
    assert [] == loads


def test_a_describe_from_the_shared_layer_expires_in_memory_when_it_would_there():
    """Taken 50 s old (ttl 60), it is asked again 11 s later, and the new one saved for all."""
    clocks, shared = Clocks(), MemoryShared()
    shared.entries[("org", "deals")] = (T0 - timedelta(seconds=50), ["amount"])
    cache = SchemaCache(clock=clocks.monotonic, now=clocks.wall)
    cache.share(shared)
    loads, load = _counting(["amount", "dealname"])
    cache.get(("org", "deals"), 60, load)
    clocks.seconds = 9
    cache.get(("org", "deals"), 60, load)
    assert [] == loads
    clocks.seconds = 11
    assert ["amount", "dealname"] == cache.get(("org", "deals"), 60, load)
    assert [1] == loads
    assert (T0 + timedelta(seconds=11), ["amount", "dealname"]) == shared.entries[("org", "deals")]


def test_an_old_shared_describe_is_asked_again_and_replaced():
    """An entry older than the ttl by the wall clock is not used: the CRM's answer replaces it."""
    clocks, shared = Clocks(), MemoryShared()
    shared.entries[("org", "deals")] = (T0 - timedelta(seconds=61), ["amount"])
    cache = SchemaCache(clock=clocks.monotonic, now=clocks.wall)
    cache.share(shared)
    loads, load = _counting(["amount", "dealname"])
    assert ["amount", "dealname"] == cache.get(("org", "deals"), 60, load)
    assert ([1], (T0, ["amount", "dealname"])) == (loads, shared.entries[("org", "deals")])


def test_forget_drops_the_describe_in_the_shared_layer_too():
    """A describe forgotten (a field it lacks) is gone for every process, not only this one."""
    cache, shared = SchemaCache(), MemoryShared()
    cache.share(shared)
    cache.get(("org", "deals"), 60, lambda: ["amount"])
    cache.forget(("org", "deals"))
    assert {} == shared.entries


def test_with_no_ttl_the_shared_layer_is_neither_read_nor_written():
    """``schema_cache_seconds: 0`` asks every time; the store is not written for nothing."""
    cache, shared = SchemaCache(), MemoryShared()
    shared.entries[("org", "deals")] = (datetime.now(UTC), ["amount"])
    cache.share(shared)
    loads, load = _counting(["dealname"])
    assert ["dealname"] == cache.get(("org", "other"), 0, load)
    assert ["dealname"] == cache.get(("org", "deals"), 0, load)
    assert ([1, 1], [("org", "deals")]) == (loads, list(shared.entries))


def test_a_broken_shared_layer_still_syncs_asking_the_crm_and_warns_once(sandbox, capsys):
    """With the store failing on every call, both CRMs' streams sync, their describes asked of
    the CRM (and kept in memory), and one warning says so."""
    configure("info", json=True)
    SCHEMAS.share(BrokenShared())
    sf_records, _ = drain(salesforce(sandbox).pull(OPPORTUNITIES, None))
    hs_records, _ = drain(hubspot(sandbox).pull(DEALS, None))
    salesforce(sandbox).check_fields(OPPORTUNITIES)  # a second connector: from memory
    assert sf_ids(sf_records) and hs_ids(hs_records)
    assert (2, 1) == (calls(sandbox, "salesforce", DESCRIBE), calls(sandbox, "hubspot", PROPERTIES))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    warned = [line for line in lines if line["event"] == "schema_cache_shared_failed"]
    assert [("load", "OperationalError")] == [(w["action"], w["error"]) for w in warned]
