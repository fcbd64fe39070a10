"""Money: each activity converted at its own date's rate, exactly, into the target's currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from plans.evaluate import MissingRate
from plans.rates import RateSet, RatesFile
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

# 1 USD buys 0.80 EUR until 2026-05-01, then 0.90 EUR; 1 USD buys 0.50 GBP.
RATES = RateSet.from_file(
    RatesFile.model_validate(
        {
            "base": "USD",
            "rates": {
                "EUR": [
                    {"from": "2026-01-01", "rate": "0.80"},
                    {"from": "2026-05-01", "rate": "0.90"},
                ],
                "GBP": [{"from": "2026-01-01", "rate": "0.50"}],
            },
        }
    )
)


def _won(partner: int, amount: str, currency: str, day: date) -> dict[str, object]:
    return activity(
        partner, "opportunity", status="won", amount=amount, currency=currency, occurred_on=day
    )


def _setup(session: Session, targets: list[dict[str, object]], extra=()) -> None:
    ids = add_partners(session, "P-1")
    rows = [
        _won(ids["P-1"], "100", "USD", date(2026, 4, 10)),
        _won(ids["P-1"], "80", "EUR", date(2026, 4, 15)),  # at 0.80: 100 USD
        _won(ids["P-1"], "90", "EUR", date(2026, 5, 10)),  # at 0.90: 100 USD
        _won(ids["P-1"], "50", "GBP", date(2026, 6, 1)),  # at 0.50: 100 USD
        *[_won(ids["P-1"], *args) for args in extra],
    ]
    add_activities(session, rows)
    store_plans(session, [plan("p", "P-1", "2026-Q2", targets)], RATES)


def test_two_currencies_sum_into_a_usd_target(engine):
    """USD, EUR and GBP amounts become 400 USD, each at the rate of its own date."""
    with Session(engine) as session:
        _setup(session, [{"metric": "won_revenue", "value": 1000, "currency": "USD"}])
        compute(session, utc(2026, 8, 1))
        row = progress_by_key(session)["won_revenue"]
    assert (Decimal("400"), Decimal("0.4"), 4) == (row.actual, row.attainment, row.activity_count)


def test_a_eur_target_converts_through_the_base_currency(engine):
    """Into EUR: 100 USD→80, 80 EUR, 90 EUR, 50 GBP→50x0.90/0.50=90: 340 EUR."""
    with Session(engine) as session:
        _setup(session, [{"metric": "won_revenue", "value": 340, "currency": "EUR"}])
        compute(session, utc(2026, 8, 1))
        row = progress_by_key(session)["won_revenue"]
    assert (Decimal("340"), "achieved") == (row.actual, row.status)


def test_average_and_extremes_are_converted_too(engine):
    """Average deal size and largest deal compare amounts after conversion (all 100 USD)."""
    with Session(engine) as session:
        _setup(
            session,
            [
                {"metric": "average_deal_size", "value": 100, "currency": "USD"},
                {"metric": "largest_deal", "value": 100, "currency": "USD"},
                {"metric": "median_deal_size", "value": 100, "currency": "USD"},
            ],
        )
        compute(session, utc(2026, 8, 1))
        rows = progress_by_key(session)
    assert [Decimal(100)] * 3 == [
        rows[k].actual for k in ("average_deal_size", "largest_deal", "median_deal_size")
    ]


def test_sub_cent_amounts_add_up_exactly(engine):
    """Three 0.10 EUR deals at 0.80 make exactly 0.375 USD → 0.38 (never float drift)."""
    with Session(engine) as session:
        ids = add_partners(session, "P-1")
        add_activities(
            session, [_won(ids["P-1"], "0.10", "EUR", date(2026, 4, 2)) for _ in range(3)]
        )
        store_plans(
            session,
            [
                plan(
                    "p",
                    "P-1",
                    "2026-Q2",
                    [{"metric": "won_revenue", "value": 1, "currency": "USD"}],
                )
            ],
            RATES,
        )
        compute(session, utc(2026, 8, 1))
        assert Decimal("0.38") == progress_by_key(session)["won_revenue"].actual


def test_a_missing_rate_is_an_error_naming_currency_and_date(engine):
    """A JPY deal with no JPY rate stops the compute with JPY and the deal's date, not 1.0."""
    with Session(engine) as session:
        _setup(
            session,
            [{"metric": "won_revenue", "value": 1, "currency": "USD"}],
            extra=[("5000", "JPY", date(2026, 5, 3))],
        )
        with pytest.raises(MissingRate) as caught:
            compute(session, utc(2026, 8, 1))
    assert (caught.value.currency, caught.value.day) == ("JPY", "2026-05-03")
    assert "JPY on 2026-05-03" in str(caught.value)


def test_a_date_before_the_first_rate_is_missing_too(engine):
    """An EUR deal dated before EUR's first rate (2026-01-01) has no rate."""
    with Session(engine) as session:
        _setup(
            session,
            [{"metric": "won_revenue", "value": 1, "currency": "USD"}],
            extra=[("10", "EUR", date(2025, 12, 31))],
        )
        store_plans(
            session,
            [
                plan(
                    "p",
                    "P-1",
                    "2025-Q4",
                    [{"metric": "won_revenue", "value": 1, "currency": "USD"}],
                )
            ],
            RATES,
        )
        with pytest.raises(MissingRate, match="EUR on 2025-12-31"):
            compute(session, utc(2026, 8, 1))
