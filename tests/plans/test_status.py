"""Status lines: each computed target's progress as stored, flattened into today's columns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session

from plans.pacing import Progress
from plans.status import StatusLine, status_lines
from tests.plans.factories import (
    STATUS_COLUMNS,
    activity,
    add_activities,
    add_partners,
    catalogue,
    compute,
    plan,
    progress_by_key,
    store_plans,
    utc,
)


def _computed(session: Session) -> None:
    ids = add_partners(session, "P-1", "P-2")
    won = {"status": "won", "amount": "300", "occurred_on": date(2026, 4, 3)}
    add_activities(session, [activity(ids["P-1"], "opportunity", **won)])
    targets = [
        {"metric": "won_revenue", "value": 1000, "currency": "USD"},
        {"key": "deals", "metric": "won_deals", "value": 4},
    ]
    store_plans(
        session,
        [plan("b", "P-2", "2026-Q2", targets[1:]), plan("a", "P-1", "2026-Q2", targets)],
    )
    compute(session, utc(2026, 8, 1))


def test_a_status_line_carries_the_stored_progress(engine):
    """Each line's progress is the engine's Progress with the values stored for its target."""
    with Session(engine) as session:
        _computed(session)
        stored = progress_by_key(session)["won_revenue"]
        line = status_lines(session, catalogue(), plan_keys={"a"})[0]
    expected = Progress(
        actual=stored.actual,
        target=stored.target,
        attainment=stored.attainment,
        expected_to_date=stored.expected_to_date,
        forecast=stored.forecast,
        gap=stored.gap,
        status=stored.status,
        activity_count=stored.activity_count,
    )
    assert (expected, Decimal("300.0000")) == (line.progress, line.progress.actual)


def test_lines_are_ordered_by_partner_plan_and_target(engine):
    """Partner key, then plan key, then the target's order in the plan."""
    with Session(engine) as session:
        _computed(session)
        lines = status_lines(session, catalogue())
    assert [("P-1", "won_revenue"), ("P-1", "deals"), ("P-2", "deals")] == [
        (line.partner, line.target) for line in lines
    ]


def test_as_dict_has_the_status_columns_in_their_order():
    """as_dict's keys are today's JSON/CSV columns, in order, and StatusLine.COLUMNS says so."""
    line = _line()
    assert (STATUS_COLUMNS, STATUS_COLUMNS) == (list(line.as_dict()), list(StatusLine.COLUMNS))


def test_as_dict_flattens_the_progress_and_names_the_target_value_apart():
    """``target`` is the target's key; the target's value is ``target_value``; values unchanged."""
    line = _line()
    data = line.as_dict()
    progress = line.progress
    assert (
        "won_revenue",
        progress.target,
        progress.actual,
        progress.attainment,
        progress.status,
        progress.activity_count,
    ) == (
        data["target"],
        data["target_value"],
        data["actual"],
        data["attainment"],
        data["status"],
        data["activity_count"],
    )


def test_without_a_catalogue_the_metric_key_is_the_label(sqlite_engine):
    """`status` from the store alone: label falls back to the metric key, unit to empty."""
    with Session(sqlite_engine) as session:
        _computed(session)
        lines = status_lines(session, None, partner_keys={"P-2"})
    assert [("won_deals", "")] == [(line.label, line.unit) for line in lines]


def _line() -> StatusLine:
    progress = Progress(
        actual=Decimal("500"),
        target=Decimal("1000"),
        attainment=Decimal("0.5"),
        expected_to_date=Decimal("1000"),
        forecast=Decimal("500"),
        gap=Decimal("500"),
        status="off_track",
        activity_count=2,
    )
    return StatusLine(
        partner="P-1",
        partner_linked=True,
        plan="P-1-2026-Q2",
        period="2026-Q2",
        target="won_revenue",
        metric="won_revenue",
        label="Closed-won revenue",
        unit="money",
        currency="USD",
        progress=progress,
        plan_score=Decimal("0.75"),
        data_as_of=utc(2026, 8, 1),
    )
