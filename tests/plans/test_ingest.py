"""Storing mapped records: exact change detection, partners, quarantine, deletions, in bulk."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, select
from sqlmodel import Session

from mappings.loader import load_mappings
from plans.ingest import resolve_partners, retry_quarantine, store_batch
from plans.store import ActivityRow, PartnerLinkRow, PartnerRow, QuarantineRow
from tests.mappings.conftest import SAMPLES, SHIPPED

NOW = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
P1 = "001000000000001AAA"


@pytest.fixture(scope="module")
def mappings():
    """The shipped mappings."""
    loaded, problems = load_mappings(SHIPPED)
    assert loaded is not None, problems
    return loaded


def _sample(name):
    return json.loads((SAMPLES / f"{name}.json").read_text())


def _opportunity(i: int, partner: str | None = P1, amount: float = 100.0, **extra):
    record = {
        "Id": f"006{i:015d}",
        "PartnerAccountId": partner,
        "StageName": "Prospecting",
        "IsClosed": False,
        "IsWon": False,
        "Amount": amount,
        "CurrencyIsoCode": "USD",
        "CloseDate": "2026-05-01",
        "SystemModstamp": "2026-04-02T11:20:31.000+0000",
        "IsDeleted": False,
    }
    record.update(extra)
    return record


def _store(session, mappings, stream, raws, now=NOW):
    compiled = mappings.stream(stream)
    return store_batch(session, compiled.source, stream, compiled.map_many(raws), now)


def _partner_id(session, key):
    return session.scalar(select(PartnerRow.id).where(PartnerRow.key == key))


def test_partners_link_both_crms_to_one_partner_by_key(engine, mappings):
    """The Salesforce Account and HubSpot company with the same key are one partner."""
    with Session(engine) as session:
        _store(session, mappings, "sf_partners", _sample("sf_partners"))
        _store(session, mappings, "hs_partners", _sample("hs_partners"))
        session.commit()
        partners = session.scalars(select(PartnerRow.key).order_by(PartnerRow.key)).all()
        links = session.execute(
            select(PartnerLinkRow.source, PartnerLinkRow.record_id, PartnerRow.key)
            .join(PartnerRow, PartnerRow.id == PartnerLinkRow.partner_id)
            .order_by(PartnerLinkRow.source, PartnerLinkRow.record_id)
        ).all()
    assert partners == ["P-00001", "salesforce:001000000000002AAA"]
    assert [tuple(r) for r in links] == [
        ("hubspot", "9001", "P-00001"),
        ("salesforce", P1, "P-00001"),
        ("salesforce", "001000000000002AAA", "salesforce:001000000000002AAA"),
    ]


def test_storing_the_same_batch_twice_writes_nothing_the_second_time(engine, mappings):
    """Unchanged records are counted unchanged and touch no partner or period."""
    raws = [_opportunity(i) for i in range(50)]
    with Session(engine) as session:
        _store(session, mappings, "sf_partners", _sample("sf_partners"))
        first = _store(session, mappings, "sf_opportunities", raws)
        second = _store(session, mappings, "sf_opportunities", raws)
        session.commit()
        pid = _partner_id(session, "P-00001")
    assert (first.stored, first.unchanged, first.touched) == (50, 0, {(pid, date(2026, 5, 1))})
    assert (second.stored, second.unchanged, second.touched) == (0, 50, set())


def test_a_changed_record_touches_its_old_and_new_partner_and_period(engine, mappings):
    """Moving a deal to another partner and quarter recomputes both sides, nothing else."""
    other = "001000000000002AAA"
    with Session(engine) as session:
        _store(session, mappings, "sf_partners", _sample("sf_partners"))
        _store(session, mappings, "sf_opportunities", [_opportunity(1), _opportunity(2)])
        moved = _opportunity(1, partner=other, CloseDate="2026-08-01")
        result = _store(session, mappings, "sf_opportunities", [moved, _opportunity(2)])
        session.commit()
        p1, p2 = _partner_id(session, "P-00001"), _partner_id(session, f"salesforce:{other}")
    assert (result.stored, result.unchanged) == (1, 1)
    assert result.touched == {(p1, date(2026, 5, 1)), (p2, date(2026, 8, 1))}


def test_records_without_a_known_partner_are_kept_and_linked_later(engine, mappings):
    """A deal seen before its partner is stored unlinked, counted, and linked when it arrives."""
    with Session(engine) as session:
        result = _store(
            session, mappings, "sf_opportunities", [_opportunity(1), _opportunity(2, partner=None)]
        )
        assert (result.stored, result.unlinked) == (2, 2)
        _store(session, mappings, "sf_partners", _sample("sf_partners"))
        linked = resolve_partners(session)
        session.commit()
        pid = _partner_id(session, "P-00001")
        rows = session.execute(
            select(ActivityRow.record_id, ActivityRow.partner_id)
            .where(ActivityRow.kind == "opportunity")
            .order_by(ActivityRow.record_id)
        ).all()
    assert linked == {pid}
    assert [tuple(r) for r in rows] == [
        ("006000000000000001", pid),
        ("006000000000000002", None),
    ]


def test_deleted_records_stay_with_the_deleted_flag(engine, mappings):
    """A CRM deletion keeps the row, flagged, counted, and recomputes its period."""
    with Session(engine) as session:
        _store(session, mappings, "sf_opportunities", [_opportunity(1)])
        gone = mappings.stream("sf_opportunities").map(_opportunity(1), deleted=True)
        result = store_batch(session, "salesforce", "sf_opportunities", [gone], NOW)
        session.commit()
        flags = session.scalars(select(ActivityRow.deleted)).all()
    assert (result.stored, result.deleted) == (1, 1)
    assert flags == [True]


def test_bad_records_are_quarantined_and_resolved_once_they_map(engine, mappings):
    """A failing record lands in quarantine with field and reason; a fixed one resolves it."""
    bad = _opportunity(1, Amount="12,5")
    with Session(engine) as session:
        first = _store(session, mappings, "sf_opportunities", [bad, _opportunity(2)])
        again = _store(session, mappings, "sf_opportunities", [bad])
        row = session.scalars(select(QuarantineRow)).one()
        assert (first.quarantined, first.stored, again.quarantined) == (1, 1, 1)
        assert (row.record_id, row.field, row.attempts, row.resolved_at) == (
            "006000000000000001",
            "amount",
            2,
            None,
        )
        assert row.reason.startswith("Amount: '12,5' is not a number")
        assert row.raw["Amount"] == "12,5"
        fixed = _store(session, mappings, "sf_opportunities", [_opportunity(1)], now=NOW)
        session.commit()
        session.refresh(row)
    assert fixed.resolved == 1
    assert row.resolved_at == NOW


def test_retry_remaps_quarantined_records_with_the_current_mapping(engine, mappings, tmp_path):
    """After the mapping is fixed, retry stores the quarantined records; nothing is lost."""
    strict = tmp_path / "strict"
    strict.mkdir()
    (strict / "sf.yaml").write_text(
        "source: salesforce\nstreams:\n  - name: sf_opportunities\n    object: Opportunity\n"
        "    kind: opportunity\n    fields:\n"
        "      status: {field: StageName, map: {Closed Won: won}}\n"
    )
    strict_set, _ = load_mappings(strict)
    with Session(engine) as session:
        _store(session, strict_set, "sf_opportunities", [_opportunity(1), _opportunity(2)])
        assert session.scalar(select(func.count()).select_from(QuarantineRow)) == 2
        result, missing = retry_quarantine(session, mappings, NOW)
        session.commit()
        stored = session.scalar(select(func.count()).select_from(ActivityRow))
        open_rows = session.scalar(
            select(func.count())
            .select_from(QuarantineRow)
            .where(QuarantineRow.resolved_at.is_(None))
        )
    assert (result.stored, result.resolved, missing) == (2, 2, [])
    assert (stored, open_rows) == (2, 0)


def test_a_2000_record_page_costs_a_handful_of_statements(sqlite_engine, mappings):
    """Bulk, never per record: a page of 2,000 new records with 10 bad ones is <= 16 statements.

    (The activities go in statements of up to 1,024 rows, in power-of-two sizes.)
    """
    raws = [_opportunity(i, amount="12,5" if i % 200 == 0 else 10.0) for i in range(2000)]
    statements = []
    event.listen(sqlite_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(sqlite_engine) as session:
        _store(session, mappings, "sf_partners", _sample("sf_partners"))
        statements.clear()
        result = _store(session, mappings, "sf_opportunities", raws)
        session.commit()
    assert (result.stored, result.quarantined) == (1990, 10)
    assert len(statements) <= 16, statements


def test_a_page_of_a_stream_with_nothing_in_quarantine_updates_no_quarantine_entry(
    sqlite_engine, mappings
):
    """Resolving quarantine looks records up by id only when the stream has open entries."""
    statements = []
    event.listen(sqlite_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(sqlite_engine) as session:
        _store(session, mappings, "sf_opportunities", [_opportunity(i) for i in range(20)])
        session.commit()
    assert [] == [s for s in statements if s.startswith("UPDATE quarantine")]


def test_postgres_statistics_follow_a_first_load_so_lookups_stay_index_probes(pg_engine, mappings):
    """A table loaded from empty is analyzed as it doubles; the id lookup probes the index.

    Without statistics PostgreSQL filtered a whole stream's rows for every page's id lookup
    (quadratic over a first sync); the plan must name record_id in the index condition.
    """
    from plans.db import ANALYZE_FLOOR, refresh_statistics

    analyzed = []
    for start in range(0, 3 * ANALYZE_FLOOR, 2_000):
        with Session(pg_engine) as session:
            _store(
                session,
                mappings,
                "sf_opportunities",
                [_opportunity(start + i) for i in range(2_000)],
            )
            session.commit()
        with pg_engine.connect() as connection:  # what the sync asks after every stored page
            connection.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        analyzed.append(refresh_statistics(pg_engine, "activity"))
    assert 1 <= sum(analyzed) <= 2  # after 10,000 rows, then once the table has doubled
    assert not refresh_statistics(pg_engine, "activity")  # unchanged since: not again
    with pg_engine.connect() as connection:
        plan = "\n".join(
            row[0]
            for row in connection.exec_driver_sql(
                "EXPLAIN SELECT content_hash FROM activity WHERE source = 'salesforce'"
                " AND stream = 'sf_opportunities' AND record_id = ANY(%(ids)s)",
                {"ids": [f"006{i:015d}" for i in range(0, 40, 2)]},
            )
        )
    assert "Index Cond" in plan and "record_id" in plan.split("Index Cond", 1)[1].split("\n")[0]


def test_linking_waiting_activities_reads_only_the_unlinked_ones(sqlite_engine):
    """resolve_partners runs after every partner page: it must not scan every activity."""
    captured = []

    @event.listens_for(sqlite_engine, "before_cursor_execute")
    def keep(conn, cursor, statement, parameters, context, executemany):
        if "partner_link" in statement and "DISTINCT" in statement:
            captured.append((statement, parameters))

    with Session(sqlite_engine) as session:
        resolve_partners(session)
    assert captured, "resolve_partners issued no lookup"
    statement, parameters = captured[0]
    with sqlite_engine.connect() as connection:
        plan = [
            row[3]
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    assert any("activity USING INDEX ix_activity_unlinked" in step for step in plan), plan
