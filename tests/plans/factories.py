"""Small builders for plan tests: partners, activities and plans written straight to the store."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from plans.catalogue import Catalogue, load_catalogue
from plans.engine import ComputeResult, compute_progress
from plans.periods import parse_period
from plans.planfile import Plan, PlanSet, Target
from plans.planstore import sync_plans
from plans.rates import RateSet
from plans.store import ActivityRow, PartnerRow, ProgressRow, TargetRow

_ids = itertools.count(1)
_CATALOGUE: Catalogue | None = None

# The keys scripts read from `partnerplan status --format json/csv`: they must not change.
STATUS_COLUMNS = [
    "partner",
    "partner_linked",
    "plan",
    "period",
    "section",
    "target",
    "metric",
    "label",
    "unit",
    "currency",
    "target_value",
    "actual",
    "attainment",
    "expected_to_date",
    "forecast",
    "gap",
    "status",
    "activity_count",
    "plan_score",
    "data_as_of",
    "stale",
]


def catalogue() -> Catalogue:
    """The shipped catalogue, loaded once per test session."""
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE, problems = load_catalogue(None)
        assert _CATALOGUE is not None, problems
    return _CATALOGUE


def add_partners(session: Session, *keys: str, tier: str = "Gold") -> dict[str, int]:
    """Partners by key → id."""
    rows = [PartnerRow(key=key, name=key, tier=tier) for key in keys]
    session.add_all(rows)
    session.flush()
    return {row.key: row.id for row in rows}  # type: ignore[misc]


def activity(partner_id: int | None, kind: str, **values: Any) -> dict[str, Any]:
    """An activity row as a dict; dates in ``attributes`` may be given as ``date`` objects."""
    n = next(_ids)
    attributes = {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in values.pop("attributes", {}).items()
    }
    amount = values.pop("amount", None)
    row: dict[str, Any] = {
        "source": "test",
        "stream": kind,
        "object": kind,
        "record_id": f"r{n}",
        "kind": kind,
        "partner_id": partner_id,
        "status": None,
        "amount": Decimal(str(amount)) if amount is not None else None,
        "currency": "USD" if amount is not None else None,
        "occurred_on": None,
        "created_at": None,
        "closed_at": None,
        "attributes": attributes,
        "deleted": False,
        "content_hash": f"h{n}",
    }
    row.update(values)
    return row


def add_activities(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert activity dicts."""
    session.execute(ActivityRow.__table__.insert(), rows)  # type: ignore[attr-defined]


def utc(year: int, month: int, day: int, hour: int = 12) -> datetime:
    """An aware UTC timestamp."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def plan(
    key: str,
    partner: str,
    period: str,
    targets: list[dict[str, Any]],
    *,
    fiscal_year_start_month: int = 1,
    status: str = "active",
) -> Plan:
    """A resolved plan with one section holding ``targets`` (dicts of Target fields)."""
    resolved = [
        Target(
            key=t.get("key", t["metric"]),
            section="Objectives",
            metric=t["metric"],
            value=Decimal(str(t["value"])),
            currency=t.get("currency"),
            weight=Decimal(str(t.get("weight", 1))),
            filters=t.get("filters", {}),
            phasing=t.get("phasing", {"mode": "linear"}),
        )
        for t in targets
    ]
    return Plan(
        key=key,
        partner_key=partner,
        period=parse_period(period, fiscal_year_start_month=fiscal_year_start_month),
        status=status,
        owner=None,
        sections=[{"name": "Objectives", "summary": ""}],
        targets=resolved,
    )


def store_plans(session: Session, plans: list[Plan], rates: RateSet | None = None) -> set[int]:
    """Sync plans (and rates) into the store."""
    return sync_plans(session, PlanSet(plans, [], rates))


def compute(session: Session, as_of: datetime, **kwargs: Any) -> ComputeResult:
    """Compute with the shipped catalogue, reporting in USD."""
    kwargs.setdefault("reporting_currency", "USD")
    return compute_progress(session, catalogue(), as_of=as_of, **kwargs)


def progress_by_key(session: Session) -> dict[str, ProgressRow]:
    """Progress rows by target key."""
    rows = session.execute(
        select(TargetRow.key, ProgressRow).join(ProgressRow, ProgressRow.target_id == TargetRow.id)  # type: ignore[arg-type]
    )
    return {key: row for key, row in rows}
