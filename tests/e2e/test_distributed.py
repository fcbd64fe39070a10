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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_partnerplan_worker_logs_json_serves_health_and_metrics(
    make_flow, pg_schema, redis_url, capsys
):
    """`partnerplan worker`: JSON log lines only, /healthz ok, /metrics moving after a run."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    from tests.e2e.conftest import REPO
    from worker.cli import run as cli

    flow = make_flow(database_url=pg_url(pg_schema))
    migrate.upgrade(make_engine(flow.database_url))
    namespace = f"pp-test-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "REDIS_URL": redis_url,
        "DATABASE_URL": flow.database_url,
        "PARTNERPLAN_BROKER_NAMESPACE": namespace,
    }
    command = [sys.executable, "-m", "worker.cli", "--log-level", "info", "worker"]
    command += ["--config", str(flow.config), "--processes", "1", "--threads", "2"]
    command += ["--metrics-port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    events: list[dict] = []

    def until(event: str) -> dict:
        assert process.stderr is not None
        for line in process.stderr:
            events.append(json.loads(line))  # every line is JSON, Dramatiq's own included
            if events[-1]["event"] == event:
                return events[-1]
        raise AssertionError(f"the worker stopped before logging {event!r}: {events[-5:]}")

    def get(path: str) -> str:
        url = f"http://127.0.0.1:{port}{path}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.read().decode()

    try:
        until("metrics_server_started")
        health = get("/healthz")
        monkeypatch_env = {"REDIS_URL": redis_url, "PARTNERPLAN_BROKER_NAMESPACE": namespace}
        os.environ.update(monkeypatch_env)
        try:
            args = ["enqueue", "run", "--config", str(flow.config)]
            assert cli([*args, "--database-url", flow.database_url]) == 0
        finally:
            for name in monkeypatch_env:
                os.environ.pop(name, None)
        until("push finished")
        scraped = get("/metrics")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        client = redis.Redis.from_url(redis_url)
        keys = client.keys(f"{namespace}*")
        if keys:
            client.delete(*keys)
    assert "ok\n" == health
    assert 'partnerplan_records_pulled_total{source="salesforce",stream="sf_opportunities"}' in (
        scraped
    )
    assert "dramatiq_messages_total" in scraped
    assert any(e.get("logger", "").startswith("dramatiq") for e in events)
    assert all("run_id" in e for e in events if e.get("logger") == "writeback.push")
