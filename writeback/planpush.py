"""The plan push: each plan published whole to every CRM, diff-only, at the API-call minimum.

For each destination of ``writeback.yaml`` with a ``plans:`` part, whose CRM ships a plan
manifest (:mod:`writeback.manifest`):

1. :mod:`writeback.planscope` picks the plans whose records can have changed (every plan on a
   full diff); :mod:`writeback.planrecords` builds their records from the store alone,
   :data:`CHUNK_PLANS` plans at a time, and :mod:`writeback.planwire` maps each onto the CRM's
   fields and fingerprints it.
2. Only records whose fingerprint differs from the one last pushed successfully are sent (a
   rejected one waits out its backoff, as progress does); each part goes in upserts by its key,
   parents first (plans, sections, then targets' places, actions, investment lines, target
   accounts), in the CRM's largest batches: one call per part per batch, the minimum, since
   each part is its own object (records wait across chunks for a full batch,
   :mod:`writeback.planbatch`). Salesforce sets the parents inline by their keys, so no id is
   looked up; HubSpot associates records after writing them, 100 pairs a call, only the pairs
   not associated before.
3. CRM-authored plans get only what partnerplan owns (score, status, acceptance; the keys of
   their targets) by record id; attachments are uploaded once and again only when their
   content changes (:mod:`writeback.planfiles`).

A plan whose record the CRM edited (a conflict) is not written over: its other parts go, the
plan's own record is held and reported until config and CRM agree (or ``partnerplan plans
resolve``). Push state lives in :class:`~plans.store.PushStateRow` under the keys
``plan:…``, ``section:…``, ``progress:…``, ``action:…``, ``investment:…``,
``target_account:…``, ``claim:…`` and ``file:…``, written into the caller's session.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from connectors.base import Connector, Deleting
from connectors.crms import REGISTRY
from partnerplan.errors import ConfigurationError, FatalError, PartnerplanError
from partnerplan.logs import get_logger, redact
from plans.runs import FAILED, INCOMPLETE, SKIPPED, SUCCEEDED
from plans.store import PlanRow, PushStateRow, TargetRow
from writeback.config import WritebackFile
from writeback.manifest import load_manifest
from writeback.planbatch import Batches, slim
from writeback.planfiles import push_files
from writeback.planparts import Bundle
from writeback.planpusher import Pusher, state_key
from writeback.planrecords import build, partner_links, place
from writeback.planscope import PlanScope, decide, places_digest, plans_config, settle
from writeback.planwire import Wired, wire
from writeback.push import Lease, PushSummary

log = get_logger(__name__)


CHUNK_PLANS = 500
"""Plans built at a time: memory holds one chunk's records, whatever the number of plans."""


def _push_one(pusher: Pusher, bundles: Iterable[Bundle], seen: Bundle) -> set[str]:
    """Plans, sections, actions, lines, accounts and their associations; claims; files.

    ``bundles`` are the chunks of plans to push, built as they are taken; ``seen`` collects
    their held and unlinked plans, for the report. Returns the keys of the plans with a record
    that did not settle (rejected, waiting out a backoff, not associated, not deleted):
    :mod:`writeback.planscope` rebuilds them next push.
    """
    manifest, dialect = pusher.manifest, pusher.dialect
    currency = pusher.config.currency
    parts = [(part, entry) for part, entry in manifest.pushed() if part != "progress"]
    batches = Batches(pusher, parts)  # progress records go with the values (progress push)
    published: set[str] = set()
    for bundle in bundles:
        pusher.load_for(bundle, PRUNED)
        for part, entry in parts:
            chosen = (r for r in bundle.records if r.part == part)
            batches.offer(
                part, (wire(r, entry, manifest, dialect, currency=currency) for r in chosen)
            )
        batches.flush()
        published |= {r.plan for r in bundle.records} | set(bundle.held)
        seen.claims.extend(bundle.claims)
        seen.files.extend(bundle.files)
        seen.held.update(bundle.held)
        seen.unlinked.extend(bundle.unlinked)
    batches.flush(final=True)
    pusher.wait()  # every write answered: associations and pruning read the records' ids
    pusher.associate(batches.linked)
    unsettled = _prune(pusher, published, {mark.key for mark in batches.marks})
    unsettled |= batches.unsettled()
    for part in ("plan", "progress"):
        target = manifest.objects.get(part)
        claims = [c for c in seen.claims if c.part == part]
        if target is not None and claims:
            wired = [wire(c, target, manifest, dialect, currency=currency) for c in claims]
            pusher.update(target, wired)
            unsettled |= {w.record.plan for w in wired if not _settled(pusher, w)}
    plan = manifest.objects.get("plan")
    if pusher.config.attachments and seen.files and plan is not None:
        push_files(pusher, plan.object, seen.files)
        for file in seen.files:
            state = pusher.states.get(file.state_key)
            if state is None or state.fingerprint != file.sha256:
                unsettled.add(file.plan)
    return unsettled


def _settled(pusher: Pusher, wired: Wired) -> bool:
    """Whether a claim is in the CRM as sent."""
    state = pusher.states.get(state_key(wired))
    return state is not None and state.fingerprint == wired.fingerprint


PRUNED = ("action", "investment", "target_account", "section")
"""Parts whose records go when their plan no longer names them (children before sections)."""


def _prune(pusher: Pusher, published: set[str], wanted: set[str]) -> set[str]:
    """Delete the records of parts removed from plans that are still published (one call per
    object and batch); a plan removed from config keeps its records, as its history.

    Returns the plans with a removed part still in the CRM."""
    left: set[str] = set()
    for part in PRUNED:
        entry = pusher.manifest.objects.get(part)
        stale = [
            state
            for key, state in sorted(pusher.states.items())
            if key.startswith(f"{part}:")
            and key not in wanted
            and state.crm_record_id
            and (state.pushed or {}).get("plan") in published
        ]
        if entry is None or not stale:
            continue
        connector = pusher.connector
        if not isinstance(connector, Deleting):
            pusher.report["removed_parts_kept"] = len(stale)
            left |= {str((s.pushed or {}).get("plan")) for s in stale}
            continue
        results = connector.delete(entry.object, [s.crm_record_id or "" for s in stale])
        for state, result in zip(stale, results, strict=True):
            if result.ok:
                pusher.session.delete(state)
                del pusher.states[state.record_key]
                pusher.report["deleted"] = pusher.report.get("deleted", 0) + 1
            else:
                pusher.record(state.record_key, None, result, state.fingerprint or "")
                left.add(str((state.pushed or {}).get("plan")))
    return left


class Publication:
    """The plan push of one push stage, around the progress push.

    1. :meth:`publish` writes every part of the plans that changed (:mod:`writeback.planscope`)
       except the targets' progress records;
    2. the progress push writes each target's values together with its place in the plan
       (:meth:`placement`: plan, section, unit, weight, currency, proposed value), so a target
       reaches the CRM in one write, whole, and never as a record without numbers; a place is
       built when the progress push asks for it, so only the targets it rebuilds cost one;
    3. :meth:`link` associates the progress records with their plan and section where the CRM
       ties records by association (HubSpot), once each.
    """

    def __init__(
        self,
        session: Session,
        writeback: WritebackFile,
        kinds: Mapping[str, str],
        connector_for: Callable[[str], Connector],
        units: Mapping[str, str],
        now: datetime,
        root: Path | None = None,
        lease: Lease | None = None,
    ) -> None:
        """``lease``: a connector of a source for one sending thread alone; with it each
        destination sends up to its connector's ``concurrency`` calls at once."""
        self.session, self.writeback, self.kinds = session, writeback, kinds
        self.connector_for, self.units, self.now, self.root = connector_for, units, now, root
        self.lease = lease
        self.details: dict[str, Any] = {}
        self.errors: list[str] = []
        self.fatal = False
        self.pushers: dict[str, Pusher] = {}
        self.scopes: dict[str, PlanScope] = {}
        self.links: dict[str, dict[int, str]] = {}
        self.places: dict[str, dict[str, Wired]] = {}
        """The places handed out that have associations to make (:meth:`link`), by key."""

    def prepare(self) -> None:
        """Decide what each destination with ``plans:`` rebuilds (no API call): enough for
        :meth:`placement` and :meth:`digest`, as a dry run needs."""
        for name in self.writeback.destinations:
            self._prepare(name)

    def _prepare(self, name: str) -> None:
        """One destination's pusher and plan scope (once)."""
        dest = self.writeback.destinations[name]
        if name in self.pushers or name in self.details:
            return
        if not dest.enabled or dest.plans is None or name not in self.kinds:
            return
        dialect = REGISTRY.dialect(self.kinds[name])
        if dialect.plan_manifest is None:
            self.details[name] = {"skipped": f"{dialect.label} takes no plan push"}
            return
        manifest = load_manifest(dialect.plan_manifest)
        pusher = Pusher(
            self.session,
            name,
            dialect,
            manifest,
            dest.plans,
            self.connector_for,
            self.now,
            self.lease,
        )
        links = partner_links(self.session, name)
        config = plans_config(dest, self.units, manifest, dialect.key_max_length)
        self.scopes[name] = decide(self.session, name, config, links, self.now)
        self.pushers[name], self.links[name] = pusher, links
        self.details[name] = pusher.report
        self.places[name] = {}

    def publish(self) -> None:
        """Write the plans that changed to every destination with ``plans:`` (see the module
        docstring).

        One destination at a time: its records are built, sent and let go before the next
        destination's are built, so memory holds one destination's changed plans.
        """
        for name in self.writeback.destinations:
            self._prepare(name)
            scope = self.scopes.get(name)
            if scope is None:
                continue
            pusher = self.pushers[name]
            if scope.full:
                pusher.load_all()
            pusher.report["rebuilt_plans"] = len(scope.plan_ids)
            pusher.report["full_diff"] = scope.full
            seen = Bundle()
            chunks = self._chunks(name, scope)
            started = time.monotonic()
            unsettled = self._guarded(pusher, _push_one, pusher, chunks, seen)
            pusher.report["seconds"] = round(time.monotonic() - started, 2)
            if unsettled is not None:
                settle(self.session, name, scope, unsettled, self.now)
            if seen.unlinked:
                pusher.report["unlinked_plans"] = len(seen.unlinked)
            for key, conflict in sorted(seen.held.items()):
                self.errors.append(conflict_message(name, key, conflict))
            pusher.report["conflicts"] = sorted(seen.held)

    def _chunks(self, name: str, scope: PlanScope) -> Iterator[Bundle]:
        """The plans ``scope`` rebuilds, built :data:`CHUNK_PLANS` at a time, in key order."""
        order = sorted(scope.plan_ids, key=lambda plan_id: scope.digests[plan_id].key)
        key_max = self.pushers[name].dialect.key_max_length
        for start in range(0, len(order), CHUNK_PLANS):
            chunk = order[start : start + CHUNK_PLANS]
            yield build(self.session, name, self.units, key_max, self.root, chunk, self.links[name])

    def _guarded(
        self, pusher: Pusher, work: Callable[..., set[str] | None], *args: Any
    ) -> set[str] | None:
        """Run ``work``; an error is reported for the destination (and None returned)."""
        pusher.begin()
        try:
            result = work(*args)
            pusher.wait()
        except PartnerplanError as exc:
            pusher.settle()  # the calls in flight end, and what landed is recorded
            message = redact(f"{pusher.name}: {exc}")
            self.errors.append(message)
            pusher.report["error"] = message
            self.fatal = self.fatal or isinstance(exc, ConfigurationError | FatalError)
            pusher.finish()
            return None
        except BaseException as exc:  # an interrupt: calls in flight are abandoned
            pusher.finish(exc)
            raise
        pusher.finish()
        return result

    def placement(
        self, destination: str, plan: PlanRow, target: TargetRow
    ) -> dict[str, Any] | None:
        """The CRM fields placing ``target``'s progress record in its plan (key field aside)."""
        pusher = self.pushers.get(destination)
        entry = pusher.manifest.objects.get("progress") if pusher is not None else None
        if pusher is None or entry is None or entry.direction != "push":
            return None
        if plan.partner_id is None or plan.partner_id not in self.links[destination]:
            return None
        record = place(plan, target, self.units, pusher.dialect.key_max_length)
        if record is None:
            return None
        currency = pusher.config.currency
        wired = wire(record, entry, pusher.manifest, pusher.dialect, currency=currency)
        if wired.links:
            self.places[destination][record.key] = slim(wired)
        return {k: v for k, v in wired.fields.items() if k != entry.key_field}

    def digest(self, destination: str) -> str:
        """A hash of what every target's place in ``destination`` is made from: when it
        changes (a plan or a section added, a target moved), the progress push rebuilds every
        record (:func:`writeback.planscope.places_digest`)."""
        scope = self.scopes.get(destination)
        if scope is None:
            return hashlib.sha256(b"").hexdigest()
        return places_digest(scope)

    def link(self) -> None:
        """Associate the progress records the progress push wrote with their plan and section
        (those whose place it asked for: the records it rebuilt)."""
        for name, places in self.places.items():
            pusher = self.pushers[name]
            if not places:
                continue
            written: dict[str, str | None] = {}
            keys = sorted(places)
            for start in range(0, len(keys), LINK_CHUNK):
                query = select(col(PushStateRow.record_key), col(PushStateRow.crm_record_id)).where(
                    col(PushStateRow.destination) == name,
                    col(PushStateRow.record_key).in_(keys[start : start + LINK_CHUNK]),
                )
                written.update({key: record_id for key, record_id in self.session.execute(query)})
            parents = {f"{ref.part}:{ref.key}" for w in places.values() for _, ref in w.links}
            pusher.load({state_key(w) for w in places.values()} | parents)
            for wired in places.values():
                record_id = written.get(str(getattr(wired.record, "key", "")))
                if not record_id:
                    continue
                state = pusher.states.get(state_key(wired))
                if state is None:
                    state = PushStateRow(destination=name, record_key=state_key(wired), pushed={})
                    self.session.add(state)
                    pusher.states[state_key(wired)] = state
                if state.crm_record_id != record_id:
                    state.crm_record_id = record_id
                if state.fingerprint != wired.fingerprint:
                    state.fingerprint = wired.fingerprint
            started = time.monotonic()
            self._guarded(pusher, pusher.associate, list(places.values()))
            pusher.report["link_seconds"] = round(time.monotonic() - started, 2)

    def summary(self) -> PushSummary:
        """What the plan push did, for the run record."""
        for name, pusher in self.pushers.items():
            if pusher.report["failed"]:
                self.errors.append(
                    f"{name}: {pusher.report['failed']} plan record(s) rejected; see "
                    "`partnerplan push errors`"
                )
        if not self.details:
            return PushSummary(SKIPPED, details={"reason": "no destination has `plans:`"})
        outcome = FAILED if self.fatal else INCOMPLETE if self.errors else SUCCEEDED
        return PushSummary(outcome, "; ".join(self.errors) or None, self.details)


LINK_CHUNK = 500
"""Progress keys read per query when linking (a query's bound parameters stay few)."""


def push_plans(
    session: Session,
    writeback: WritebackFile,
    kinds: Mapping[str, str],
    connector_for: Callable[[str], Connector],
    units: Mapping[str, str],
    now: datetime,
    root: Path | None = None,
) -> PushSummary:
    """The plan push alone (its targets' places go with the progress push; see
    :class:`Publication`, which the push stage uses)."""
    publication = Publication(session, writeback, kinds, connector_for, units, now, root)
    publication.publish()
    return publication.summary()


def conflict_message(destination: str, key: str, conflict: Mapping[str, Any]) -> str:
    """One line saying which CRM edit holds a plan's record back, and what to do."""
    fields = ", ".join(
        f"{name}: CRM {v.get('crm')!r}, partnerplan {v.get('pushed')!r}"
        for name, v in sorted((conflict.get("fields") or {}).items())
    )
    return (
        f"{destination}: plan {key!r} was edited in the CRM ({fields}); it is not overwritten: "
        f"edit config to match, revert the CRM edit, or run `partnerplan plans resolve {key}` "
        "to push config over it"
    )


def combine(first: PushSummary, second: PushSummary) -> PushSummary:
    """The plan push and the progress push as one outcome for the push run: skipped when both
    were, else the worse of the two that ran."""
    ran = [s.outcome for s in (first, second) if s.outcome != SKIPPED]
    order = (SUCCEEDED, INCOMPLETE, FAILED)
    outcome = max(ran, key=lambda o: order.index(o) if o in order else 1) if ran else SKIPPED
    error = "; ".join(e for e in (first.error, second.error) if e) or None
    details = {**second.details, "plans": first.details}
    return PushSummary(outcome, error, details)
