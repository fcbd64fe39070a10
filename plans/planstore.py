"""Writing the plans into the store: from config and from the CRM, with their life and versions.

Each plan has one origin that owns its definition: ``config/plans`` (config wins a key both
claim) or the CRM (a plan a channel manager authored there, read by :mod:`plans.crmplans`).
A plan whose definition hash is unchanged keeps its rows; a changed plan has its sections and
targets upserted by name/key (so target ids, and with them progress and push state, survive
edits); a target removed from its plan loses its progress; a plan removed from its origin is
kept (its push history stays) with status ``removed`` and is no longer computed.

Every sync also settles each plan's life (:func:`plans.lifecycle.settle`) from the responses the
CRM streams stored: status, version, acceptance. Each version's terms are kept
(:class:`~plans.store.PlanVersionRow`); while a newer version awaits the partner's acceptance
the targets stay those of the version they accepted. CRM edits of a config plan are recorded as
conflicts (:func:`conflicts`), never applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from plans.crmplans import CONFLICT_FIELDS, PLAN_RECORD, Mirror, read_crm
from plans.lifecycle import AGREED, Acceptance, Response, Standing, declared_of_crm, settle
from plans.periods import Period
from plans.planfile import Plan, PlanSet, Target, digest, targets_from
from plans.rates import sync_rates
from plans.store import (
    PartnerRow,
    PlanRow,
    PlanVersionRow,
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
        "owner": plan.owner,
        "origin": plan.origin,
        "declared": declared_of_crm(plan.status) if plan.origin == "crm" else plan.status,
        "source": (plan.crm or {}).get("source"),
        "source_record_id": (plan.crm or {}).get("record_id"),
        "definition": plan.definition(),
        "definition_hash": plan.definition_hash(),
    }


def _sync_children(session: Session, row: PlanRow, plan: Plan, targets: list[Target]) -> None:
    assert row.id is not None
    query = select(SectionRow).where(col(SectionRow.plan_id) == row.id)
    sections = {s.name: s for s in session.scalars(query)}
    wanted = {s["name"]: (i, s) for i, s in enumerate(plan.sections)}
    for spec in targets:  # a locked version's target may sit in a section since renamed
        if spec.section not in wanted:
            wanted[spec.section] = (len(wanted), {"name": spec.section, "summary": ""})
    for name, (position, data) in wanted.items():
        section = sections.get(name) or SectionRow(plan_id=row.id, name=name)
        section.summary = str(data.get("summary", ""))
        section.position = position
        session.add(section)
        sections[name] = section
    session.flush()
    existing = {
        t.key: t for t in session.scalars(select(TargetRow).where(col(TargetRow.plan_id) == row.id))
    }
    for spec in targets:
        target = existing.pop(spec.key, None) or TargetRow(
            plan_id=row.id, key=spec.key, metric=spec.metric, value=spec.value
        )
        target.section_id = sections[spec.section].id
        for name in DEFINITION_FIELDS:
            setattr(target, name, getattr(spec, name))
        session.add(target)
    gone = [t.id for t in existing.values() if t.id is not None]
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


def _standing(row: PlanRow | None) -> Standing | None:
    if row is None or not row.declared:
        return None
    accepted = (
        Acceptance(row.accepted_version, row.accepted_by, row.accepted_by_name, row.accepted_at)
        if row.accepted_version is not None
        else None
    )
    locked = (
        accepted is not None
        and accepted.version < row.version
        and row.declared not in AGREED
        and row.origin == "config"
    )
    return Standing(row.status, row.version, row.shared_at, accepted, locked)


class _Versions:
    """The stored terms of each plan's versions, loaded once per sync."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: dict[tuple[int, int], PlanVersionRow] = {
            (v.plan_id, v.version): v for v in session.scalars(select(PlanVersionRow))
        }

    def get(self, plan_id: int, version: int) -> PlanVersionRow | None:
        return self.rows.get((plan_id, version))

    def put(self, plan_id: int, version: int, terms: dict[str, Any], now: datetime) -> None:
        row = self.get(plan_id, version) or PlanVersionRow(
            plan_id=plan_id, version=version, terms_hash="", created_at=now
        )
        row.terms, row.terms_hash = terms, digest(terms)
        self.session.add(row)
        self.rows[(plan_id, version)] = row


def _apply(row: PlanRow, standing: Standing, period: Period) -> bool:
    """Copy the standing onto the row; whether anything that decides computing changed."""
    before = (row.status, row.version, row.accepted_version, row.period_start, row.period_end)
    accepted = standing.accepted
    row.status, row.version, row.shared_at = standing.status, standing.version, standing.shared_at
    row.accepted_version = accepted.version if accepted else None
    row.accepted_by = accepted.by if accepted else None
    row.accepted_by_name = accepted.by_name if accepted else None
    row.accepted_at = accepted.at if accepted else None
    row.period, row.period_start, row.period_end = period.name, period.start, period.end
    after = (row.status, row.version, row.accepted_version, row.period_start, row.period_end)
    return before != after


def _measured(
    plan: Plan, standing: Standing, versions: _Versions, plan_id: int
) -> tuple[Period, list[Target]]:
    """The period and targets progress follows: the accepted version's while locked."""
    if standing.locked:
        stored = versions.get(plan_id, standing.measured_version)
        if stored is not None:
            period = plan.period
            name = stored.terms.get("period")
            if name and name != plan.period.name and "start" in stored.terms:
                period = Period(
                    date.fromisoformat(stored.terms["start"]),
                    date.fromisoformat(stored.terms["end"]),
                    name,
                )
            return period, targets_from(stored.terms["targets"])
    return plan.period, plan.targets


def terms_of(plan: Plan) -> dict[str, Any]:
    """The terms a version of ``plan`` is made of (what the partner accepts), as stored."""
    return {
        **plan.terms(),
        "start": plan.period.start.isoformat(),
        "end": plan.period.end.isoformat(),
    }


def pushed_plans(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    """What was last pushed of every plan record, by (destination, push-state key): one query
    for :func:`conflicts` of every plan, instead of one per plan and CRM."""
    query = select(
        col(PushStateRow.destination), col(PushStateRow.record_key), col(PushStateRow.pushed)
    ).where(col(PushStateRow.record_key).startswith(PLAN_RECORD.format(key="")))
    return {(dest, key): pushed or {} for dest, key, pushed in session.execute(query)}


def conflicts(
    session: Session,
    key: str,
    mirrors: list[Mirror],
    pushed_by_key: Mapping[tuple[str, str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """CRM edits of a config plan: per source, each field whose CRM value differs from the value
    partnerplan last pushed there (nothing is known to differ before a first push).
    ``pushed_by_key`` is :func:`pushed_plans`, when the caller read it for many plans."""
    found: dict[str, Any] = {}
    for mirror in mirrors:
        record_key = PLAN_RECORD.format(key=key)
        if pushed_by_key is not None:
            pushed = pushed_by_key.get((mirror.source, record_key), {})
        else:
            state = session.scalar(
                select(PushStateRow).where(
                    col(PushStateRow.destination) == mirror.source,
                    col(PushStateRow.record_key) == record_key,
                )
            )
            pushed = (state.pushed or {}) if state is not None else {}
        if not pushed:
            continue
        fields = {
            name: {"crm": mirror.fields.get(name), "pushed": pushed.get(name)}
            for name in CONFLICT_FIELDS
            if name in pushed and _same(mirror.fields.get(name)) != _same(pushed.get(name))
        }
        if fields:
            found[mirror.source] = {"record_id": mirror.record_id, "fields": fields}
    return found


def resolve_conflicts(session: Session, key: str) -> list[str]:
    """Let config win the conflicts of plan ``key``: take the CRM's values as the last pushed
    and forget the fingerprint, so that the next sync finds no conflict (a change of the plan:
    the run pushes it) and the push sends config's values over the CRM's edit. Returns the
    sources that had a conflict."""
    row = session.scalar(select(PlanRow).where(col(PlanRow.key) == key))
    if row is None or not row.conflicts:
        return []
    sources = sorted(row.conflicts)
    for source in sources:
        state = session.scalar(
            select(PushStateRow).where(
                col(PushStateRow.destination) == source,
                col(PushStateRow.record_key) == PLAN_RECORD.format(key=key),
            )
        )
        if state is not None:
            crm = {name: v.get("crm") for name, v in row.conflicts[source]["fields"].items()}
            state.pushed = {**(state.pushed or {}), **crm}
            state.fingerprint = None
            session.add(state)
    # the conflict itself stays until the next sync finds none: that change of the plan is what
    # makes the next run push it
    return sources


def _same(value: Any) -> str:
    return "" if value is None else str(value).strip()


def sync_plans(session: Session, plans: PlanSet, now: datetime | None = None) -> set[int]:
    """Upsert plans (config and CRM-authored), settle their life; return ids of changed plans.

    A changed plan is one whose definition, status, version, acceptance or period changed: the
    caller computes it again and pushes it. A change of the configured rates counts as a change
    of every plan (conversions move).

    Partners are looked up by key; a plan whose partner is not in the store yet is stored with
    ``partner_id`` NULL and picks its partner up on a later sync. Does not commit.
    """
    now = now or datetime.now(UTC)
    partners = {
        key: (pid, tier)
        for key, pid, tier in session.execute(
            select(col(PartnerRow.key), col(PartnerRow.id), col(PartnerRow.tier)).where(
                col(PartnerRow.deleted) == False  # noqa: E712 (SQL comparison)
            )
        )
    }
    resolved = plans.expand({key: tier for key, (_, tier) in partners.items()})
    crm = read_crm(session, plans.fiscal_year_start_month)
    taken = {plan.key for plan in resolved}
    wanted = resolved + [plan for plan in crm.plans if plan.key not in taken]
    existing = {row.key: row for row in session.scalars(select(PlanRow))}
    versions = _Versions(session)
    pushed = pushed_plans(session)
    changed: set[int] = set()
    for plan in wanted:
        partner_id = partners.get(plan.partner_key, (None, None))[0]
        row = existing.pop(plan.key, None)
        stored, moved = _sync_one(
            session,
            row,
            plan,
            partner_id,
            crm.responses.get(plan.key, []),
            versions,
            now,
            crm.mirrors.get(plan.key, []),
            pushed,
        )
        if moved:
            changed.add(_id(stored))
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


def _sync_one(
    session: Session,
    row: PlanRow | None,
    plan: Plan,
    partner_id: int | None,
    responses: list[Response],
    versions: _Versions,
    now: datetime,
    mirrors: list[Mirror],
    pushed: Mapping[tuple[str, str], dict[str, Any]] | None = None,
) -> tuple[PlanRow, bool]:
    """Store one plan and settle its life; the row, and whether it changed."""
    values = _plan_values(plan, partner_id)
    prior = _standing(row)
    defined = row is None or row.definition_hash != values["definition_hash"]
    changed = defined or row is None or row.partner_id != partner_id or row.status == REMOVED
    if row is None:
        row = PlanRow(
            **values,
            period=plan.period.name,
            period_start=plan.period.start,
            period_end=plan.period.end,
            status="draft",
        )
    for name, value in values.items():
        if getattr(row, name) != value:  # an unchanged plan stays clean: nothing to flush
            setattr(row, name, value)
    if defined:
        row.frozen_at = None  # an edited plan is computed again, even after its period closed
    session.add(row)
    if row.id is None:
        session.flush()  # a new plan needs its id now; the others flush with the rest
    plan_id = _id(row)
    terms = terms_of(plan)
    current = versions.get(plan_id, prior.version if prior else 1)
    terms_changed = prior is not None and (current is None or current.terms_hash != digest(terms))
    standing = settle(
        prior,
        declared=values["declared"],
        terms_changed=terms_changed,
        responses=responses,
        period=plan.period,
        today=now.date(),
        now=now,
    )
    if plan.origin == "crm":
        # A CRM-authored plan's targets are the manager's, on the very records progress is
        # written to: a new version is shared for acceptance, but measured as the CRM shows it.
        standing = replace(standing, locked=False)
    versions.put(plan_id, standing.version, terms, now)
    period, targets = _measured(plan, standing, versions, plan_id)
    moved = _apply(row, standing, period)
    if plan.origin == "config":
        found = conflicts(session, plan.key, mirrors, pushed)
        moved = moved or found != (row.conflicts or {})
        row.conflicts = found
    session.add(row)
    if defined or moved or prior is None or prior.locked != standing.locked:
        _sync_children(session, row, plan, targets)
        return row, True
    return row, changed
