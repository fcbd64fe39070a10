"""One destination's plan records on their way: the diff against push state, the writes, the
associations, and each record's outcome (:mod:`writeback.planpush` drives it).

Write calls go through :class:`~writeback.sender.Calls`, several at once when the push has a
``lease`` (each thread on a connector of its own), as the progress push's do; every answer is
applied in the caller's thread, which alone touches the store session. Two calls touching
one plan's records are never in flight together: a Salesforce child written beside another
child of the same plan (or its plan) contends for the plan's row lock (assumed from the
master-detail locking rules; the references are silent on composite upserts). A record whose
parent is in a call in flight waits for that call's answer (:mod:`writeback.planbatch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
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
from writeback.push import Lease, associating, backoff, open_calls
from writeback.sender import Call, Calls

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
        lease: Lease | None = None,
    ) -> None:
        self.session, self.name, self.dialect, self.manifest = session, name, dialect, manifest
        self.config, self.connector_for, self.now, self.lease = config, connector_for, now, lease
        self.states: dict[str, PushStateRow] = {}
        """The push states read so far (and those written), by key: every one after
        :meth:`load_all`, else those :meth:`load_for` read for the plans being rebuilt."""
        self.whole = False
        self._looked: set[str] = set()
        self.report: dict[str, Any] = {"sent": 0, "landed": 0, "failed": 0, "write_calls": 0}
        self._connector: Connector | None = None
        self._before = 0
        self._calls: Calls | None = None
        self._stack = ExitStack()
        self._written = 0
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

    @property
    def calls(self) -> Calls:
        """Where the write calls go (opened on the first one; :meth:`finish` closes it)."""
        if self._calls is None:
            opened = open_calls(self.name, self.connector, self.lease, threads="plans")
            self._calls = self._stack.enter_context(opened)
        return self._calls

    def wait(self) -> None:
        """Wait for every write call in flight and apply its answer (raising a call's error)."""
        if self._calls is not None:
            self._calls.wait()

    def settle(self) -> None:
        """After an error: wait for the calls in flight and apply what landed, raising nothing."""
        if self._calls is not None:
            self._calls.settle()

    def begin(self) -> None:
        """Start counting write calls anew: the caller's connector is shared with the
        progress push, whose calls between two plan-push steps are not this push's."""
        if self._connector is not None:
            self._before = self._connector.usage().write_calls

    def finish(self, error: BaseException | None = None) -> None:
        """Close the sending threads (abandoning calls in flight on an interrupt, ``error``)
        and count the write calls this step took: the caller's connector's and the other
        threads' (a serial push's calls are already in the first)."""
        try:
            if error is None:
                self._stack.close()
            else:
                self._stack.__exit__(type(error), error, error.__traceback__)
        finally:
            if self._calls is not None and self._calls.threaded:
                self._written += self._calls.write_calls
            self._calls, self._stack = None, ExitStack()
            if self._connector is not None:
                usage = self._connector.usage().write_calls
                self._written += usage - self._before
                self._before = usage
            self.report["write_calls"] = self._written

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

    def upsert(
        self,
        entry: ObjectEntry,
        records: list[Wired],
        landed: Callable[[list[Wired]], None] | None = None,
    ) -> None:
        """Send the records of one part that changed, in one call (the caller batches them).

        The answer is applied when the call ends, maybe after this returns; ``landed`` is then
        told which records went (landed or rejected)."""
        send = [w for w in records if self.due(state_key(w), w.fingerprint)]
        if not send:
            if landed is not None:
                landed(records)
            return
        self.check(entry, send)
        bodies = [w.fields for w in send]
        obj, key_field = entry.object, entry.key_field or ""
        call: Call = lambda c: c.upsert(obj, key_field, bodies)  # noqa: E731 - one call, named

        def done(results: list[WriteResult]) -> None:
            by_key = {r.key: r for r in results}
            for wired in send:
                assert isinstance(wired.record, PartRecord)
                result = by_key.get(wired.record.key) or WriteResult(
                    wired.record.key,
                    False,
                    error="the connector returned no result for this record",
                )
                self.record(state_key(wired), wired, result, wired.fingerprint)
            if landed is not None:
                landed(records)

        self.calls.submit(call, done, _plans(send))

    def update(self, entry: ObjectEntry, records: list[Wired]) -> None:
        """Send changed claims (updates by record id), and wait for their answers."""
        send = [w for w in records if self.due(state_key(w), w.fingerprint)]
        if not send:
            return
        bodies = [w.fields for w in send]
        obj = entry.object
        call: Call = lambda c: c.update(obj, bodies)  # noqa: E731 - one call, named

        def done(results: list[WriteResult]) -> None:
            for wired, result in zip(send, results, strict=True):
                self.record(state_key(wired), wired, result, wired.fingerprint)

        self.calls.submit(call, done, _plans(send))
        self.calls.wait()

    def associate(self, records: Iterable[Wired]) -> None:
        """Associate landed records with their parents, only the pairs not associated yet."""
        pending: dict[tuple[str, str], list[tuple[PushStateRow, str, str, str]]] = {}
        for wired in records:
            state = self.states.get(state_key(wired))
            if not wired.links or state is None or state.fingerprint != wired.fingerprint:
                continue
            done = dict((state.pushed or {}).get(ASSOCIATED) or {})
            for to, ref in wired.links:
                target = ref.id or self._id_of(ref.part, ref.key)
                if target and state.crm_record_id and done.get(to) != target:
                    pair = (wired.object, to)
                    pending.setdefault(pair, []).append((state, to, target, wired.record.plan))
        if not pending or not isinstance(self.connector, Associating):
            return
        size = max(1, self.dialect.associate_batch)
        for (source, to), items in pending.items():
            for start in range(0, len(items), size):
                self._associate(source, to, items[start : start + size])
        self.wait()

    def _associate(
        self, source: str, to: str, items: list[tuple[PushStateRow, str, str, str]]
    ) -> None:
        """One association call: ``items`` are (state, association name, target id, plan)."""
        pairs = [(s.crm_record_id or "", target) for s, _, target, _ in items]
        call: Call = lambda c: associating(c).associate(source, to, pairs)  # noqa: E731

        def done(results: list[WriteResult]) -> None:
            for (state, name, target, _), result in zip(items, results, strict=True):
                if result.ok:
                    linked = dict((state.pushed or {}).get(ASSOCIATED) or {})
                    state.pushed = {**(state.pushed or {}), ASSOCIATED: {**linked, name: target}}
                else:
                    state.last_error = redact(f"association failed: {result.error}")

        self.calls.submit(call, done, {plan for _, _, _, plan in items})

    def _id_of(self, part: str | None, key: str | None) -> str | None:
        state = self.states.get(f"{part}:{key}") if part else None
        return state.crm_record_id if state is not None else None


def state_key(wired: Wired) -> str:
    """A wired record's push-state key."""
    record = wired.record
    return record.state_key


def _plans(records: Iterable[Wired]) -> set[str]:
    """The plans whose records a call touches: no two such calls are in flight together."""
    return {w.record.plan for w in records}
