"""The metric audit: each standard metric counts only records that meet its definition.

Each test here pins one fix of the audit on both databases: a metric that used to count records
whose status (or dates) did not meet what its label promises.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session

from tests.plans.factories import (
    activity,
    add_activities,
    add_partners,
    compute,
    plan,
    progress_by_key,
    store_plans,
    utc,
)


def _actuals(engine, rows_for, metrics: list[str]) -> dict[str, tuple[Decimal | None, int]]:
    with Session(engine) as session:
        ids = add_partners(session, "P-A")
        add_activities(session, rows_for(ids["P-A"]))
        targets = [{"metric": key, "value": 1} for key in metrics]
        store_plans(session, [plan("A-2026-Q2", "P-A", "2026-Q2", targets)])
        compute(session, utc(2026, 8, 1))
        session.commit()
        return {k: (row.actual, row.activity_count) for k, row in progress_by_key(session).items()}


def test_certifications_earned_does_not_count_enrollments(engine):
    """An enrollment in a certification is not a certification earned; a lapsed one was earned."""

    def rows(a: int):
        return [
            activity(a, "certification", status="certified", occurred_on=date(2026, 4, 15)),
            activity(a, "certification", status="expired", occurred_on=date(2026, 5, 1)),
            activity(a, "certification", status="enrolled", occurred_on=date(2026, 5, 10)),
        ]

    assert {"certifications_earned": (Decimal("2.00"), 2)} == _actuals(
        engine, rows, ["certifications_earned"]
    )


def test_a_negative_sales_cycle_is_left_out_of_the_average(engine):
    """A deal closed before it was created (an import) is counted as won but not as -60 days."""

    def rows(a: int):
        won = {"status": "won", "amount": 100, "occurred_on": date(2026, 5, 1)}
        return [
            activity(
                a, "opportunity", created_at=utc(2026, 4, 1), closed_at=utc(2026, 5, 1), **won
            ),
            activity(
                a, "opportunity", created_at=utc(2026, 6, 30), closed_at=utc(2026, 5, 1), **won
            ),
        ]

    actuals = _actuals(engine, rows, ["sales_cycle_days", "won_deals"])
    assert (Decimal("30.0"), 2) == actuals["sales_cycle_days"]
    assert (Decimal("2.00"), 2) == actuals["won_deals"]
