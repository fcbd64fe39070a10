"""Which plans a plan push must rebuild: only those whose records can have changed.

Building and wiring every plan's records on every push costs as much after a 1 % change as after
a full sync, though a sync rarely touches a plan. So each plan gets a *digest* of everything its
records are made from, read with light column queries (no record is built): the plan row (its
definition hash, which covers the terms, sections, action items, investments, target accounts
and attachments; status, version, acceptance, score, period, conflicts in this destination), its
partner's record id in the destination, its targets (key, metric, value, weight, currency), and
the partner's fund records (lines of its joint investment section). The freshness stamp
(``data_as_of``) is left out: it never makes a record go alone (:data:`writeback.planwire.FRESH`).

A push rebuilds the plans whose digest differs from the one stored when all their records last
*settled* (landed, or unchanged, and associated), and skips the others unbuilt. A plan held by a
conflict or without a linked partner is always rebuilt (it sends nothing, but the push reports
it). The **full diff** (every plan rebuilt) is decided as the progress push decides its own
(:func:`writeback.scope.full_due`): on the first push, when the destination's configuration
digest (its ``writeback.yaml`` entry, the metric units, the CRM's plan manifest and key length,
this module's :data:`VERSION`) changes, and at least every :data:`~writeback.scope.FULL_DIFF_EVERY`.
``partnerplan plans resolve`` forgets the plan's digest (:func:`plans.planstore.resolve_conflicts`),
so config's values go over the CRM's edit on the next push.

Each plan also has a *place* digest: what the places of its targets are made from (the progress
push sends them). The progress push does a full diff when their hash changes
(:meth:`writeback.planpush.Publication.digest`); a score moving does not change it.

The digests live with the push state (:class:`~plans.store.PushStateRow`, ``record_key``
``plan-scope:<plan key>``; the destination's own row is ``plan-scope``), written in the caller's
session so they commit with the push they describe.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from plans.lifecycle import COMPUTED
from plans.planstore import PLAN_SCOPE, REMOVED
from plans.store import ActivityRow, PlanRow, PushStateRow, TargetRow
from writeback.config import Destination
from writeback.manifest import Manifest
from writeback.scope import config_digest, full_due, mark_full, remember, stored

VERSION = "1"
"""Bump when what a plan digest covers changes: the next plan push is then a full diff."""
SCOPE_KEY = PLAN_SCOPE
"""The push-state key of a destination's plan-scope row; plans' rows add ``:<plan key>``."""


def plan_key(key: str) -> str:
    """The push-state key holding one plan's digest."""
    return f"{SCOPE_KEY}:{key}"


def plans_config(
    config: Destination, units: Mapping[str, str], manifest: Manifest, key_max: int
) -> str:
    """The hash of everything outside the store that shapes a destination's plan records: its
    ``writeback.yaml`` entry, the metric units, the CRM's manifest and key length."""
    shape = json.dumps([VERSION, manifest.model_dump(mode="json"), key_max], sort_keys=True)
    return config_digest(config, units, f"plans:{hashlib.sha256(shape.encode()).hexdigest()}")


@dataclass
class PlanDigest:
    """What one plan's records, and its targets' places, are made from, hashed."""

    key: str
    digest: str
    place: str
    always: bool
    """Rebuilt on every push: held by a conflict, or its partner not linked (nothing is sent;
    the push reports it)."""


@dataclass
class PlanScope:
    """Which plans one destination's plan push rebuilds.

    Attributes:
        full: Rebuild every plan (a full diff).
        plan_ids: The plans to rebuild.
        digests: Every plan's current digest, by plan id.
        config: The destination's configuration digest.
        stored: The destination's plan-scope rows as read, by record key.
    """

    full: bool
    plan_ids: set[int]
    digests: dict[int, PlanDigest]
    config: str = ""
    stored: dict[str, PushStateRow] = field(default_factory=dict)


def _funds(session: Session) -> dict[int, str]:
    """A hash of each partner's fund records (as :func:`writeback.planfunds.fund_records`)."""
    query = (
        select(
            col(ActivityRow.partner_id),
            col(ActivityRow.record_id),
            col(ActivityRow.occurred_on),
            col(ActivityRow.amount),
            col(ActivityRow.currency),
            col(ActivityRow.status),
            col(ActivityRow.attributes),
        )
        .where(
            col(ActivityRow.kind) == "fund",
            col(ActivityRow.deleted) == False,  # noqa: E712 (SQL comparison)
            col(ActivityRow.partner_id).is_not(None),
        )
        .order_by(col(ActivityRow.id))
    )
    hashers: dict[int, hashlib._Hash] = defaultdict(hashlib.sha256)
    for partner, record, on, amount, currency, status, attributes in session.execute(query):
        text = json.dumps([record, on, amount, currency, status, attributes], default=str)
        hashers[partner].update(text.encode())
    return {partner: h.hexdigest() for partner, h in hashers.items()}


def _targets(session: Session) -> dict[int, list[list[str]]]:
    query = select(
        col(TargetRow.plan_id),
        col(TargetRow.id),
        col(TargetRow.key),
        col(TargetRow.metric),
        col(TargetRow.value),
        col(TargetRow.weight),
        col(TargetRow.currency),
    ).order_by(col(TargetRow.id))
    out: dict[int, list[list[str]]] = defaultdict(list)
    for plan, *values in session.execute(query):
        out[plan].append([str(v) for v in values])
    return out


def digests(session: Session, destination: str, links: Mapping[int, str]) -> dict[int, PlanDigest]:
    """Every plan a push may build (all but removed ones), with its digests."""
    query = select(
        col(PlanRow.id),
        col(PlanRow.key),
        col(PlanRow.partner_id),
        col(PlanRow.origin),
        col(PlanRow.definition_hash),
        col(PlanRow.status),
        col(PlanRow.declared),
        col(PlanRow.version),
        col(PlanRow.accepted_version),
        col(PlanRow.accepted_by),
        col(PlanRow.accepted_at),
        col(PlanRow.score),
        col(PlanRow.period),
        col(PlanRow.period_start),
        col(PlanRow.period_end),
        col(PlanRow.conflicts),
        col(PlanRow.partner_key),
    ).where(col(PlanRow.status) != REMOVED)
    targets = _targets(session)
    funds = _funds(session)
    out: dict[int, PlanDigest] = {}
    for row in session.execute(query):
        plan_id, key, partner, origin, definition, status = row[:6]
        declared, version, accepted = row[6:9]
        conflict = (row[15] or {}).get(destination)
        account = links.get(partner) if partner is not None else None
        place = [key, origin, definition, status in COMPUTED, declared, version, accepted]
        place += [account is not None, targets.get(plan_id, [])]
        place_text = json.dumps(place, default=str)
        whole = [place_text, partner, account, conflict, funds.get(partner or 0)]
        whole += [str(v) for v in row[9:15]] + [row[16]]
        out[plan_id] = PlanDigest(
            key,
            hashlib.sha256(json.dumps(whole, default=str).encode()).hexdigest(),
            hashlib.sha256(place_text.encode()).hexdigest(),
            account is None or conflict is not None,
        )
    return out


def decide(
    session: Session,
    destination: str,
    config: str,
    links: Mapping[int, str],
    now: datetime,
) -> PlanScope:
    """Which plans to rebuild now (see the module docstring for when it is all of them)."""
    current = digests(session, destination, links)
    rows = stored(session, destination, SCOPE_KEY)
    if full_due(rows.get(SCOPE_KEY), config, now):
        return PlanScope(True, set(current), current, config, rows)
    chosen = {
        plan_id
        for plan_id, digest in current.items()
        if digest.always
        or (row := rows.get(plan_key(digest.key))) is None
        or row.fingerprint != digest.digest
    }
    return PlanScope(False, chosen, current, config, rows)


def settle(
    session: Session,
    destination: str,
    scope: PlanScope,
    unsettled: Iterable[str],
    now: datetime,
) -> int:
    """Store the digests of the rebuilt plans whose records all settled; returns how many."""
    left = set(unsettled)
    written = 0
    for plan_id in sorted(scope.plan_ids):
        digest = scope.digests[plan_id]
        if digest.key in left or digest.always:
            continue
        written += remember(session, destination, scope.stored, plan_key(digest.key), digest.digest)
    if scope.full:
        mark_full(session, destination, scope.stored, SCOPE_KEY, scope.config, now)
    return written


def places_digest(scope: PlanScope) -> str:
    """A hash of every plan's place digest: it changes when a target's place may have."""
    text = "\n".join(
        f"{d.key} {d.place}" for d in sorted(scope.digests.values(), key=lambda d: d.key)
    )
    return hashlib.sha256(text.encode()).hexdigest()
