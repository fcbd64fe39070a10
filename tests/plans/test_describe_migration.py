"""The cached describes' migration: upgrades to the ``describe`` table and downgrades without it,
on SQLite and PostgreSQL, the store otherwise untouched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from plans import migrate
from plans.db import make_engine
from tests.conftest import PG_ADMIN_URL

BEFORE = "d7a41c9e5b20"
"""The revision before the describes."""
REVISION = "b1652e1a5df7"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """An empty store (no table yet) on each backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        engine = make_engine(PG_ADMIN_URL, schema=request.getfixturevalue("pg_schema"))
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_the_describe_table_comes_and_goes_with_its_revision(empty_store):
    """Upgrade adds ``describe`` (a describe can be kept); downgrade drops it and only it;
    upgrading again leaves the schema equal to the models."""
    migrate.upgrade(empty_store, BEFORE)
    before = _tables(empty_store)
    migrate.upgrade(empty_store, REVISION)
    with empty_store.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO describe (org, object, fetched_at, value)"
                " VALUES ('partnerplan:pace:hubspot:0123', 'deals', :at, '[\"amount\"]')"
            ),
            {"at": "2026-12-01 09:00:00"},
        )
        kept = conn.execute(text("SELECT object FROM describe")).scalars().all()
    upgraded = _tables(empty_store)
    migrate.downgrade(empty_store, BEFORE)
    downgraded = (_tables(empty_store), migrate.current(empty_store))
    migrate.upgrade(empty_store)
    assert (["deals"], before | {"describe"}, (before, BEFORE), []) == (
        kept,
        upgraded,
        downgraded,
        migrate.pending_changes(empty_store),
    )
