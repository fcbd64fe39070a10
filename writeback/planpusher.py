"""One destination's plan records on their way: the diff against push state, the writes, the
associations, and each record's outcome (:mod:`writeback.planpush` drives it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from connectors.base import Associating, Connector, WriteResult
from connectors.dialect import Dialect
from connectors.spec import StreamSpec
from partnerplan.logs import get_logger, redact
from plans.crmplans import PLAN_RECORD
from plans.store import PushStateRow
from writeback.config import PlansPart
from writeback.manifest import Manifest, ObjectEntry
from writeback.payloads import ASSOCIATED
from writeback.planparts import Bundle, PartRecord, Ref
from writeback.planwire import Wired
from writeback.push import backoff

log = get_logger(__name__)
PREFIXES = (
    "plan:",
    "section:",
    "progress:",
    "action:",
    "investment:",
    "target_account:",
    "claim:",
    "file:",
)
"""The push-state keys of the plan push (the progress push keys its records bare)."""


LOAD_CHUNK = 500
"""Push-state keys (or plans) read per query when a push loads only what it builds."""


def _states(session: Session, destination: str) -> dict[str, PushStateRow]:
    query = select(PushStateRow).where(
        col(PushStateRow.destination) == destination,
        or_(*(col(PushStateRow.record_key).startswith(p) for p in PREFIXES)),
    )
    return {s.record_key: s for s in session.scalars(query)}


def _needed(bundle: Bundle) -> set[str]:
    """The push-state keys a push of ``bundle`` reads: its records', their parents', its
    claims' and files', and the plan records the files attach to."""
    keys = {r.state_key for r in bundle.records}
    for record in bundle.records:
        keys |= {
            f"{v.part}:{v.key}" for v in record.values.values() if isinstance(v, Ref) and v.part
        }
    keys |= {c.state_key for c in bundle.claims}
    keys |= {f.state_key for f in bundle.files} | {
        PLAN_RECORD.format(key=f.plan) for f in bundle.files
    }
    return keys


class Pusher:
    """Sends one destination's plan records and keeps their push state."""

    def __init__(
        self,
        session: Session,
        name: str,
        dialect: Dialect,
        manifest: Manifest,
        config: PlansPart,
        connector_for: Callable[[str], Connector],
        now: datetime,
    ) -> None:
        self.session, self.name, self.dialect, self.manifest = session, name, dialect, manifest
        self.config, self.connector_for, self.now = config, connector_for, now
        self.states: dict[str, PushStateRow] = {}
        """The push states read so far (and those written), by key: every one after
        :meth:`load_all`, else those :meth:`load_for` read for the plans being rebuilt."""
        self.whole = False
        self._looked: set[str] = set()
        self.report: dict[str, Any] = {"sent": 0, "landed": 0, "failed": 0, "write_calls": 0}
        self._connector: Connector | None = None
        self._before = 0
        self.checked: set[str] = set()

    def load_all(self) -> None:
        """Read every plan-push state of the destination (a full diff reads them all anyway)."""
        if not self.whole:
            self.states = {**_states(self.session, self.name), **self.states}
            self.whole = True

    def load(self, keys: Iterable[str]) -> None:
        """Read the states of ``keys`` not read yet (a key without a state is remembered)."""
        if self.whole:
            return
        missing = sorted(set(keys) - self._looked - self.states.keys())
        self._looked.update(missing)
        for start in range(0, len(missing), LOAD_CHUNK):
            query = select(PushStateRow).where(
                col(PushStateRow.destination) == self.name,
                col(PushStateRow.record_key).in_(missing[start : start + LOAD_CHUNK]),
            )
            for state in self.session.scalars(query):
                self.states.setdefault(state.record_key, state)

    def load_for(self, bundle: Bundle, parts: Iterable[str]) -> None:
        """Read the states a push of ``bundle`` reads, and those of the ``parts`` (children of
        a plan, keyed ``<part>:<plan key>:…``) of its plans, which may have to be pruned.

        Assumption: a child's key starts with its plan's key; a key too long for the CRM is
        hashed (:func:`writeback.planparts.external_key`) and its removal waits for a full diff.
        """
        self.load(_needed(bundle))
        if self.whole:
            return
        plans = sorted({r.plan for r in bundle.records} | set(bundle.held))
        prefixes = [f"{part}:{plan}:" for part in parts for plan in plans]
        for start in range(0, len(prefixes), LOAD_CHUNK // 5):
            chunk = prefixes[start : start + LOAD_CHUNK // 5]
            query = select(PushStateRow).where(
                col(PushStateRow.destination) == self.name,
                or_(*(col(PushStateRow.record_key).startswith(p) for p in chunk)),
            )
            for state in self.session.scalars(query):
                self.states.setdefault(state.record_key, state)

    @property
    def connector(self) -> Connector:
        """The destination's connector, made on the first write."""
        if self._connector is None:
            self._connector = self.connector_for(self.name)
            self._before = self._connector.usage().write_calls
        return self._connector

    def finish(self) -> None:
        """Count the write calls this destination took."""
        if self._connector is not None:
            self.report["write_calls"] = self._connector.usage().write_calls - self._before

    def due(self, key: str, fingerprint: str) -> bool:
        """Whether a record must be sent: changed since its last landing, and not waiting."""
        state = self.states.get(key)
        if state is not None and state.fingerprint == fingerprint:
            return False
        return state is None or state.next_attempt_at is None or state.next_attempt_at <= self.now

    def check(self, entry: ObjectEntry, wired: list[Wired]) -> None:
        """Fail before the first write of an object whose CRM lacks a field we send."""
        if entry.object in self.checked:
            return
        own = self.dialect.record_id_fields
        names = {k for w in wired for k, v in w.fields.items() if not isinstance(v, dict)}
        wanted = tuple(sorted(n for n in names if n and n.lower() not in own))
        spec = StreamSpec(
            name=f"plans:{self.name}:{entry.object}",
            source=self.name,
            object=entry.object,
            fields=wanted,
            modified_field=self.dialect.modified_field(entry.object),
        )
        self.connector.check_fields(spec)
        self.checked.add(entry.object)

    def record(self, key: str, wired: Wired | None, result: WriteResult, fingerprint: str) -> None:
        """Keep one record's outcome: its fingerprint and values when it landed, else a backoff."""
        state = self.states.get(key)
        if state is None:
            state = PushStateRow(destination=self.name, record_key=key, pushed={})
            self.session.add(state)
            self.states[key] = state
        if wired is not None and isinstance(wired.record, PartRecord):
            state.target_id = wired.record.target_id
        self.report["sent"] += 1
        if result.ok:
            associated = (state.pushed or {}).get(ASSOCIATED)
            pushed = dict(wired.pushed) if wired is not None else {}
            if associated is not None:
                pushed[ASSOCIATED] = associated
            state.fingerprint, state.pushed, state.pushed_at = fingerprint, pushed, self.now
            state.crm_record_id = result.record_id or state.crm_record_id
            state.last_error, state.attempts, state.next_attempt_at = None, 0, None
            self.report["landed"] += 1
            return
        state.crm_record_id = state.crm_record_id or result.record_id
        state.attempts += 1
        state.last_error = redact(result.error or "rejected without a reason")
        state.next_attempt_at = self.now + backoff(state.attempts)
        self.report["failed"] += 1
        log.warning(
            "plan record rejected", destination=self.name, record=key, error=state.last_error
        )

    def upsert(self, entry: ObjectEntry, records: list[Wired]) -> None:
        """Send the records of one part that changed, in the CRM's batches."""
        send = [w for w in records if self.due(state_key(w), w.fingerprint)]
        if not send:
            return
        self.check(entry, send)
        bodies = [w.fields for w in send]
        results = self.connector.upsert(entry.object, entry.key_field or "", bodies)
        by_key = {r.key: r for r in results}
        for wired in send:
            assert isinstance(wired.record, PartRecord)
            result = by_key.get(wired.record.key) or WriteResult(
                wired.record.key, False, error="the connector returned no result for this record"
            )
            self.record(state_key(wired), wired, result, wired.fingerprint)

    def update(self, entry: ObjectEntry, records: list[Wired]) -> None:
        """Send changed claims (updates by record id)."""
        send = [w for w in records if self.due(state_key(w), w.fingerprint)]
        if not send:
            return
        results = self.connector.update(entry.object, [w.fields for w in send])
        for wired, result in zip(send, results, strict=True):
            self.record(state_key(wired), wired, result, wired.fingerprint)

    def associate(self, records: Iterable[Wired]) -> None:
        """Associate landed records with their parents, only the pairs not associated yet."""
        pending: dict[tuple[str, str], list[tuple[PushStateRow, str, str]]] = {}
        for wired in records:
            state = self.states.get(state_key(wired))
            if not wired.links or state is None or state.fingerprint != wired.fingerprint:
                continue
            done = dict((state.pushed or {}).get(ASSOCIATED) or {})
            for to, ref in wired.links:
                target = ref.id or self._id_of(ref.part, ref.key)
                if target and state.crm_record_id and done.get(to) != target:
                    pair = (wired.object, to)
                    pending.setdefault(pair, []).append((state, to, target))
        if not pending or not isinstance(self.connector, Associating):
            return
        for (source, to), items in pending.items():
            pairs = [(s.crm_record_id or "", target) for s, _, target in items]
            results = self.connector.associate(source, to, pairs)
            for (state, name, target), result in zip(items, results, strict=True):
                if result.ok:
                    done = dict((state.pushed or {}).get(ASSOCIATED) or {})
                    state.pushed = {**(state.pushed or {}), ASSOCIATED: {**done, name: target}}
                else:
                    state.last_error = redact(f"association failed: {result.error}")

    def _id_of(self, part: str | None, key: str | None) -> str | None:
        state = self.states.get(f"{part}:{key}") if part else None
        return state.crm_record_id if state is not None else None


def state_key(wired: Wired) -> str:
    """A wired record's push-state key."""
    record = wired.record
    return record.state_key
