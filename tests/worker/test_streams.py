"""Concurrent streams: a connector per syncing thread, store writes that never collide, order."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session, func, select

from plans.db import session_scope, upsert
from plans.store import PartnerRow, RunRow
from worker import jobs, writes
from worker.dispatch import InlineDispatcher
from worker.pipeline import Context
from worker.streams import lanes, longest_first

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class _Connector:
    """A stand-in connector that only says how many streams its source may sync at once."""

    def __init__(self, name: str, concurrency: int) -> None:
        self.name, self.concurrency = name, concurrency


def _context(engine: Any, built: list[_Connector], concurrency: int = 3) -> Context:
    def factory(name: str, _settings: Any) -> Any:
        connector = _Connector(name, concurrency)
        built.append(connector)
        return connector

    project = SimpleNamespace(settings=SimpleNamespace(sources={"sf": object(), "hs": object()}))
    return Context(
        project=project,  # type: ignore[arg-type]
        engine=engine,
        dispatcher=InlineDispatcher(),
        connector_factory=factory,
    )


def test_each_thread_syncing_a_source_holds_a_connector_of_its_own(sqlite_engine):
    """Three streams of a source syncing at once hold three connectors; later ones reuse them."""
    built: list[_Connector] = []
    ctx = _context(sqlite_engine, built)
    held: list[Any] = []
    inside = threading.Barrier(3)

    def sync() -> None:
        with ctx.lease("sf") as connector:
            inside.wait(timeout=5)  # all three hold one at the same time
            held.append(connector)
            assert ctx.connector("sf") is connector  # the stages below see the thread's own

    threads = [threading.Thread(target=sync) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in held}) == 3
    for _ in range(5):
        sync_alone = ctx.lease("sf")
        with sync_alone:
            pass
    assert ctx.connector("sf") in held  # the push takes an idle one: no new connector
    assert len(built) == 3


def test_a_source_syncs_as_many_streams_at_once_as_its_connector_allows(sqlite_engine):
    """Lanes: the connector's concurrency, at most the source's stream count."""
    ctx = _context(sqlite_engine, [], concurrency=3)
    runs = [RunRow(stage="sync_stream", trigger="t", source="sf", stream=f"s{i}") for i in range(5)]
    runs.append(RunRow(stage="sync_stream", trigger="t", source="hs", stream="h"))
    assert lanes(ctx, runs) == {"sf": 3, "hs": 1}


def test_an_in_memory_store_syncs_one_stream_at_a_time():
    """Every session of in-memory SQLite shares one connection: one lane of one thread."""
    from plans.db import create_all, make_engine

    engine = make_engine("sqlite://")
    create_all(engine)
    ctx = _context(engine, [], concurrency=8)
    runs = [RunRow(stage="sync_stream", trigger="t", source="sf", stream=f"s{i}") for i in range(4)]
    assert writes.shared_connection(engine)
    assert lanes(ctx, runs) == {"sf": 1}


def test_streams_whose_last_sync_took_longest_start_first(engine):
    """Never-synced streams first, then by the duration of their last successful sync."""
    with session_scope(engine) as session:
        for stream, seconds in (("short", 1), ("long", 9), ("mid", 5), ("long", 2)):
            run = jobs.create(session, "sync_stream", trigger="t", source="sf", stream=stream)
            run.started_at, run.finished_at = T0, T0 + timedelta(seconds=seconds)
            run.outcome = jobs.SUCCEEDED
        pending = [
            jobs.create(session, "sync_stream", trigger="t", source="sf", stream=name)
            for name in ("short", "long", "new", "mid")
        ]
    ordered = [run.stream for run in longest_first(engine, pending)]
    assert ordered == ["new", "mid", "long", "short"]  # "long" last took 2 s


def test_partner_units_writing_the_same_partners_in_opposite_orders_both_commit(engine):
    """Two CRMs' partner pages upserting the same keys at once, in opposite orders: no deadlock,
    no duplicate, every unit commits (the partners lock of worker.writes)."""
    keys = [f"P-{n:04d}" for n in range(200)]
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def store(order: list[str]) -> None:
        try:
            start.wait(timeout=5)
            for _ in range(5):
                with writes.unit(engine, partners=True) as session:
                    rows = [
                        {"key": key, "name": key, "attributes": {}, "updated_at": T0}
                        for key in order
                    ]
                    upsert(session, PartnerRow, rows, keys=["key"])
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=store, args=(keys,)),
        threading.Thread(target=store, args=(keys[::-1],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PartnerRow)) == len(keys)


def test_a_worker_process_syncs_at_most_concurrent_streams_of_a_source(sqlite_engine, monkeypatch):
    """Distributed mode keeps the same bound per process: a stream of a source whose slots are
    taken is not run (nor claimed) but sent again later, leaving the thread free."""
    from dramatiq import Message
    from dramatiq.brokers.stub import StubBroker

    from worker import broker as broker_module

    ctx = _context(sqlite_engine, [], concurrency=1)
    executed: list[int] = []
    inside, release = threading.Event(), threading.Event()

    def execute(_ctx: Any, _stage: str, run_id: int) -> None:
        executed.append(run_id)
        inside.set()
        release.wait(timeout=5)

    monkeypatch.setattr(broker_module, "execute", execute)
    monkeypatch.setattr(broker_module, "_syncs", lambda _ctx, _run_id: "sf")
    stub = StubBroker()
    actors = broker_module.ActorSet(stub, lambda _dispatcher: ctx)
    sync = actors.actors["sync_stream"].fn
    first = threading.Thread(target=sync, args=(1,))
    first.start()
    assert inside.wait(timeout=5)
    sync(2)  # the source's one slot is taken
    release.set()
    first.join()
    sync(3)  # free again
    delayed = stub.queues[f"{broker_module.QUEUE}.DQ"]
    sent_again = [Message.decode(data).args for data in delayed.queue]
    assert executed == [1, 3]
    assert sent_again == [(2,)]
    stub.close()
