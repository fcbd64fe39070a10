"""The push stage: write changed progress back to each CRM, diff-only, never claiming a miss.

For each destination of ``writeback.yaml``:

1. :mod:`~partnerplan.worker.payloads` builds every record the CRM should hold, fingerprinted.
2. Only records whose fingerprint differs from the one last pushed *successfully* are chosen
   (plus never-pushed ones); a record that failed waits out its backoff (``next_attempt_at``).
3. Before the first write, the CRM's describe / properties are checked for every field written.
4. The whole changed list goes to the connector in one call per part; the connector cuts it into
   the largest batches the CRM allows (200 Salesforce, 100 HubSpot) and answers per record.
5. Each record's :class:`~partnerplan.plans.store.PushStateRow` records the outcome: the new
   fingerprint and values when it landed; the CRM's message, an attempt count and an
   exponential backoff when it did not. Only landed records count as pushed.

Transactions: nothing here commits. The push state is written into the caller's session and
committed with the run's outcome (``pipeline.push_progress``). No per-batch commit is needed
for crash safety: a crash after the CRM accepted a batch but before the commit leaves the old
fingerprints, so the next push re-sends those records, and an upsert by external id (or an
update by record id) of the same values is harmless.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlalchemy import select
from sqlmodel import Session, col

from partnerplan.connectors import hubspot, salesforce
from partnerplan.connectors.base import Connector, WriteResult
from partnerplan.connectors.spec import StreamSpec
from partnerplan.errors import ConfigurationError, FatalError, PartnerplanError
from partnerplan.logs import get_logger, redact
from partnerplan.plans.store import PushStateRow
from partnerplan.worker import jobs
from partnerplan.worker.payloads import ASSOCIATED, Outgoing, build, plain
from partnerplan.worker.writeback import Destination, WritebackFile

if TYPE_CHECKING:
    from partnerplan.worker.pipeline import Context

log = get_logger(__name__)
WRITE_BATCH = {"salesforce": salesforce.BATCH_SIZE, "hubspot": hubspot.BATCH_SIZE}
"""Records per write call: the connectors' own batch sizes."""
ASSOCIATION_BATCH = hubspot.ASSOCIATE_BATCH
"""Associations per call, as the HubSpot connector sends them."""
MODIFIED_FIELD = {"salesforce": "SystemModstamp", "hubspot": "hs_lastmodifieddate"}
BACKOFF = timedelta(minutes=1)
"""First wait after a record is rejected; doubled per further attempt ..."""
MAX_BACKOFF = timedelta(hours=6)
"""... up to this."""


@dataclass
class PushSummary:
    """What a push did, for the run record."""

    outcome: str
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Associating(Protocol):
    """A connector that can associate records (HubSpot: a progress record with a company)."""

    def associate(
        self, object: str, to_object: str, pairs: list[tuple[str, str]]
    ) -> list[WriteResult]:
        """Associate each ``(record id, other record id)``; one result per pair."""
        ...


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
        size = WRITE_BATCH.get(self.kind, 100)
        return sum(math.ceil(len(self.part(p)) / size) for p in ("progress", "rollup"))

    def association_calls(self) -> int:
        """Association calls (HubSpot), if the connector can associate."""
        return math.ceil(len(self.associations) / ASSOCIATION_BATCH)

    def check_calls(self) -> int:
        """Describe / properties calls made before the first write (one per object written)."""
        return sum(1 for p in ("progress", "rollup") if self.part(p))


def backoff(attempts: int) -> timedelta:
    """The wait before retrying a record rejected ``attempts`` times in a row."""
    wait: timedelta = BACKOFF * 2 ** min(max(0, attempts - 1), 20)
    return min(wait, MAX_BACKOFF)


def plan(
    session: Session,
    writeback: WritebackFile,
    kinds: Mapping[str, str],
    labels: Mapping[str, str],
    now: datetime,
) -> list[DestinationPlan]:
    """Decide what each enabled destination needs, reading only the store (no API call)."""
    plans: list[DestinationPlan] = []
    for name, config in writeback.destinations.items():
        if not config.enabled:
            continue
        if name not in kinds:
            raise ConfigurationError(
                f"writeback.yaml names destination {name!r}, which is not a source in "
                "settings.yaml; add the source or remove the destination"
            )
        outgoing, unlinked = build(session, name, config, labels, _today(now))
        query = select(PushStateRow).where(col(PushStateRow.destination) == name)
        states = {s.record_key: s for s in session.scalars(query)}
        send: list[Outgoing] = []
        waiting = 0
        associations: list[Outgoing] = []
        for out in outgoing:
            state = states.get(out.record_key)
            if state is not None and state.fingerprint == out.fingerprint:
                if out.associate_to and (state.pushed or {}).get(ASSOCIATED) != out.associate_to:
                    associations.append(out)
                continue
            if state is not None and state.next_attempt_at and state.next_attempt_at > now:
                waiting += 1
                continue
            send.append(out)
            if out.associate_to and (
                state is None or state.pushed.get(ASSOCIATED) != out.associate_to
            ):
                associations.append(out)
        plans.append(
            DestinationPlan(
                name, kinds[name], config, send, states, unlinked, waiting, associations
            )
        )
    return plans


def _today(now: datetime) -> date:
    return now.date()


def push(
    session: Session,
    plans: list[DestinationPlan],
    connector_for: Callable[[str], Connector],
    now: datetime,
) -> PushSummary:
    """Send each plan's records and record every outcome in ``session`` (not committed)."""
    details: dict[str, Any] = {}
    errors: list[str] = []
    failed_rows = 0
    fatal = False
    for dest in plans:
        report: dict[str, Any] = {
            "sent": 0,
            "landed": 0,
            "failed": 0,
            "waiting": dest.waiting,
            "unlinked": dest.unlinked,
            "write_calls": 0,
        }
        details[dest.name] = report
        if not dest.send and not dest.associations:
            continue
        connector = connector_for(dest.name)
        before = connector.usage().write_calls
        try:
            _push_destination(session, dest, connector, now, report)
        except PartnerplanError as exc:
            message = redact(f"{dest.name}: {exc}")
            errors.append(message)
            report["error"] = message
            fatal = fatal or isinstance(exc, ConfigurationError | FatalError)
            log.warning("push stopped for destination", destination=dest.name, error=message)
        finally:
            report["write_calls"] = connector.usage().write_calls - before
        failed_rows += report["failed"]
    if failed_rows:
        errors.append(f"{failed_rows} record(s) rejected; see `partnerplan push errors`")
    outcome = jobs.FAILED if fatal else jobs.INCOMPLETE if errors else jobs.SUCCEEDED
    return PushSummary(outcome, "; ".join(errors) or None, details)


def _push_destination(
    session: Session,
    dest: DestinationPlan,
    connector: Connector,
    now: datetime,
    report: dict[str, Any],
) -> None:
    progress, rollup = dest.config.progress, dest.config.rollup
    records = dest.part("progress")
    if records and progress is not None:
        _check(connector, dest, progress.object, [progress.key_field, *records[0].record])
        results = connector.upsert(progress.object, progress.key_field, [o.record for o in records])
        _record_all(session, dest, records, results, now, report)
    records = dest.part("rollup")
    if records and rollup is not None:
        _check(connector, dest, rollup.object, [f for f in rollup.crm_fields()])
        results = connector.update(rollup.object, [o.record for o in records])
        _record_all(session, dest, records, results, now, report)
    if dest.associations and progress is not None and progress.associate:
        _associate(session, dest, connector, progress.object, progress.associate, report)


def _check(connector: Connector, dest: DestinationPlan, object: str, fields: list[str]) -> None:
    """Fail before writing if the CRM lacks a field (raises ConfigurationError naming it)."""
    wanted = tuple(dict.fromkeys(f for f in fields if f.lower() not in ("id", "hs_object_id")))
    spec = StreamSpec(
        name=f"writeback:{dest.name}:{object}",
        source=dest.name,
        object=object,
        fields=wanted,
        modified_field=MODIFIED_FIELD.get(dest.kind, "SystemModstamp"),
    )
    connector.check_fields(spec)


def _record_all(
    session: Session,
    dest: DestinationPlan,
    records: list[Outgoing],
    results: list[WriteResult],
    now: datetime,
    report: dict[str, Any],
) -> None:
    by_key = {r.key: r for r in results}
    for index, out in enumerate(records):
        result = results[index] if index < len(results) else None
        if result is None or result.key != _key_of(out, dest):
            result = by_key.get(_key_of(out, dest)) or WriteResult(
                out.record_key, False, error="the connector returned no result for this record"
            )
        _record(session, dest, out, result, now)
        report["sent"] += 1
        report["landed" if result.ok else "failed"] += 1


def _key_of(out: Outgoing, dest: DestinationPlan) -> str:
    """The key the connector reports a record under: its external id, or its record id."""
    return out.record_key if out.part == "progress" else str(out.record["id"])


def _state(session: Session, dest: DestinationPlan, out: Outgoing) -> PushStateRow:
    state = dest.states.get(out.record_key)
    if state is None:
        state = PushStateRow(destination=dest.name, record_key=out.record_key, pushed={})
        session.add(state)
        dest.states[out.record_key] = state
    return state


def _record(
    session: Session, dest: DestinationPlan, out: Outgoing, result: WriteResult, now: datetime
) -> None:
    state = _state(session, dest, out)
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
            "record rejected", destination=dest.name, record=out.record_key, error=state.last_error
        )


def _associate(
    session: Session,
    dest: DestinationPlan,
    connector: Connector,
    object: str,
    to_object: str,
    report: dict[str, Any],
) -> None:
    """Associate landed records with their partner's company (HubSpot)."""
    pairs: list[tuple[Outgoing, PushStateRow]] = []
    for out in dest.associations:
        state = dest.states.get(out.record_key)
        if state is not None and state.crm_record_id and state.fingerprint == out.fingerprint:
            pairs.append((out, state))
    if not pairs:
        return
    if not isinstance(connector, Associating):
        report["associations_pending"] = len(pairs)
        log.warning(
            "connector cannot associate records; progress records are written unassociated",
            destination=dest.name,
            pending=len(pairs),
        )
        return
    results = connector.associate(
        object, to_object, [(s.crm_record_id or "", o.associate_to or "") for o, s in pairs]
    )
    report["associated"] = 0
    for (out, state), result in zip(pairs, results, strict=False):
        if result.ok:
            state.pushed = {**(state.pushed or {}), ASSOCIATED: out.associate_to}
            report["associated"] += 1
        else:
            state.last_error = redact(f"association failed: {result.error}")


def labels_of(project: Any) -> dict[str, str]:
    """Metric labels from the project's catalogue, if it has one loaded."""
    catalogue = getattr(project, "metrics", None)
    if catalogue is None:
        return {}
    keys: list[str] = catalogue.keys()  # a Catalogue is not iterable; keys() lists it
    return {key: catalogue[key].label for key in keys}


def kinds_of(project: Any) -> dict[str, str]:
    """Each source's CRM kind (``salesforce`` / ``hubspot``)."""
    return {name: source.type for name, source in project.settings.sources.items()}


def push_all(ctx: Context, session: Session) -> PushSummary:
    """The push stage: send what changed to every destination of ``writeback.yaml``."""
    writeback: WritebackFile | None = getattr(ctx.project, "writeback", None)
    if writeback is None or not writeback.destinations:
        return PushSummary(jobs.SKIPPED, details={"reason": "no destinations in writeback.yaml"})
    now = jobs.now()
    plans = plan(session, writeback, kinds_of(ctx.project), labels_of(ctx.project), now)
    summary = push(session, plans, ctx.connector, now)
    log.info("push finished", outcome=summary.outcome, **{k: v for k, v in summary.details.items()})
    return summary
