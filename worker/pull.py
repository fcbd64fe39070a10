"""Syncing one stream: pull since the watermark, map, store each page with its watermark.

This is the body of the ``sync_stream`` stage (see :mod:`worker.pipeline`), kept
apart because it is where the flow's consistency rules live: one transaction per page for
data + watermark + run counts, deletions listed after the changes, and (``--full`` only)
reconciliation of records the CRM no longer has at all.

It also keeps the stream's completeness for the trust rule: the first page that changes stored
data marks the stream partial in its own transaction, and only a pull that ends with every page
and the deletions listed marks it complete again, as of its connector's horizon.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from connectors.base import Connector, Page
from mappings.compiled import CompiledStream
from partnerplan.errors import BudgetExhausted
from partnerplan.logs import get_logger
from plans.changes import Changes
from plans.db import refresh_statistics
from plans.ingest import resolve_partners, store_batch
from plans.store import ActivityRow, RunRow
from worker import jobs, state, writes
from worker.prefetch import prefetched

log = get_logger(__name__)


@dataclass
class PullResult:
    """What one pull of one stream did.

    Attributes:
        touched: Partners whose activities changed (their plans need computing).
        outcome: ``succeeded``, or ``incomplete`` when the API budget stopped it between pages.
        error: Why it is incomplete.
        recovered: The pull completed a stream that was partial or had never completed: targets
            the trust rule held back on any partner may be computed again, so the next compute
            covers every plan.
        changes: What changed for the touched partners, by kind and date (the compute reads
            only the targets it can move).
    """

    touched: set[int] = field(default_factory=set)
    outcome: str = jobs.SUCCEEDED
    error: str | None = None
    recovered: bool = False
    changes: Changes = field(default_factory=Changes)


class StreamStopped(KeyboardInterrupt):
    """The invocation was interrupted while this stream synced in a thread of its own.

    Ctrl-C and SIGTERM reach the main thread only; it sets the invocation's stop event, and
    each stream's thread raises this at its next page boundary (after a committed page, before
    the next is stored), so the thread ends at once and its run is marked ``interrupted`` like
    the rest. A ``KeyboardInterrupt``: nothing that handles errors catches it on the way.
    """


class PageObserver(Protocol):
    """Hears of each stored page (the CLI moves a progress bar)."""

    def page(self, stream: str, records: int) -> None: ...


def pull_and_store(
    engine: Engine,
    run: RunRow,
    stream: CompiledStream,
    connector: Connector,
    observer: PageObserver,
    *,
    full: bool,
    stop: threading.Event | None = None,
) -> PullResult:
    """Pull the run's stream page by page and store it.

    A spent API budget ends the pull cleanly at a page boundary: the outcome is ``incomplete``
    and the watermark stands after the last stored page, where the next run resumes.

    Args:
        engine: The store.
        run: The ``sync_stream`` run (its source and stream; counts are added to it).
        stream: The stream's compiled mapping.
        connector: The connector of the stream's source.
        observer: Told of each stored page.
        full: Pull everything (ignore the watermark) and reconcile purged records.
        stop: Set when the invocation is interrupted: :class:`StreamStopped` is raised before
            the next page is stored.
    """
    assert run.id is not None and run.source is not None and run.stream is not None
    spec = stream.spec()
    connector.check_fields(spec)
    calls_before = connector.usage().calls
    store = _PageStore(engine, run, stream.kind == "partner", observer, stop)
    with Session(engine) as session:
        since = None if full else state.watermark(session, run.source, run.stream)
        row = state.get(session, run.source, run.stream)
        deletions_since = None if full or row is None else row.deletions_checked_at
        untrusted = row is None or row.complete_at is None or row.partial
    touched: set[int] = set()
    seen: Seen | None = Seen() if full else None
    try:
        # closing(): a failed store stops the prefetch thread before anything else runs
        with closing(prefetched(connector.pull(spec, since))) as pages:
            for page in pages:
                items = _noting_ids(stream.map_many(page.records), seen)
                touched |= store.page(items, page)
        listed_at = jobs.now()
        listing = deletions_due(connector, deletions_since, listed_at)
        for page in connector.deletions(spec, deletions_since) if listing else ():
            items = _noting_ids((stream.map(raw, deleted=True) for raw in page.records), seen)
            touched |= store.page(items, page, deleted=True)
        store.check()
        with writes.unit(engine) as session:
            if listing:
                state.deletions_checked(session, run.source, run.stream, listed_at)
            if seen is not None:
                gone = _reconcile(session, run, seen)
                touched |= gone
                store.changes.all_of(gone)
            assert run.started_at is not None
            state.completed(session, run.source, run.stream, connector.horizon(run.started_at))
        outcome, error, recovered = jobs.SUCCEEDED, None, untrusted
    except BudgetExhausted as exc:
        outcome, error, recovered = jobs.INCOMPLETE, str(exc), False
        log.warning("api budget spent; stopping at a page boundary", stream=run.stream)
    with writes.unit(engine) as session:
        jobs.heartbeat(session, run.id, api_calls=connector.usage().calls - calls_before)
    return PullResult(touched, outcome, error, recovered, store.changes)


def deletions_due(connector: Connector, since: datetime | None, now: datetime) -> bool:
    """Whether this pull lists the source's deletions.

    A connector whose deletions listing cannot start from a point in time (HubSpot's archived
    listing: id order, no time filter) says how often it is worth paying for, as
    ``deletions_every``; others (None) list on every pull. A first or full pull always lists.
    """
    every = connector.deletions_every
    if since is None or not every:
        return True
    return now - since >= every


class Seen:
    """The record ids a full pull saw, at 8 bytes each (a 64-bit hash), for reconciliation.

    A set of id strings costs ~100 bytes per record, enough to make a full sync's memory grow
    with the largest stream. Two different ids share a hash with odds of about n^2 / 2^65
    (1e-9 for 200,000 records); the only effect would be one purged record left undeleted.
    """

    def __init__(self) -> None:
        self.hashes: array[int] = array("q")
        self.sorted = True

    def add(self, record_id: str) -> None:
        """Remember one record id."""
        self.hashes.append(hash(record_id))
        self.sorted = False

    def __contains__(self, record_id: object) -> bool:
        if not self.sorted:
            self.hashes = array("q", sorted(self.hashes))
            self.sorted = True
        value = hash(record_id)
        position = bisect_left(self.hashes, value)
        return position < len(self.hashes) and self.hashes[position] == value

    def __len__(self) -> int:
        return len(self.hashes)


def _noting_ids(items: Iterable[Any], seen: Seen | None) -> Iterator[Any]:
    """Pass mapped items through, remembering their record ids during a full pull."""
    for item in items:
        if seen is not None:
            seen.add(item.record_id)
        yield item


_RECONCILE_ROWS = 10_000
"""Stored rows read per fetch while reconciling: memory stays flat in the stream's size."""


def _reconcile(session: Session, run: RunRow, seen: Seen) -> set[int]:
    """After a complete full pull, mark deleted what the CRM no longer has at all.

    Records purged from the CRM's recycle bin never appear in a deletions listing; only a full
    pull can notice them. Their activities are kept (nothing is lost) but flagged deleted, so
    metrics stop counting them. Holds 8 bytes per record of the stream (:class:`Seen`) and
    reads the stored rows in batches: that is the price of ``--full``, which incremental runs
    do not pay.
    """
    assert run.id is not None and run.source is not None and run.stream is not None
    query = select(
        col(ActivityRow.id), col(ActivityRow.record_id), col(ActivityRow.partner_id)
    ).where(
        col(ActivityRow.source) == run.source,
        col(ActivityRow.stream) == run.stream,
        col(ActivityRow.deleted).is_(False),
    )
    rows = session.execute(query.execution_options(yield_per=_RECONCILE_ROWS))
    gone = [(row_id, partner) for row_id, record_id, partner in rows if record_id not in seen]
    for start in range(0, len(gone), 1000):
        ids = [row_id for row_id, _ in gone[start : start + 1000]]
        session.execute(
            update(ActivityRow)
            .where(col(ActivityRow.id).in_(ids))
            .values(deleted=True, stored_at=jobs.now())
        )
    if gone:
        jobs.heartbeat(session, run.id, records_deleted=len(gone))
        log.info("marked records missing from a full pull as deleted", count=len(gone))
    return {partner for _, partner in gone if partner is not None}


class _PageStore:
    """Stores one page and advances the watermark in ONE transaction."""

    def __init__(
        self,
        engine: Engine,
        run: RunRow,
        partners: bool,
        observer: PageObserver,
        stop: threading.Event | None,
    ) -> None:
        assert run.id is not None and run.source is not None and run.stream is not None
        self.engine, self.partners, self.observer, self.stop = engine, partners, observer, stop
        self.run_id, self.source, self.stream = run.id, run.source, run.stream
        self.partial = False
        self.changes = Changes()

    def check(self) -> None:
        """Raise :class:`StreamStopped` once the invocation is interrupted."""
        if self.stop is not None and self.stop.is_set():
            raise StreamStopped(self.stream)

    def page(self, items: Iterable[Any], page: Page, *, deleted: bool = False) -> set[int]:
        """Store ``items`` (the mapped ``page``); returns the partners they touched.

        A partner stream's unit writes partners and links activities to them: it takes the
        store's exclusive lock for that (:mod:`worker.writes`); every other page, the shared.
        """
        self.check()
        with writes.unit(self.engine, partners=self.partners) as session:
            result = store_batch(
                session, self.source, self.stream, items, jobs.now(), known_only=deleted
            )
            linked: set[int] = set()
            if self.partners:
                # activities stored before their partner arrived are linked now, in this unit
                linked = resolve_partners(session)
            if page.watermark is not None and not deleted:
                state.advance(session, self.source, self.stream, page.watermark)
            if (result.stored or linked) and not self.partial:
                state.mark_partial(session, self.source, self.stream)
                self.partial = True
            jobs.heartbeat(
                session,
                self.run_id,
                records_pulled=len(page.records),
                records_mapped=result.stored + result.unchanged,
                records_quarantined=result.quarantined,
                records_deleted=result.deleted,
            )
        self.changes.add(result.changes)
        self.changes.all_of(linked)
        if result.stored:
            refresh_statistics(self.engine, "activity")
        self.observer.page(self.stream, len(page.records))
        return linked | {partner for partner, _ in result.touched if partner is not None}
