"""Reading progress back for people: one status line per computed target.

It reads the store alone (no config, no CRM), so ``partnerplan status`` works anywhere the
database is reachable; the catalogue, when given, only adds metric labels and units. The
activities behind one actual are :mod:`plans.lineage`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import or_, select
from sqlmodel import Session, col

from plans.catalogue import Catalogue
from plans.engine import COMPUTED
from plans.pacing import NO_DATA, Progress
from plans.store import PlanRow, ProgressRow, SectionRow, TargetRow
from plans.trust import KindTrust, verdict


@dataclass(frozen=True)
class StatusLine:
    """One target's progress as shown by ``partnerplan status``.

    The computed values are carried as the engine's own :class:`~plans.pacing.Progress`, read
    back from the store, rather than copied into fields of their own that would have to be kept
    equal to it; the line adds what a person needs to read them (partner, plan, labels), and
    :meth:`as_dict` flattens both into the columns of ``status --format json/csv``.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
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
    )
    """The keys of :meth:`as_dict`, in order: the columns scripts read from ``status``."""

    partner: str
    partner_linked: bool
    plan: str
    period: str
    target: str
    metric: str
    label: str
    unit: str
    currency: str | None
    progress: Progress
    plan_score: Decimal | None
    data_as_of: datetime | None
    stale: str | None = None
    """Why the values are the last good ones rather than current (the trust rule), or None."""
    section: str = ""
    """The plan section the target belongs to (two sections may track the same metric)."""

    def as_dict(self) -> dict[str, Any]:
        """The line as flat :attr:`COLUMNS` → value (Decimal and datetime left as they are).

        Scripts read these names from ``status --format json/csv``, so they stay as they were
        when the progress values were fields of the line: the target's value is
        ``target_value`` (``target`` is the target's key).
        """
        progress = self.progress
        return {
            "partner": self.partner,
            "partner_linked": self.partner_linked,
            "plan": self.plan,
            "period": self.period,
            "section": self.section,
            "target": self.target,
            "metric": self.metric,
            "label": self.label,
            "unit": self.unit,
            "currency": self.currency,
            "target_value": progress.target,
            "actual": progress.actual,
            "attainment": progress.attainment,
            "expected_to_date": progress.expected_to_date,
            "forecast": progress.forecast,
            "gap": progress.gap,
            "status": progress.status,
            "activity_count": progress.activity_count,
            "plan_score": self.plan_score,
            "data_as_of": self.data_as_of,
            "stale": self.stale,
        }


def _nothing_yet(target: Decimal) -> Progress:
    """The progress of a target never computed: no data."""
    return Progress(None, target, None, None, None, None, NO_DATA, 0)


def _progress(row: ProgressRow) -> Progress:
    # the progress table stores each of Progress's fields under the same name
    return Progress(**{f.name: getattr(row, f.name) for f in fields(Progress)})


def status_lines(
    session: Session,
    catalogue: Catalogue | None,
    *,
    plan_keys: set[str] | None = None,
    partner_keys: set[str] | None = None,
    trust: Mapping[str, KindTrust] | None = None,
) -> list[StatusLine]:
    """Every target's progress, ordered by partner, plan and target.

    A target of a computed plan that has no progress yet (its streams never completed a pull,
    say) is listed too, as no data, rather than left out. With ``trust`` (the worker's view of
    its streams), a line whose target reads a stream that is partial or never completed says
    why it is stale. Frozen plans are final, never stale.
    """
    query = (
        select(PlanRow, TargetRow, ProgressRow, col(SectionRow.name))
        .join(TargetRow, col(TargetRow.plan_id) == col(PlanRow.id))
        .outerjoin(ProgressRow, col(ProgressRow.target_id) == col(TargetRow.id))
        .outerjoin(SectionRow, col(SectionRow.id) == col(TargetRow.section_id))
        .where(or_(col(ProgressRow.id).is_not(None), col(PlanRow.status).in_(COMPUTED)))
        .order_by(col(PlanRow.partner_key), col(PlanRow.key), col(TargetRow.id))
    )
    if plan_keys:
        query = query.where(col(PlanRow.key).in_(sorted(plan_keys)))
    if partner_keys:
        query = query.where(col(PlanRow.partner_key).in_(sorted(partner_keys)))
    lines = []
    for plan, target, progress, section in session.execute(query):
        metric = catalogue.metrics.get(target.metric) if catalogue is not None else None
        stale = None
        if trust is not None and catalogue is not None and plan.frozen_at is None:
            kinds = {
                kind
                for part in (catalogue.components(target.metric) if metric else [])
                for kind in part.kinds
            }
            stale = verdict(kinds, trust).reason
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
                progress=_progress(progress) if progress else _nothing_yet(target.value),
                plan_score=plan.score,
                data_as_of=progress.data_as_of if progress else None,
                stale=stale,
                section=section or "",
            )
        )
    return lines
