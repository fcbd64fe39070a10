"""Syncing plans from config into the store: ids survive edits, only changes are reported."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from plans.planfile import load_plans
from plans.planstore import sync_plans
from plans.store import FxRateRow, PlanRow, ProgressRow, SectionRow, TargetRow
from plans.target import DEFINITION_FIELDS
from tests.plans.factories import add_partners, catalogue, compute, plan, store_plans, utc

CONFIG = Path(__file__).resolve().parents[2] / "config"


def _won(value: int) -> dict[str, object]:
    return {"metric": "won_deals", "value": value}


def test_syncing_the_same_plans_twice_changes_nothing(sqlite_engine):
    """A second sync of unchanged config reports no changed plan."""
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        first = store_plans(session, [plan("a", "P-1", "2026-Q2", [_won(2)])])
        second = store_plans(session, [plan("a", "P-1", "2026-Q2", [_won(2)])])
    assert (1, set()) == (len(first), second)


def test_an_edited_target_keeps_its_id_and_a_removed_one_loses_its_progress(sqlite_engine):
    """Target ids survive a value change (push state stays valid); removed targets go."""
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        store_plans(
            session, [plan("a", "P-1", "2026-Q2", [_won(2), {"metric": "lost_deals", "value": 1}])]
        )
        compute(session, utc(2026, 5, 1))
        before = dict(session.execute(select(TargetRow.key, TargetRow.id)).all())
        changed = store_plans(session, [plan("a", "P-1", "2026-Q2", [_won(5)])])
        after = dict(session.execute(select(TargetRow.key, TargetRow.id)).all())
        progress = session.scalar(select(func.count()).select_from(ProgressRow))
    assert {"won_deals": before["won_deals"]} == after
    assert (len(changed), progress) == (1, 1)


def test_an_edit_of_any_definition_field_reaches_the_stored_target(sqlite_engine):
    """Every field of a target's definition is written on the first sync and on an edit."""
    first = {"metric": "won_revenue", "value": 10, "currency": "USD"}
    edited = {
        "key": "won_revenue",
        "metric": "won_revenue",
        "value": 20,
        "currency": "EUR",
        "weight": 3,
        "filters": {"product_line": "Platform"},
        "phasing": {"mode": "monthly"},
    }
    stored = []
    with Session(sqlite_engine) as session:
        for targets in ([first], [edited]):
            written = plan("a", "P-1", "2026-Q2", targets)
            store_plans(session, [written])
            row = session.scalars(select(TargetRow)).one()
            session.refresh(row)
            given = {name: getattr(written.targets[0], name) for name in DEFINITION_FIELDS}
            stored.append((given, {name: getattr(row, name) for name in DEFINITION_FIELDS}))
    given, got = zip(*stored, strict=True)
    assert given == got


def test_a_plan_for_an_unknown_partner_is_stored_and_linked_later(sqlite_engine):
    """The partner arrives after the plan: the next sync links it and reports the plan."""
    with Session(sqlite_engine) as session:
        store_plans(session, [plan("a", "P-1", "2026-Q2", [_won(2)])])
        unlinked = session.scalar(select(PlanRow.partner_id))
        ids = add_partners(session, "P-1")
        changed = store_plans(session, [plan("a", "P-1", "2026-Q2", [_won(2)])])
        linked = session.scalar(select(PlanRow.partner_id))
    assert (None, ids["P-1"], 1) == (unlinked, linked, len(changed))


def test_a_plan_removed_from_config_is_kept_as_removed(sqlite_engine):
    """Its rows stay (push history) but it is no longer active."""
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        store_plans(session, [plan("a", "P-1", "2026-Q2", [_won(2)])])
        store_plans(session, [])
        assert session.scalar(select(PlanRow.status)) == "removed"


def test_the_example_config_syncs_with_gold_partners_from_the_store(sqlite_engine):
    """Templates expand for the store's Gold partners; rates and sections are stored."""
    plans, problems = load_plans(CONFIG, catalogue(), fiscal_year_start_month=1)
    assert plans is not None, problems
    with Session(sqlite_engine) as session:
        add_partners(session, "P-00001", "P-00004", tier="Gold")
        add_partners(session, "P-00002", "P-00003", "P-00005", tier="Silver")
        changed = sync_plans(session, plans)
        keys = set(session.scalars(select(PlanRow.key)))
        sections = session.scalar(select(func.count()).select_from(SectionRow))
        rates = session.scalar(select(func.count()).select_from(FxRateRow))
    assert {
        "P-00001-2026-Q4",
        "P-00001-2026-Q3",
        "P-00002-2026-Q4",
        "P-00002-2027-Q1",
        "P-00003-2026-Q4",
        "P-00005-2026-Q4",
        "P-00004-2026-Q4",
    } == keys
    # sections: P-00001 Q4 5 + Q3 1, P-00002 2 + 1, P-00003 1, P-00005 1, P-00004 2
    assert (len(changed), sections, rates) == (7, 13, 15)


def test_changed_rates_mark_every_plan_changed_and_unchanged_rates_nothing(sqlite_engine):
    """Editing rates.yaml recomputes all plans; re-syncing the same rates reports nothing."""
    plans, _ = load_plans(CONFIG, catalogue(), fiscal_year_start_month=1)
    assert plans is not None and plans.rates is not None
    with Session(sqlite_engine) as session:
        sync_plans(session, plans)
        unchanged = sync_plans(session, plans)
        plans.rates.rows[0]["rate"] = "0.9999"
        after_edit = sync_plans(session, plans)
        total = session.scalar(select(func.count()).select_from(PlanRow))
    assert (unchanged, len(after_edit)) == (set(), total)
