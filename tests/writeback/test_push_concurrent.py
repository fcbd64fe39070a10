"""The push sends several write calls at once: the same calls and records, every answer kept."""

from __future__ import annotations

import _thread
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlmodel import Session

from connectors.base import WriteResult
from connectors.hubspot.dialect import HubSpotDialect
from partnerplan.errors import RetriableError
from plans.db import create_all, make_engine
from tests.writeback.helpers import FakeConnector, seed
from tests.writeback.test_push import KINDS, shipped, states
from worker import jobs
from writeback import payloads, push


class Crm:
    """One CRM that several connectors write to: every call and how many were in flight."""

    def __init__(self, width: int, meet: bool = False) -> None:
        self.width = width
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.met = threading.Event()
        if not meet:
            self.met.set()
        self.threads: set[str] = set()
        self.associated: list[tuple[str, str]] = []
        self.landed_ids: set[str] = set()
        self.early_associations = 0
        self.fail_call: int | None = None
        self.calls = 0
        self.partners_in_flight: list[str] = []
        self.raced: set[str] = set()
        self.partner_of: dict[str, str] = {}

    @contextmanager
    def call(self, partners: set[str] | None = None) -> Iterator[int]:
        """One call in flight; with ``meet``, the first ones wait (at most 1 s) until two are
        at once, so that a test of overlap never depends on how fast a thread starts."""
        partners = partners or set()
        with self.lock:
            self.raced |= partners & set(self.partners_in_flight)
            self.partners_in_flight.extend(partners)
            self.calls += 1
            number = self.calls
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.threads.add(threading.current_thread().name)
            if self.in_flight >= 2:
                self.met.set()
        try:
            self.met.wait(timeout=1)  # a serial push never meets: it just goes on after 1 s
            yield number
        finally:
            with self.lock:
                self.in_flight -= 1
                for partner in partners:
                    self.partners_in_flight.remove(partner)


class CrmConnector(FakeConnector):
    """A connector of one :class:`Crm`: a leased one per sending thread."""

    def __init__(self, crm: Crm, name: str, batch: int) -> None:
        super().__init__(name, batch)
        self.crm = crm
        self.concurrency = crm.width

    def _write(self, keys: list[str]) -> list[WriteResult]:
        partners = {self.crm.partner_of.get(k, k.split("-2026")[0]) for k in keys}
        with self.crm.call(partners) as number:
            if number == self.crm.fail_call:
                raise RetriableError("HubSpot answered 503 five times in a row; try again later")
            results = super()._write(keys)
        with self.crm.lock:
            self.crm.landed_ids.update(r.record_id or "" for r in results if r.ok)
        return results

    def associate(self, object: str, to_object: str, pairs: list[tuple[str, str]]) -> list[Any]:
        """Associate, noting any record id no upsert has answered yet."""
        with self.crm.call({self.crm.partner_of.get(b, b) for _, b in pairs}):
            self.write_calls += 1
            with self.crm.lock:
                self.crm.early_associations += sum(a not in self.crm.landed_ids for a, _ in pairs)
                self.crm.associated.extend(pairs)
            return [WriteResult(f"{a}:{b}", True) for a, b in pairs]


class Fleet:
    """The connectors of each CRM: the caller's, and one leased per sending thread."""

    def __init__(self, width: int, meet: bool = False) -> None:
        self.crms = {"salesforce": Crm(width), "hubspot": Crm(width, meet)}  # meet: HubSpot
        self.batch = {"salesforce": 200, "hubspot": 100}
        self.made: dict[str, list[CrmConnector]] = {"salesforce": [], "hubspot": []}
        self.fail_keys: set[str] = set()
        self.main = {name: self._make(name) for name in self.crms}

    def _make(self, name: str) -> CrmConnector:
        connector = CrmConnector(self.crms[name], name, self.batch[name])
        connector.fail_keys = self.fail_keys
        self.made[name].append(connector)
        return connector

    @contextmanager
    def lease(self, name: str) -> Iterator[CrmConnector]:
        """A new connector for one thread (the worker's lease hands out idle ones first)."""
        yield self._make(name)

    def upserts(self, name: str) -> list[list[dict[str, Any]]]:
        return [records for c in self.made[name] for _, _, records in c.upserts]

    def updates(self, name: str) -> list[list[dict[str, Any]]]:
        return [records for c in self.made[name] for _, records in c.updates]

    def write_calls(self, name: str) -> int:
        return sum(c.write_calls for c in self.made[name])


def run(session: Session, fleet: Fleet, *, concurrent: bool = True) -> push.PushSummary:
    summary = push.push_all(
        session,
        shipped(),
        KINDS,
        fleet.main.__getitem__,
        {},
        jobs.now(),
        lease=fleet.lease if concurrent else None,
    )
    session.flush()
    return summary


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """HubSpot batches of 10 records and 10 associations, partners 2 per chunk: many calls."""
    monkeypatch.setattr(HubSpotDialect, "write_batch", 10)
    monkeypatch.setattr(HubSpotDialect, "associate_batch", 10)
    monkeypatch.setattr(payloads, "CHUNK_PARTNERS", 2)


def _pushed(session: Session, fleet: Fleet) -> dict[str, Any]:
    """What each CRM holds and each destination's push states, comparable across runs."""
    out: dict[str, Any] = {}
    for name in ("salesforce", "hubspot"):
        records = {
            key: dict(sorted(r.items())) for c in fleet.made[name] for key, r in c.records.items()
        }
        out[name] = {
            "records": records,
            "states": {
                k: (s.fingerprint, s.crm_record_id, s.last_error)
                for k, s in states(session, name).items()
            },
            "write_calls": fleet.write_calls(name),
            "upserted": sorted(len(r) for r in fleet.upserts(name)),
            "updated": sorted(len(r) for r in fleet.updates(name)),
        }
    return out


def test_the_concurrent_push_sends_the_same_calls_and_records_as_the_serial_one(
    sqlite_engine, tmp_path, small_batches
):
    """7 partners x 30 targets: the same records land with the same (minimum) calls, pushed
    serially or with up to 3 calls at once, and the push states agree."""
    serial_engine = make_engine(f"sqlite:///{tmp_path / 'serial.db'}")
    create_all(serial_engine)
    results = []
    for engine, concurrent in ((serial_engine, False), (sqlite_engine, True)):
        fleet = Fleet(width=3, meet=concurrent)
        with Session(engine) as session:
            seed(session, partners=7, targets=30)
            summary = run(session, fleet, concurrent=concurrent)
            assert summary.outcome == jobs.SUCCEEDED
            results.append((_pushed(session, fleet), summary.details))
    (serial, serial_details), (concurrent, concurrent_details) = results
    assert serial == concurrent
    assert concurrent["salesforce"]["upserted"] == [10, 200]
    assert concurrent["hubspot"]["upserted"] == [10] * 21
    assert (concurrent["salesforce"]["write_calls"], concurrent["hubspot"]["write_calls"]) == (
        2 + 1,
        21 + 1 + 21,  # progress, the roll-up, 210 associations in tens
    )
    for name in ("salesforce", "hubspot"):
        for key in ("sent", "landed", "write_calls"):
            assert serial_details[name][key] == concurrent_details[name][key]
    serial_engine.dispose()


def test_calls_overlap_up_to_the_connectors_concurrency_each_on_its_own_connector(
    engine, small_batches
):
    """HubSpot's 43 calls go several at once, never more than 3, each thread on a leased connector;
    every association names a record id an upsert had already answered."""
    fleet = Fleet(width=3, meet=True)
    with Session(engine) as session:
        seed(session, partners=7, targets=30)
        assert run(session, fleet).outcome == jobs.SUCCEEDED
    crm = fleet.crms["hubspot"]
    assert 2 <= crm.most_in_flight <= 3
    assert fleet.crms["salesforce"].most_in_flight <= 3
    assert fleet.main["hubspot"].write_calls == 0  # the caller's connector only checks fields
    assert len(crm.threads) == 3 and threading.current_thread().name not in crm.threads
    assert (len(crm.associated), crm.early_associations) == (210, 0)
    assert not [t for t in threading.enumerate() if t.name.startswith("push-")]


def test_a_failed_call_keeps_the_others_answers_and_its_records_go_next_time(engine, small_batches):
    """The 2nd HubSpot call fails (retries exhausted): the calls in flight beside it still
    record what landed, the destination stops as incomplete, and the next push sends exactly
    the records that never landed, once each."""
    fleet = Fleet(width=3)
    fleet.crms["hubspot"].fail_call = 2
    with Session(engine) as session:
        seed(session, partners=7, targets=30)
        first = run(session, fleet)
        hubspot = first.details["hubspot"]
        landed = {k for k, s in states(session, "hubspot").items() if s.crm_record_id}
        upserted = {str(r["progress_key"]) for batch in fleet.upserts("hubspot") for r in batch}
        assert first.outcome == jobs.INCOMPLETE
        assert "503" in hubspot["error"]
        assert hubspot["landed"] == len(landed) == len(upserted & landed)
        assert hubspot["landed"] >= 10  # the first call's batch at least
        assert hubspot["write_calls"] == fleet.write_calls("hubspot")
        assert first.details["salesforce"]["landed"] == 217  # the other destination went on

        retry = Fleet(width=3)
        second = run(session, retry)
        resent = {str(r["progress_key"]) for batch in retry.upserts("hubspot") for r in batch}
        assert second.outcome == jobs.SUCCEEDED
        progress = {k for k in states(session, "hubspot") if not k.startswith("partner:")}
        assert resent == progress - landed
        assert second.details["salesforce"]["sent"] == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("push-")]


def test_rejected_records_in_concurrent_batches_wait_their_backoff_the_rest_land(sqlite_engine):
    """Records the CRM rejects in two of the Salesforce batches in flight get their error and
    backoff; every other record of every batch lands."""
    fleet = Fleet(width=4)
    rejected = {"P-00001-2026:t0007", "P-00003-2026:t0399"}
    fleet.fail_keys = rejected
    with Session(sqlite_engine) as session:
        seed(session, partners=3, targets=400)  # 1,200 progress records: 6 Salesforce calls
        summary = run(session, fleet)
        sf = states(session, "salesforce")
    assert summary.outcome == jobs.INCOMPLETE
    assert (summary.details["salesforce"]["failed"], summary.details["salesforce"]["landed"]) == (
        2,
        1200 + 3 - 2,
    )
    assert sorted(len(r) for r in fleet.upserts("salesforce")) == [200] * 6
    assert {k for k, s in sf.items() if s.last_error} == rejected
    assert all(sf[k].next_attempt_at is not None and sf[k].crm_record_id is None for k in rejected)


def test_ctrl_c_during_the_push_leaves_no_sending_thread_behind(sqlite_engine, small_batches):
    """Ctrl-C while HubSpot calls are in flight: the push raises KeyboardInterrupt, the threads
    send nothing more, and every one of them has ended."""
    fleet = Fleet(width=3)
    real = CrmConnector._write
    # The sending threads call at once: count their HubSpot calls here, under a lock, so that
    # exactly one of them (the second) interrupts, whatever the threads' interleaving.
    hubspot_calls = itertools.count(1)
    counting = threading.Lock()

    def interrupting(self: CrmConnector, keys: list[str]) -> list[WriteResult]:
        if self.crm is fleet.crms["hubspot"]:
            with counting:
                nth = next(hubspot_calls)
            if nth == 2:
                _thread.interrupt_main()  # what a Ctrl-C does: KeyboardInterrupt in main
        return real(self, keys)

    with Session(sqlite_engine) as session, pytest.MonkeyPatch.context() as patch:
        seed(session, partners=7, targets=30)
        patch.setattr(CrmConnector, "_write", interrupting)
        with pytest.raises(KeyboardInterrupt):
            run(session, fleet)
    assert fleet.crms["hubspot"].calls < 21 + 1 + 21  # it stopped sending
    assert not [t for t in threading.enumerate() if t.name.startswith("push-")]


def test_a_partners_records_are_never_in_two_calls_at_once(engine, monkeypatch):
    """Batches of 7 split partners of 5 targets across calls: the calls still overlap, but no
    partner's progress records, roll-up or associations are ever in two calls at once, and
    every record lands once."""
    monkeypatch.setattr(HubSpotDialect, "write_batch", 7)
    monkeypatch.setattr(HubSpotDialect, "associate_batch", 7)
    fleet = Fleet(width=4, meet=True)
    with Session(engine) as session:
        seeded = seed(session, partners=12, targets=5)
        for crm, ids in (("salesforce", seeded.sf_accounts), ("hubspot", seeded.hs_companies)):
            fleet.crms[crm].partner_of = {record_id: key for key, record_id in ids.items()}
        summary = run(session, fleet)
    hubspot = fleet.crms["hubspot"]
    assert summary.outcome == jobs.SUCCEEDED
    assert summary.details["hubspot"]["landed"] == 12 * 5 + 12
    assert (hubspot.raced, len(hubspot.associated)) == (set(), 12 * 5)
    assert hubspot.most_in_flight >= 2
