"""The push stage: write changed progress back to each CRM, diff-only, never claiming a miss.

For each destination of ``writeback.yaml``, a hundred partners at a time
(:func:`~writeback.payloads.chunks`, so memory does not grow with the program):

0. :mod:`~writeback.scope` picks the partners to rebuild: those whose progress, plans or link
   changed since their records last settled (all of them on a full diff: configuration
   changed, or none for a day). The others are skipped without building a record, so the cost
   of a push follows the change, not the program.
1. :mod:`~writeback.payloads` builds every record of those partners, fingerprinted.
2. Only records whose fingerprint differs from the one last pushed *successfully* are chosen
   (plus never-pushed ones); a record that failed waits out its backoff (``next_attempt_at``).
3. Before the first write, the CRM's describe / properties are checked for every field written.
4. Chosen records wait in a buffer per part until it holds one full CRM batch (the dialect's
   ``write_batch``: 200 on Salesforce, 100 on HubSpot), which goes in one call; only the last
   batch of a part may be short, so the calls are the minimum however the chunks fall. The
   connector answers per record. A full batch is sent while the next ones fill: up to the
   connector's ``concurrency`` calls are in flight at once, each thread on a connector of its
   own (:mod:`~writeback.sender`), and every answer is recorded in the session's thread.
5. Each record's :class:`~plans.store.PushStateRow` records the outcome: the new
   fingerprint and values when it landed; the CRM's message, an attempt count and an
   exponential backoff when it did not. Only landed records count as pushed.

Transactions: nothing here commits. The push state is written into the caller's session
(flushed after each chunk, so written rows leave memory) and committed with the run's outcome
(``pipeline.push_progress``). No per-batch commit is needed for crash safety: a crash after
the CRM accepted a batch but before the commit leaves the old fingerprints, so the next push
re-sends those records, and an upsert by external id (or an update by record id) of the same
values is harmless.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from connectors.base import Associating, Connector, WriteResult
from connectors.crms import REGISTRY
from connectors.dialect import Dialect
from connectors.spec import StreamSpec
from partnerplan.errors import ConfigurationError, FatalError, PartnerplanError
from partnerplan.logs import get_logger, redact
from plans.runs import FAILED, INCOMPLETE, SKIPPED, SUCCEEDED
from plans.store import PushStateRow
from writeback.config import Destination, WritebackFile
from writeback.payloads import ASSOCIATED, Outgoing, Placement, build, chunks, links, plain
from writeback.scope import Scope, config_digest, decide_scope, settle
from writeback.sender import Call, Calls

log = get_logger(__name__)
BACKOFF = timedelta(minutes=1)
"""First wait after a record is rejected; doubled per further attempt ..."""
MAX_BACKOFF = timedelta(hours=6)
"""... up to this."""
Lease = Callable[[str], AbstractContextManager[Connector]]
"""A connector of a source for one sending thread alone (the worker's ``Context.lease``)."""


@dataclass
class PushSummary:
    """What a push did, for the run record."""

    outcome: str
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class DestinationPlan:
    """What one destination's push would do."""

    name: str
    kind: str
    config: Destination
    send: list[Outgoing]
    states: dict[str, PushStateRow]
    unlinked: int = 0
    waiting: int = 0
    associations: list[Outgoing] = field(default_factory=list)

    def part(self, part: str) -> list[Outgoing]:
        """The records of one part (``progress`` / ``rollup``) to send."""
        return [o for o in self.send if o.part == part]

    def write_calls(self) -> int:
        """Write calls the connector will make for :attr:`send` (its batching, no failures)."""
        size = REGISTRY.dialect(self.kind).write_batch
        return sum(math.ceil(len(self.part(p)) / size) for p in ("progress", "rollup"))

    def association_calls(self) -> int:
        """Association calls, when the CRM ties records by association."""
        size = REGISTRY.dialect(self.kind).associate_batch
        return math.ceil(len(self.associations) / size) if size else 0

    def check_calls(self) -> int:
        """Describe / properties calls made before the first write (one per object written)."""
        return sum(1 for p in ("progress", "rollup") if self.part(p))


def backoff(attempts: int) -> timedelta:
    """The wait before retrying a record rejected ``attempts`` times in a row."""
    wait: timedelta = BACKOFF * 2 ** min(max(0, attempts - 1), 20)
    return min(wait, MAX_BACKOFF)


SEND, SAME, WAITING = "send", "same", "waiting"


def decide(out: Outgoing, state: PushStateRow | None, now: datetime) -> tuple[str, bool]:
    """What to do with one record: send it, leave it (unchanged) or let it wait out a backoff;
    and whether it still needs associating with its partner's company."""
    unassociated = out.associate_to is not None and (
        state is None or (state.pushed or {}).get(ASSOCIATED) != out.associate_to
    )
    if state is not None and state.fingerprint == out.fingerprint:
        return SAME, unassociated
    if state is not None and state.next_attempt_at and state.next_attempt_at > now:
        return WAITING, False
    return SEND, unassociated


def plan(
    session: Session,
    writeback: WritebackFile,
    kinds: Mapping[str, str],
    labels: Mapping[str, str],
    now: datetime,
    placement: Placement | None = None,
) -> list[DestinationPlan]:
    """Decide what each enabled destination needs, reading only the store (no API call).

    This holds every destination's records at once, which a dry run needs to show them; the
    push itself (:func:`push_all`) decides and sends chunk by chunk.
    """
    plans: list[DestinationPlan] = []
    for name, config in _enabled(writeback, kinds):
        dialect = REGISTRY.dialect(kinds[name])
        outgoing, unlinked = build(session, name, config, labels, _today(now), dialect, placement)
        query = select(PushStateRow).where(col(PushStateRow.destination) == name)
        states = {s.record_key: s for s in session.scalars(query)}
        dest = DestinationPlan(name, kinds[name], config, [], states, unlinked)
        for out in outgoing:
            verdict, associate = decide(out, states.get(out.record_key), now)
            if verdict == WAITING:
                dest.waiting += 1
            elif verdict == SEND:
                dest.send.append(out)
            if associate:
                dest.associations.append(out)
        plans.append(dest)
    return plans


def _enabled(
    writeback: WritebackFile, kinds: Mapping[str, str]
) -> Iterator[tuple[str, Destination]]:
    for name, config in writeback.destinations.items():
        if not config.enabled:
            continue
        if name not in kinds:
            raise ConfigurationError(
                f"writeback.yaml names destination {name!r}, which is not a source in "
                "settings.yaml; add the source or remove the destination"
            )
        yield name, config


def _today(now: datetime) -> date:
    return now.date()


@dataclass
class _Work:
    """One destination's records, as chunks of ``(records, their push states, unlinked)``."""

    name: str
    dialect: Dialect
    config: Destination
    chunks: Iterable[tuple[list[Outgoing], dict[str, PushStateRow], int]]
    waiting: int = 0
    scope: Scope | None = None


def push(
    session: Session,
    plans: list[DestinationPlan],
    connector_for: Callable[[str], Connector],
    now: datetime,
) -> PushSummary:
    """Send each plan's records and record every outcome in ``session`` (not committed)."""
    work = []
    for dest in plans:
        records = list({id(o): o for o in [*dest.send, *dest.associations]}.values())
        chunk = (records, dest.states, dest.unlinked)
        dialect = REGISTRY.dialect(dest.kind)
        work.append(_Work(dest.name, dialect, dest.config, [chunk], dest.waiting))
    return _push(session, work, connector_for, now)


def _streamed(
    session: Session,
    name: str,
    config: Destination,
    labels: Mapping[str, str],
    now: datetime,
    dialect: Dialect,
    placement: Placement | None = None,
    scope: Scope | None = None,
    ids: Mapping[int, str] | None = None,
) -> Iterator[tuple[list[Outgoing], dict[str, PushStateRow], int]]:
    """Chunks of records with their push states, read per chunk; flushed after each.

    With a ``scope``, only its partners' records are built; the targets of skipped partners
    without a record in the CRM still count as unlinked.
    """
    today = _today(now)
    if scope is not None and scope.skipped_unlinked:
        yield [], {}, scope.skipped_unlinked
    pieces = chunks(
        session,
        name,
        config,
        labels,
        today,
        dialect,
        placement=placement,
        partner_ids=None if scope is None else scope.partner_ids,
        ids=ids,
    )
    for records, unlinked in pieces:
        keys = [o.record_key for o in records]
        states: dict[str, PushStateRow] = {}
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            query = select(PushStateRow).where(
                col(PushStateRow.destination) == name,
                col(PushStateRow.record_key).in_(keys[start : start + _KEYS_PER_QUERY]),
            )
            states.update((s.record_key, s) for s in session.scalars(query))
        yield records, states, unlinked
        # Written states leave the session's (weak) identity map once flushed and unreferenced.
        session.flush()


_KEYS_PER_QUERY = 10_000
"""Bound parameters per state query: under SQLite's 32,766 and PostgreSQL's 65,535."""


def open_calls(
    name: str, connector: Connector, lease: Lease | None, threads: str = "push"
) -> Calls:
    """How a destination sends: as many calls at once as its connector's ``concurrency``, each
    thread on a connector ``lease``-d for it; without a ``lease``, one at a time on
    ``connector``."""
    width = max(1, int(getattr(connector, "concurrency", 1)))
    return Calls(name, connector, width, None if lease is None else partial(lease, name), threads)


def _push(
    session: Session,
    work: Iterable[_Work],
    connector_for: Callable[[str], Connector],
    now: datetime,
    lease: Lease | None = None,
) -> PushSummary:
    """Every destination's push, the CRMs side by side.

    Each destination's push (:func:`_push_one`) runs in two steps in this thread: it builds
    and submits its write calls, then waits for their answers and associates. The first step
    of every destination runs before the second step of any, so one CRM's calls are in flight
    while the next destination's records are built and sent: the push lasts about its
    slowest CRM's, not the sum. The store session is only ever touched in this thread.
    """
    details: dict[str, Any] = {}
    errors: list[str] = []
    failed_rows = 0
    fatal = False
    sending: list[tuple[str, Generator[None, None, dict[str, Any]]]] = []
    took: dict[str, float] = {}
    reports: dict[str, dict[str, Any]] = {}
    try:
        started = time.monotonic()
        for dest in work:  # each destination's work is built as it is taken: timed with it
            steps = _push_one(session, dest, connector_for, now, lease)
            sending.append((dest.name, steps))
            _step(dest.name, steps, reports)
            took[dest.name] = time.monotonic() - started
            started = time.monotonic()
        for name, steps in sending:
            started = time.monotonic()
            _step(name, steps, reports)
            took[name] += time.monotonic() - started
    except BaseException as exc:  # an interrupt (or a bug): abandon what is still in flight
        for name, steps in sending:
            if name not in reports:
                _abandon(steps, exc)
        raise
    for name, _ in sending:
        report = details[name] = reports[name]
        report["seconds"] = round(took[name], 2)
        if "error" in report:
            errors.append(report["error"])
            fatal = fatal or report.pop("fatal")
        failed_rows += report["failed"]
    if failed_rows:
        errors.append(f"{failed_rows} record(s) rejected; see `partnerplan push errors`")
    outcome = FAILED if fatal else INCOMPLETE if errors else SUCCEEDED
    return PushSummary(outcome, "; ".join(errors) or None, details)


def _step(
    name: str, steps: Generator[None, None, dict[str, Any]], reports: dict[str, dict[str, Any]]
) -> None:
    """Run one destination's push to its next step; its report once it is done."""
    if name in reports:
        return
    try:
        next(steps)
    except StopIteration as done:
        reports[name] = done.value


def _abandon(steps: Generator[None, None, dict[str, Any]], exc: BaseException) -> None:
    """End a destination's push paused between its steps, as ``exc`` ended the push stage:
    on an interrupt its calls in flight are abandoned (:class:`~writeback.sender.Calls`);
    on any other error they end and what landed is recorded, as when it stops alone."""
    if not isinstance(exc, KeyboardInterrupt):
        steps.close()
        return
    with suppress(KeyboardInterrupt):  # the caller re-raises the first one
        steps.throw(KeyboardInterrupt())


def _push_one(
    session: Session,
    dest: _Work,
    connector_for: Callable[[str], Connector],
    now: datetime,
    lease: Lease | None,
) -> Generator[None, None, dict[str, Any]]:
    """Push one destination in two steps (see :func:`_push`): build and submit every write
    call, pause, then wait for the answers and associate. Returns its report (with ``error``
    and ``fatal`` when it stopped)."""
    report: dict[str, Any] = {
        "sent": 0,
        "landed": 0,
        "failed": 0,
        "waiting": dest.waiting,
        "unlinked": 0,
        "write_calls": 0,
    }
    unsettled: set[str] = set()  # partners with a record not landed: rebuilt next time
    with ExitStack() as stack:
        calls: Calls | None = None
        try:
            sender: _Sender | None = None
            for records, states, unlinked in dest.chunks:
                report["unlinked"] += unlinked
                for out in records:
                    state = states.get(out.record_key)
                    verdict, associate = decide(out, state, now)
                    if verdict == WAITING:
                        report["waiting"] += 1
                        unsettled.add(out.partner_key)
                        continue
                    if verdict == SAME and not associate:
                        continue
                    if sender is None:
                        connector = connector_for(dest.name)
                        calls = stack.enter_context(open_calls(dest.name, connector, lease))
                        sender = _Sender(session, dest, connector, calls, now, report, unsettled)
                    sender.offer(out, state, verdict == SEND, associate)
            if sender is not None:
                sender.send_rest()
            yield  # the calls go on while the next destination is built and sent
            if sender is not None:
                sender.finish()
            if dest.scope is not None:
                report["rebuilt_partners"] = len(dest.scope.partner_ids)
                report["full_diff"] = dest.scope.full
                settle(session, dest.name, dest.scope, unsettled, now)
        except PartnerplanError as exc:
            if calls is not None:
                calls.settle()  # the calls in flight end, and what landed is recorded
            message = redact(f"{dest.name}: {exc}")
            report["error"] = message
            report["fatal"] = isinstance(exc, ConfigurationError | FatalError)
            log.warning("push stopped for destination", destination=dest.name, error=message)
        finally:
            if calls is not None:
                report["write_calls"] = calls.write_calls
    return report


class _Sender:
    """Sends one destination's records in full CRM batches as they are offered.

    Each part (progress records, roll-ups) and the associations wait in a buffer until it
    holds one whole batch (the dialect's ``write_batch``); only the last batch of each may be
    short. So the number of calls is the minimum, however the records arrive in chunks, and
    memory holds one batch per part in the buffers (plus the batches in flight). Before the
    first write of a part, the CRM's fields are checked; an error there or from the connector
    stops this destination only.

    Batches go through :class:`~writeback.sender.Calls`, several at once; each answer is
    applied here, in the session's thread. What may not race does not: a record is in one
    batch of one push, so no two calls in flight write the same record; an association is
    submitted only once the upsert that gave its record id was applied; and a call waits
    while another touching one of its partners (their progress records, roll-up or
    associations) is in flight, so a partner's records never race one another.
    """

    def __init__(
        self,
        session: Session,
        dest: _Work,
        connector: Connector,
        calls: Calls,
        now: datetime,
        report: dict[str, Any],
        unsettled: set[str] | None = None,
    ) -> None:
        self.session, self.dest, self.connector, self.calls = session, dest, connector, calls
        self.now, self.report = now, report
        self.unsettled = set() if unsettled is None else unsettled
        self.size = dest.dialect.write_batch
        self.buffers: dict[str, list[tuple[Outgoing, PushStateRow | None, bool]]] = {
            "progress": [],
            "rollup": [],
        }
        self.checked: set[str] = set()
        self.to_associate: list[tuple[Outgoing, PushStateRow]] = []
        self.unassociated = 0

    def offer(self, out: Outgoing, state: PushStateRow | None, send: bool, associate: bool) -> None:
        """Queue ``out`` to be sent (``send``) and/or associated once it has landed."""
        if not send:
            if associate and state is not None:
                self._associate_later(out, state)
        else:
            buffer = self.buffers[out.part]
            buffer.append((out, state, associate))
            if len(buffer) >= self.size:
                self._flush(out.part)
        while len(self.to_associate) >= self._associate_size():
            self._associate()

    def send_rest(self) -> None:
        """Send the last, short batches of each part (their answers come in later)."""
        for part in ("progress", "rollup"):
            if self.buffers[part]:
                self._flush(part)

    def finish(self) -> None:
        """Send what is still buffered: progress, then roll-ups, then associations."""
        self.send_rest()
        self.calls.wait()  # every upsert applied: the records to associate are all known
        while self.to_associate:
            self._associate()
        self.calls.wait()
        if self.unassociated:
            self.report["associations_pending"] = self.unassociated
            log.warning(
                "connector cannot associate records; progress records are written unassociated",
                destination=self.dest.name,
                pending=self.unassociated,
            )

    def _flush(self, part: str) -> None:
        items, self.buffers[part] = self.buffers[part], []
        config = self.dest.config
        records = [out.record for out, _, _ in items]
        call: Call
        if part == "progress" and config.progress is not None:
            progress = config.progress
            if part not in self.checked:
                fields = [k for k, v in records[0].items() if not isinstance(v, dict)]
                _check(self.connector, self.dest, progress.object, [progress.key_field, *fields])
                self.checked.add(part)
            obj, key_field = progress.object, progress.key_field
            call = lambda c: c.upsert(obj, key_field, records)  # noqa: E731 - one call, named
        elif part == "rollup" and config.rollup is not None:
            rollup = config.rollup
            if part not in self.checked:
                _check(self.connector, self.dest, rollup.object, list(rollup.crm_fields()))
                self.checked.add(part)
            obj = rollup.object
            call = lambda c: c.update(obj, records)  # noqa: E731 - one call, named
        else:
            return
        partners = {out.partner_key for out, _, _ in items}
        self.calls.submit(call, lambda results: self._landed(items, results), partners)

    def _landed(
        self, items: list[tuple[Outgoing, PushStateRow | None, bool]], results: list[WriteResult]
    ) -> None:
        """Record a batch's answer; queue its landed records that need associating."""
        landed = _record_all(self.session, self.dest.name, items, results, self.now, self.report)
        for (out, _, associate), state in zip(items, landed, strict=True):
            if state.fingerprint != out.fingerprint:
                self.unsettled.add(out.partner_key)
            if associate:
                self._associate_later(out, state)

    def _associate_size(self) -> int:
        return max(1, self.dest.dialect.associate_batch)

    def _associate_later(self, out: Outgoing, state: PushStateRow) -> None:
        if not state.crm_record_id or state.fingerprint != out.fingerprint:
            return  # never landed: nothing to associate yet
        self.to_associate.append((out, state))

    def _associate(self) -> None:
        """Associate one batch of landed progress records with their partner's record."""
        size = self._associate_size()
        pairs, self.to_associate = self.to_associate[:size], self.to_associate[size:]
        progress = self.dest.config.progress
        if progress is None or not progress.associate:
            return
        if not isinstance(self.connector, Associating):
            self.unassociated += len(pairs)
            return
        obj, other = progress.object, progress.associate
        ids = [(s.crm_record_id or "", o.associate_to or "") for o, s in pairs]
        call: Call = lambda c: associating(c).associate(obj, other, ids)  # noqa: E731
        partners = {out.partner_key for out, _ in pairs}
        self.calls.submit(call, lambda results: self._associated(pairs, results), partners)

    def _associated(
        self, pairs: list[tuple[Outgoing, PushStateRow]], results: list[WriteResult]
    ) -> None:
        self.report.setdefault("associated", 0)
        for (out, state), result in zip(pairs, results, strict=False):
            if result.ok:
                state.pushed = {**(state.pushed or {}), ASSOCIATED: out.associate_to}
                self.report["associated"] += 1
            else:
                state.last_error = redact(f"association failed: {result.error}")
                self.unsettled.add(out.partner_key)


def associating(connector: Connector) -> Associating:
    """``connector`` as one that associates (a leased one is of the same kind as the caller's)."""
    if not isinstance(connector, Associating):  # pragma: no cover - same factory, same kind
        raise FatalError(f"connector {connector.name!r} cannot associate records")
    return connector


def _check(connector: Connector, dest: _Work, object: str, fields: list[str]) -> None:
    """Fail before writing if the CRM lacks a field (raises ConfigurationError naming it)."""
    own_ids = dest.dialect.record_id_fields
    wanted = tuple(dict.fromkeys(f for f in fields if f.lower() not in own_ids))
    spec = StreamSpec(
        name=f"writeback:{dest.name}:{object}",
        source=dest.name,
        object=object,
        fields=wanted,
        modified_field=dest.dialect.modified_field(object),
    )
    connector.check_fields(spec)


def _record_all(
    session: Session,
    destination: str,
    items: list[tuple[Outgoing, PushStateRow | None, bool]],
    results: list[WriteResult],
    now: datetime,
    report: dict[str, Any],
) -> list[PushStateRow]:
    """Record each record's outcome; returns the push states, in the order of ``items``."""
    by_key = {r.key: r for r in results}
    states: list[PushStateRow] = []
    for index, (out, state, _) in enumerate(items):
        result = results[index] if index < len(results) else None
        if result is None or result.key != _key_of(out):
            result = by_key.get(_key_of(out)) or WriteResult(
                out.record_key, False, error="the connector returned no result for this record"
            )
        states.append(_record(session, destination, out, state, result, now))
        report["sent"] += 1
        report["landed" if result.ok else "failed"] += 1
    return states


def _key_of(out: Outgoing) -> str:
    """The key the connector reports a record under: its external id, or its record id."""
    return out.record_key if out.part == "progress" else str(out.record["id"])


def _record(
    session: Session,
    destination: str,
    out: Outgoing,
    state: PushStateRow | None,
    result: WriteResult,
    now: datetime,
) -> PushStateRow:
    if state is None:
        state = PushStateRow(destination=destination, record_key=out.record_key, pushed={})
        session.add(state)
    state.target_id = out.target_id
    if result.ok:
        associated = (state.pushed or {}).get(ASSOCIATED)
        pushed = {k: plain(v) for k, v in out.record.items()}
        if associated is not None:
            pushed[ASSOCIATED] = associated
        state.fingerprint = out.fingerprint
        state.pushed = pushed
        state.pushed_at = now
        state.crm_record_id = result.record_id or state.crm_record_id
        state.last_error, state.attempts, state.next_attempt_at = None, 0, None
    else:
        state.attempts += 1
        state.last_error = redact(result.error or "rejected without a reason")
        state.next_attempt_at = now + backoff(state.attempts)
        log.warning(
            "record rejected",
            destination=destination,
            record=out.record_key,
            error=state.last_error,
        )
    return state


def retries_due(session: Session, now: datetime) -> bool:
    """Whether any record the CRM rejected (or failed to associate) is due to be sent again.

    A rejected record waits out its backoff and is then retried by the next push, whether or
    not anything changed since: the worker asks this to decide that a push is needed.
    """
    query = (
        select(col(PushStateRow.id))
        .where(
            col(PushStateRow.last_error).is_not(None),
            or_(
                col(PushStateRow.next_attempt_at).is_(None),
                col(PushStateRow.next_attempt_at) <= now,
            ),
        )
        .limit(1)
    )
    return session.scalar(query) is not None


def _scoped(
    session: Session,
    name: str,
    config: Destination,
    kind: str,
    labels: Mapping[str, str],
    now: datetime,
    placement: Placement | None,
    placement_digest: Callable[[str], str] | None,
) -> _Work:
    """One destination's work, limited to the partners :mod:`writeback.scope` picks."""
    dialect = REGISTRY.dialect(kind)
    ids = links(session, name)
    if placement is None:
        placed = ""
    elif placement_digest is not None:
        placed = placement_digest(name)
    else:
        placed = f"unknown:{now.isoformat()}"  # cannot tell what changed: a full diff
    digest = config_digest(config, labels, placed)
    scope = decide_scope(
        session, name, digest, ids, now, counts_unlinked=config.progress is not None
    )
    pieces = _streamed(session, name, config, labels, now, dialect, placement, scope, ids)
    return _Work(name, dialect, config, pieces, scope=scope)


def push_all(
    session: Session,
    writeback: WritebackFile,
    kinds: Mapping[str, str],
    connector_for: Callable[[str], Connector],
    labels: Mapping[str, str],
    now: datetime,
    placement: Placement | None = None,
    placement_digest: Callable[[str], str] | None = None,
    lease: Lease | None = None,
) -> PushSummary:
    """The push stage: send what changed to every destination of ``writeback.yaml``.

    Args:
        session: The store; the push state is written here, not committed.
        writeback: The loaded ``writeback.yaml``.
        kinds: Each source's CRM kind (``settings.yaml``).
        connector_for: The connector of a source, built on first use.
        labels: Metric labels, for the ``metric_label`` field.
        now: The moment of the push (backoffs are measured from it).
        placement: The fields placing each progress record in its plan (the plan push's).
        placement_digest: A destination's hash of every placement (the plan push's); a change
            makes the push a full diff. Without it, a push with a ``placement`` is always one.
        lease: A connector of a source for one thread alone: with it, each destination sends
            up to its connector's ``concurrency`` calls at once (:mod:`writeback.sender`);
            without it, one call at a time on ``connector_for``'s.
    """
    if not writeback.destinations:
        return PushSummary(SKIPPED, details={"reason": "no destinations in writeback.yaml"})
    work = (
        _scoped(session, name, config, kinds[name], labels, now, placement, placement_digest)
        for name, config in _enabled(writeback, kinds)
    )
    summary = _push(session, work, connector_for, now, lease)
    log.info("push finished", outcome=summary.outcome, **{k: v for k, v in summary.details.items()})
    return summary
