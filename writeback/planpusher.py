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
from plans.store import PushStateRow
from writeback.config import PlansPart
from writeback.manifest import Manifest, ObjectEntry
from writeback.payloads import ASSOCIATED
from writeback.planparts import PartRecord
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


def _states(session: Session, destination: str) -> dict[str, PushStateRow]:
    query = select(PushStateRow).where(
        col(PushStateRow.destination) == destination,
        or_(*(col(PushStateRow.record_key).startswith(p) for p in PREFIXES)),
    )
    return {s.record_key: s for s in session.scalars(query)}


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
        self.states = _states(session, name)
        self.report: dict[str, Any] = {"sent": 0, "landed": 0, "failed": 0, "write_calls": 0}
        self._connector: Connector | None = None
        self._before = 0
        self.checked: set[str] = set()

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
