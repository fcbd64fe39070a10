"""Writing the plans from config into the store (plans, sections, targets, rates).

Config is the source of truth: a plan whose definition hash is unchanged is not touched; a
changed plan has its sections and targets upserted by name/key (so target ids, and with them
progress and push state, survive edits); a target removed from config loses its progress; a plan
removed from config is kept (its push history stays) with status ``removed`` and is no longer
computed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from plans.planfile import Plan, PlanSet
from plans.rates import sync_rates
from plans.store import (
    PartnerRow,
    PlanRow,
    ProgressRow,
    PushStateRow,
    SectionRow,
    TargetRow,
)
from plans.target import DEFINITION_FIELDS

REMOVED = "removed"


def _plan_values(plan: Plan, partner_id: int | None) -> dict[str, Any]:
    return {
        "key": plan.key,
        "partner_id": partner_id,
        "partner_key": plan.partner_key,
        "period": plan.period.name,
        "period_start": plan.period.start,
        "period_end": plan.period.end,
        "status": plan.status,
        "owner": plan.owner,
        "definition": plan.definition(),
        "definition_hash": plan.definition_hash(),
    }


def _sync_children(session: Session, row: PlanRow, plan: Plan) -> None:
    assert row.id is not None
    query = select(SectionRow).where(col(SectionRow.plan_id) == row.id)
    sections = {s.name: s for s in session.scalars(query)}
    wanted = {s["name"]: (i, s) for i, s in enumerate(plan.sections)}
    for name, (position, data) in wanted.items():
        section = sections.get(name) or SectionRow(plan_id=row.id, name=name)
        section.summary = str(data.get("summary", ""))
        section.position = position
        session.add(section)
        sections[name] = section
    session.flush()
    targets = {
        t.key: t for t in session.scalars(select(TargetRow).where(col(TargetRow.plan_id) == row.id))
    }
    for spec in plan.targets:
        target = targets.pop(spec.key, None) or TargetRow(
            plan_id=row.id, key=spec.key, metric=spec.metric, value=spec.value
        )
        target.section_id = sections[spec.section].id
        for name in DEFINITION_FIELDS:
            setattr(target, name, getattr(spec, name))
        session.add(target)
    gone = [t.id for t in targets.values() if t.id is not None]
    if gone:
        session.execute(delete(ProgressRow).where(col(ProgressRow.target_id).in_(gone)))
        session.execute(
            update(PushStateRow).where(col(PushStateRow.target_id).in_(gone)).values(target_id=None)
        )
        session.execute(delete(TargetRow).where(col(TargetRow.id).in_(gone)))
    for name, section in sections.items():
        if name not in wanted:
            orphans = update(TargetRow).where(col(TargetRow.section_id) == section.id)
            session.execute(orphans.values(section_id=None))
            session.delete(section)
    session.flush()


def _id(row: PlanRow) -> int:
    assert row.id is not None
    return row.id


def sync_plans(session: Session, plans: PlanSet) -> set[int]:
    """Upsert plans, sections, targets (and rates) from config; return ids of changed plans.

    A change of the configured rates counts as a change of every plan (conversions move).

    Partners are looked up by key; a plan whose partner is not in the store yet is stored with
    ``partner_id`` NULL and picks its partner up on a later sync. Does not commit.
    """
    partners = {
        key: (pid, tier)
        for key, pid, tier in session.execute(
            select(col(PartnerRow.key), col(PartnerRow.id), col(PartnerRow.tier)).where(
                col(PartnerRow.deleted) == False  # noqa: E712 (SQL comparison)
            )
        )
    }
    resolved = plans.expand({key: tier for key, (_, tier) in partners.items()})
    existing = {row.key: row for row in session.scalars(select(PlanRow))}
    changed: set[int] = set()
    for plan in resolved:
        partner_id = partners.get(plan.partner_key, (None, None))[0]
        values = _plan_values(plan, partner_id)
        row = existing.pop(plan.key, None)
        if row is not None and row.definition_hash == values["definition_hash"]:
            if row.partner_id != partner_id:
                row.partner_id = partner_id
                session.add(row)
                changed.add(_id(row))
            continue
        row = row or PlanRow(**values)
        for name, value in values.items():
            setattr(row, name, value)
        row.frozen_at = None  # an edited plan is computed again, even after its period closed
        session.add(row)
        session.flush()
        _sync_children(session, row, plan)
        changed.add(_id(row))
    for row in existing.values():
        if row.status != REMOVED:
            row.status = REMOVED
            session.add(row)
            changed.add(_id(row))
    if plans.rates is not None and sync_rates(session, plans.rates):
        # converted amounts may change anywhere: every computed plan must be recomputed
        changed |= {_id(row) for row in session.scalars(select(PlanRow)) if row.status != REMOVED}
    session.flush()
    return changed
