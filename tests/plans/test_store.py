"""The store: bulk upserts are idempotent, money is exact, timestamps stay aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select
from sqlmodel import Session

from plans.db import upsert
from plans.store import ActivityRow


def _activities(n: int, *, amount: str = "1234.56") -> list[dict[str, object]]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "source": "salesforce",
            "stream": "opportunities",
            "object": "Opportunity",
            "record_id": f"006{i:015d}",
            "kind": "opportunity",
            "partner_ref": f"001{i % 50:015d}",
            "status": "won" if i % 3 else "open",
            "amount": Decimal(amount),
            "currency": "USD",
            "occurred_on": date(2026, 1, 1) + timedelta(days=i % 90),
            "created_at": base + timedelta(minutes=i),
            "closed_at": None,
            "attributes": {"product_line": "Platform"},
            "source_modified_at": base + timedelta(seconds=i),
            "deleted": False,
            "content_hash": f"h{i}",
            "stored_at": base,
        }
        for i in range(n)
    ]


def _count(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ActivityRow)) or 0


def test_upserting_the_same_10000_activities_twice_leaves_10000_rows(engine):
    """Re-storing a page (at-least-once delivery) never duplicates activities."""
    rows = _activities(10_000)
    for _ in range(2):
        with Session(engine) as session:
            upsert(session, ActivityRow, rows, keys=["source", "stream", "record_id"])
            session.commit()
    assert _count(engine) == 10_000


def test_upsert_updates_changed_rows_in_place(engine):
    """A record changed in the CRM replaces its activity; the row count does not grow."""
    with Session(engine) as session:
        upsert(session, ActivityRow, _activities(10), keys=["source", "stream", "record_id"])
        changed = _activities(10, amount="99.99")
        for row in changed:
            row["content_hash"] = "changed"
        upsert(
            session,
            ActivityRow,
            changed,
            keys=["source", "stream", "record_id"],
            where_changed="content_hash",
        )
        session.commit()
        amounts = set(session.scalars(select(ActivityRow.amount)))
    assert amounts == {Decimal("99.9900")}
    assert _count(engine) == 10


def test_sum_of_amounts_is_exact_decimal(engine):
    """SUM over money in SQL is exact on both databases (no float drift on SQLite)."""
    rows = _activities(1000, amount="0.10")
    with Session(engine) as session:
        upsert(session, ActivityRow, rows, keys=["source", "stream", "record_id"])
        session.commit()
        total = session.scalar(select(func.sum(ActivityRow.amount)))
    assert total == Decimal("100.0000")
    assert isinstance(total, Decimal)


def test_timestamps_come_back_aware_utc(engine):
    """A timestamp stored from any timezone is read back as the same instant in aware UTC."""
    row = _activities(1)[0]
    row["created_at"] = datetime(2026, 3, 1, 9, 30, tzinfo=UTC) + timedelta(hours=0)
    with Session(engine) as session:
        upsert(session, ActivityRow, [row], keys=["source", "stream", "record_id"])
        session.commit()
        stored = session.scalar(select(ActivityRow.created_at))
    assert stored == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(sqlite_engine):
    """Storing a naive datetime is a bug caught at the boundary, not a silent local time."""
    row = _activities(1)[0]
    row["created_at"] = datetime(2026, 3, 1, 9, 30)
    with Session(sqlite_engine) as session, pytest.raises(Exception, match="naive datetime"):
        upsert(session, ActivityRow, [row], keys=["source", "stream", "record_id"])


def _raw_rows(engine, stream: str) -> list[tuple[object, ...]]:
    """The stored values as the driver returns them, without SQLAlchemy's result processing."""
    columns = (
        "record_id, partner_ref, amount, currency, occurred_on, created_at, closed_at,"
        " attributes, source_modified_at, deleted, content_hash, stored_at"
    )
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.exec_driver_sql(
                f"SELECT {columns} FROM activity WHERE stream = '{stream}' ORDER BY record_id"  # noqa: S608 - test constant
            )
        ]


def test_upsert_stores_exactly_what_sqlalchemy_itself_stores(engine):
    """The bulk upsert binds values as SQLAlchemy's own insert does: same text, numbers, JSON."""
    rows = _activities(20, amount="1234.56789")
    offset = timezone(timedelta(hours=5, minutes=30))
    for i, row in enumerate(rows):
        row["created_at"] = datetime(2026, 4, 2, 23, 30, i, 123456, tzinfo=offset)
        row["closed_at"] = None if i % 2 else datetime(2026, 4, 3, tzinfo=UTC)
        row["attributes"] = {"city": "Zürich", "tags": ["a", i], "none": None}
        row["partner_ref"] = None if i % 3 == 0 else row["partner_ref"]
    with Session(engine) as session:
        session.connection().execute(
            insert(ActivityRow.__table__), [{**row, "stream": "core"} for row in rows]
        )
        upsert(session, ActivityRow, rows, keys=["source", "stream", "record_id"])
        session.commit()
    assert _raw_rows(engine, "core") == _raw_rows(engine, "opportunities")


def test_a_column_the_rows_leave_out_takes_its_default(engine):
    """Rows without ``deleted`` store the column's default (False), as an ORM insert would."""
    rows = _activities(3)
    for row in rows:
        del row["deleted"]
    with Session(engine) as session:
        upsert(session, ActivityRow, rows, keys=["source", "stream", "record_id"])
        session.commit()
        flags = session.scalars(select(ActivityRow.deleted)).all()
    assert [False, False, False] == flags


def test_rows_repeating_a_key_store_the_last_of_them(engine):
    """A batch naming a record twice stores its last version, as storing them in turn would."""
    rows = _activities(3)
    again = {**rows[1], "status": "lost", "content_hash": "changed"}
    with Session(engine) as session:
        upsert(
            session,
            ActivityRow,
            [*rows, again],
            keys=["source", "stream", "record_id"],
            where_changed="content_hash",
        )
        session.commit()
        stored = session.execute(
            select(ActivityRow.status, ActivityRow.content_hash).order_by(ActivityRow.record_id)
        ).all()
    assert [("open", "h0"), ("lost", "changed"), ("won", "h2")] == [tuple(r) for r in stored]


def test_batches_of_any_size_store_every_row_once(engine):
    """Sizes that are not powers of two (split into several statements) lose and repeat nothing."""
    with Session(engine) as session:
        for size in (1, 3, 1023, 1025, 2500):
            rows = _activities(size)
            for row in rows:
                row["stream"] = f"s{size}"
            upsert(session, ActivityRow, rows, keys=["source", "stream", "record_id"])
        session.commit()
        counts = dict(
            session.execute(
                select(
                    ActivityRow.stream, func.count(func.distinct(ActivityRow.record_id))
                ).group_by(ActivityRow.stream)
            ).all()
        )
    assert {"s1": 1, "s3": 3, "s1023": 1023, "s1025": 1025, "s2500": 2500} == counts
    assert sum(counts.values()) == _count(engine)
