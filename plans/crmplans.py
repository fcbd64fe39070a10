"""What the CRM says about plans, read from the activities its plan streams stored.

Plan records, their sections and targets, and the partner's responses are pulled like any other
stream (``config/mappings``): they are activities of the kinds ``plan``, ``plan_section``,
``plan_target`` and ``plan_response`` (:data:`mappings.kinds.PLAN_KINDS`), whose attributes are
the names below. This module turns them into what :func:`plans.planstore.sync_plans` applies:

* **CRM-authored plans** (a plan record whose ``origin`` is ``crm``) become :class:`Plan` objects
  like config plans, with their sections and targets; their CRM records are remembered so the
  push can claim them (give the targets the external keys progress is upserted by) and update
  the plan record by id.
* **Mirrors** of config plans (a plan record whose ``origin`` is ``config``) are what the CRM
  holds of a plan partnerplan pushed: compared with what was pushed, they reveal CRM edits
  (conflicts, which are reported, not overwritten either way).
* **Responses**, by plan key, for :func:`plans.lifecycle.settle`.

Assumption: a plan record without a key of its own (a Salesforce plan a channel manager created,
whose ``External_Id__c`` is blank) is keyed by its record id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from partnerplan.logs import get_logger
from plans.lifecycle import Response
from plans.periods import Period, parse_period
from plans.planfile import Plan, Target
from plans.store import ActivityRow, PartnerRow

log = get_logger(__name__)
PLAN, SECTION, TARGET, RESPONSE = "plan", "plan_section", "plan_target", "plan_response"
CONFLICT_FIELDS = ("title", "summary", "period", "start", "end", "status")
"""Fields of a config plan's CRM record that a CRM edit must not change unnoticed."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PLAN_RECORD = "plan:{key}"
"""The push-state key of a plan's own record (the plan push writes it; conflicts read it)."""


@dataclass
class Mirror:
    """A config plan's record as the CRM holds it now."""

    source: str
    record_id: str
    fields: dict[str, Any]


@dataclass
class CrmView:
    """Everything the CRM's plan streams say."""

    plans: list[Plan] = field(default_factory=list)
    mirrors: dict[str, list[Mirror]] = field(default_factory=dict)
    responses: dict[str, list[Response]] = field(default_factory=dict)


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return None


def _int(value: Any) -> int | None:
    number = _decimal(value)
    return None if number is None else int(number)


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _stamp(value: Any, fallback: datetime | None) -> datetime | None:
    if not value:
        return fallback
    try:
        text = str(value).replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]  # Salesforce's +0000
        return datetime.fromisoformat(text)
    except ValueError:
        return fallback


def _period(attrs: Mapping[str, Any], fiscal_start: int) -> Period | None:
    """The plan's period: its name when it parses, else its start and (last) end day."""
    name = str(attrs.get("period") or "").strip()
    if name:
        try:
            return parse_period(name, fiscal_year_start_month=fiscal_start)
        except ValueError:
            pass
    start, end = _day(attrs.get("start")), _day(attrs.get("end"))
    if start is None or end is None or end < start:
        return None
    return Period(start, end + timedelta(days=1), name or f"{start}..{end}")


def _rows(session: Session, kinds: tuple[str, ...]) -> list[ActivityRow]:
    query = (
        select(ActivityRow)
        .where(col(ActivityRow.kind).in_(kinds), col(ActivityRow.deleted) == False)  # noqa: E712
        .order_by(col(ActivityRow.id))
    )
    return list(session.scalars(query))


def plan_key(row: ActivityRow) -> str:
    """A plan record's key: its own, else its record id."""
    return str(row.attributes.get("key") or row.record_id)


def read_crm(session: Session, fiscal_year_start_month: int = 1) -> CrmView:
    """CRM-authored plans, mirrors of config plans and responses, from the stored activities."""
    rows = _rows(session, (PLAN, SECTION, TARGET, RESPONSE))
    partners = dict(session.execute(select(col(PartnerRow.id), col(PartnerRow.key))).all())
    by_kind: dict[str, list[ActivityRow]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row)
    view = CrmView()
    keys: dict[tuple[str, str], str] = {}
    children: dict[tuple[str, str], list[ActivityRow]] = defaultdict(list)
    for row in by_kind[SECTION] + by_kind[TARGET]:
        children[(row.source, str(row.attributes.get("plan") or ""))].append(row)
    for row in by_kind[PLAN]:
        key = plan_key(row)
        keys[(row.source, row.record_id)] = key
        attrs = row.attributes
        if str(attrs.get("origin") or "crm") == "config":
            fields = {name: attrs.get(name) for name in CONFLICT_FIELDS}
            view.mirrors.setdefault(key, []).append(Mirror(row.source, row.record_id, fields))
            continue
        partner = partners.get(row.partner_id) if row.partner_id is not None else None
        parts = children[(row.source, row.record_id)]
        plan = _crm_plan(row, key, partner, parts, fiscal_year_start_month)
        if plan is not None:
            view.plans.append(plan)
    for row in by_kind[RESPONSE]:
        attrs = row.attributes
        found = attrs.get("plan_key") or keys.get((row.source, str(attrs.get("plan") or "")))
        kind = row.status or attrs.get("response")
        if not found or kind is None:
            continue
        view.responses.setdefault(str(found), []).append(
            Response(
                response=str(kind),
                comment=str(attrs.get("comment") or ""),
                version=_int(attrs.get("version")),
                by=attrs.get("by"),
                by_name=attrs.get("by_name"),
                at=_stamp(attrs.get("at"), row.created_at or row.source_modified_at) or EPOCH,
                source=row.source,
                record_id=row.record_id,
            )
        )
    return view


def _crm_plan(
    row: ActivityRow,
    key: str,
    partner: str | None,
    parts: list[ActivityRow],
    fiscal_start: int,
) -> Plan | None:
    """A CRM-authored plan, or None (logged) while its partner or period is unknown."""
    attrs = row.attributes
    period = _period(attrs, fiscal_start)
    if partner is None or period is None:
        log.info("crm plan skipped", plan=key, partner=partner, period=attrs.get("period"))
        return None
    sections: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for part in sorted(
        (p for p in parts if p.kind == SECTION),
        key=lambda p: (_decimal(p.attributes.get("order")) or 0, p.record_id),
    ):
        title = str(part.attributes.get("title") or part.record_id)
        names[part.record_id] = title
        sections.append(
            {
                "name": title,
                "key": part.record_id,
                "kind": str(part.attributes.get("kind") or "custom"),
                "summary": str(part.attributes.get("summary") or ""),
                "targets": [],
                "action_items": [],
                "investments": [],
                "target_accounts": [],
            }
        )
    targets: list[Target] = []
    records: dict[str, dict[str, Any]] = {}
    for part in (p for p in parts if p.kind == TARGET):
        value, metric = _decimal(part.attributes.get("value")), part.attributes.get("metric")
        if value is None or not metric:
            log.info("crm target skipped: no metric or value", plan=key, record=part.record_id)
            continue
        section_id = str(part.attributes.get("section") or "")
        if section_id not in names:
            names[section_id] = "Targets"
            sections.append(
                {
                    "name": "Targets",
                    "key": "targets",
                    "kind": "custom",
                    "summary": "",
                    "targets": [],
                    "action_items": [],
                    "investments": [],
                    "target_accounts": [],
                }
            )
        section = names[section_id]
        targets.append(
            Target(
                key=part.record_id,
                section=section,
                metric=str(metric),
                value=value,
                currency=part.attributes.get("currency"),
                weight=_decimal(part.attributes.get("weight")) or Decimal(1),
                filters={},
                phasing={"mode": "linear"},
            )
        )
        next(s for s in sections if s["name"] == section)["targets"].append(part.record_id)
        records[part.record_id] = {
            "record_id": part.record_id,
            "external": part.attributes.get("external"),
        }
    plan = Plan(
        key=key,
        partner_key=partner,
        period=period,
        status=str(attrs.get("status") or "draft"),
        owner=attrs.get("owner"),
        sections=sections,
        targets=targets,
        title=attrs.get("title"),
        summary=str(attrs.get("summary") or ""),
        currency=attrs.get("currency"),
        origin="crm",
        file=f"{row.source}:{row.object}/{row.record_id}",
        crm={"source": row.source, "record_id": row.record_id, "targets": records},
    )
    return plan
