"""From an actual and a target to what a channel manager reads: attainment, pace and status.

* **expected-to-date**: for running totals, the share of the target due by the as-of date
  (through that day, inclusive): linear in elapsed days, equal per month (``monthly``) or explicit
  per month, prorated inside the current month. For levels (averages, rates, durations) it is the
  target itself.
* **forecast**: the run rate at period end (actual x period days ÷ elapsed days) for running
  totals; the actual for levels.
* **attainment**: actual ÷ target, or target ÷ actual when lower is better; n/a (None) when
  the divisor is 0 or there is no actual.
* **status**: ``achieved``, ``on_track``, ``at_risk``, ``off_track`` (pace compared with the
  thresholds), ``no_data`` when the actual is n/a.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from plans.catalogue import Direction, Metric, Unit
from plans.periods import Period

ACHIEVED, ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA = (
    "achieved",
    "on_track",
    "at_risk",
    "off_track",
    "no_data",
)
_PLACES = {
    Unit.money: Decimal("0.01"),
    Unit.count: Decimal("0.01"),
    Unit.percent: Decimal("0.01"),
    Unit.days: Decimal("0.1"),
    Unit.ratio: Decimal("0.01"),
    Unit.number: Decimal("0.01"),
}
FRACTION = Decimal("0.0001")


def quantize(value: Decimal | None, places: Decimal) -> Decimal | None:
    """Round half-even to ``places`` (what is stored and shown); None stays None."""
    return None if value is None else value.quantize(places, rounding=ROUND_HALF_EVEN)


def places(metric: Metric) -> Decimal:
    """The precision a metric's values are stored and shown at."""
    return _PLACES[metric.unit]


@dataclass(frozen=True)
class Progress:
    """One target's progress, as stored in ``progress`` and pushed to the CRM."""

    actual: Decimal | None
    target: Decimal
    attainment: Decimal | None
    expected_to_date: Decimal | None
    forecast: Decimal | None
    gap: Decimal | None
    status: str
    activity_count: int

    def fingerprint(self, metric_version: str, partner_id: int | None) -> str:
        """Hash of every value a CRM user sees (never the computation time)."""
        values = (
            self.actual,
            self.target,
            self.attainment,
            self.expected_to_date,
            self.forecast,
            self.gap,
            self.status,
            self.activity_count,
            metric_version,
            partner_id,
        )
        text = "|".join("" if v is None else str(v) for v in values)
        return hashlib.sha256(text.encode()).hexdigest()


def elapsed_days(period: Period, as_of: date) -> int:
    """Days of the period elapsed through ``as_of`` (inclusive), between 0 and its length."""
    return max(0, min(period.days, (as_of - period.start).days + 1))


def expected_share(
    period: Period, as_of: date, phasing: dict[str, object], target: Decimal
) -> Decimal:
    """The part of ``target`` due by ``as_of`` under the target's phasing."""
    mode = phasing.get("mode", "linear")
    if mode == "linear":
        return target * elapsed_days(period, as_of) / period.days
    months = period.months()
    if mode == "monthly":
        shares = {m.name: target / len(months) for m in months}
    else:
        values = phasing.get("values", {})
        assert isinstance(values, dict)
        shares = {m.name: Decimal(str(values.get(m.name, 0))) for m in months}
    due = Decimal(0)
    for month in months:
        due += shares[month.name] * elapsed_days(month, as_of) / month.days
    return due


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if denominator == 0 else numerator / denominator


def _status(pace: Decimal | None, thresholds: tuple[float, float]) -> str:
    if pace is None:
        return ON_TRACK
    on_track, at_risk = (Decimal(str(t)) for t in thresholds)
    if pace >= on_track:
        return ON_TRACK
    return AT_RISK if pace >= at_risk else OFF_TRACK


def progress(
    metric: Metric,
    *,
    actual: Decimal | None,
    count: int,
    target: Decimal,
    period: Period,
    as_of: datetime,
    phasing: dict[str, object],
    thresholds: tuple[float, float],
) -> Progress:
    """Compute one target's progress at ``as_of`` (pure: no I/O)."""
    q = places(metric)
    actual = quantize(actual, q)  # everything follows from the actual a user sees
    day = as_of.date()
    over = day >= period.end - timedelta(days=1)
    higher = metric.direction is Direction.higher
    if metric.is_additive:
        expected = expected_share(period, day, phasing, target)
        elapsed = elapsed_days(period, day)
        forecast = None if actual is None or elapsed == 0 else actual * period.days / elapsed
    else:
        expected, forecast = target, actual
    if actual is None:
        return Progress(None, target, None, quantize(expected, q), None, None, NO_DATA, count)
    attainment = _ratio(actual, target) if higher else _ratio(target, actual)
    gap = max(target - actual, Decimal(0)) if higher else max(actual - target, Decimal(0))
    if higher:
        done = actual >= target and (metric.is_additive or over)
        pace = _ratio(actual, expected) if metric.is_additive else attainment
    else:
        done = actual <= target and over
        pace = _ratio(expected, actual) if metric.is_additive else attainment
        if metric.is_additive and actual > target:
            pace = Decimal(0)
    status = ACHIEVED if done else _status(pace, thresholds)
    return Progress(
        actual=actual,
        target=target,
        attainment=quantize(attainment, FRACTION),
        expected_to_date=quantize(expected, q),
        forecast=quantize(forecast, q),
        gap=quantize(gap, q),
        status=status,
        activity_count=count,
    )


def plan_score(items: list[tuple[Decimal, Progress]]) -> Decimal | None:
    """Weighted mean of attainment capped at 100 % (an over-achieved target cannot hide a
    missed one); an achieved target with n/a attainment (target 0) counts as 100 %, a target
    without data is left out. None when no target counts."""
    total_weight = Decimal(0)
    total = Decimal(0)
    for weight, item in items:
        if item.status == NO_DATA:
            continue
        score = Decimal(1) if item.attainment is None else min(item.attainment, Decimal(1))
        if item.attainment is None and item.status != ACHIEVED:
            continue
        total += weight * score
        total_weight += weight
    return quantize(total / total_weight, FRACTION) if total_weight else None
