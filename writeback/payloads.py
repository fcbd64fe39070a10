"""From stored progress to the exact CRM records a push would send, each with its fingerprint.

The records of the partners a push rebuilds (all of them on a full diff, otherwise those whose
digest changed: :mod:`writeback.scope`) are built in full (one query per chunk of partners, no
API call) and fingerprinted; the push then sends only records whose fingerprint differs from
the one last pushed successfully. The fingerprint hashes the CRM object, field names and values
that would be sent, except the freshness fields (``computed_at``, ``data_as_of``), which change
on every compute: a value a CRM user would see changes the fingerprint; a recompute that
changes nothing does not.
Because the hash covers what is sent rather than the progress row alone, editing
``writeback.yaml`` (a new field, a renamed one) re-sends what it affects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session, col

from connectors.dialect import Dialect
from plans.store import PartnerLinkRow, PartnerRow, PlanRow, ProgressRow, TargetRow
from writeback.config import FRESHNESS, Destination, ProgressPart, RollupPart

_STATUS_ORDER = ("off_track", "at_risk", "on_track", "achieved")
Placement = Callable[[str, PlanRow, TargetRow], Mapping[str, Any] | None]
"""The CRM fields that place a target's progress record in its plan, for a destination (the
plan push's, :mod:`writeback.planplace`): sent in the same write as the values, so a target
reaches the CRM whole in one call per batch, never as a record without its plan."""
ASSOCIATED = "_associated"
"""Key in ``PushStateRow.pushed`` naming the partner record a record is associated with."""


@dataclass
class Outgoing:
    """One CRM record as a push would send it.

    Attributes:
        part: ``progress`` (one record per target, upserted by key) or ``rollup`` (the
            partner's account/company, updated by id).
        record_key: The push-state key: the external id for progress, ``partner:<key>`` for
            roll-ups.
        partner_key: The partner's key (for listings and dry runs).
        record: The CRM field values, as Python values (Decimal, datetime, str).
        fingerprint: Hash of what is sent, freshness fields excluded.
        target_id: The target a progress record belongs to.
        associate_to: The partner's record id to associate the record with, in CRMs that tie
            records by association.
    """

    part: str
    record_key: str
    partner_key: str
    record: dict[str, Any]
    fingerprint: str = ""
    target_id: int | None = None
    associate_to: str | None = None


def progress_key(plan_key: str, target_key: str, max_length: int) -> str:
    """The external id of a target's progress record: ``<plan key>:<target key>``.

    A key longer than the CRM's external ids hold (``max_length``, the dialect's
    ``key_max_length``) is replaced by a stable hash.
    """
    key = f"{plan_key}:{target_key}"
    if len(key) <= max_length:
        return key
    return "h:" + hashlib.sha256(key.encode()).hexdigest()


def plain(value: Any) -> Any:
    """A value as JSON-ready data: Decimals as exact canonical strings, timestamps ISO UTC.

    ``625.50`` and ``625.5000`` (the same amount before and after a database round trip) give
    the same text, so a fingerprint never changes with the scale a Decimal happens to carry.
    """
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _fingerprint(object: str, record: Mapping[str, Any], skip: set[str], extra: str = "") -> str:
    body = {k: plain(v) for k, v in record.items() if k not in skip}
    text = json.dumps([object, extra, sorted(body.items())], default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _map(
    part: ProgressPart | RollupPart, values: Mapping[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """Map source values onto CRM fields; returns the record and its freshness CRM fields."""
    nulls = set(part.write_nulls)
    record: dict[str, Any] = {}
    fresh: set[str] = set()
    for name, target in part.targets().items():
        value = values.get(name)
        if value is None and name not in nulls:
            continue  # never clear a CRM value with "unknown" unless configured to
        if target.percent and isinstance(value, Decimal):
            value = value * 100
        record[target.field] = value
        if name in FRESHNESS:
            fresh.add(target.field)
    return record, fresh


def links(session: Session, source: str) -> dict[int, str]:
    """Each partner's record id in ``source`` (the lowest link wins if there are several)."""
    query = (
        select(col(PartnerLinkRow.partner_id), col(PartnerLinkRow.record_id))
        .where(col(PartnerLinkRow.source) == source)
        .order_by(col(PartnerLinkRow.id).desc())
    )
    return {partner_id: record_id for partner_id, record_id in session.execute(query)}


CHUNK_PARTNERS = 100
"""Partners whose records are built at once: bounds a push's memory, whatever the program size."""


def _rows(
    session: Session, partner_ids: Sequence[int]
) -> Sequence[Row[ProgressRow, TargetRow, PlanRow, PartnerRow]]:
    query = (
        select(ProgressRow, TargetRow, PlanRow, PartnerRow)
        .join(TargetRow, col(TargetRow.id) == ProgressRow.target_id)
        .join(PlanRow, col(PlanRow.id) == ProgressRow.plan_id)
        .join(PartnerRow, col(PartnerRow.id) == PlanRow.partner_id)
        .where(col(PlanRow.partner_id).in_(partner_ids))
        .order_by(col(PlanRow.key), col(TargetRow.key))
    )
    return session.execute(query).all()


def _partners_with_progress(session: Session) -> list[int]:
    query = (
        select(col(PlanRow.partner_id))
        .join(ProgressRow, col(ProgressRow.plan_id) == PlanRow.id)
        .distinct()
        .order_by(col(PlanRow.partner_id))
    )
    return [partner_id for partner_id in session.scalars(query) if partner_id is not None]


def chunks(
    session: Session,
    destination: str,
    config: Destination,
    labels: Mapping[str, str],
    today: date,
    dialect: Dialect,
    size: int | None = None,
    placement: Placement | None = None,
    partner_ids: Sequence[int] | None = None,
    ids: Mapping[int, str] | None = None,
) -> Iterator[tuple[list[Outgoing], int]]:
    """The records ``destination`` should hold now, ``size`` partners at a time.

    Each chunk is ``(records, targets left out for want of a link)`` and holds every plan of
    its partners, so a roll-up is built from the same rows as its progress records. Memory
    stays bounded by the chunk, not by the number of targets in the program.

    ``partner_ids`` limits the build to those partners (the push's :mod:`writeback.scope`);
    ``ids`` are the partners' record ids in ``destination`` when the caller has read them.
    """
    size = size or CHUNK_PARTNERS
    ids = links(session, destination) if ids is None else ids
    if partner_ids is None:
        partner_ids = _partners_with_progress(session)
    for start in range(0, len(partner_ids), size):
        rows = _rows(session, partner_ids[start : start + size])
        placed = (lambda p, t: placement(destination, p, t)) if placement is not None else None
        yield _build(rows, config, ids, labels, today, dialect.key_max_length, placed)


def build(
    session: Session,
    destination: str,
    config: Destination,
    labels: Mapping[str, str],
    today: date,
    dialect: Dialect,
    placement: Placement | None = None,
) -> tuple[list[Outgoing], int]:
    """Every record ``destination`` should hold now, and how many were left out (no link).

    A partner with no record in this CRM (no :class:`PartnerLinkRow` for the source) cannot be
    written there; those targets are counted, not sent. (A dry run shows everything at once;
    the push itself goes through :func:`chunks`.)
    """
    out: list[Outgoing] = []
    unlinked = 0
    pieces = chunks(session, destination, config, labels, today, dialect, placement=placement)
    for records, left_out in pieces:
        out.extend(records)
        unlinked += left_out
    return out, unlinked


def _build(
    rows: Sequence[Row[ProgressRow, TargetRow, PlanRow, PartnerRow]],
    config: Destination,
    ids: Mapping[int, str],
    labels: Mapping[str, str],
    today: date,
    key_max: int,
    placed: Callable[[PlanRow, TargetRow], Mapping[str, Any] | None] | None = None,
) -> tuple[list[Outgoing], int]:
    out: list[Outgoing] = []
    unlinked = 0
    by_plan: dict[int, list[ProgressRow]] = {}
    plans: dict[int, tuple[PlanRow, PartnerRow]] = {}
    for progress, target, plan, partner in rows:
        assert plan.id is not None
        by_plan.setdefault(plan.id, []).append(progress)
        plans[plan.id] = (plan, partner)
        record_id = ids.get(partner.id) if partner.id is not None else None
        if config.progress is None:
            continue
        if record_id is None:
            unlinked += 1
            continue
        extra = placed(plan, target) if placed is not None else None
        out.append(
            _progress(
                config.progress, progress, target, plan, partner, record_id, labels, key_max, extra
            )
        )
    if config.rollup is not None:
        out.extend(_rollups(config.rollup, by_plan, plans, ids, today))
    return out, unlinked


def _progress(
    part: ProgressPart,
    progress: ProgressRow,
    target: TargetRow,
    plan: PlanRow,
    partner: PartnerRow,
    record_id: str,
    labels: Mapping[str, str],
    key_max: int,
    extra: Mapping[str, Any] | None = None,
) -> Outgoing:
    values = {
        "plan_key": plan.key,
        "target_key": target.key,
        "metric": target.metric,
        "metric_label": labels.get(target.metric, target.metric),
        "period": plan.period,
        "target": progress.target,
        "actual": progress.actual,
        "attainment": progress.attainment,
        "expected_to_date": progress.expected_to_date,
        "forecast": progress.forecast,
        "gap": progress.gap,
        "status": progress.status,
        "activity_count": Decimal(progress.activity_count),
        "computed_at": progress.computed_at,
        "data_as_of": progress.data_as_of,
        "metric_version": progress.metric_version,
    }
    mapped, fresh = _map(part, values)
    key = progress_key(plan.key, target.key, key_max)
    record = {part.key_field: key}
    if part.partner_field:
        record[part.partner_field] = record_id
    record.update(extra or {})
    record.update(mapped)
    associate = record_id if part.associate else None
    return Outgoing(
        part="progress",
        record_key=key,
        partner_key=partner.key,
        record=record,
        fingerprint=_fingerprint(part.object, record, fresh),
        target_id=target.id,
        associate_to=associate,
    )


def overall_status(statuses: Iterable[str]) -> str:
    """A plan's status: its worst target's (off track < at risk < on track < achieved).

    Targets without data do not count; a plan with no data at all is ``no_data``.
    """
    known = [s for s in statuses if s in _STATUS_ORDER]
    if not known:
        return "no_data"
    return min(known, key=_STATUS_ORDER.index)


def _current(plans: list[PlanRow], today: date) -> PlanRow:
    """The plan a roll-up shows: the one whose period holds today, else the latest."""
    running = [p for p in plans if p.period_start <= today < p.period_end]
    return max(running or plans, key=lambda p: (p.period_start, p.key))


def _rollups(
    part: RollupPart,
    by_plan: dict[int, list[ProgressRow]],
    plans: dict[int, tuple[PlanRow, PartnerRow]],
    ids: Mapping[int, str],
    today: date,
) -> list[Outgoing]:
    per_partner: dict[int, list[PlanRow]] = {}
    partners: dict[int, PartnerRow] = {}
    for plan, partner in plans.values():
        assert partner.id is not None
        per_partner.setdefault(partner.id, []).append(plan)
        partners[partner.id] = partner
    out: list[Outgoing] = []
    for partner_id in sorted(per_partner):
        record_id = ids.get(partner_id)
        if record_id is None:
            continue
        plan = _current(per_partner[partner_id], today)
        assert plan.id is not None
        rows = by_plan[plan.id]
        computed = [r.computed_at for r in rows if r.computed_at is not None]
        as_of = [r.data_as_of for r in rows if r.data_as_of is not None]
        values = {
            "score": plan.score,
            "status": overall_status(r.status for r in rows),
            "plan_key": plan.key,
            "period": plan.period,
            "computed_at": max(computed) if computed else None,
            "data_as_of": min(as_of) if as_of else None,
        }
        mapped, fresh = _map(part, values)
        record = {"id": record_id, **mapped}  # both connectors' update() read "id"
        out.append(
            Outgoing(
                part="rollup",
                record_key=f"partner:{partners[partner_id].key}",
                partner_key=partners[partner_id].key,
                record=record,
                fingerprint=_fingerprint(part.object, record, fresh),
            )
        )
    return out
