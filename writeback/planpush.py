"""The plan push: each plan published whole to every CRM, diff-only, at the API-call minimum.

For each destination of ``writeback.yaml`` with a ``plans:`` part, whose CRM ships a plan
manifest (:mod:`writeback.manifest`):

1. :mod:`writeback.planrecords` builds every record the CRM should hold (from the store alone),
   :mod:`writeback.planwire` maps each onto the CRM's fields and fingerprints it.
2. Only records whose fingerprint differs from the one last pushed successfully are sent (a
   rejected one waits out its backoff, as progress does); each part goes in upserts by its key,
   parents first (plans, sections, then targets' places, actions, investment lines, target
   accounts), in the CRM's largest batches: one call per part per batch, the minimum, since
   each part is its own object. Salesforce sets the parents inline by their keys, so no id is
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
from collections.abc import Callable, Mapping
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
from writeback.payloads import progress_key
from writeback.planfiles import push_files
from writeback.planparts import Bundle
from writeback.planpusher import Pusher, state_key
from writeback.planrecords import build
from writeback.planwire import Wired, wire
from writeback.push import PushSummary

log = get_logger(__name__)


def _places(pusher: Pusher, bundle: Bundle) -> dict[str, Wired]:
    """The targets' places in their plans, by progress key (the progress push sends them)."""
    entry = pusher.manifest.objects.get("progress")
    if entry is None or entry.direction != "push":
        return {}
    currency = pusher.config.currency
    places: dict[str, Wired] = {}
    for r in bundle.records:
        if r.part == "progress":
            wired = wire(r, entry, pusher.manifest, pusher.dialect, currency=currency)
            # kept for the whole push, one per target: placing and linking never read the
            # values a push records (``pushed``), so they are not held
            wired.pushed = {}
            places[r.key] = wired
    return places


def _push_one(pusher: Pusher, bundle: Bundle) -> None:
    """Plans, sections, actions, lines, accounts and their associations; claims; files."""
    manifest, dialect = pusher.manifest, pusher.dialect
    currency = pusher.config.currency
    everything: list[Wired] = []
    for part, entry in manifest.pushed():
        if part == "progress":
            continue  # sent with the values, by the progress push
        wired = [
            wire(r, entry, manifest, dialect, currency=currency)
            for r in bundle.records
            if r.part == part
        ]
        pusher.upsert(entry, wired)
        everything.extend(wired)
    pusher.associate(everything)
    _prune(pusher, bundle, {state_key(w) for w in everything})
    for part in ("plan", "progress"):
        target = manifest.objects.get(part)
        claims = [c for c in bundle.claims if c.part == part]
        if target is not None and claims:
            wired = [wire(c, target, manifest, dialect, currency=currency) for c in claims]
            pusher.update(target, wired)
    plan = manifest.objects.get("plan")
    if pusher.config.attachments and bundle.files and plan is not None:
        push_files(pusher, plan.object, bundle.files)


PRUNED = ("action", "investment", "target_account", "section")
"""Parts whose records go when their plan no longer names them (children before sections)."""


def _prune(pusher: Pusher, bundle: Bundle, wanted: set[str]) -> None:
    """Delete the records of parts removed from plans that are still published (one call per
    object and batch); a plan removed from config keeps its records, as its history."""
    published = {r.plan for r in bundle.records} | set(bundle.held)
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
            continue
        results = connector.delete(entry.object, [s.crm_record_id or "" for s in stale])
        for state, result in zip(stale, results, strict=True):
            if result.ok:
                pusher.session.delete(state)
                del pusher.states[state.record_key]
                pusher.report["deleted"] = pusher.report.get("deleted", 0) + 1
            else:
                pusher.record(state.record_key, None, result, state.fingerprint or "")


class Publication:
    """The plan push of one push stage, around the progress push.

    1. :meth:`publish` writes every part of every plan except the targets' progress records;
    2. the progress push writes each target's values together with its place in the plan
       (:meth:`placement`: plan, section, unit, weight, currency, proposed value), so a target
       reaches the CRM in one write, whole, and never as a record without numbers;
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
    ) -> None:
        self.session, self.writeback, self.kinds = session, writeback, kinds
        self.connector_for, self.units, self.now, self.root = connector_for, units, now, root
        self.details: dict[str, Any] = {}
        self.errors: list[str] = []
        self.fatal = False
        self.pushers: dict[str, Pusher] = {}
        self.bundles: dict[str, Bundle] = {}
        self.places: dict[str, dict[str, Wired]] = {}

    def prepare(self) -> None:
        """Build what each destination with ``plans:`` should hold (no API call): enough for
        :meth:`placement`, as a dry run needs."""
        for name in self.writeback.destinations:
            self._prepare(name)

    def _prepare(self, name: str) -> None:
        """Build one destination's plan records (once), its pusher and its targets' places."""
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
        bundle = build(self.session, name, self.units, dialect.key_max_length, self.root)
        pusher = Pusher(
            self.session, name, dialect, manifest, dest.plans, self.connector_for, self.now
        )
        self.pushers[name], self.bundles[name] = pusher, bundle
        self.details[name] = pusher.report
        self.places[name] = _places(pusher, bundle)

    def publish(self) -> None:
        """Write the plans to every destination with ``plans:`` (see the module docstring).

        One destination at a time: its records are built, sent and let go before the next
        destination's are built, so memory holds one destination's plans (and every
        destination's places, which the progress push needs).
        """
        for name in self.writeback.destinations:
            self._prepare(name)
            bundle = self.bundles.pop(name, None)
            if bundle is None:
                continue
            pusher = self.pushers[name]
            self._guarded(pusher, _push_one, pusher, bundle)
            if bundle.unlinked:
                pusher.report["unlinked_plans"] = len(bundle.unlinked)
            for key, conflict in sorted(bundle.held.items()):
                self.errors.append(conflict_message(name, key, conflict))
            pusher.report["conflicts"] = sorted(bundle.held)

    def _guarded(self, pusher: Pusher, work: Callable[..., None], *args: Any) -> None:
        try:
            work(*args)
        except PartnerplanError as exc:
            message = redact(f"{pusher.name}: {exc}")
            self.errors.append(message)
            pusher.report["error"] = message
            self.fatal = self.fatal or isinstance(exc, ConfigurationError | FatalError)
        finally:
            pusher.finish()

    def placement(
        self, destination: str, plan: PlanRow, target: TargetRow
    ) -> dict[str, Any] | None:
        """The CRM fields placing ``target``'s progress record in its plan (key field aside)."""
        places = self.places.get(destination)
        pusher = self.pushers.get(destination)
        if not places or pusher is None:
            return None
        key = progress_key(plan.key, target.key, pusher.dialect.key_max_length)
        wired = places.get(key)
        if wired is None:
            return None
        key_field = pusher.manifest.objects["progress"].key_field
        return {k: v for k, v in wired.fields.items() if k != key_field}

    def digest(self, destination: str) -> str:
        """A hash of every target's place in ``destination``: when it changes (a plan or a
        section added, a target moved), the progress push rebuilds every record."""
        places = self.places.get(destination) or {}
        text = "\n".join(f"{key} {places[key].fingerprint}" for key in sorted(places))
        return hashlib.sha256(text.encode()).hexdigest()

    def link(self) -> None:
        """Associate the progress records the progress push wrote with their plan and section."""
        for name, places in self.places.items():
            pusher = self.pushers[name]
            linked = [w for w in places.values() if w.links]
            if not linked:
                continue
            query = select(col(PushStateRow.record_key), col(PushStateRow.crm_record_id)).where(
                col(PushStateRow.destination) == name,
                col(PushStateRow.record_key).in_(sorted(places)),
            )
            # columns, not entities: every target's state is read, few have anything to link
            written: dict[str, str | None] = {
                key: record_id for key, record_id in self.session.execute(query)
            }
            for wired in linked:
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
            self._guarded(pusher, pusher.associate, linked)

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
