"""Progress history: one compact snapshot per target per day it changed, the closing values of a
period, pruning by age, and the migration that seeds history from the progress already stored."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, select, text
from sqlmodel import Session

from plans import history, migrate
from plans.db import make_engine
from plans.store import HistoryRow, TargetRow
from tests.conftest import PG_ADMIN_URL
from tests.plans.factories import activity, add_activities, add_partners, compute, plan, store_plans
from tests.plans.factories import utc as at

TARGETS = [{"metric": "won_revenue", "value": 1000, "currency": "USD"}]


def _won(partner: int, day: date, amount: str) -> dict[str, object]:
    return activity(partner, "opportunity", status="won", amount=amount, occurred_on=day)


def _setup(session: Session, period: str = "2026-Q2") -> int:
    """One partner with a won-revenue plan; returns the partner id."""
    ids = add_partners(session, "P-1")
    store_plans(session, [plan("p", "P-1", period, TARGETS)])
    return ids["P-1"]


def _snapshots(session: Session) -> list[history.Snapshot]:
    target_id = session.scalars(select(TargetRow.id)).one()
    return history.read(session, [target_id])[target_id]


def _count(session: Session) -> int:
    """Snapshots stored, all targets together."""
    series = session.scalars(select(HistoryRow.series))
    return sum(len(s) // history.RECORD.size for s in series)


def test_three_computes_on_three_days_make_a_three_point_trend(engine):
    """Each compute that changes the actual on a new day adds that day's snapshot."""
    with Session(engine) as session:
        partner = _setup(session)
        for day, amount in ((date(2026, 4, 10), "300"), (date(2026, 4, 20), "200")):
            add_activities(session, [_won(partner, day, amount)])
            compute(session, at(day.year, day.month, day.day))
        add_activities(session, [_won(partner, date(2026, 4, 30), "100")])
        compute(session, at(2026, 4, 30))
        trend = [(s.day, s.actual, s.status) for s in _snapshots(session)]
    assert [
        (date(2026, 4, 10), Decimal("300.0000"), "on_track"),
        (date(2026, 4, 20), Decimal("500.0000"), "on_track"),
        (date(2026, 4, 30), Decimal("600.0000"), "on_track"),
    ] == trend


def test_no_snapshot_is_written_when_nothing_a_person_reads_changed(engine):
    """Same day again, or a new day where only the expected-to-date moved: no new snapshot."""
    with Session(engine) as session:
        partner = _setup(session)
        add_activities(session, [_won(partner, date(2026, 4, 10), "600")])
        compute(session, at(2026, 4, 10))
        again = compute(session, at(2026, 4, 10, 18))
        next_day = compute(session, at(2026, 4, 11))
        snapshots = _snapshots(session)
    assert (set(), 1) == (again.changed_target_ids, len(next_day.changed_target_ids))
    assert [date(2026, 4, 10)] == [s.day for s in snapshots]


def test_a_weeks_snapshots_share_one_row(engine):
    """Monday to Wednesday pack into one row; the next Monday starts another."""
    with Session(engine) as session:
        partner = _setup(session)
        for day in (date(2026, 4, 6), date(2026, 4, 7), date(2026, 4, 8), date(2026, 4, 13)):
            add_activities(session, [_won(partner, day, "10")])
            compute(session, at(day.year, day.month, day.day))
        rows = [
            (week, len(series) // history.RECORD.size)
            for week, series in session.execute(
                select(HistoryRow.week, HistoryRow.series).order_by(HistoryRow.week)
            )
        ]
    assert [(date(2026, 4, 6), 3), (date(2026, 4, 13), 1)] == rows


def test_a_second_change_on_the_same_day_overwrites_that_days_snapshot(engine):
    """At most one row per target per day: the day's last values win."""
    with Session(engine) as session:
        partner = _setup(session)
        add_activities(session, [_won(partner, date(2026, 4, 10), "300")])
        compute(session, at(2026, 4, 10, 9))
        add_activities(session, [_won(partner, date(2026, 4, 10), "50")])
        compute(session, at(2026, 4, 10, 17))
        snapshots = _snapshots(session)
    assert [(date(2026, 4, 10), Decimal("350.0000"))] == [(s.day, s.actual) for s in snapshots]


def test_the_first_compute_after_the_close_keeps_the_closing_values(engine):
    """After the period ends, one final row dated the period's end; the plan is then frozen, so
    late data changes neither its progress nor its closing values."""
    with Session(engine) as session:
        partner = _setup(session)
        add_activities(session, [_won(partner, date(2026, 6, 29), "1200")])
        compute(session, at(2026, 6, 30))
        compute(session, at(2026, 7, 2))
        compute(session, at(2026, 7, 3))
        closing = _snapshots(session)
        add_activities(session, [_won(partner, date(2026, 6, 30), "100")])
        compute(session, at(2026, 7, 5))
        late = _snapshots(session)
    assert [(date(2026, 6, 30), False), (date(2026, 7, 1), True)] == [
        (s.day, s.final) for s in closing
    ]
    assert closing[0].actual == closing[1].actual == Decimal("1200.0000")
    assert late == closing


def test_all_snapshots_of_a_compute_are_one_statement(engine):
    """Fifty plans changing at once write their snapshots in one statement; unchanged, none."""
    seen: list[str] = []

    def listener(*args):
        seen.append(args[2])  # the statement's text

    with Session(engine) as session:
        keys = [f"P-{i}" for i in range(50)]
        ids = add_partners(session, *keys)
        add_activities(session, [_won(ids[k], date(2026, 4, 2), "10") for k in keys])
        store_plans(session, [plan(f"{k}-Q2", k, "2026-Q2", TARGETS) for k in keys])
        event.listen(engine, "before_cursor_execute", listener)
        try:
            compute(session, at(2026, 4, 3))
            first = [s for s in seen if "progress_history" in s]
            seen.clear()
            compute(session, at(2026, 4, 3, 13))
            unchanged = [s for s in seen if "progress_history" in s]
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        snapshots = _count(session)
    assert (50, 1, 0) == (snapshots, len(first), len(unchanged))


def test_pruning_keeps_only_the_closing_values_of_periods_past_the_retention(engine):
    """A period that ended more than the retention ago keeps its closing snapshot alone."""
    with Session(engine) as session:
        partner = _setup(session, "2025-Q2")
        for day in (date(2025, 4, 10), date(2025, 5, 10), date(2025, 6, 10)):
            add_activities(session, [_won(partner, day, "100")])
            compute(session, at(day.year, day.month, day.day))
        compute(session, at(2025, 7, 2))
        compute(session, at(2026, 8, 4), history_retention_days=400)  # ended 399 days before
        kept = [s.day for s in _snapshots(session)]
        compute(session, at(2026, 8, 6), history_retention_days=400)
        pruned = [(s.day, s.actual, s.final) for s in _snapshots(session)]
    assert [date(2025, 4, 10), date(2025, 5, 10), date(2025, 6, 10), date(2025, 7, 1)] == kept
    assert [(date(2025, 7, 1), Decimal("300.0000"), True)] == pruned


def test_a_recompute_as_of_an_earlier_day_does_not_rewrite_history(engine):
    """Snapshots stay in day order: a record older than the series' last day is not written."""
    with Session(engine) as session:
        partner = _setup(session)
        add_activities(session, [_won(partner, date(2026, 4, 2), "300")])
        compute(session, at(2026, 4, 10))
        add_activities(session, [_won(partner, date(2026, 4, 3), "50")])
        compute(session, at(2026, 4, 5))
        days = [(s.day, s.actual) for s in _snapshots(session)]
    assert [(date(2026, 4, 10), Decimal("300.0000"))] == days


def test_a_record_round_trips_with_no_actual_and_the_closing_flag():
    """What is packed reads back: n/a actual, every status, the final flag."""
    snapshots = [
        history.Snapshot(date(2026, 7, 1), None, Decimal("12.5"), "no_data", True),
        history.Snapshot(date(2026, 4, 2), Decimal("-3.0001"), Decimal("400000"), "off_track"),
    ]
    packed = b"".join(history.pack(s) for s in snapshots)
    assert (38, sorted(snapshots, key=lambda s: s.day)) == (len(packed), history.unpack(packed))


def test_a_removed_target_takes_its_history_with_it(engine):
    """Deleting a target (removed from config) deletes its snapshots: no orphan rows."""
    with Session(engine) as session:
        partner = _setup(session)
        add_activities(session, [_won(partner, date(2026, 4, 10), "300")])
        compute(session, at(2026, 4, 10))
        before = _count(session)
        store_plans(session, [plan("p", "P-1", "2026-Q2", [{"metric": "won_deals", "value": 3}])])
        session.flush()
        after = _count(session)
    assert (1, 0) == (before, after)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_store(request, tmp_path):
    """An engine on an empty database, SQLite or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        engine = make_engine(PG_ADMIN_URL, schema=request.getfixturevalue("pg_schema"))
    yield engine
    engine.dispose()


def test_the_migration_seeds_history_from_stored_progress(empty_store):
    """Upgrading a store with progress gives each target a first snapshot at its data's date."""
    engine = empty_store
    # what each database stores for 2026-05-04 10:00 UTC (SQLite: UTC text without a zone)
    stamp = "2026-05-04 10:00:00.000000" if engine.dialect.name == "sqlite" else "2026-05-04 10:00Z"
    migrate.upgrade(engine, "b41f0c7d2e9a")  # the revision before the history
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plan (id, key, partner_key, period, period_start, period_end, status,"
                " definition, definition_hash) VALUES (1, 'p', 'P-1', '2026-Q2', '2026-04-01',"
                " '2026-07-01', 'active', '{}', 'h')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO target (id, plan_id, key, metric, value, weight, filters, phasing)"
                " VALUES (7, 1, 'won_revenue', 'won_revenue', 10000000, 10000, '{}', '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO progress (target_id, plan_id, actual, target, status,"
                " activity_count, metric_version, data_as_of, fingerprint) VALUES (7, 1, 5000000,"
                " 10000000, 'on_track', 3, 'v', :stamp, 'f')"
            ),
            {"stamp": stamp},
        )
    migrate.upgrade(engine)
    with Session(engine) as session:
        seeded = history.read(session, [7])[7]
    assert [
        history.Snapshot(date(2026, 5, 4), Decimal("500.0000"), Decimal("1000.0000"), "on_track")
    ] == seeded
