"""Cost grows with metrics, not plans: 500 plans issue exactly as many SQL statements as 5."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event
from sqlmodel import Session

from plans.store import (
    ActivityRow,
    PartnerRow,
    PlanRow,
    PlanVersionRow,
    ProgressRow,
    SectionRow,
    TargetRow,
)
from tests.plans.factories import (
    activity,
    add_activities,
    add_partners,
    compute,
    plan,
    store_plans,
    utc,
)

TARGETS = [
    {"metric": "won_revenue", "value": 1000, "currency": "USD"},
    {"metric": "win_rate", "value": 40},
    {"metric": "registrations_approved", "value": 3},
    {"metric": "certified_individuals", "value": 2},
]


def _statements(engine, plans: int) -> tuple[int, int]:
    """Build ``plans`` partners with a plan and two deals each; count compute's statements."""
    with Session(engine) as session:
        keys = [f"P-{i:05d}" for i in range(plans)]
        ids = add_partners(session, *keys)
        rows = []
        for key in keys:
            rows.append(
                activity(
                    ids[key], "opportunity", status="won", amount="10", occurred_on=date(2026, 5, 1)
                )
            )
            rows.append(
                activity(
                    ids[key], "opportunity", status="lost", amount="5", occurred_on=date(2026, 5, 2)
                )
            )
        add_activities(session, rows)
        store_plans(session, [plan(f"{k}-Q2", k, "2026-Q2", TARGETS) for k in keys])
        session.commit()
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731 (statement text)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            result = compute(session, utc(2026, 8, 1))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len(result.changed_target_ids) == plans * len(TARGETS)
        return len(seen), result.statements


def _clear(engine) -> None:
    with Session(engine) as session:
        for table in (ProgressRow, TargetRow, SectionRow, PlanVersionRow, PlanRow, ActivityRow,
                      PartnerRow):  # fmt: skip
            session.execute(table.__table__.delete())
        session.commit()


def test_500_plans_issue_as_many_statements_as_5(engine):
    """Read targets, one aggregate per metric scope, one batched write: same count for 5 or 500."""
    few, few_reported = _statements(engine, 5)
    _clear(engine)
    many, many_reported = _statements(engine, 500)
    assert few == many
    assert (few, many) == (few_reported, many_reported)
