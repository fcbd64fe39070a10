"""The lineage of one target's actual: the activities it was computed from.

``partnerplan explain`` lists them so a channel manager can check a number before a review. It
reads the store alone, and builds its WHERE clause with the engine's own
:func:`plans.queries.conditions`, so the activities listed are exactly those the actual counts.
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
from plans.store import PlanRow, TargetRow


@dataclass(frozen=True)
class LineageRow:
    """One activity behind an actual; ``part`` is the metric it counts for (a ratio's numerator
    and denominator are listed apart), ``day`` the date the metric buckets it by."""

    part: str
    source: str
    record_id: str
    kind: str
    status: str | None
    day: str | None
    amount: Decimal | None
    currency: str | None
    object: str = ""
    name: str | None = None
    """What people call the record (a deal's name, a course), when its mapping keeps one."""


NAME_ATTRIBUTES = ("name", "title", "course", "certification", "campaign", "company", "contact")
"""Attributes that name an activity's record, in the order tried (the mappings' words)."""


def record_name(attributes: dict[str, Any] | None) -> str | None:
    """The first naming attribute a record has (:data:`NAME_ATTRIBUTES`), else None."""
    for key in NAME_ATTRIBUTES:
        value = (attributes or {}).get(key)
        if value not in (None, ""):
            return str(value)
    return None


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
            ACTIVITY.c.object,
            ACTIVITY.c.attributes,
        )
        .where(and_(*where))
        .order_by(basis, ACTIVITY.c.record_id)
    )
    return [
        LineageRow(
            metric.key,
            source,
            record_id,
            kind,
            status,
            _day(day),
            amount,
            currency,
            object,
            record_name(attributes),
        )
        for source, record_id, kind, status, day, amount, currency, object, attributes in (
            session.execute(query)
        )
    ]


def _day(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
