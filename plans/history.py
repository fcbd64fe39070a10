"""Progress history: a compact snapshot of a target's progress on each day that it changed.

The progress table holds only the latest values, overwritten by every compute; a quarterly
review needs to see how a target moved through the period and what changed since last week.
So the engine keeps, next to each progress upsert, a snapshot in ``progress_snapshot``:

* **only what cannot be recomputed**: actual, target, status and activity count. The
  expected-to-date, forecast, attainment and gap of a day follow from those values and the
  target's definition (:mod:`plans.pacing`), so they are derived when read, not stored;
* **only when one of them changed**: the expected-to-date moves every day, and with it the
  progress row, but a day on which no number a person reads changed writes nothing;
* **at most one row per target per day**: a later compute on the same day overwrites that day's
  row, keyed by (target, day);
* **the closing values**: from the period's end on, the row is dated the period's end and marked
  ``final``. The first compute after the close writes it even when nothing changed, and late data
  (an opportunity closed on the last day, synced a day later) updates it in place;
* **pruned by age**: :func:`prune` drops daily rows older than the retention
  (``history_retention_days`` in settings.yaml); final rows are kept with their plan.

All of a compute's snapshots go to the database in one statement (one executemany), like the
progress rows; an unchanged final row is skipped by the database, not written again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from plans.pacing import Progress
from plans.periods import Period
from plans.store import PlanRow, SnapshotRow, TargetRow

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_VALUES = ("actual", "target", "status", "activity_count", "final")

Values = tuple[Decimal | None, Decimal, str, int]
"""What a snapshot records of a progress row: (actual, target, status, activity count)."""


@dataclass(frozen=True)
class Snapshot:
    """A target's recorded values on one day (``final``: the period's closing values)."""

    day: date
    actual: Decimal | None
    target: Decimal
    status: str
    activity_count: int
    final: bool = False


def values_of(result: Progress) -> Values:
    """The values of ``result`` that a snapshot records."""
    return (result.actual, result.target, result.status, result.activity_count)


def snapshot_row(
    target_id: int,
    period: Period,
    as_of: datetime,
    result: Progress,
    previous: Values | None,
) -> dict[str, Any] | None:
    """The snapshot to write for one computed target, or None when there is nothing to keep.

    Args:
        target_id: the target.
        period: its plan's period.
        as_of: the moment the compute ran for.
        result: the progress just computed.
        previous: the values of the progress row before this compute (None: never computed).
    """
    today = as_of.date()
    final = today >= period.end
    values = values_of(result)
    if not final and values == previous:
        return None
    day = period.end if final else max(today, period.start)
    actual, target, status, count = values
    return {
        "target_id": target_id,
        "day": day,
        "actual": actual,
        "target": target,
        "status": status,
        "activity_count": count,
        "final": final,
    }


def write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Upsert ``rows`` by (target, day) in one statement; identical rows are left untouched."""
    if not rows:
        return
    table = SnapshotRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    stmt = _INSERTS[connection.dialect.name](table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["target_id", "day"],
        set_={name: stmt.excluded[name] for name in _VALUES},
        where=or_(*(table.c[name].is_distinct_from(stmt.excluded[name]) for name in _VALUES)),
    )
    connection.execute(stmt, rows)


def prune(session: Session, *, before: date) -> int:
    """Delete the daily snapshots dated before ``before``; final ones stay. Returns the count.

    A snapshot is never dated before its plan's period starts, so only the targets of plans that
    started before ``before`` are looked at: each is one range of the (target, day) key, and the
    current quarter's plans cost nothing however long their history.
    """
    old_targets = (
        select(col(TargetRow.id))
        .join(PlanRow, col(PlanRow.id) == col(TargetRow.plan_id))
        .where(col(PlanRow.period_start) < before)
    )
    result = session.execute(
        delete(SnapshotRow).where(
            col(SnapshotRow.target_id).in_(old_targets),
            col(SnapshotRow.day) < before,
            col(SnapshotRow.final) == False,  # noqa: E712 (SQL comparison)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def read(session: Session, target_ids: Iterable[int]) -> dict[int, list[Snapshot]]:
    """Each target's snapshots, oldest first (targets without any are left out)."""
    ids = sorted(set(target_ids))
    out: dict[int, list[Snapshot]] = defaultdict(list)
    if not ids:
        return out
    query = (
        select(SnapshotRow)
        .where(col(SnapshotRow.target_id).in_(ids))
        .order_by(col(SnapshotRow.target_id), col(SnapshotRow.day))
    )
    for row in session.scalars(query):
        out[row.target_id].append(
            Snapshot(
                day=row.day,
                actual=row.actual,
                target=row.target,
                status=row.status,
                activity_count=row.activity_count,
                final=row.final,
            )
        )
    return out
