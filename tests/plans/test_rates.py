"""config/rates.yaml: dated rates become validity ranges; mistakes are located at FILE:LINE."""

from __future__ import annotations

from pathlib import Path

from plans.rates import load_rates

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_each_rate_is_valid_until_the_next_one(tmp_path):
    """EUR from 2026-01-01 until 2026-07-01, then open-ended; the rate keeps its decimals."""
    (tmp_path / "rates.yaml").write_text(
        "version: 1\nbase: USD\nrates:\n"
        "  EUR:\n    - {from: 2026-01-01, rate: 0.85}\n    - {from: 2026-07-01, rate: '0.8712'}\n"
    )
    rates, problems = load_rates(tmp_path)
    assert problems == []
    assert rates is not None
    assert [(r["start_on"], r["end_on"], r["rate"]) for r in rates.rows] == [
        ("2026-01-01", "2026-07-01", "0.85"),
        ("2026-07-01", None, "0.8712"),
    ]


def test_a_non_positive_rate_is_reported_at_its_line(tmp_path):
    """A zero rate would divide by zero later: it is refused where it is written."""
    path = tmp_path / "rates.yaml"
    path.write_text("version: 1\nbase: USD\nrates:\n  EUR:\n    - {from: 2026-01-01, rate: 0}\n")
    rates, problems = load_rates(tmp_path)
    assert rates is None
    assert [p.render().removeprefix(str(path)) for p in problems] == [
        ":5: rates.EUR[0].rate: Input should be greater than 0"
    ]


def test_no_rates_file_means_no_rates_and_no_problem(tmp_path):
    """Single-currency setups need no rates.yaml."""
    assert load_rates(tmp_path) == (None, [])


def test_the_shipped_rates_load():
    """config/rates.yaml covers EUR, GBP and JPY against USD."""
    rates, problems = load_rates(CONFIG)
    assert problems == []
    assert rates is not None
    assert (rates.base, {r["currency"] for r in rates.rows}) == ("USD", {"EUR", "GBP", "JPY"})
