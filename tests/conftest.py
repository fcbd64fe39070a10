"""Shared fixtures: a store on every backend, real services found or skipped, clean env and logs.

A test that needs PostgreSQL or Redis uses the real servers on 127.0.0.1. When a server is
missing the test is skipped locally but fails under ``CI=true``, so CI can never go green by
skipping the database half of the suite.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from connectors.pacing import forget_memory
from connectors.schema_cache import SCHEMAS
from partnerplan.logs import configure
from plans.db import create_all, make_engine
from sandbox import Sandbox

PG_ADMIN_URL = os.environ.get(
    "PARTNERPLAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PARTNERPLAN_TEST_REDIS", "redis://127.0.0.1:6379/0")
_ENV_VARS = (
    "PARTNERPLAN_CONFIG",
    "PARTNERPLAN_SECRETS_FILE",
    "PARTNERPLAN_LOG_LEVEL",  # the CLI sets it for the processes it starts
    "DATABASE_URL",
    "REDIS_URL",
    "SF_CLIENT_ID",
    "SF_CLIENT_SECRET",
    "HUBSPOT_TOKEN",
)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (CI) when a service the test needs is not listening."""
    if _port_open(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must start it (.ci/run)")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no partnerplan env and default logging."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    SCHEMAS.clear()  # describes cached by an earlier test's connector are not this test's
    SCHEMAS.share(None)  # nor kept in an earlier test's store (build_context sets it)
    forget_memory()  # nor its pace (a cool-down after its 429s)
    yield
    configure()  # back to the defaults a fresh process has


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    """A fresh SQLite store file with every table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema in database ``test``, dropped afterwards (runs never collide)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_engine(pg_schema: str) -> Iterator[Engine]:
    """A PostgreSQL store in its own schema with every table."""
    engine = make_engine(PG_ADMIN_URL, schema=pg_schema)
    create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The store on each backend: every test using it runs on SQLite and on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def redis_url() -> str:
    """The real Redis on 127.0.0.1:6379 (skipped locally, failed in CI, when absent)."""
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Both sandbox CRMs with a small generated dataset (seed 7, two partners), serving."""
    with Sandbox(seed=7, scale=2) as running:
        yield running


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """A factory for sandboxes with other seeds, scales, data or faults; closes what it opened."""
    opened: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        running = Sandbox(**kwargs)
        opened.append(running)
        return running

    yield make
    for running in opened:
        running.close()
