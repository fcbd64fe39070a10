"""Which partners a progress push must rebuild: only those whose pushed values can have changed.

Building and fingerprinting every CRM record on every push costs as much after a 1 % change as
after a full sync. So each partner gets a *digest* of everything its records are made from,
read with one light query (no record is built): per target, its plan's key, period and score,
the target's key and metric, and the progress row's fingerprint (which hashes every value a CRM
user sees); the partner's key and its record id in the destination; which of its plans a
roll-up shows today. A push rebuilds the partners whose digest differs from the one stored
when all their records last *settled* (landed, or unchanged), and skips the others unbuilt.

A **full diff** (every partner rebuilt and each record compared with what the CRM last
accepted, as before) still happens:

* when the destination's configuration digest changes: its ``writeback.yaml`` entry, the
  metric labels, the plan push's placement of targets (a new plan, a new section) or this
  module's :data:`VERSION`;
* when no full diff has completed for :data:`FULL_DIFF_EVERY` (a day), so whatever drifts
  outside the digest (a push state edited by hand, a store restored from backup) heals;
* on the first push of a destination (no digest stored yet).

A partner with a record that failed, waits out a backoff or was not associated keeps its old
digest, so the next push rebuilds it and the record is retried; a destination whose push
stopped on an error records nothing, and its partners are rebuilt next time.

The digests live with the push state (:class:`~plans.store.PushStateRow`, ``record_key``
``push-scope:<partner key>``; the destination's own row is ``push-scope``, its ``pushed``
holding when the last full diff completed), written in the caller's session, so they commit
with the push outcome they describe. Their ``pushed_at`` stays empty: they are not CRM records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from plans.store import PartnerRow, PlanRow, ProgressRow, PushStateRow, TargetRow
from writeback.config import Destination

VERSION = "1"
"""Bump when what a digest covers changes: the next push is then a full diff."""
FULL_DIFF_EVERY = timedelta(hours=24)
"""A full diff at least this often, so drift outside the digests heals within a day."""
SCOPE_KEY = "push-scope"
"""The push-state key of a destination's scope row; partners' rows add ``:<partner key>``."""
_FULL_DIFF_AT = "full_diff_at"


def partner_key(key: str) -> str:
    """The push-state key holding one partner's digest."""
    return f"{SCOPE_KEY}:{key}"


def config_digest(
    config: Destination, labels: Mapping[str, str], placement: str | None = None
) -> str:
    """The hash of everything outside the store that shapes a destination's records."""
    text = json.dumps(
        [VERSION, config.model_dump(mode="json"), sorted(labels.items()), placement or ""],
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class PartnerDigest:
    """What one partner's records are made from, hashed; and its targets, for counts."""

    key: str
    digest: str
    targets: int
    linked: bool


@dataclass
class Scope:
    """Which partners one destination's push rebuilds.

    Attributes:
        full: Rebuild every partner (a full diff).
        partner_ids: The partners to rebuild, in order (all partners with progress when full).
        digests: Every partner's current digest, by partner id.
        skipped_unlinked: Targets of skipped partners that have no record in the destination
            (counted in the push report as a full build would).
        config: The destination's configuration digest.
        stored: The destination's scope rows as read, by record key (updated by
            :func:`settle`).
    """

    full: bool
    partner_ids: list[int]
    digests: dict[int, PartnerDigest]
    skipped_unlinked: int = 0
    config: str = ""
    stored: dict[str, PushStateRow] = field(default_factory=dict)


def _current_plan(plans: list[tuple[str, date, date]], today: date) -> str:
    """The plan key a roll-up shows today (as :func:`writeback.payloads._current` picks it)."""
    running = [p for p in plans if p[1] <= today < p[2]]
    return max(running or plans, key=lambda p: (p[1], p[0]))[0]


def digests(session: Session, links: Mapping[int, str], today: date) -> dict[int, PartnerDigest]:
    """Every partner with progress, with the digest of what its records are made from."""
    query = (
        select(
            col(PlanRow.partner_id),
            col(PartnerRow.key),
            col(PlanRow.key),
            col(PlanRow.period),
            col(PlanRow.period_start),
            col(PlanRow.period_end),
            col(PlanRow.score),
            col(TargetRow.key),
            col(TargetRow.metric),
            col(ProgressRow.fingerprint),
        )
        .join(TargetRow, col(TargetRow.id) == col(ProgressRow.target_id))
        .join(PlanRow, col(PlanRow.id) == col(ProgressRow.plan_id))
        .join(PartnerRow, col(PartnerRow.id) == col(PlanRow.partner_id))
        .order_by(col(PlanRow.partner_id), col(PlanRow.key), col(TargetRow.key))
    )
    out: dict[int, PartnerDigest] = {}
    current: int | None = None
    hasher = hashlib.sha256()
    plans: dict[str, tuple[str, date, date]] = {}
    name, count = "", 0

    def close() -> None:
        if current is None:
            return
        record_id = links.get(current)
        shown = _current_plan(list(plans.values()), today)
        hasher.update(json.dumps([name, record_id, shown]).encode())
        out[current] = PartnerDigest(name, hasher.hexdigest(), count, record_id is not None)

    for row in session.connection().execute(query):
        partner, key, plan, period, start, end, score, target, metric, fingerprint = row
        if partner != current:
            close()
            current, name, count, hasher, plans = partner, key, 0, hashlib.sha256(), {}
        count += 1
        plans[plan] = (plan, start, end)
        parts = [plan, period, str(start), str(end), str(score), target, metric, fingerprint]
        hasher.update(json.dumps(parts).encode())
    close()
    return out


def stored(session: Session, destination: str, prefix: str = SCOPE_KEY) -> dict[str, PushStateRow]:
    """The destination's scope row and its partners' digest rows, by record key (``prefix``:
    the plan push keeps its own, :mod:`writeback.planscope`)."""
    query = select(PushStateRow).where(
        col(PushStateRow.destination) == destination,
        col(PushStateRow.record_key).startswith(prefix),
    )
    return {s.record_key: s for s in session.scalars(query)}


def decide_scope(
    session: Session,
    destination: str,
    config: str,
    links: Mapping[int, str],
    now: datetime,
    *,
    counts_unlinked: bool = True,
) -> Scope:
    """Which partners to rebuild now (see the module docstring for when it is all of them)."""
    current = digests(session, links, now.date())
    rows = stored(session, destination)
    if full_due(rows.get(SCOPE_KEY), config, now):
        return Scope(True, sorted(current), current, 0, config, rows)
    chosen: list[int] = []
    unlinked = 0
    for partner_id, digest in sorted(current.items()):
        row = rows.get(partner_key(digest.key))
        if row is None or row.fingerprint != digest.digest:
            chosen.append(partner_id)
        elif not digest.linked and counts_unlinked:
            unlinked += digest.targets
    return Scope(False, chosen, current, unlinked, config, rows)


def full_due(head: PushStateRow | None, config: str, now: datetime) -> bool:
    """Whether a push must be a full diff: first push, configuration changed, or a day since
    the last full diff (``head``: the destination's scope row)."""
    last_full = _last_full(head)
    return (
        head is None
        or head.fingerprint != config
        or last_full is None
        or now - last_full >= FULL_DIFF_EVERY
    )


def mark_full(
    session: Session,
    destination: str,
    rows: dict[str, PushStateRow],
    key: str,
    config: str,
    now: datetime,
) -> None:
    """Record that a full diff completed now under ``config`` (in the scope row ``key``)."""
    head = rows.get(key)
    if head is None:
        head = PushStateRow(destination=destination, record_key=key, pushed={})
        session.add(head)
        rows[key] = head
    head.fingerprint = config
    head.pushed = {_FULL_DIFF_AT: now.isoformat()}


def _last_full(head: PushStateRow | None) -> datetime | None:
    if head is None:
        return None
    text = (head.pushed or {}).get(_FULL_DIFF_AT)
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def settle(
    session: Session,
    destination: str,
    scope: Scope,
    unsettled: Iterable[str],
    now: datetime,
) -> int:
    """Store the digests of the rebuilt partners whose records all settled; returns how many.

    After a full diff the destination's row records the configuration digest and the time,
    which lets the next pushes rebuild only what changed.
    """
    left = set(unsettled)
    written = 0
    for partner_id in scope.partner_ids:
        digest = scope.digests[partner_id]
        if digest.key in left:
            continue
        key = partner_key(digest.key)
        written += remember(session, destination, scope.stored, key, digest.digest)
    if scope.full:
        mark_full(session, destination, scope.stored, SCOPE_KEY, scope.config, now)
    return written


def remember(
    session: Session, destination: str, stored: dict[str, PushStateRow], key: str, digest: str
) -> int:
    """Store ``digest`` as what the records under ``key`` were last settled from.

    Returns 1 when the stored digest changed (a row was written), else 0: the settle steps of
    the progress and the plan push count what they wrote.
    """
    row = stored.get(key)
    if row is None:
        row = PushStateRow(destination=destination, record_key=key, pushed={})
        session.add(row)
        stored[key] = row
    if row.fingerprint == digest:
        return 0
    row.fingerprint = digest
    return 1
