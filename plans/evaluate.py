"""Running a scope's aggregate and reducing its rows to one value per partner.

Money rows arrive grouped by (partner, currency, rate period); each group's exact SQL sum is
converted to the scope's currency with the Decimal rates of its period (``amount x rate(T) /
rate(C)``, see :mod:`plans.rates`) and the groups are added up. A group whose
currency has no rate for its dates stops the computation with an error naming the currency and
the first such date: a silent 1.0 would put a yen amount into a dollar target.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from partnerplan.errors import ConfigurationError
from plans.catalogue import Aggregate, Metric
from plans.queries import Scope, aggregate_query


class MissingRate(ConfigurationError):
    """An amount must be converted but no rate covers its currency on its date."""

    def __init__(self, currency: str, day: str, source: str) -> None:
        fix = (
            f"add an entry for {currency} dated on or before {day} to config/rates.yaml"
            if source == "config"
            else f"the CRM stream {source!r} (rates.yaml `stream:`) stored no such rate: add "
            f"one in the CRM and sync {source!r}, or remove `stream:` to use rates.yaml's entries"
        )
        super().__init__(
            f"no conversion rate for {currency} on {day} (rates source {source!r}); {fix}"
        )
        self.currency = currency
        self.day = day


@dataclass(frozen=True)
class Value:
    """A metric's value for one partner and scope, and how many activities made it."""

    value: Decimal | None
    count: int


@dataclass(frozen=True)
class Rates:
    """How to convert: the stored rates' base, their source, the currency of amounts without one."""

    base: str | None
    source: str
    default_currency: str


def empty_value(metric: Metric) -> Value:
    """The value of a partner with no activities: 0 for totals, n/a (None) for averages."""
    totals = (Aggregate.count, Aggregate.sum, Aggregate.count_distinct)
    return Value(Decimal(0) if metric.aggregate in totals else None, 0)


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class _Converter:
    def __init__(self, target: str | None, rates: Rates) -> None:
        self.target = target
        self.rates = rates

    def __call__(self, amount: Decimal, row: Any, day: Any) -> Decimal:
        currency = row[1] or self.rates.default_currency
        target = self.target or self.rates.default_currency
        if currency == target:
            return amount
        base = self.rates.base
        src = Decimal(1) if currency == base else row[3]
        dst = Decimal(1) if target == base else row[5]
        if src is None:
            raise MissingRate(currency, str(day), self.rates.source)
        if dst is None:
            raise MissingRate(target, str(day), self.rates.source)
        return amount * Decimal(dst) / Decimal(src)


def _money(metric: Metric, rows: list[Any], convert: _Converter) -> dict[int, Value]:
    agg = metric.aggregate
    out: dict[int, Value] = {}
    if agg is Aggregate.median:
        values: dict[int, list[Decimal]] = {}
        for row in rows:
            values.setdefault(row[0], []).append(convert(row[6], row, row[7]))
        return {p: Value(statistics.median(v), len(v)) for p, v in values.items()}
    acc: dict[int, list[Any]] = {}
    for row in rows:
        partner, (total, n_amount, low, high, n_all, first_day) = row[0], tuple(row[6:])
        slot = acc.setdefault(partner, [Decimal(0), 0, None, None, 0])
        if n_amount:
            low_c, high_c = convert(low, row, first_day), convert(high, row, first_day)
            slot[0] += convert(total, row, first_day)
            slot[2] = low_c if slot[2] is None else min(slot[2], low_c)
            slot[3] = high_c if slot[3] is None else max(slot[3], high_c)
        slot[1] += n_amount
        slot[4] += n_all
    for partner, (total, n_amount, low, high, n_all) in acc.items():
        value: Decimal | None = {
            Aggregate.sum: total,
            Aggregate.avg: total / n_amount if n_amount else None,
            Aggregate.min: low,
            Aggregate.max: high,
        }[agg]
        out[partner] = Value(value, n_all)
    return out


def _plain(metric: Metric, rows: list[Any]) -> dict[int, Value]:
    agg = metric.aggregate
    if agg is Aggregate.count:
        return {r[0]: Value(Decimal(r[1]), r[1]) for r in rows}
    if agg is Aggregate.count_distinct:
        return {r[0]: Value(Decimal(r[1]), r[2]) for r in rows}
    if agg is Aggregate.duration:
        return {r[0]: Value(_dec(r[1]) / r[2] if r[2] else None, r[3]) for r in rows}
    if agg is Aggregate.median:
        values: dict[int, list[Decimal]] = {}
        for partner, raw in rows:
            values.setdefault(partner, []).append(_dec(raw))
        return {p: Value(statistics.median(v), len(v)) for p, v in values.items()}
    out: dict[int, Value] = {}
    for partner, total, n_value, low, high, n_all in rows:
        value: Decimal | None = None
        if n_value:
            value = {
                Aggregate.sum: _dec(total),
                Aggregate.avg: _dec(total) / n_value,
                Aggregate.min: _dec(low),
                Aggregate.max: _dec(high),
            }[agg]
        elif agg is Aggregate.sum:
            value = Decimal(0)
        out[partner] = Value(value, n_all)
    return out


def evaluate(
    session: Session,
    metric: Metric,
    scope: Scope,
    filters: dict[str, Any],
    partner_ids: set[int] | None,
    rates: Rates,
) -> dict[int, Value]:
    """Run one aggregate; the value of every partner that has matching activities."""
    dialect = session.get_bind().dialect.name
    query = aggregate_query(
        metric, scope, filters, partner_ids, dialect, rates.source, rates.default_currency
    )
    rows = list(session.execute(query))
    if metric.field == "amount":
        return _money(metric, rows, _Converter(scope.currency, rates))
    return _plain(metric, rows)
