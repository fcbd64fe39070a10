"""Upgrading a store with plans: existing plans get their life, in place (targets kept)."""

from __future__ import annotations

from sqlalchemy import text

from plans import migrate
from plans.db import make_engine


def test_a_proposed_plan_becomes_a_shared_config_plan_at_version_1(tmp_path):
    """The old `proposed` is `shared`, declared so; every plan is a config plan, version 1."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate.upgrade(engine, "5ae34c73eac4")  # the revision before the plan's life
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plan (id, key, partner_key, period, period_start, period_end, status,"
                " definition, definition_hash) VALUES (1, 'p', 'P-1', '2026-Q2', '2026-04-01',"
                " '2026-07-01', 'proposed', '{}', 'h')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO target (id, plan_id, key, metric, value, weight, filters, phasing)"
                " VALUES (7, 1, 'won_deals', 'won_deals', 10000, 10000, '{}', '{}')"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        plan = conn.execute(
            text("SELECT status, declared, origin, version, conflicts FROM plan")
        ).one()
        targets = conn.execute(text("SELECT COUNT(*) FROM target")).scalar()
    engine.dispose()
    assert (("shared", "shared", "config", 1, "{}"), 1) == (tuple(plan), targets)
