"""Nothing is lost: a worker killed with SIGKILL mid-sync, or Redis restarted mid-run.

These tests wait for a condition in the store (bounded, polled), never for a fixed time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from plans import migrate
from plans.db import make_engine, session_scope
from plans.store import ActivityRow, RunRow, WatermarkRow
from tests.e2e.conftest import Flow, pg_url
from worker import jobs
from worker.broker import QUEUE, ActorSet, redis_broker, start_recovery
from worker.runtime import build_context

SLOW_SALESFORCE = {"salesforce": {"latency_ms": 120, "page_size": 100}}
RESILIENCE_ENV = {
    "PARTNERPLAN_STALE_AFTER_SECONDS": "2",
    "PARTNERPLAN_RECOVER_SECONDS": "0.5",
    "PARTNERPLAN_BROKER_HEARTBEAT_MS": "2000",
}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _enqueue_sources(flow: Flow, actors: ActorSet) -> None:
    ctx = actors.context()
    with session_scope(ctx.engine) as session:
        runs = [
            jobs.create(session, "sync_source", trigger="test", source=source)
            for source in ("salesforce", "hubspot")
        ]
    for run in runs:
        ctx.dispatcher.send(run.stage, run.id)  # type: ignore[arg-type]


def _opportunity_page_stored(flow: Flow) -> bool:
    with Session(flow.engine()) as session:
        pulled = session.scalar(
            select(func.max(RunRow.records_pulled)).where(
                col(RunRow.stream) == "sf_opportunities", col(RunRow.outcome) == "running"
            )
        )
    return bool(pulled)


def _all_done(flow: Flow, streams: int) -> bool:
    with Session(flow.engine()) as session:
        open_runs = session.scalar(
            select(func.count())
            .select_from(RunRow)
            .where(col(RunRow.outcome).in_([jobs.PENDING, jobs.RUNNING]))
        )
        synced = session.scalar(
            select(func.count(func.distinct(RunRow.stream))).where(
                col(RunRow.stage) == "sync_stream", col(RunRow.outcome) == jobs.SUCCEEDED
            )
        )
    return open_runs == 0 and synced == streams


def _streams(flow: Flow) -> int:
    from worker.project import load_project

    return len(load_project(flow.config).mappings.streams)


def _assert_every_opportunity_stored_once(flow: Flow) -> None:
    # deletions listed before a record was ever synced are not records of the stream
    expected = {
        o["Id"] for o in flow.sandbox.records("salesforce", "Opportunity") if not o["IsDeleted"]
    }
    with Session(flow.engine()) as session:
        stored = list(
            session.scalars(
                select(ActivityRow.record_id).where(col(ActivityRow.stream) == "sf_opportunities")
            )
        )
        newest = session.scalar(
            select(func.max(ActivityRow.source_modified_at)).where(
                col(ActivityRow.stream) == "sf_opportunities"
            )
        )
        mark = session.scalars(
            select(WatermarkRow.modified_at).where(col(WatermarkRow.stream) == "sf_opportunities")
        ).one()
    assert sorted(stored) == sorted(expected)
    assert mark is not None and newest is not None and mark <= newest


@pytest.fixture
def resilient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short staleness and redelivery timeouts so recovery happens within seconds."""
    for name, value in RESILIENCE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(jobs, "STALE_AFTER", jobs.timedelta(seconds=2))


def _start_worker(flow: Flow, redis_url: str, namespace: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **RESILIENCE_ENV,
        "REDIS_URL": redis_url,
        "DATABASE_URL": flow.database_url,
        "PARTNERPLAN_CONFIG": str(flow.config),
        "PARTNERPLAN_BROKER_NAMESPACE": namespace,
    }
    dramatiq_cli = Path(sys.executable).with_name("dramatiq")
    return subprocess.Popen(
        [
            str(dramatiq_cli),
            "worker.entry",
            "--processes",
            "1",
            "--threads",
            "2",
            "--queues",
            QUEUE,
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so SIGKILL reaches the forked worker
    )


def test_kill_9_mid_sync_then_a_new_worker_finishes_the_run(
    make_flow, pg_schema, redis_url, resilient, tmp_path
):
    """A worker SIGKILLed mid-page: the next worker finishes; every record stored exactly once."""
    flow = make_flow(database_url=pg_url(pg_schema), faults=SLOW_SALESFORCE)
    migrate.upgrade(make_engine(flow.database_url))
    namespace = f"pp-test-{uuid.uuid4().hex[:8]}"
    broker = redis_broker(redis_url, namespace=namespace)
    actors = ActorSet(
        broker, lambda d: build_context(d, config=flow.config, database_url=flow.database_url)
    )
    log = tmp_path / "worker.log"
    first = _start_worker(flow, redis_url, namespace, log)
    try:
        _enqueue_sources(flow, actors)
        wait_for(lambda: _opportunity_page_stored(flow), "a first page of opportunities")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        second = _start_worker(flow, redis_url, namespace, log)
        try:
            wait_for(lambda: _all_done(flow, _streams(flow)), "every stream to finish")
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        broker.close()
    _assert_every_opportunity_stored_once(flow)
    retried = [r for r in flow.runs() if r.stream == "sf_opportunities"]
    assert [r.outcome for r in retried] == [jobs.SUCCEEDED]
    assert retried[0].attempts >= 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A private redis-server on a free port, which the test may kill and restart."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self._answers, "redis-server to accept connections", timeout=20)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path: Path, redis_url: str) -> Iterator[OwnRedis]:
    """A Redis this test owns (the shared one must not be restarted under other tests)."""
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def test_redis_restart_mid_run_loses_no_message_for_good(
    make_flow, pg_schema, own_redis, resilient
):
    """Redis killed and restarted empty mid-run: the runs recorded in the store still finish."""
    flow = make_flow(database_url=pg_url(pg_schema), faults=SLOW_SALESFORCE)
    migrate.upgrade(make_engine(flow.database_url))
    broker = redis_broker(own_redis.url, namespace="pp-test")
    actors = ActorSet(
        broker, lambda d: build_context(d, config=flow.config, database_url=flow.database_url)
    )
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=2)
    worker.start()
    stop_recovery = start_recovery(actors, every=0.5)
    try:
        _enqueue_sources(flow, actors)
        wait_for(lambda: _opportunity_page_stored(flow), "a first page of opportunities")
        own_redis.kill()  # every queued message is gone: this Redis keeps nothing on disk
        with Session(flow.engine()) as session:
            queued_when_killed = session.scalar(
                select(func.count()).select_from(RunRow).where(col(RunRow.outcome) == jobs.PENDING)
            )
        own_redis.start()
        wait_for(lambda: _all_done(flow, _streams(flow)), "every stream after the restart")
    finally:
        stop_recovery.set()
        worker.stop()
        broker.close()
    _assert_every_opportunity_stored_once(flow)
    assert queued_when_killed > 0  # messages really were lost with Redis
    assert {r.outcome for r in flow.runs()} == {jobs.SUCCEEDED}
