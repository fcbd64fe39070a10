"""The compute follows the change: only targets a sync can have moved, in chunks of partners."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from plans.changes import Changes
from plans.store import PlanRow, ProgressRow, TargetRow
from tests.plans.factories import (
    activity,
    add_activities,
    add_partners,
    compute,
    plan,
    store_plans,
    utc,
)

AS_OF = utc(2026, 5, 15)
TARGETS = [
    {"key": "won", "metric": "won_deals", "value": 4, "weight": 2},
    {"key": "revenue", "metric": "won_revenue", "value": 1000, "currency": "USD"},
    {"key": "registrations", "metric": "registrations_submitted", "value": 3},
    {"key": "stalled", "metric": "stalled_opportunities", "value": 1},
]


def _program(session: Session, partners: int) -> dict[str, int]:
    """``partners`` partners, each with a 2026-Q2 plan of 4 targets and a few activities."""
    keys = [f"P-{n}" for n in range(1, partners + 1)]
    ids = add_partners(session, *keys)
    rows = []
    for n, key in enumerate(keys):
        for d in range(1 + n % 3):
            day = date(2026, 4, 1 + d)
            rows.append(
                activity(ids[key], "opportunity", status="won", amount=250, occurred_on=day)
            )
        rows.append(activity(ids[key], "deal_registration", occurred_on=date(2026, 4, 20)))
    add_activities(session, rows)
    store_plans(session, [plan(f"plan-{key}", key, "2026-Q2", TARGETS) for key in keys])
    return ids


def _snapshot(session: Session) -> dict[tuple[str, str], tuple[object, ...]]:
    """Stored progress by (plan key, target key): ids differ between stores, keys do not."""
    rows = session.execute(
        select(PlanRow.key, TargetRow.key, ProgressRow)
        .join(TargetRow, TargetRow.id == ProgressRow.target_id)
        .join(PlanRow, PlanRow.id == ProgressRow.plan_id)
    )
    return {
        (plan_key, target_key): (
            r.actual,
            r.attainment,
            r.expected_to_date,
            r.status,
        )
        for plan_key, target_key, r in rows
    }


def _scores(session: Session) -> dict[str, Decimal | None]:
    return {p.key: p.score for p in session.scalars(select(PlanRow))}


def test_chunked_compute_equals_one_chunk(engine):
    """Chunks of 2 partners (and one for a plan without partner) store what one chunk does."""
    results = []
    for chunk in (2, 1_000):
        with Session(engine) as session:
            _program(session, 5)
            store_plans(
                session,
                [
                    *[plan(f"plan-P-{n}", f"P-{n}", "2026-Q2", TARGETS) for n in range(1, 6)],
                    plan("orphan", "P-unknown", "2026-Q2", TARGETS),
                ],
            )
            result = compute(session, AS_OF, chunk_partners=chunk)
            results.append((result.targets, _snapshot(session), _scores(session)))
            session.rollback()
    (targets_small, progress_small, scores_small), (targets_big, progress_big, scores_big) = results
    assert targets_small == targets_big == 24
    assert progress_small == progress_big
    assert scores_small == scores_big


def test_a_change_to_one_partner_computes_only_the_targets_it_can_move(engine):
    """A new won deal of one partner: its 3 opportunity targets, not its registrations target."""
    with Session(engine) as session:
        ids = _program(session, 6)
        assert compute(session, AS_OF).targets == 24
        partner = ids["P-2"]
        add_activities(
            session,
            [
                activity(
                    partner, "opportunity", status="won", amount=500, occurred_on=date(2026, 5, 2)
                )
            ],
        )
        changes = Changes()
        changes.note(partner, "opportunity", date(2026, 5, 2))
        result = compute(session, AS_OF, partner_ids={partner}, changes=changes)
        narrow = (_snapshot(session), _scores(session))
        full = compute(session, AS_OF)
        after_full = (_snapshot(session), _scores(session))
    assert (result.targets, result.unchanged) == (3, 1)
    assert len(result.changed_target_ids) == 2  # won deals and revenue; stalled stays 0
    assert full.changed_target_ids == set()  # the full compute finds nothing left to change
    assert narrow == after_full


def test_a_change_dated_outside_a_period_moves_only_cumulative_targets(engine):
    """A deal dated 2025 cannot move a 2026-Q2 period total, but may move a cumulative count."""
    with Session(engine) as session:
        ids = _program(session, 2)
        compute(session, AS_OF)
        changes = Changes()
        changes.note(ids["P-1"], "opportunity", date(2025, 11, 3))
        before = compute(session, AS_OF, partner_ids={ids["P-1"]}, changes=changes)
        later = Changes()
        later.note(ids["P-1"], "opportunity", date(2026, 9, 1))
        after = compute(session, AS_OF, partner_ids={ids["P-1"]}, changes=later)
    assert (before.targets, before.unchanged) == (1, 3)  # stalled_opportunities is cumulative
    assert (after.targets, after.unchanged) == (0, 4)


def test_partners_marked_everything_and_new_targets_are_always_computed(engine):
    """A partner the notes cannot vouch for, and a target never computed, are computed whole."""
    with Session(engine) as session:
        ids = _program(session, 2)
        compute(session, AS_OF)
        changes = Changes()
        changes.all_of([ids["P-1"]])
        changes.note(ids["P-2"], "opportunity", date(2026, 9, 1))  # after the period: nothing
        marked = compute(session, AS_OF, partner_ids={ids["P-1"], ids["P-2"]}, changes=changes)
        store_plans(
            session,
            [
                plan(
                    f"plan-P-{n}",
                    f"P-{n}",
                    "2026-Q2",
                    [*TARGETS, {"key": "extra", "metric": "lost_deals", "value": 1}],
                )
                for n in (1, 2)
            ],
        )
        fresh = compute(session, AS_OF, partner_ids={ids["P-2"]}, changes=Changes())
    assert (marked.targets, marked.unchanged) == (4, 4)
    assert (fresh.targets, fresh.unchanged) == (5, 0)  # P-2 is not in the notes: all of it


def test_changes_travel_as_json_and_merge_to_their_widest_span():
    """Spans merge to (earliest, latest); an undated change widens to every period."""
    a = Changes()
    a.note(1, "opportunity", date(2026, 4, 2))
    a.note(1, "opportunity", date(2026, 1, 9))
    b = Changes()
    b.note(1, "opportunity", date(2026, 6, 30))
    b.note(2, "lead", None)
    b.all_of([3])
    a.add(b)
    again = Changes.from_json(a.to_json())
    assert again is not None
    assert again.spans == {
        1: {"opportunity": (date(2026, 1, 9), date(2026, 6, 30))},
        2: {"lead": (None, None)},
    }
    assert again.everything == {3} and again.partners() == {1, 2, 3}
    assert Changes.from_json(None) is None


def test_a_plan_whose_period_ended_is_computed_once_more_before_it_freezes(engine):
    """Changes dated elsewhere do not spare an ended plan its final compute, then it freezes."""
    with Session(engine) as session:
        ids = _program(session, 1)
        compute(session, AS_OF)
        changes = Changes()
        changes.note(ids["P-1"], "opportunity", date(2027, 2, 1))  # nothing Q2 2026 reads
        after_end = utc(2026, 7, 2)
        result = compute(session, after_end, partner_ids={ids["P-1"]}, changes=changes)
        frozen = session.scalar(select(PlanRow.frozen_at))
    assert (result.targets, result.unchanged) == (4, 0)
    assert result.frozen_plan_ids and frozen is not None
