"""What the next run will do to plans the partner has seen, said before it happens (``validate``).

Config that changes the terms of a plan the partner has seen (its targets or its period) makes a
new version when the next run syncs it: the partner's answers to the old version no longer count,
and a plan the partner had accepted goes back to ``shared`` for acceptance again, measured on the
accepted version's targets until then. :func:`pending_changes` compares config with the store and
returns one warning per such plan, at its FILE:LINE, and one per conflict with a CRM edit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from partnerplan.errors import Problem
from plans.lifecycle import AGREED
from plans.planfile import PlanSet, digest
from plans.planstore import terms_of
from plans.store import PlanRow, PlanVersionRow


def pending_changes(session: Session, plans: PlanSet) -> list[Problem]:
    """Warnings for config plans whose next sync makes a new version, and for conflicts."""
    rows = {row.key: row for row in session.scalars(select(PlanRow))}
    versions = {
        (v.plan_id, v.version): v.terms_hash for v in session.scalars(select(PlanVersionRow))
    }
    problems: list[Problem] = []
    for plan in sorted(plans.plans, key=lambda p: (p.file, p.line)):
        row = rows.get(plan.key)
        if row is None or row.id is None or row.origin != "config":
            continue
        for source, conflict in sorted((row.conflicts or {}).items()):
            fields = ", ".join(sorted(conflict.get("fields") or {}))
            problems.append(
                Problem(
                    plan.file,
                    plan.line,
                    f"plan {plan.key!r} was edited in {source} ({fields}); the push holds its "
                    "record until config and CRM agree, or `partnerplan plans resolve "
                    f"{plan.key}` lets config win",
                    severity="warning",
                )
            )
        stored = versions.get((row.id, row.version))
        if row.shared_at is None or stored is None or stored == digest(terms_of(plan)):
            continue
        problems.append(Problem(plan.file, plan.line, _message(plan.key, row), severity="warning"))
    return problems


def _message(key: str, row: PlanRow) -> str:
    following = row.version + 1
    accepted = (
        row.accepted_version == row.version
        and row.accepted_by is not None
        and row.declared not in AGREED
    )
    if accepted:
        when = f" on {row.accepted_at:%Y-%m-%d}" if row.accepted_at else ""
        who = row.accepted_by_name or row.accepted_by
        return (
            f"plan {key!r}: its targets or period differ from version {row.version}, which "
            f"{who} accepted{when}; the next run makes version {following} and shares it with "
            f"the partner for acceptance again (progress stays measured against version "
            f"{row.version}'s targets until they accept)"
        )
    return (
        f"plan {key!r}: its targets or period differ from version {row.version}, which the "
        f"partner has seen; the next run makes version {following}, and answers to version "
        f"{row.version} no longer count"
    )
