"""Progress history: a compact snapshot of a target's progress on each day that it changed.

The progress table holds only the latest values, overwritten by every compute; a quarterly
review needs to see how a target moved through the period and what changed since last week.
So the engine keeps, next to each progress upsert, snapshots in ``progress_history``:

* **only what cannot be recomputed**: actual, target and status. The expected-to-date, forecast,
  attainment and gap of a day follow from them and the target's definition
  (:mod:`plans.pacing`), so they are derived when read, not stored;
* **only when one of them changed**: the expected-to-date moves every day, and with it the
  progress row, but a day on which no number a person reads changed writes nothing;
* **at most one per target per day**: a later compute on the same day replaces that day's
  snapshot;
* **the closing values**: from the period's end on, the snapshot is dated the period's end and
  marked ``final``. The first compute after the close writes it even when nothing changed, and
  late data (an opportunity closed on the last day, synced a day later) replaces it;
* **pruned by age**: :func:`prune` keeps only the closing values of periods that ended more than
  the retention ago (``history_retention_days`` in settings.yaml).

Storage. One row per target and week (Monday to Sunday), its snapshots packed as fixed-width
records of 19 bytes (:data:`RECORD`: the day, a flags byte, actual and target as the store's
scaled integers) in day order. Measured by ``bench/history.py`` for a quarter of daily snapshots
of 20,000 targets (the worst case), against the activity table of 1,000,000 activities:

* a row per snapshot cost 42 bytes a snapshot on SQLite and 106 on PostgreSQL (a tuple header,
  an item pointer and a key index entry each): 25 % and 48 % of the activity table;
* a row per target, rewritten whole by every append, cost 22 and 90 bytes: PostgreSQL keeps the
  dead version of each ~1.8 KB row until a VACUUM, which frees the space but not the pages;
* a row per target and week is rewritten at most seven times and stays small, so freed space is
  reused (see ``bench/README.md`` for the figures).

Records are appended, or the day's last one replaced, by the upsert itself in SQL, so all of a
compute's snapshots still go to the database in one statement, with no read first; an unchanged
closing snapshot is left alone by the database.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import LargeBinary, and_, case, cast, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from plans.pacing import ACHIEVED, AT_RISK, NO_DATA, OFF_TRACK, ON_TRACK, Progress
from plans.periods import Period
from plans.store import HistoryRow, PlanRow, TargetRow
from plans.types import from_minor, to_minor

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
RECORD = struct.Struct("<HBqq")
"""One snapshot: day (days since :data:`EPOCH`), flags, actual and target (scaled by 10^4)."""
EPOCH = date(2000, 1, 1)
STATUSES = (ACHIEVED, ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA)
"""Status codes in the flags' low 3 bits (the order is stored: append, never reorder)."""
_FINAL, _NO_ACTUAL = 0x08, 0x10

Values = tuple[Decimal | None, Decimal, str]
"""What a snapshot records of a progress row: (actual, target, status)."""


@dataclass(frozen=True)
class Snapshot:
    """A target's recorded values on one day (``final``: the period's closing values)."""

    day: date
    actual: Decimal | None
    target: Decimal
    status: str
    final: bool = False


def week_of(day: date) -> date:
    """The Monday of ``day``'s week: the row its snapshot is packed in."""
    return day - timedelta(days=day.weekday())


def values_of(result: Progress) -> Values:
    """The values of ``result`` that a snapshot records."""
    return (result.actual, result.target, result.status)


def pack(snapshot: Snapshot) -> bytes:
    """One snapshot as its stored record."""
    flags = STATUSES.index(snapshot.status) if snapshot.status in STATUSES else len(STATUSES)
    flags |= _FINAL if snapshot.final else 0
    flags |= _NO_ACTUAL if snapshot.actual is None else 0
    actual = 0 if snapshot.actual is None else to_minor(snapshot.actual)
    return RECORD.pack((snapshot.day - EPOCH).days, flags, actual, to_minor(snapshot.target))


def unpack(series: bytes) -> list[Snapshot]:
    """A stored series as snapshots, oldest first."""
    out = []
    for days, flags, actual, target in RECORD.iter_unpack(series):
        code = flags & 0x07
        out.append(
            Snapshot(
                day=EPOCH + timedelta(days=days),
                actual=None if flags & _NO_ACTUAL else from_minor(actual),
                target=from_minor(target),
                status=STATUSES[code] if code < len(STATUSES) else "unknown",
                final=bool(flags & _FINAL),
            )
        )
    return sorted(out, key=lambda s: s.day)


def snapshot_row(
    target_id: int,
    period: Period,
    as_of: datetime,
    result: Progress,
    previous: Values | None,
    previous_as_of: datetime | None = None,
) -> dict[str, Any] | None:
    """The snapshot to write for one computed target, or None when there is nothing to keep.

    History only moves forward: a compute for a day before the stored progress's (a recompute
    ``--as-of`` a past day) keeps no snapshot.

    Args:
        target_id: the target.
        period: its plan's period.
        as_of: the moment the compute ran for.
        result: the progress just computed.
        previous: the values of the progress row before this compute (None: never computed).
        previous_as_of: that row's ``data_as_of``.
    """
    today = as_of.date()
    if previous_as_of is not None and today < previous_as_of.date():
        return None
    final = today >= period.end
    values = values_of(result)
    if not final and values == previous:
        return None
    day = period.end if final else max(today, period.start)
    actual, target, status = values
    record = pack(Snapshot(day, actual, target, status, final))
    return {"target_id": target_id, "week": week_of(day), "last_day": day, "series": record}


def write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append each row's record to its target's series of that week, in one statement.

    A record of the day the series ends on replaces that last record; a record older than it is
    dropped (a recompute ``--as-of`` a past day does not rewrite history); a record equal to the
    last one writes nothing.
    """
    if not rows:
        return
    table = HistoryRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    stmt = _INSERTS[connection.dialect.name](table)
    new = stmt.excluded
    series, last_day = table.c.series, table.c.last_day
    same_day = last_day == new.last_day
    kept = case((same_day, func.substr(series, 1, func.length(series) - RECORD.size)), else_=series)
    last_record = func.substr(series, func.length(series) - (RECORD.size - 1), RECORD.size)
    stmt = stmt.on_conflict_do_update(
        index_elements=["target_id", "week"],
        set_={"series": cast(kept.op("||")(new.series), LargeBinary), "last_day": new.last_day},
        where=or_(last_day < new.last_day, and_(same_day, last_record != new.series)),
    )
    connection.execute(stmt, rows)


def prune(session: Session, *, before: date) -> int:
    """Keep only the closing snapshot of periods that ended before ``before``; the rows cut.

    Each such target keeps its last week's row, cut to its last record (the closing values: the
    final snapshot, or the last one taken in the period): two statements that touch only those
    targets. Targets of current plans, and targets already cut, are not touched.
    """
    ended = (
        select(col(TargetRow.id))
        .join(PlanRow, col(PlanRow.id) == col(TargetRow.plan_id))
        .where(col(PlanRow.period_end) < before)
    )
    table = HistoryRow.__table__  # type: ignore[attr-defined]
    later = table.alias("later")
    last_week = (
        select(func.max(later.c.week)).where(later.c.target_id == table.c.target_id)
    ).scalar_subquery()
    session.execute(delete(table).where(table.c.target_id.in_(ended), table.c.week < last_week))
    series = table.c.series
    result = session.execute(
        update(table)
        .where(table.c.target_id.in_(ended), func.length(series) > RECORD.size)
        .values(series=func.substr(series, func.length(series) - (RECORD.size - 1), RECORD.size))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def read(session: Session, target_ids: Iterable[int]) -> dict[int, list[Snapshot]]:
    """Each target's snapshots, oldest first (targets without any are left out)."""
    ids = sorted(set(target_ids))
    if not ids:
        return {}
    query = (
        select(col(HistoryRow.target_id), col(HistoryRow.series))
        .where(col(HistoryRow.target_id).in_(ids))
        .order_by(col(HistoryRow.target_id), col(HistoryRow.week))
    )
    packed: dict[int, list[bytes]] = {}
    for target_id, series in session.execute(query):
        packed.setdefault(target_id, []).append(bytes(series))
    return {target_id: unpack(b"".join(parts)) for target_id, parts in packed.items()}
