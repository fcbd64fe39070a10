"""Distributed mode: Dramatiq workers on the real Redis, the store on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis

from plans import migrate
from plans.db import make_engine, session_scope
from tests.e2e.conftest import Flow, check_golden, pg_url
from worker import jobs
from worker.broker import QUEUE, ActorSet, redis_broker
from worker.runtime import build_context


class Workers:
    """Dramatiq workers (threads of this process) bound to one Redis namespace."""

    def __init__(self, flow: Flow, redis_url: str, threads: int = 3) -> None:
        self.namespace = f"pp-test-{uuid.uuid4().hex[:8]}"
        self.redis_url = redis_url
        self.broker = redis_broker(redis_url, namespace=self.namespace)
        self.actors = ActorSet(
            self.broker,
            lambda d: build_context(d, config=flow.config, database_url=flow.database_url),
        )
        self.worker = dramatiq.Worker(self.broker, queues={QUEUE}, worker_threads=threads)

    def start(self) -> None:
        self.worker.start()

    def enqueue_sources(self) -> list[int]:
        ctx = self.actors.context()
        with session_scope(ctx.engine) as session:
            runs = [
                jobs.create(session, "sync_source", trigger="test", source=source)
                for source in ("salesforce", "hubspot")
            ]
        for run in runs:
            ctx.dispatcher.send(run.stage, run.id)
        return [r.id for r in runs]

    def join(self) -> None:
        self.broker.join(QUEUE, timeout=120_000)
        self.worker.join()

    def stop(self) -> None:
        self.worker.stop()
        self.broker.close()
        client = redis.Redis.from_url(self.redis_url)
        keys = client.keys(f"{self.namespace}*")
        if keys:
            client.delete(*keys)


@pytest.fixture
def workers(request) -> Iterator[list[Workers]]:
    started: list[Workers] = []
    yield started
    for w in started:
        w.stop()


def test_redis_workers_on_postgres_compute_the_golden_progress(
    make_flow, frozen_as_of, pg_schema, redis_url, workers
):
    """The same sandbox through Dramatiq workers on PostgreSQL gives the in-process result."""
    flow = make_flow(database_url=pg_url(pg_schema))
    migrate.upgrade(make_engine(flow.database_url))
    pool = Workers(flow, redis_url)
    workers.append(pool)
    pool.start()
    pool.enqueue_sources()
    pool.join()
    runs = flow.runs()
    assert {r.outcome for r in runs} == {"succeeded"}
    assert {r.stage for r in runs} == {
        "sync_source",
        "sync_stream",
        "compute_progress",
        "push_progress",
    }
    check_golden("progress-seed3-scale4", flow.progress())


def test_enqueue_run_puts_work_on_the_queue_for_the_workers(
    make_flow, pg_schema, redis_url, workers, monkeypatch, capsys
):
    """`partnerplan enqueue run` queues one run per source; workers started later finish them."""
    from worker.cli import run as cli

    flow = make_flow(database_url=pg_url(pg_schema))
    pool = Workers(flow, redis_url)
    workers.append(pool)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("PARTNERPLAN_BROKER_NAMESPACE", pool.namespace)
    args = ["enqueue", "run", "--config", str(flow.config), "--database-url", flow.database_url]
    assert cli(args) == 0
    assert "enqueued 2 source run(s)" in capsys.readouterr().out
    assert [r.outcome for r in flow.runs()] == ["pending", "pending"]
    pool.start()
    pool.join()
    assert {r.outcome for r in flow.runs()} == {"succeeded"}
