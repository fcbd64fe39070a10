"""Lineage: the activities behind a target's actual, found by the engine's own conditions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from partnerplan.errors import ConfigurationError
from plans.lineage import explain
from tests.plans.factories import (
    activity,
    add_activities,
    add_partners,
    catalogue,
    plan,
    store_plans,
)


def _deal(partner: int, record: str, status: str, day: date) -> dict[str, object]:
    return activity(
        partner, "opportunity", record_id=record, status=status, amount="100", occurred_on=day
    )


def _stored(session: Session, partner: str = "P-1") -> None:
    ids = add_partners(session, "P-1")
    add_activities(
        session,
        [
            _deal(ids["P-1"], "OPP-2", "won", date(2026, 5, 3)),
            _deal(ids["P-1"], "OPP-1", "won", date(2026, 4, 3)),
            _deal(ids["P-1"], "OPP-3", "lost", date(2026, 6, 3)),
            _deal(ids["P-1"], "OPP-4", "won", date(2026, 7, 1)),  # after the period
        ],
    )
    targets = [
        {"metric": "won_revenue", "value": 1000, "currency": "USD"},
        {"key": "rate", "metric": "win_rate", "value": 50},
    ]
    store_plans(session, [plan("a", partner, "2026-Q2", targets)])


def test_explain_lists_the_activities_of_the_period_by_date(engine):
    """Won deals inside the period, oldest first; the one after the period is left out."""
    with Session(engine) as session:
        _stored(session)
        target, rows = explain(session, catalogue(), "a", "won_revenue")
    assert ("won_revenue", ["OPP-1", "OPP-2"]) == (target.key, [r.record_id for r in rows])


def test_a_ratio_lists_its_numerator_then_its_denominator(engine):
    """A target found by its key: the win rate's won deals, then every closed deal."""
    with Session(engine) as session:
        _stored(session)
        _, rows = explain(session, catalogue(), "a", "rate")
    assert [
        ("won_deals", "OPP-1"),
        ("won_deals", "OPP-2"),
        ("closed_deals", "OPP-1"),
        ("closed_deals", "OPP-2"),
        ("closed_deals", "OPP-3"),
    ] == [(r.part, r.record_id) for r in rows]


def test_a_plan_whose_partner_is_not_in_the_store_has_no_lineage(sqlite_engine):
    """No partner, no activities: the target is found and its lineage is empty."""
    with Session(sqlite_engine) as session:
        _stored(session, partner="P-9")
        target, rows = explain(session, catalogue(), "a", "won_revenue")
    assert ("won_revenue", []) == (target.key, rows)


def test_an_unknown_plan_says_how_to_store_it(sqlite_engine):
    """The error names the plan and the command that stores it."""
    with Session(sqlite_engine) as session, pytest.raises(ConfigurationError) as raised:
        explain(session, catalogue(), "nope", "won_revenue")
    assert "no plan 'nope'" in str(raised.value) and "partnerplan compute" in str(raised.value)


def test_an_unknown_target_names_the_plans_targets(sqlite_engine):
    """Neither a key nor a metric of the plan: the error lists the plan's target keys."""
    with Session(sqlite_engine) as session:
        _stored(session)
        with pytest.raises(ConfigurationError) as raised:
            explain(session, catalogue(), "a", "new_logos")
    assert "its targets: won_revenue, rate" in str(raised.value)
