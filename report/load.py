"""Reading a plan's report, or the portfolio, out of the store (and nothing else).

The store gives the plan, its partner, sections, targets and progress; :mod:`plans.history`
gives each target's snapshots, from which the trend's expected-to-date is derived with the
engine's own pacing. The catalogue only adds labels, units and whether a metric accumulates. The
stream freshness comes from the caller (the worker knows the streams), as do the clock and the
reporting currency, so nothing here reads config or the time.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from plans import history
from plans.catalogue import Catalogue, Metric, Unit
from plans.pacing import ACHIEVED, AT_RISK, OFF_TRACK, ON_TRACK, Progress, expected_share, quantize
from plans.pacing import places as metric_places
from plans.periods import Period
from plans.planstore import REMOVED
from plans.show import InvestmentView, PlanView, plan_view
from plans.store import PartnerRow, PlanRow, ProgressRow, SectionRow, TargetRow
from report.errors import UnknownPlan
from report.model import (
    STATUSES,
    ActionItem,
    Group,
    Investment,
    Link,
    PartnerView,
    PlanContent,
    PlanReport,
    PlanSummary,
    Portfolio,
    SectionView,
    StreamFreshness,
    TargetView,
    TrendPoint,
)

ATTENTION_ROWS = 200
"""At-risk and off-track targets listed on the dashboard (each plan's page has all of its own)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Context:
    """What a report needs besides the store: labels, currency, clock, freshness."""

    catalogue: Catalogue
    reporting_currency: str
    now: datetime
    since: date
    stale_after: timedelta
    freshness: tuple[StreamFreshness, ...] = ()


def page_file(plan_key: str) -> str:
    """The file name of a plan's page in a portfolio directory."""
    return f"{_UNSAFE.sub('_', plan_key)}.html"


def _progress(row: ProgressRow) -> Progress:
    # the progress table stores each of Progress's fields under the same name
    return Progress(**{f.name: getattr(row, f.name) for f in fields(Progress)})


def _detail(target: TargetRow) -> str:
    if target.filters:
        parts = []
        for name, value in sorted(target.filters.items()):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{name.replace('_', ' ')}: {shown}")
        return "; ".join(parts)
    return "" if target.key == target.metric else target.key


def _expected(metric: Metric | None, target: TargetRow, period: Period, day: date) -> Decimal:
    """The expected-to-date on ``day`` (through that day), as the engine paces it."""
    if metric is None or not metric.is_additive:
        return target.value
    through = min(day, period.end - _DAY)
    due = quantize(
        expected_share(period, through, target.phasing, target.value), metric_places(metric)
    )
    assert due is not None
    return due


def _pace(
    metric: Metric | None, target: TargetRow, period: Period
) -> tuple[tuple[date, Decimal], ...]:
    """The expected-to-date line through the period: at its start, each month start and its end."""
    if metric is None or not metric.is_additive:
        return ()
    marks = [period.start, *(m.start for m in period.months()[1:]), period.end]
    return tuple(
        (mark, expected_share(period, mark - _DAY, target.phasing, target.value)) for mark in marks
    )


def _target_view(
    target: TargetRow,
    progress: ProgressRow | None,
    snapshots: Sequence[history.Snapshot],
    period: Period,
    context: Context,
) -> TargetView:
    metric = context.catalogue.metrics.get(target.metric)
    unit = str(metric.unit) if metric is not None else ""
    currency = target.currency or (
        context.reporting_currency if metric is not None and metric.unit is Unit.money else None
    )
    trend = tuple(
        TrendPoint(
            day=s.day,
            actual=s.actual,
            expected=_expected(metric, target, period, s.day),
            status=s.status,
            final=s.final,
        )
        for s in snapshots
    )
    before = [p for p in trend if p.day <= context.since]
    return TargetView(
        id=target.id or 0,
        key=target.key,
        metric=target.metric,
        label=metric.label if metric is not None else target.metric,
        detail=_detail(target),
        unit=unit,
        currency=currency,
        additive=metric is not None and metric.is_additive,
        value=target.value,
        period=period,
        progress=_progress(progress) if progress is not None else None,
        data_as_of=progress.data_as_of if progress is not None else None,
        trend=trend,
        pace=_pace(metric, target, period),
        before=before[-1] if before else None,
    )


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _amount(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _action(item: dict[str, Any], today: date) -> ActionItem:
    due = _day(item.get("due"))
    done = bool(item.get("done"))
    status = str(item.get("status") or ("done" if done else "open"))
    return ActionItem(
        title=str(item.get("title", "")),
        due=due,
        owner=item.get("owner"),
        status=status,
        overdue=due is not None and due < today and status != "done",
    )


def plan_content(view: PlanView | None) -> PlanContent:
    """What the joint-plan records say of a plan: version, acceptance, response, investment.

    It reads :func:`plans.show.plan_view`, the same whole-plan model as ``partnerplan plans
    show``, so the report and the terminal never disagree about a plan's state. A plan not in
    the store yet (None) has nothing recorded, and the report says so.
    """
    if view is None:
        return PlanContent()
    latest = view.responses[-1] if view.responses else None
    lines = [line for section in view.sections for line in section.investments]
    return PlanContent(
        version=str(view.version),
        accepted_by=view.accepted_by_name or view.accepted_by,
        accepted_at=view.accepted_at,
        response=None if latest is None else latest.response.replace("_", " "),
        response_comment=None if latest is None else latest.comment or None,
        investments=tuple(
            Investment(
                title=line.title,
                amount=line.amount,
                currency=line.currency,
                funded_by=_funded_by(line),
            )
            for line in lines
        ),
    )


def _funded_by(line: InvestmentView) -> str | None:
    """Who pays: the vendor's share of a plan line, or the CRM fund record it comes from."""
    if line.source != "plan":
        return f"{line.source.replace('_', ' ')} ({line.status})"
    if line.vendor_share is None:
        return None
    return f"vendor {line.vendor_share:.0f} %, partner {100 - line.vendor_share:.0f} %"


def _partner(plan: PlanRow, row: PartnerRow | None) -> PartnerView:
    if row is None:
        return PartnerView(key=plan.partner_key, name=plan.partner_key, linked=False)
    return PartnerView(
        key=row.key, name=row.name or row.key, tier=row.tier, region=row.region, linked=True
    )


def _sections(
    plan: PlanRow,
    sections: list[SectionRow],
    targets: list[TargetView],
    by_section: dict[int | None, list[int]],
    today: date,
) -> tuple[SectionView, ...]:
    spec = {s.get("name"): s for s in plan.definition.get("sections", [])}
    views = {t.id: t for t in targets}
    out = []
    for section in sections:
        data = spec.get(section.name, {})
        out.append(
            SectionView(
                name=section.name,
                summary=section.summary,
                targets=tuple(views[i] for i in by_section.get(section.id, [])),
                target_accounts=tuple(
                    str(a.get("name", "")) if isinstance(a, dict) else str(a)
                    for a in data.get("target_accounts", [])
                ),
                action_items=tuple(_action(a, today) for a in data.get("action_items", [])),
            )
        )
    loose = by_section.get(None, [])
    if loose:
        out.append(SectionView("Other targets", "", tuple(views[i] for i in loose)))
    return tuple(out)


def plan_report(session: Session, key: str, context: Context) -> PlanReport:
    """Everything one plan's page shows; :class:`UnknownPlan` when the store has no such plan."""
    plan = session.scalars(select(PlanRow).where(col(PlanRow.key) == key)).first()
    if plan is None or plan.id is None:
        raise UnknownPlan(
            f"no plan {key!r} in the store; `partnerplan status` lists the computed plans and "
            "`partnerplan compute` loads the plans from config"
        )
    partner = session.get(PartnerRow, plan.partner_id) if plan.partner_id is not None else None
    sections = list(
        session.scalars(
            select(SectionRow)
            .where(col(SectionRow.plan_id) == plan.id)
            .order_by(col(SectionRow.position), col(SectionRow.id))
        )
    )
    targets = list(
        session.scalars(
            select(TargetRow).where(col(TargetRow.plan_id) == plan.id).order_by(col(TargetRow.id))
        )
    )
    progress = {
        row.target_id: row
        for row in session.scalars(select(ProgressRow).where(col(ProgressRow.plan_id) == plan.id))
    }
    snapshots = history.read(session, [t.id for t in targets if t.id is not None])
    period = Period(plan.period_start, plan.period_end, plan.period)
    views = []
    by_section: dict[int | None, list[int]] = defaultdict(list)
    for target in targets:
        assert target.id is not None
        views.append(
            _target_view(
                target, progress.get(target.id), snapshots.get(target.id, []), period, context
            )
        )
        by_section[target.section_id].append(target.id)
    today = context.now.date()
    return PlanReport(
        key=plan.key,
        partner=_partner(plan, partner),
        period=period,
        status=plan.status,
        owner=plan.owner,
        score=plan.score,
        sections=_sections(plan, sections, views, by_section, today),
        attachments=tuple(
            Link(title=str(a.get("title", a.get("url", ""))), url=str(a.get("url", "")))
            for a in plan.definition.get("attachments", [])
        ),
        content=plan_content(plan_view(session, plan.key)),
        freshness=context.freshness,
        since=context.since,
        generated_at=context.now,
        stale_after=context.stale_after,
    )


def plan_keys(session: Session) -> list[str]:
    """The plans a portfolio covers (every plan still in config), by partner then key."""
    query = (
        select(col(PlanRow.key))
        .where(col(PlanRow.status) != REMOVED)
        .order_by(col(PlanRow.partner_key), col(PlanRow.key))
    )
    return list(session.scalars(query))


def _median(values: Iterable[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return Decimal(statistics.median(present)) if present else None


def _groups(items: dict[str, list[TargetView]]) -> tuple[Group, ...]:
    out = [
        Group(
            name=name,
            count=len(targets),
            median=_median(t.progress.attainment if t.progress else None for t in targets),
            on_track=sum(1 for t in targets if t.status in (ACHIEVED, ON_TRACK)),
        )
        for name, targets in items.items()
    ]
    return tuple(sorted(out, key=lambda g: (g.median is None, g.median or 0, g.name)))


def portfolio(session: Session, context: Context) -> Portfolio:
    """The dashboard across partners: one pass over plans, targets and progress (no history)."""
    query = (
        select(PlanRow, PartnerRow, TargetRow, ProgressRow)
        .outerjoin(PartnerRow, col(PartnerRow.id) == col(PlanRow.partner_id))
        .outerjoin(TargetRow, col(TargetRow.plan_id) == col(PlanRow.id))
        .outerjoin(ProgressRow, col(ProgressRow.target_id) == col(TargetRow.id))
        .where(col(PlanRow.status) != REMOVED)
        .order_by(col(PlanRow.partner_key), col(PlanRow.key), col(TargetRow.id))
    )
    plans: dict[str, tuple[PlanRow, PartnerRow | None, list[TargetView]]] = {}
    for plan, partner, target, progress in session.execute(query):
        entry = plans.setdefault(plan.key, (plan, partner, []))
        if target is not None:
            period = Period(plan.period_start, plan.period_end, plan.period)
            entry[2].append(_target_view(target, progress, (), period, context))
    summaries = []
    attention: list[tuple[PlanSummary, TargetView]] = []
    by_tier: dict[str, list[TargetView]] = defaultdict(list)
    by_metric: dict[str, list[TargetView]] = defaultdict(list)
    status_counts = dict.fromkeys(STATUSES, 0)
    plan_status_counts: dict[str, int] = defaultdict(int)
    for plan, partner, targets in plans.values():
        computed = [t for t in targets if t.progress is not None]
        counts = {s: sum(1 for t in computed if t.status == s) for s in STATUSES}
        summary = PlanSummary(
            key=plan.key,
            file=page_file(plan.key),
            partner=_partner(plan, partner),
            period=plan.period,
            status=plan.status,
            score=plan.score,
            counts={s: n for s, n in counts.items() if n},
            targets=len(targets),
            last_change=max((t.data_as_of for t in computed if t.data_as_of), default=None),
        )
        summaries.append(summary)
        plan_status_counts[plan.status] += 1
        for target in computed:
            status_counts[target.status] += 1
            by_tier[summary.partner.tier or "no tier"].append(target)
            by_metric[target.label].append(target)
            if target.needs_attention:
                attention.append((summary, target))
    attention.sort(
        key=lambda item: (
            item[1].status != OFF_TRACK,
            item[1].status != AT_RISK,
            item[1].progress.attainment
            if item[1].progress and item[1].progress.attainment is not None
            else Decimal(0),
            item[0].key,
        )
    )
    return Portfolio(
        plans=tuple(summaries),
        attention=tuple(attention[:ATTENTION_ROWS]),
        status_counts={s: n for s, n in status_counts.items() if n},
        plan_status_counts=dict(sorted(plan_status_counts.items())),
        by_tier=_groups(by_tier),
        by_metric=_groups(by_metric),
        freshness=context.freshness,
        generated_at=context.now,
        stale_after=context.stale_after,
        attention_total=len(attention),
    )
