"""Storing what the mappings produced: activities, partners and quarantined records, in bulk.

:func:`store_batch` writes one page of mapped records with a handful of statements whatever the
page size, and reports exactly which (partner, date) pairs changed so the worker recomputes only
those. It never commits: the worker commits the data and the stream's watermark together.

A record with no partner, or a partner not seen yet, is stored with ``partner_id`` NULL and
counted; :func:`resolve_partners` links it once the partner arrives. A record that cannot be
mapped is quarantined whole; when it later maps (a fixed mapping, a fixed CRM value), its
quarantine entry is marked resolved. Nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar

import orjson
from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from mappings.activity import Activity, Rejection
from mappings.loader import MappingSet
from mappings.storable import quarantine_safe
from plans.changes import Changes
from plans.db import one_of, upsert
from plans.store import ActivityRow, FxRateRow, PartnerLinkRow, PartnerRow, QuarantineRow

_IN_CHUNK = 5_000  # ids per lookup (bound as one parameter: see db.one_of)
_QUARANTINE_CHUNK = 2_000
_PARTNER_FIELDS = ("key", "name", "tier", "region")
_NOT_ACTIVITIES = ("partner", "rate")
_OPEN_END = "9999-12-31"  # Salesforce's NextStartDate of the latest range: no end
T = TypeVar("T")


@dataclass
class IngestResult:
    """What a batch did to the store.

    Attributes:
        stored: Activities written (new or changed, deletions included).
        unchanged: Activities whose content hash matched the stored one: nothing written.
        quarantined: Records that could not be mapped.
        deleted: Activities in the batch that the CRM reports deleted.
        unlinked: Activities written without a partner (none given, or not known yet).
        resolved: Quarantined records that now mapped and were marked resolved.
        touched: (partner_id, occurred_on) of every activity whose stored content changed,
            before and after the change: the worker recomputes those partners and periods.
        changes: The same, with each activity's kind (:mod:`plans.changes`): the compute
            then reads only the targets those kinds and dates can move. Every partner in
            ``touched`` is in it.
    """

    stored: int = 0
    unchanged: int = 0
    quarantined: int = 0
    deleted: int = 0
    unlinked: int = 0
    resolved: int = 0
    touched: set[tuple[int | None, date | None]] = field(default_factory=set)
    changes: Changes = field(default_factory=Changes)

    def add(self, other: IngestResult) -> None:
        """Accumulate another batch's result into this one."""
        self.stored += other.stored
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.deleted += other.deleted
        self.unlinked += other.unlinked
        self.resolved += other.resolved
        self.touched |= other.touched
        self.changes.add(other.changes)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _json_safe(raw: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(raw, default=_json_default))


def _split(
    items: Iterable[Activity | Rejection],
) -> tuple[dict[str, Activity], dict[str, Rejection]]:
    """Activities and rejections by record id; a record seen twice keeps its last version."""
    activities: dict[str, Activity] = {}
    rejections: dict[str, Rejection] = {}
    for item in items:
        if isinstance(item, Activity):
            activities[item.record_id] = item
            rejections.pop(item.record_id, None)
        else:
            rejections[item.record_id] = item
            activities.pop(item.record_id, None)
    return activities, rejections


def _dialect(session: Session) -> str:
    return session.connection().dialect.name


def _existing(
    session: Session, source: str, stream: str, ids: Sequence[str]
) -> dict[str, tuple[str, int | None, date | None, str]]:
    table = ActivityRow.__table__  # type: ignore[attr-defined]
    dialect = _dialect(session)
    found: dict[str, tuple[str, int | None, date | None, str]] = {}
    for chunk in _chunks(ids, _IN_CHUNK):
        query = select(
            table.c.record_id,
            table.c.content_hash,
            table.c.partner_id,
            table.c.occurred_on,
            table.c.kind,
        ).where(
            table.c.source == source,
            table.c.stream == stream,
            one_of(table.c.record_id, chunk, dialect),
        )
        for record_id, digest, partner_id, occurred_on, kind in session.execute(query):
            found[record_id] = (digest, partner_id, occurred_on, kind)
    return found


def _store_partners(session: Session, source: str, partners: list[Activity], now: datetime) -> None:
    """Upsert partner records into PartnerRow by key, then link their record ids to them."""
    rows: dict[str, dict[str, Any]] = {}
    for item in partners:
        attrs = item.attributes
        rows[attrs["key"]] = {
            "key": attrs["key"],
            "name": str(attrs.get("name") or "")[:500],
            "tier": None if attrs.get("tier") is None else str(attrs["tier"])[:100],
            "region": None if attrs.get("region") is None else str(attrs["region"])[:100],
            "attributes": {k: v for k, v in attrs.items() if k not in _PARTNER_FIELDS},
            "deleted": item.deleted,
            "updated_at": now,
        }
    upsert(session, PartnerRow, list(rows.values()), keys=["key"])
    table = PartnerRow.__table__  # type: ignore[attr-defined]
    ids: dict[str, int] = {}
    for chunk in _chunks(list(rows), _IN_CHUNK):
        query = select(table.c.key, table.c.id).where(one_of(table.c.key, chunk, _dialect(session)))
        ids.update({key: pid for key, pid in session.execute(query)})
    links = [
        {"partner_id": ids[item.attributes["key"]], "source": source, "record_id": item.record_id}
        for item in partners
    ]
    upsert(session, PartnerLinkRow, links, keys=["source", "record_id"], update=["partner_id"])


def _partner_ids(session: Session, source: str, refs: set[str]) -> dict[str, int]:
    table = PartnerLinkRow.__table__  # type: ignore[attr-defined]
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(refs), _IN_CHUNK):
        query = select(table.c.record_id, table.c.partner_id).where(
            table.c.source == source, one_of(table.c.record_id, chunk, _dialect(session))
        )
        found.update({ref: pid for ref, pid in session.execute(query)})
    return found


def _quarantine(session: Session, rejections: Sequence[Rejection], now: datetime) -> None:
    """Upsert rejections: a record seen again counts one more attempt and is unresolved again."""
    table = QuarantineRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    rows = [
        {
            "source": r.source,
            "stream": r.stream,
            "object": r.object,
            "record_id": quarantine_safe(r.record_id),
            "raw": _json_safe(quarantine_safe(r.raw)),
            "field": None if r.field is None else quarantine_safe(r.field)[:200],
            "reason": quarantine_safe(r.reason),
            "first_seen_at": now,
            "last_seen_at": now,
            "attempts": 1,
            "resolved_at": None,
        }
        for r in rejections
    ]
    for chunk in _chunks(rows, _QUARANTINE_CHUNK):
        stmt = insert(table).values(list(chunk))
        stmt = stmt.on_conflict_do_update(
            index_elements=["source", "stream", "record_id"],
            set_={
                "object": stmt.excluded.object,
                "raw": stmt.excluded.raw,
                "field": stmt.excluded.field,
                "reason": stmt.excluded.reason,
                "last_seen_at": stmt.excluded.last_seen_at,
                "attempts": table.c.attempts + 1,
                "resolved_at": None,
            },
        )
        connection.execute(stmt)


def _resolve_quarantine(
    session: Session, source: str, stream: str, ids: Sequence[str], now: datetime
) -> int:
    table = QuarantineRow.__table__  # type: ignore[attr-defined]
    open_entries = (
        table.c.source == source,
        table.c.stream == stream,
        table.c.resolved_at.is_(None),
    )
    if session.execute(select(table.c.id).where(*open_entries).limit(1)).first() is None:
        return 0  # the usual case, a stream with nothing in quarantine: no lookup of every id
    resolved = 0
    for chunk in _chunks(ids, _IN_CHUNK):
        stmt = (
            update(table)
            .where(*open_entries, one_of(table.c.record_id, chunk, _dialect(session)))
            .values(resolved_at=now)
        )
        resolved += session.connection().execute(stmt).rowcount
    return resolved


def store_batch(
    session: Session,
    stream_source: str,
    stream: str,
    items: Iterable[Activity | Rejection],
    now: datetime,
    *,
    known_only: bool = False,
) -> IngestResult:
    """Store one batch of one stream's mapped records; the caller commits.

    Args:
        session: The unit of work the caller commits together with the stream's watermark.
        stream_source: The source name the stream reads from.
        stream: The stream name.
        items: The mapper's output for the batch, in record order.
        now: The time recorded as ``stored_at`` / quarantine ``last_seen_at`` (aware UTC).
        known_only: Store only records this stream already holds. For deletion listings that
            cannot filter (HubSpot lists every archived record of an object): a record the
            stream never stored is not one of its records, and must not appear in it deleted.

    Returns:
        Counts, and the (partner_id, occurred_on) pairs whose activities changed.
    """
    activities, rejections = _split(items)
    result = IngestResult(quarantined=len(rejections))
    if rejections:
        _quarantine(session, list(rejections.values()), now)
    if not activities:
        return result
    ids = list(activities)
    existing = _existing(session, stream_source, stream, ids)
    if known_only:
        activities = {k: a for k, a in activities.items() if k in existing}
        ids = list(activities)
    changed = [
        a for a in activities.values() if existing.get(a.record_id, ("",))[0] != a.content_hash
    ]
    result.deleted = sum(1 for a in activities.values() if a.deleted)
    result.unchanged = len(activities) - len(changed)
    result.stored = len(changed)
    partners = [a for a in changed if a.kind == "partner"]
    if partners:
        _store_partners(session, stream_source, partners, now)
    rates = [a for a in changed if a.kind == "rate"]
    if rates and _store_rates(session, stream, rates):
        # converted amounts of every partner may move: recompute them all
        partner_ids = session.execute(select(PartnerRow.__table__.c.id)).scalars()  # type: ignore[attr-defined]
        everyone = [int(partner_id) for partner_id in partner_ids]
        result.touched.update((partner_id, None) for partner_id in everyone)
        result.changes.all_of(everyone)
    refs = {a.partner_ref for a in changed if a.partner_ref is not None}
    links = _partner_ids(session, stream_source, refs) if refs else {}
    rows = []
    for item in changed:
        partner_id = links.get(item.partner_ref) if item.partner_ref is not None else None
        rows.append({**item.as_row(), "partner_id": partner_id, "stored_at": now})
        if partner_id is None and item.kind not in _NOT_ACTIVITIES:
            result.unlinked += 1
        if item.kind in _NOT_ACTIVITIES:
            continue
        result.touched.add((partner_id, item.occurred_on))
        result.changes.note(partner_id, item.kind, item.occurred_on)
        before = existing.get(item.record_id)
        if before is not None:
            result.touched.add((before[1], before[2]))
            result.changes.note(before[1], before[3], before[2])
    upsert(
        session,
        ActivityRow,
        rows,
        keys=["source", "stream", "record_id"],
        where_changed="content_hash",
    )
    result.resolved = _resolve_quarantine(session, stream_source, stream, ids, now)
    return result


def _store_rates(session: Session, stream: str, rates: list[Activity]) -> bool:
    """Write ``kind: rate`` records into the rate table, tagged with their stream's name.

    One row per (currency, first day): ``rate`` is ``amount``, the base currency
    ``attributes.base``, the end ``attributes.until`` (none for Salesforce's 9999-12-31). A
    deleted record removes its row. Returns whether any row changed.
    """
    table = FxRateRow.__table__  # type: ignore[attr-defined]
    changed = False
    for item in rates:
        start = item.occurred_on.isoformat() if item.occurred_on else None
        if start is None or item.currency is None:
            continue  # a deleted record whose fields did not map: nothing to match it by
        where = and_(
            table.c.source == stream, table.c.currency == item.currency, table.c.start_on == start
        )
        until = item.attributes.get("until")
        wanted = None
        if not item.deleted and item.amount is not None:
            wanted = (
                str(item.attributes.get("base")),
                None if until in (None, _OPEN_END) else str(until),
                str(item.amount),
            )
        found = session.execute(select(table.c.base, table.c.end_on, table.c.rate).where(where))
        stored = found.first()
        if (tuple(stored) if stored else None) == wanted:
            continue
        changed = True
        session.execute(delete(table).where(where))
        if wanted is not None:
            base, end, rate = wanted
            session.execute(
                table.insert().values(
                    source=stream, base=base, currency=item.currency, start_on=start,
                    end_on=end, rate=rate,
                )
            )  # fmt: skip
    return changed


def resolve_partners(session: Session) -> set[int]:
    """Link activities stored without a partner to partners that have arrived since.

    Returns:
        The ids of partners that gained activities (the worker recomputes their plans).
    """
    activity = ActivityRow.__table__  # type: ignore[attr-defined]
    link = PartnerLinkRow.__table__  # type: ignore[attr-defined]
    matches = and_(link.c.source == activity.c.source, link.c.record_id == activity.c.partner_ref)
    query = (
        select(link.c.partner_id)
        .distinct()
        .select_from(activity.join(link, matches))
        .where(activity.c.partner_id.is_(None))
    )
    partner_ids = set(session.execute(query).scalars())
    if partner_ids:
        linked = select(link.c.partner_id).where(matches).scalar_subquery()
        stmt = (
            update(activity)
            .where(activity.c.partner_id.is_(None), exists().where(matches))
            .values(partner_id=linked)
        )
        session.connection().execute(stmt)
    return partner_ids


def retry_quarantine(
    session: Session, mappings: MappingSet, now: datetime, stream: str | None = None
) -> tuple[IngestResult, list[str]]:
    """Re-map unresolved quarantined records with the current mappings and store the results.

    Returns:
        The combined result, and the names of quarantined streams no mapping defines any more
        (their records stay in quarantine).
    """
    table = QuarantineRow.__table__  # type: ignore[attr-defined]
    query = select(table.c.stream, table.c.raw).where(table.c.resolved_at.is_(None))
    if stream is not None:
        query = query.where(table.c.stream == stream)
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for name, raw in session.execute(query.order_by(table.c.stream, table.c.id)):
        by_stream.setdefault(name, []).append(raw)
    total = IngestResult()
    missing: list[str] = []
    for name, raws in by_stream.items():
        compiled = mappings.streams.get(name)
        if compiled is None:
            missing.append(name)
            continue
        total.add(store_batch(session, compiled.source, name, compiled.map_many(raws), now))
    return total, missing
