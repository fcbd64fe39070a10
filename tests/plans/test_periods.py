"""Period names parse to half-open date ranges, fiscal years included."""

from __future__ import annotations

from datetime import date

import pytest

from plans.periods import parse_period


@pytest.mark.parametrize(
    ("name", "fy_start", "start", "end"),
    [
        ("2026", 1, date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q4", 1, date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-H2", 1, date(2026, 7, 1), date(2027, 1, 1)),
        ("2026-03", 1, date(2026, 3, 1), date(2026, 4, 1)),
        ("2026-12", 1, date(2026, 12, 1), date(2027, 1, 1)),
        ("FY2027", 1, date(2027, 1, 1), date(2028, 1, 1)),
        ("FY2027", 2, date(2026, 2, 1), date(2027, 2, 1)),
        ("FY2027-Q1", 2, date(2026, 2, 1), date(2026, 5, 1)),
        ("FY2027-Q4", 2, date(2026, 11, 1), date(2027, 2, 1)),
        ("FY2027-H2", 7, date(2027, 1, 1), date(2027, 7, 1)),
        ("2026-Q4", 2, date(2026, 10, 1), date(2027, 1, 1)),  # calendar names ignore the FY
    ],
)
def test_a_period_name_is_a_half_open_range(name, fy_start, start, end):
    """Each accepted form maps to [start, end)."""
    period = parse_period(name, fiscal_year_start_month=fy_start)
    assert (period.start, period.end) == (start, end)


def test_a_leap_year_quarter_has_91_days_and_three_months():
    """2028-Q1 includes 2028-02-29; its months split at calendar boundaries."""
    period = parse_period("2028-Q1")
    assert (period.days, [m.name for m in period.months()]) == (
        91,
        ["2028-01", "2028-02", "2028-03"],
    )


def test_fiscal_quarter_months_cross_the_calendar_year():
    """FY2027-Q4 with a February start covers Nov, Dec and Jan."""
    months = [m.name for m in parse_period("FY2027-Q4", fiscal_year_start_month=2).months()]
    assert months == ["2026-11", "2026-12", "2027-01"]


@pytest.mark.parametrize("name", ["2026-Q5", "2026-13", "26-Q1", "Q1-2026", "FY2027-03", ""])
def test_a_period_that_does_not_parse_says_which_forms_work(name):
    """Bad names raise ValueError listing the accepted forms."""
    with pytest.raises(ValueError, match="FY2027-Q1"):
        parse_period(name)


def test_adjacent_periods_do_not_overlap():
    """Half-open: Q3 ends where Q4 starts, and they share no day."""
    assert not parse_period("2026-Q3").overlaps(parse_period("2026-Q4"))
    assert parse_period("2026-Q4").overlaps(parse_period("2026-11"))
