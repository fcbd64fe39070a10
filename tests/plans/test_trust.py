"""The trust rule in the engine: a target reading an untrusted kind keeps its last good values."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from plans.engine import compute_progress
from plans.store import PlanRow, ProgressRow
from plans.trust import KindTrust, verdict
from tests.plans.factories import (
    activity,
    add_activities,
    add_partners,
    catalogue,
    plan,
    progress_by_key,
    store_plans,
    utc,
)

T1, T2 = utc(2026, 5, 1, 9), utc(2026, 5, 2, 9)


def _compute(session, as_of, trust):
    return compute_progress(
        session, catalogue(), as_of=as_of, reporting_currency="USD", trust=trust
    )


def test_a_target_depends_on_its_kinds_and_on_partners():
    """Complete kinds give the earliest completion time; a stale one, or partners, hold it back."""
    trust = {"opportunity": KindTrust(T2), "partner": KindTrust(T1), "lead": KindTrust(T1, "x")}
    assert (True, T1) == (
        verdict(["opportunity"], trust).trusted,
        verdict(["opportunity"], trust).data_as_of,
    )
    assert (False, "x") == (verdict(["lead"], trust).trusted, verdict(["lead"], trust).reason)
    stale_partners = {"opportunity": KindTrust(T2), "partner": KindTrust(T1, "partners partial")}
    assert verdict(["opportunity"], stale_partners).trusted is False


def test_stale_targets_keep_their_values_and_the_plan_its_score(engine):
    """Opportunities untrusted: revenue keeps its last value, leads still move, no new score."""
    with Session(engine) as session:
        ids = add_partners(session, "P-1")
        won = {"status": "won", "amount": 100, "occurred_on": date(2026, 4, 20)}
        add_activities(session, [activity(ids["P-1"], "opportunity", **won)])
        targets = [
            {"metric": "won_revenue", "value": 1000, "currency": "USD"},
            {"metric": "leads_submitted", "value": 10},
        ]
        store_plans(session, [plan("A", "P-1", "2026-Q2", targets)])
        good = {"opportunity": KindTrust(T1), "lead": KindTrust(T1), "partner": KindTrust(T1)}
        first = _compute(session, T1, good)
        score = session.scalar(select(PlanRow.score))
        add_activities(
            session,
            [
                activity(ids["P-1"], "opportunity", **{**won, "amount": 900}),
                activity(ids["P-1"], "lead", status="new", occurred_on=date(2026, 4, 21)),
            ],
        )
        partial = {**good, "opportunity": KindTrust(T1, "stream sf_opportunities is partial")}
        second = _compute(session, T2, partial)
        rows = progress_by_key(session)
        after = session.scalar(select(PlanRow.score))
        stored = {r.target_id: r.data_as_of for r in session.scalars(select(ProgressRow))}
    assert (first.targets, second.targets, len(second.stale)) == (2, 1, 1)
    assert set(second.stale.values()) == {"stream sf_opportunities is partial"}
    assert rows["won_revenue"].actual == 100  # the last good value, not 1,000 from partial data
    assert rows["leads_submitted"].actual == 1
    assert after == score
    assert set(stored.values()) == {T1}
