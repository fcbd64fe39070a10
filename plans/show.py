"""A whole plan as people read it: what ``partnerplan plans show`` prints and reports render.

:func:`plan_view` gathers, from the store alone, everything a plan holds: its life (status,
version, who accepted which version and when, change requests still open with their comments,
conflicts with CRM edits), its sections with their summaries, the targets with their progress
(and the value a version awaiting acceptance proposes), action items, investment lines (the
plan's own and the partner's market development funds of the period, in the joint investment
section), target accounts and attachments. :meth:`PlanView.as_dict` is the JSON form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from plans.catalogue import Catalogue
from plans.crmplans import read_crm
from plans.lifecycle import AGREED, Response, open_change_requests
from plans.status import StatusLine, status_lines
from plans.store import ActivityRow, PartnerRow, PlanRow, TargetRow
from plans.trust import KindTrust

FUND_TYPES = ("allocation", "request", "claim")


@dataclass
class TargetView:
    """A target and its progress (None values: not computed yet)."""

    key: str
    metric: str
    label: str
    unit: str | None
    value: Decimal
    currency: str | None
    weight: Decimal
    proposed: Decimal | None = None
    actual: Decimal | None = None
    attainment: Decimal | None = None
    expected_to_date: Decimal | None = None
    forecast: Decimal | None = None
    gap: Decimal | None = None
    status: str | None = None
    data_as_of: datetime | None = None
    stale: str | None = None


@dataclass
class ActionView:
    """An action item."""

    key: str
    title: str
    owner_side: str
    owner: str | None
    due: date | None
    status: str


@dataclass
class InvestmentView:
    """An investment line: from the plan (``source`` plan) or a fund record of the CRM."""

    key: str
    title: str
    amount: Decimal | None
    currency: str | None
    vendor_share: Decimal | None
    status: str
    source: str = "plan"
    source_record: str | None = None


@dataclass
class AccountView:
    """A customer the plan names."""

    key: str
    name: str
    account: str | None
    notes: str


@dataclass
class SectionView:
    """A section and everything in it."""

    key: str
    name: str
    kind: str
    summary: str
    targets: list[TargetView] = field(default_factory=list)
    actions: list[ActionView] = field(default_factory=list)
    investments: list[InvestmentView] = field(default_factory=list)
    accounts: list[AccountView] = field(default_factory=list)


@dataclass
class ResponseView:
    """One answer of the partner."""

    response: str
    comment: str
    version: int | None
    by: str | None
    by_name: str | None
    at: datetime


@dataclass
class PlanView:
    """One plan, whole."""

    key: str
    title: str
    partner: str
    partner_name: str | None
    origin: str
    period: str
    start: date
    end: date
    status: str
    declared: str
    version: int
    accepted_version: int | None
    accepted_by: str | None
    accepted_by_name: str | None
    accepted_at: datetime | None
    locked: bool
    owner: str | None
    summary: str
    currency: str | None
    score: Decimal | None
    sections: list[SectionView]
    attachments: list[dict[str, Any]]
    responses: list[ResponseView]
    change_requests: list[ResponseView]
    conflicts: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: Decimals as exact strings, dates and times as ISO text."""
        data: dict[str, Any] = _plain(asdict(self))
        return data


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _response(r: Response) -> ResponseView:
    return ResponseView(r.response, r.comment, r.version, r.by, r.by_name, r.at)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _target(line: StatusLine) -> TargetView:
    progress = line.progress
    return TargetView(
        key=line.target,
        metric=line.metric,
        label=line.label,
        unit=line.unit,
        value=progress.target,
        currency=line.currency,
        weight=Decimal(1),
        actual=progress.actual,
        attainment=progress.attainment,
        expected_to_date=progress.expected_to_date,
        forecast=progress.forecast,
        gap=progress.gap,
        status=progress.status,
        data_as_of=line.data_as_of,
        stale=line.stale,
    )


def _funds(session: Session, row: PlanRow) -> list[InvestmentView]:
    """The partner's fund allocations, requests and claims dated in the plan's period."""
    if row.partner_id is None:
        return []
    query = select(ActivityRow).where(
        col(ActivityRow.kind) == "fund",
        col(ActivityRow.partner_id) == row.partner_id,
        col(ActivityRow.deleted) == False,  # noqa: E712 (SQL comparison)
        col(ActivityRow.occurred_on) >= row.period_start,
        col(ActivityRow.occurred_on) < row.period_end,
    )
    out = []
    for fund in session.scalars(query.order_by(col(ActivityRow.occurred_on))):
        kind = str(fund.attributes.get("fund_type"))
        if kind not in FUND_TYPES:
            continue
        out.append(
            InvestmentView(
                key=f"fund-{fund.record_id}",
                title=str(fund.attributes.get("title") or f"{kind.capitalize()} {fund.record_id}"),
                amount=fund.amount,
                currency=fund.currency,
                vendor_share=Decimal(100),
                status=str(fund.status),
                source=f"fund_{kind}",
                source_record=fund.record_id,
            )
        )
    return out


def plan_view(
    session: Session,
    key: str,
    catalogue: Catalogue | None = None,
    trust: Mapping[str, KindTrust] | None = None,
) -> PlanView | None:
    """The plan ``key`` whole, or None when the store has no such plan."""
    row = session.scalar(select(PlanRow).where(col(PlanRow.key) == key))
    if row is None:
        return None
    definition = row.definition or {}
    locked = (
        row.accepted_version is not None
        and row.accepted_version < row.version
        and row.declared not in AGREED
        and row.origin == "config"
    )
    targets = _targets(session, row, catalogue, trust, locked)
    sections = [_section(s, targets) for s in definition.get("sections") or []]
    funds = _funds(session, row)
    if funds:
        home = next((s for s in sections if s.kind == "joint_investment"), None)
        if home is None:
            home = SectionView("funds", "Joint investment", "joint_investment", "")
            sections.append(home)
        home.investments.extend(funds)
    responses = read_crm(session).responses.get(key, [])
    partner = session.get(PartnerRow, row.partner_id) if row.partner_id is not None else None
    return PlanView(
        key=row.key,
        title=definition.get("title") or row.key,
        partner=row.partner_key,
        partner_name=partner.name if partner is not None else None,
        origin=row.origin,
        period=row.period,
        start=row.period_start,
        end=row.period_end - timedelta(days=1),
        status=row.status,
        declared=row.declared,
        version=row.version,
        accepted_version=row.accepted_version,
        accepted_by=row.accepted_by,
        accepted_by_name=row.accepted_by_name,
        accepted_at=row.accepted_at,
        locked=locked,
        owner=row.owner,
        summary=str(definition.get("summary") or ""),
        currency=definition.get("currency"),
        score=row.score,
        sections=sections,
        attachments=[
            {k: a.get(k) for k in ("title", "path", "url") if a.get(k)}
            for a in definition.get("attachments") or []
        ],
        responses=[_response(r) for r in sorted(responses, key=lambda r: r.at)],
        change_requests=[_response(r) for r in open_change_requests(responses, row.version)],
        conflicts=row.conflicts or {},
    )


def _targets(
    session: Session,
    row: PlanRow,
    catalogue: Catalogue | None,
    trust: Mapping[str, KindTrust] | None,
    locked: bool,
) -> dict[str, TargetView]:
    """The plan's targets with their progress; while locked, the values proposed beside them."""
    lines = {
        line.target: line
        for line in status_lines(session, catalogue, plan_keys={row.key}, trust=trust)
    }
    proposed = {
        t["key"]: Decimal(str(t["value"])) for t in (row.definition or {}).get("targets") or []
    }
    out: dict[str, TargetView] = {}
    query = select(TargetRow).where(col(TargetRow.plan_id) == row.id)
    for target in session.scalars(query.order_by(col(TargetRow.id))):
        line = lines.get(target.key)
        metric = catalogue.metrics.get(target.metric) if catalogue is not None else None
        view = (
            _target(line)
            if line is not None
            else TargetView(
                key=target.key,
                metric=target.metric,
                label=metric.label if metric is not None else target.metric,
                unit=str(metric.unit) if metric is not None else None,
                value=target.value,
                currency=target.currency,
                weight=target.weight,
            )
        )
        view.weight = target.weight
        offer = proposed.get(target.key)
        view.proposed = offer if locked and offer != target.value else None
        out[target.key] = view
    return out


def _section(data: Mapping[str, Any], targets: Mapping[str, TargetView]) -> SectionView:
    section = SectionView(
        key=str(data.get("key") or data["name"]),
        name=str(data["name"]),
        kind=str(data.get("kind") or "custom"),
        summary=str(data.get("summary") or ""),
    )
    section.targets.extend(targets[key] for key in data.get("targets") or [] if key in targets)
    for item in data.get("action_items") or []:
        due = item.get("due")
        section.actions.append(
            ActionView(
                key=item.get("key") or item["title"],
                title=item["title"],
                owner_side=item.get("owner_side") or "vendor",
                owner=item.get("owner"),
                due=date.fromisoformat(due) if due else None,
                status=item.get("status") or ("done" if item.get("done") else "open"),
            )
        )
    for line in data.get("investments") or []:
        section.investments.append(
            InvestmentView(
                key=line.get("key") or line["title"],
                title=line["title"],
                amount=_decimal(line.get("amount")),
                currency=line.get("currency"),
                vendor_share=_decimal(line.get("vendor_share")),
                status=line.get("status") or "planned",
            )
        )
    for account in data.get("target_accounts") or []:
        if isinstance(account, str):  # a definition stored before accounts had keys
            account = {"name": account}
        section.accounts.append(
            AccountView(
                key=account.get("key") or account["name"],
                name=account["name"],
                account=account.get("account"),
                notes=account.get("notes") or "",
            )
        )
    return section
