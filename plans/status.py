"""Reading progress back for people: the status lines and the lineage of one target's actual.

Both read the store alone (no config, no CRM), so ``partnerplan status`` works anywhere the
database is reachable. Lineage reuses the engine's WHERE clause, so the activities listed are
exactly those the actual was computed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session, col

from partnerplan.errors import ConfigurationError
from plans.catalogue import Catalogue, Metric
from plans.queries import ACTIVITY, conditions, date_expr
from plans.store import PlanRow, ProgressRow, TargetRow


@dataclass(frozen=True)
class StatusLine:
    """One target's progress as shown by ``partnerplan status``."""

    partner: str
    partner_linked: bool
    plan: str
    period: str
    target: str
    metric: str
    label: str
    unit: str
    currency: str | None
    target_value: Decimal
    actual: Decimal | None
    attainment: Decimal | None
    expected_to_date: Decimal | None
    forecast: Decimal | None
    gap: Decimal | None
    status: str
    activity_count: int
    plan_score: Decimal | None
    data_as_of: datetime | None


def status_lines(
    session: Session,
    catalogue: Catalogue | None,
    *,
    plan_keys: set[str] | None = None,
    partner_keys: set[str] | None = None,
) -> list[StatusLine]:
    """Every computed target's progress, ordered by partner, plan and target."""
    query = (
        select(PlanRow, TargetRow, ProgressRow)
        .join(TargetRow, col(TargetRow.plan_id) == col(PlanRow.id))
        .join(ProgressRow, col(ProgressRow.target_id) == col(TargetRow.id))
        .order_by(col(PlanRow.partner_key), col(PlanRow.key), col(TargetRow.id))
    )
    if plan_keys:
        query = query.where(col(PlanRow.key).in_(sorted(plan_keys)))
    if partner_keys:
        query = query.where(col(PlanRow.partner_key).in_(sorted(partner_keys)))
    lines = []
    for plan, target, progress in session.execute(query):
        metric = catalogue.metrics.get(target.metric) if catalogue is not None else None
        lines.append(
            StatusLine(
                partner=plan.partner_key,
                partner_linked=plan.partner_id is not None,
                plan=plan.key,
                period=plan.period,
                target=target.key,
                metric=target.metric,
                label=metric.label if metric else target.metric,
                unit=str(metric.unit) if metric else "",
                currency=target.currency,
                target_value=progress.target,
                actual=progress.actual,
                attainment=progress.attainment,
                expected_to_date=progress.expected_to_date,
                forecast=progress.forecast,
                gap=progress.gap,
                status=progress.status,
                activity_count=progress.activity_count,
                plan_score=plan.score,
                data_as_of=progress.data_as_of,
            )
        )
    return lines


@dataclass(frozen=True)
class LineageRow:
    """One activity behind an actual."""

    part: str
    source: str
    record_id: str
    kind: str
    status: str | None
    day: str | None
    amount: Decimal | None
    currency: str | None


def _find_target(session: Session, plan_key: str, wanted: str) -> tuple[PlanRow, TargetRow]:
    plan = session.scalar(select(PlanRow).where(col(PlanRow.key) == plan_key))
    if plan is None:
        raise ConfigurationError(
            f"no plan {plan_key!r} in the store; run `partnerplan compute` after adding it "
            "to config/plans"
        )
    targets = list(session.scalars(select(TargetRow).where(col(TargetRow.plan_id) == plan.id)))
    for target in targets:
        if target.key == wanted:
            return plan, target
    matches = [t for t in targets if t.metric == wanted]
    if len(matches) == 1:
        return plan, matches[0]
    keys = ", ".join(t.key for t in targets) or "none"
    raise ConfigurationError(
        f"plan {plan_key!r} has no single target {wanted!r}; its targets: {keys}"
    )


def explain(
    session: Session, catalogue: Catalogue, plan_key: str, target_or_metric: str
) -> tuple[TargetRow, list[LineageRow]]:
    """The activities that make up a target's actual (each part of a ratio listed apart)."""
    plan, target = _find_target(session, plan_key, target_or_metric)
    if target.metric not in catalogue:
        raise ConfigurationError(f"metric {target.metric!r} is not in the catalogue")
    rows: list[LineageRow] = []
    if plan.partner_id is None:
        return target, rows
    for part in catalogue.components(target.metric):
        rows.extend(_lineage(session, part, plan, target))
    return target, rows


def _lineage(
    session: Session, metric: Metric, plan: PlanRow, target: TargetRow
) -> list[LineageRow]:
    assert plan.partner_id is not None
    where = conditions(
        metric, plan.period_start, plan.period_end, target.filters, {plan.partner_id}
    )
    basis, _ = date_expr(metric)
    query = (
        select(
            ACTIVITY.c.source,
            ACTIVITY.c.record_id,
            ACTIVITY.c.kind,
            ACTIVITY.c.status,
            basis,
            ACTIVITY.c.amount,
            ACTIVITY.c.currency,
        )
        .where(and_(*where))
        .order_by(basis, ACTIVITY.c.record_id)
    )
    return [
        LineageRow(metric.key, source, record_id, kind, status, _day(day), amount, currency)
        for source, record_id, kind, status, day, amount, currency in session.execute(query)
    ]


def _day(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
