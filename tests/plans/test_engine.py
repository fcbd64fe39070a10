"""The progress engine's edge cases: empty periods, zero targets and denominators, boundaries,
leap days, fiscal years, pacing, and writing only what changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from plans.store import PlanRow, ProgressRow
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


def _won(partner: int, day: date, amount: str = "100", **kw) -> dict[str, object]:
    return activity(partner, "opportunity", status="won", amount=amount, occurred_on=day, **kw)


def _one(session: Session, period: str, targets, rows=(), *, as_of, fy: int = 1):
    ids = add_partners(session, "P-1")
    add_activities(session, [r(ids["P-1"]) for r in rows]) if rows else None
    store_plans(session, [plan("p", "P-1", period, targets, fiscal_year_start_month=fy)])
    compute(session, as_of)
    return progress_by_key(session)


def test_an_empty_period_counts_zero_and_averages_are_na(engine):
    """No activities: totals are 0 and off track at period end; an average is n/a, not 0."""
    with Session(engine) as session:
        rows = _one(
            session,
            "2026-Q2",
            [
                {"metric": "won_deals", "value": 5},
                {"metric": "average_deal_size", "value": 10, "currency": "USD"},
            ],
            as_of=utc(2026, 8, 1),
        )
    assert (Decimal(0), "off_track") == (rows["won_deals"].actual, rows["won_deals"].status)
    assert (
        rows["average_deal_size"].actual,
        rows["average_deal_size"].attainment,
        rows["average_deal_size"].status,
    ) == (None, None, "no_data")


def test_a_target_of_zero_is_achieved_with_na_attainment(engine):
    """Target 0: attainment has no meaning (n/a) and the target is achieved."""
    with Session(engine) as session:
        rows = _one(
            session, "2026-Q2", [{"metric": "won_deals", "value": 0}], as_of=utc(2026, 5, 1)
        )
    assert (rows["won_deals"].attainment, rows["won_deals"].status) == (None, "achieved")


def test_a_ratio_with_a_zero_denominator_is_na_not_zero(engine):
    """No closed deals: the win rate is n/a (None), never 0 %."""
    with Session(engine) as session:
        rows = _one(
            session, "2026-Q2", [{"metric": "win_rate", "value": 30}], as_of=utc(2026, 5, 1)
        )
    assert (
        rows["win_rate"].actual,
        rows["win_rate"].attainment,
        rows["win_rate"].status,
    ) == (None, None, "no_data")


def test_deleted_activities_are_excluded(engine):
    """A deal deleted in the CRM no longer counts."""
    rows = [
        lambda p: _won(p, date(2026, 4, 5)),
        lambda p: _won(p, date(2026, 4, 6), deleted=True),
    ]
    with Session(engine) as session:
        got = _one(
            session, "2026-Q2", [{"metric": "won_deals", "value": 2}], rows, as_of=utc(2026, 8, 1)
        )
    assert Decimal(1) == got["won_deals"].actual


def test_periods_are_half_open_on_both_boundaries(engine):
    """A deal on 04-01 is in Q2, one on 07-01 is in Q3 only, one on 03-31 in neither."""
    with Session(engine) as session:
        ids = add_partners(session, "P-1")
        add_activities(
            session, [_won(ids["P-1"], date(2026, m, d)) for m, d in ((3, 31), (4, 1), (7, 1))]
        )
        store_plans(
            session,
            [
                plan("q2", "P-1", "2026-Q2", [{"metric": "won_deals", "value": 1}]),
                plan("q3", "P-1", "2026-Q3", [{"metric": "won_deals", "value": 1}]),
            ],
        )
        compute(session, utc(2026, 8, 1))
        got = dict(
            session.execute(
                select(PlanRow.key, ProgressRow.actual).join_from(PlanRow, ProgressRow)
            ).all()
        )
    assert {"q2": Decimal(1), "q3": Decimal(1)} == got


def test_a_leap_day_is_counted_and_paced(engine):
    """2028-02-29 belongs to February; on that day 60 of Q1's 91 days have elapsed."""
    with Session(engine) as session:
        got = _one(
            session,
            "2028-Q1",
            [{"metric": "won_deals", "value": 91}],
            [lambda p: _won(p, date(2028, 2, 29))],
            as_of=utc(2028, 2, 29),
        )
    row = got["won_deals"]
    assert (Decimal(1), Decimal(60)) == (row.actual, row.expected_to_date)


def test_a_fiscal_year_starting_in_february(engine):
    """With FY starting in February, FY2027-Q1 is [2026-02-01, 2026-05-01)."""
    days = [(1, 31), (2, 1), (4, 30), (5, 1)]
    with Session(engine) as session:
        got = _one(
            session,
            "FY2027-Q1",
            [{"metric": "won_deals", "value": 2}],
            [lambda p, m=m, d=d: _won(p, date(2026, m, d)) for m, d in days],
            as_of=utc(2026, 6, 1),
            fy=2,
        )
    assert (Decimal(2), "achieved") == (got["won_deals"].actual, got["won_deals"].status)


def test_lower_is_better_inverts_attainment(engine):
    """A 60-day sales cycle against a 30-day target is 50 % attainment, off track."""

    def cycle(p):
        return _won(p, date(2026, 5, 1), created_at=utc(2026, 3, 2), closed_at=utc(2026, 5, 1))

    with Session(engine) as session:
        got = _one(
            session,
            "2026-Q2",
            [{"metric": "sales_cycle_days", "value": 30}],
            [cycle],
            as_of=utc(2026, 7, 15),
        )
    row = got["sales_cycle_days"]
    assert (Decimal(60), Decimal("0.5"), Decimal(30), "off_track") == (
        row.actual,
        row.attainment,
        row.gap,
        row.status,
    )


def test_pacing_linear_expected_forecast_and_status(engine):
    """30 of 61 days into Q4 (Oct 1 → Oct 30), 3 won of 12: expected 5.9, forecast 9.2, at risk."""
    rows = [lambda p, d=d: _won(p, date(2026, 10, d)) for d in (2, 9, 20)]
    with Session(engine) as session:
        got = _one(
            session,
            "2026-Q4",
            [{"metric": "won_deals", "value": 12}],
            rows,
            as_of=utc(2026, 10, 30),
        )
    row = got["won_deals"]
    # Q4 has 92 days; through Oct 30 inclusive: 30 elapsed. expected 12 x 30/92 = 3.91;
    # pace 3 / 3.91 = 0.77 (between 0.7 and 0.9): at risk; forecast 3 x 92/30 = 9.2.
    assert (Decimal("3.91"), Decimal("9.2"), Decimal("0.25"), "at_risk") == (
        row.expected_to_date,
        row.forecast,
        row.attainment,
        row.status,
    )


def test_monthly_phasing_sets_the_expected_to_date(engine):
    """Explicit monthly phasing: October 10, November 20 → mid-November expects 10 + 20x15/30."""
    target = {
        "metric": "won_deals",
        "value": 60,
        "phasing": {
            "mode": "explicit",
            "values": {"2026-10": "10", "2026-11": "20", "2026-12": "30"},
        },
    }
    with Session(engine) as session:
        got = _one(session, "2026-Q4", [target], as_of=utc(2026, 11, 15))
    assert Decimal(20) == got["won_deals"].expected_to_date


def test_unchanged_progress_is_not_rewritten(engine):
    """Recomputing with the same data writes nothing; a new deal changes exactly its target."""
    with Session(engine) as session:
        ids = add_partners(session, "P-1", "P-2")
        store_plans(
            session,
            [
                plan("a", "P-1", "2026-Q3", [{"metric": "won_deals", "value": 2}]),
                plan("b", "P-2", "2026-Q3", [{"metric": "won_deals", "value": 2}]),
            ],
        )
        first = compute(session, utc(2026, 8, 1, 9))
        again = compute(session, utc(2026, 8, 1, 18))
        add_activities(session, [_won(ids["P-2"], date(2026, 7, 5))])
        third = compute(session, utc(2026, 8, 1, 20))
        b_target = session.scalar(
            select(ProgressRow.target_id).where(ProgressRow.partner_id == ids["P-2"])
        )
    assert (len(first.changed_target_ids), len(again.changed_target_ids)) == (2, 0)
    assert {b_target} == third.changed_target_ids


def test_compute_can_be_limited_to_partners_and_plans(engine):
    """Only the plans of the given partners (or keys) are computed."""
    with Session(engine) as session:
        ids = add_partners(session, "P-1", "P-2")
        store_plans(
            session,
            [
                plan("a", "P-1", "2026-Q2", [{"metric": "won_deals", "value": 2}]),
                plan("b", "P-2", "2026-Q2", [{"metric": "won_deals", "value": 2}]),
            ],
        )
        by_partner = compute(session, utc(2026, 8, 1), partner_ids={ids["P-2"]})
        by_plan = compute(session, utc(2026, 8, 1), plan_keys={"a"})
    assert (by_partner.targets, by_plan.targets) == (1, 1)


def test_plans_that_are_not_active_are_not_computed(engine):
    """Draft and closed plans keep no fresh progress."""
    with Session(engine) as session:
        add_partners(session, "P-1")
        store_plans(
            session,
            [plan("a", "P-1", "2026-Q2", [{"metric": "won_deals", "value": 2}], status="draft")],
        )
        assert compute(session, utc(2026, 8, 1)).targets == 0


def test_a_plan_gets_a_weighted_score(engine):
    """Score = weighted attainment capped at 100 %: (3x1.0 + 1x0.5) / 4 = 0.875."""
    rows = [lambda p, d=d: _won(p, date(2026, 4, d)) for d in (1, 2, 3, 4)]
    targets = [
        {"metric": "won_deals", "value": 2, "weight": 3},  # 200 %, capped at 100 %
        {"metric": "won_revenue", "value": 800, "currency": "USD", "weight": 1},  # 400 / 800
    ]
    with Session(engine) as session:
        _one(session, "2026-Q2", targets, rows, as_of=utc(2026, 8, 1))
        assert Decimal("0.875") == session.scalar(select(PlanRow.score))


def test_compute_can_be_limited_to_periods_a_sync_touched(engine):
    """Activities dated from 2026-07-01 on cannot change a plan that ended on 2026-07-01."""
    with Session(engine) as session:
        add_partners(session, "P-1")
        store_plans(
            session,
            [
                plan("q2", "P-1", "2026-Q2", [{"metric": "won_deals", "value": 2}]),
                plan("q3", "P-1", "2026-Q3", [{"metric": "won_deals", "value": 2}]),
            ],
        )
        result = compute(session, utc(2026, 8, 1), period_end_after=date(2026, 7, 1))
    assert result.targets == 1
