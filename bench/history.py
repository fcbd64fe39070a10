"""What the progress history costs at scale: snapshots, bytes and their share of the activity
table.

Called by :mod:`bench.compute` on its store once the computes are measured: the compute itself
wrote the first day's snapshots (and none when nothing changed); this fills the rest of the
plans' quarter with the worst case, **every target changing every day**, one statement a day
through :func:`plans.history.write` as the engine does, then measures the history table and the
activity table (with their indexes) as the database stores them: SQLite's ``dbstat`` pages,
PostgreSQL's ``pg_total_relation_size``. An append rewrites the target's row; on PostgreSQL the
old version is dead until a VACUUM, which autovacuum runs between one day's computes and the
next, so the fill runs one between days (this machine's server has autovacuum off). It also
times a day's write, a prune that finds nothing to cut (what every compute of the pipeline pays)
and one that cuts the whole quarter to its closing values.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from plans import history
from plans.store import HistoryRow, PlanRow, TargetRow

_SQLITE_BYTES = text(
    "SELECT coalesce(sum(d.pgsize), 0) FROM dbstat d JOIN sqlite_master m ON m.name = d.name"
    " WHERE m.tbl_name = :table"
)
_PG_BYTES = text("SELECT pg_total_relation_size(to_regclass(:table))")
_DAY = timedelta(days=1)


def table_bytes(engine: Engine, table: str) -> int:
    """Bytes a table takes with its indexes (SQLite pages, PostgreSQL relation size)."""
    query = _SQLITE_BYTES if engine.dialect.name == "sqlite" else _PG_BYTES
    with engine.connect() as connection:
        return int(connection.execute(query, {"table": table}).scalar() or 0)


def _count(session: Session) -> int:
    total = session.scalar(select(func.sum(func.length(HistoryRow.series))))
    return int(total or 0) // history.RECORD.size


def _vacuum(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM progress_history"))
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def figures(engine: Engine, *, after_first: int, after_unchanged: int) -> dict[str, Any]:
    """Fill the quarter's other days (worst case) and measure.

    ``after_first`` and ``after_unchanged``: snapshots stored after the first compute and after
    the one that changed nothing.
    """
    with Session(engine) as session:
        period_start, period_end = session.execute(
            select(PlanRow.period_start, PlanRow.period_end).limit(1)  # type: ignore[call-overload]
        ).one()
        targets = [
            (tid, value)
            for tid, value in session.execute(select(TargetRow.id, TargetRow.value))  # type: ignore[call-overload]
        ]
    days = [period_start + timedelta(days=i) for i in range((period_end - period_start).days)]
    with Session(engine) as session:  # refill the quarter in day order, the compute's day included
        session.execute(delete(HistoryRow))
        session.commit()
    writes = []
    for index, day in enumerate(days, start=1):
        status = "on_track" if index % 3 else "at_risk"
        rows = [
            {
                "target_id": tid,
                "week": history.week_of(day),
                "last_day": day,
                "series": history.pack(
                    history.Snapshot(day, value * index / len(days), value, status)
                ),
            }
            for tid, value in targets
        ]
        with Session(engine) as session:
            started = time.perf_counter()
            history.write(session, rows)
            session.commit()
            writes.append(time.perf_counter() - started)
        _vacuum(engine)
    with Session(engine) as session:
        rows_total = _count(session)
    snapshot_bytes = table_bytes(engine, "progress_history")
    activity_bytes = table_bytes(engine, "activity")
    prunes = {}
    for label, before in (("nothing_ended", period_end), ("the_quarter", period_end + _DAY)):
        with Session(engine) as session:
            started = time.perf_counter()
            cut = history.prune(session, before=before)
            session.commit()
            prunes[label] = {"seconds": round(time.perf_counter() - started, 3), "targets_cut": cut}
    writes.sort()
    return {
        "targets": len(targets),
        "days": len(days),
        "snapshots_after_first_compute": after_first,
        "snapshots_written_by_unchanged_compute": after_unchanged - after_first,
        "snapshots_worst_case": rows_total,
        "history_table_bytes": snapshot_bytes,
        "bytes_per_snapshot": round(snapshot_bytes / max(rows_total, 1), 1),
        "activity_table_bytes": activity_bytes,
        "share_of_activity_table": round(snapshot_bytes / max(activity_bytes, 1), 3),
        "day_write_seconds_median": round(writes[len(writes) // 2], 3) if writes else None,
        "prune": prunes,
        "note": "worst case: every target changes every day of the quarter",
    }


def count(engine: Engine) -> int:
    """Snapshots in the store."""
    with Session(engine) as session:
        return _count(session)
