"""One grouped SQL aggregate per metric and scope, on SQLite and PostgreSQL alike.

A *scope* is what every target sharing it has in common: the metric, the period, the target's
attribute filters and the currency. One ``SELECT ... GROUP BY partner_id`` per scope computes the
actual of every partner at once, so cost grows with the number of metrics, never with plans.

Dates are compared in their native type where they live in a column (so the activity indexes
apply) and as ISO text where they live in the JSON attributes. Money is summed per
(partner, currency, rate period): the SUM is exact in SQL (scaled integers) and the Decimal rate
is applied afterwards in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, Integer, Select, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from plans.catalogue import Aggregate, Metric, Window
from plans.store import ActivityRow, FxRateRow

ACTIVITY = ActivityRow.__table__  # type: ignore[attr-defined]
MAX_PARTNER_FILTER = 1000
"""Above this many partners a scope reads all partners rather than binding a huge IN list."""


@dataclass(frozen=True)
class Scope:
    """What targets sharing one aggregate have in common."""

    metric: str
    start: date
    end: date
    filters: str  # canonical JSON of the target's attribute filters
    currency: str | None


def _attr_text(name: str) -> ColumnElement[Any]:
    return ACTIVITY.c.attributes[name].as_string()  # type: ignore[no-any-return]


def date_expr(metric: Metric, name: str | None = None) -> tuple[ColumnElement[Any], str]:
    """The SQL expression of a date name and how it is stored: date, datetime or text."""
    where, what = metric.date_source(name)
    if where == "attribute":
        return _attr_text(what), "text"
    column = ACTIVITY.c[what]
    return column, ("date" if what == "occurred_on" else "datetime")


def day_text(expr: ColumnElement[Any], kind: str, dialect: str) -> ColumnElement[Any]:
    """The date as ``YYYY-MM-DD`` text (to join rate periods and take day differences)."""
    if kind == "text" or dialect == "sqlite":
        return func.substr(expr, 1, 10, type_=String)
    if kind == "datetime":
        return func.to_char(func.timezone("UTC", expr), "YYYY-MM-DD", type_=String)
    return func.to_char(expr, "YYYY-MM-DD", type_=String)


def _bound(day: date, kind: str) -> Any:
    if kind == "text":
        return day.isoformat()
    if kind == "datetime":
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return day


def filter_clause(name: str, value: Any) -> ColumnElement[bool]:
    """One attribute filter (a value, a list, ``{not: ...}`` or ``{present: bool}``) in SQL."""
    attr = _attr_text(name)
    if isinstance(value, list):
        return attr.in_([str(v) for v in value])
    if isinstance(value, dict) and "not" in value:
        excluded = value["not"] if isinstance(value["not"], list) else [value["not"]]
        return or_(attr.is_(None), attr.not_in([str(v) for v in excluded]))
    if isinstance(value, dict) and "present" in value:
        return attr.is_not(None) if value["present"] else attr.is_(None)
    return attr == str(value)


def conditions(
    metric: Metric,
    start: date,
    end: date,
    filters: dict[str, Any],
    partner_ids: set[int] | None,
) -> list[ColumnElement[bool]]:
    """The WHERE clause of a metric over one period: kinds, status, dates, filters, partners."""
    expr, kind = date_expr(metric)
    out: list[ColumnElement[bool]] = [
        ACTIVITY.c.kind.in_(metric.kinds)
        if len(metric.kinds) > 1
        else ACTIVITY.c.kind == metric.kinds[0],
        ACTIVITY.c.deleted == False,  # noqa: E712 (SQL comparison)
        expr < _bound(end, kind),
    ]
    if metric.window is Window.period:
        out.append(expr >= _bound(start, kind))
    else:
        out.append(expr.is_not(None))
    if metric.status is not None:
        out.append(ACTIVITY.c.status.in_(metric.status))
    for name, value in [*metric.plain_filters().items(), *filters.items()]:
        out.append(filter_clause(name, value))
    if partner_ids is not None and len(partner_ids) <= MAX_PARTNER_FILTER:
        out.append(ACTIVITY.c.partner_id.in_(sorted(partner_ids)))
    else:
        out.append(ACTIVITY.c.partner_id.is_not(None))
    return out


def _field_expr(metric: Metric) -> ColumnElement[Any]:
    assert metric.field is not None
    if metric.field == "amount":
        return ACTIVITY.c.amount  # type: ignore[no-any-return]
    return ACTIVITY.c.attributes[metric.field.removeprefix("attributes.")].as_integer()  # type: ignore[no-any-return]


def _days_between(metric: Metric, dialect: str) -> ColumnElement[Any]:
    start, start_kind = date_expr(metric, metric.start)
    end, end_kind = date_expr(metric, metric.end)
    a, b = day_text(start, start_kind, dialect), day_text(end, end_kind, dialect)
    if dialect == "sqlite":
        return cast(func.julianday(b) - func.julianday(a), Integer)
    return cast(b, Date) - cast(a, Date)


def aggregate_query(
    metric: Metric,
    scope: Scope,
    filters: dict[str, Any],
    partner_ids: set[int] | None,
    dialect: str,
    rates_source: str,
    default_currency: str,
) -> Select[Any]:
    """The one statement that computes ``metric`` over ``scope`` for every partner."""
    where = and_(*conditions(metric, scope.start, scope.end, filters, partner_ids))
    partner = ACTIVITY.c.partner_id
    agg = metric.aggregate
    if metric.field == "amount":
        return _money_query(metric, scope, where, dialect, rates_source, default_currency)
    if agg is Aggregate.count:
        return select(partner, func.count()).where(where).group_by(partner)
    if agg is Aggregate.count_distinct:
        value = _attr_text(metric.field.removeprefix("attributes."))  # type: ignore[union-attr]
        return (
            select(partner, func.count(func.distinct(value)), func.count())
            .where(where)
            .group_by(partner)
        )
    if agg is Aggregate.duration:
        # A negative duration (closed before created: an imported historical record) is not a
        # duration at all: leave it out of the average rather than pull the average down.
        days = _days_between(metric, dialect)
        days = case((days >= 0, days), else_=None)
        return (
            select(partner, func.sum(days), func.count(days), func.count())
            .where(where)
            .group_by(partner)
        )
    value = _field_expr(metric)
    if agg is Aggregate.median:
        return select(partner, value).where(where, value.is_not(None))
    return (
        select(
            partner,
            func.sum(value),
            func.count(value),
            func.min(value),
            func.max(value),
            func.count(),
        )
        .where(where)
        .group_by(partner)
    )


def _money_query(
    metric: Metric,
    scope: Scope,
    where: ColumnElement[bool],
    dialect: str,
    rates_source: str,
    default_currency: str,
) -> Select[Any]:
    basis, kind = date_expr(metric)
    day = day_text(basis, kind, dialect)
    target = scope.currency or default_currency
    currency = func.coalesce(ACTIVITY.c.currency, default_currency)
    src, tgt = aliased(FxRateRow, name="fx_src"), aliased(FxRateRow, name="fx_tgt")

    def join(fx: Any, code: Any) -> ColumnElement[bool]:
        return and_(
            fx.source == rates_source,
            fx.currency == code,
            currency != target,
            fx.start_on <= day,
            or_(fx.end_on.is_(None), day < fx.end_on),
        )

    amount = ACTIVITY.c.amount
    keys = [ACTIVITY.c.partner_id, ACTIVITY.c.currency, src.id, src.rate, tgt.id, tgt.rate]
    base = (
        select(*keys)
        .select_from(ACTIVITY)
        .outerjoin(src, join(src, currency))
        .outerjoin(tgt, join(tgt, literal(target)))
    )
    if metric.aggregate is Aggregate.median:
        return base.add_columns(amount, day).where(where, amount.is_not(None))
    return (
        base.add_columns(
            func.sum(amount),
            func.count(amount),
            func.min(amount),
            func.max(amount),
            func.count(),
            func.min(day),
        )
        .where(where)
        .group_by(*keys)
    )
