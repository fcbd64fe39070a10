"""Diff-only push: what is sent, what is recorded, and what is never claimed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from connectors.crms import REGISTRY
from plans.store import PushStateRow
from tests.writeback.helpers import T0, FakeConnector, seed, set_actual
from worker import jobs
from writeback import payloads, push
from writeback.config import WritebackFile, load_writeback
from writeback.scope import SCOPE_KEY

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "writeback.yaml"
KINDS = {"salesforce": "salesforce", "hubspot": "hubspot"}


def shipped(only: str | None = None) -> WritebackFile:
    model, problems = load_writeback(SHIPPED, dict.fromkeys(KINDS))
    assert problems == [] and model is not None
    if only is not None:
        model = WritebackFile(destinations={only: model.destinations[only]})
    return model


def run_push(session, writeback, connectors, now=T0):
    plans = push.plan(session, writeback, KINDS, {"partner_sourced_revenue": "Sourced"}, now)
    summary = push.push(session, plans, connectors.__getitem__, now)
    session.flush()
    return summary


@pytest.fixture
def connectors():
    return {
        "salesforce": FakeConnector("salesforce", 200),
        "hubspot": FakeConnector("hubspot", 100),
    }


def states(session, destination):
    """The push states of CRM records (the push scope's digest rows left out)."""
    query = select(PushStateRow).where(
        PushStateRow.destination == destination,
        ~PushStateRow.record_key.startswith(SCOPE_KEY),
    )
    return {s.record_key: s for s in session.scalars(query)}


def test_first_push_sends_every_record_and_the_second_sends_nothing(engine, connectors):
    """Every target lands once per CRM; a push with nothing changed makes 0 write calls."""
    with Session(engine) as session:
        seed(session, partners=2, targets=3)
        first = run_push(session, shipped(), connectors)
        sf, hs = connectors["salesforce"], connectors["hubspot"]
        assert (first.outcome, sf.write_calls, hs.write_calls) == (jobs.SUCCEEDED, 2, 2)
        assert len(sf.upserts[0][2]) == 6 and len(sf.updates[0][1]) == 2
        second = run_push(session, shipped(), connectors)
        assert (second.outcome, sf.write_calls, hs.write_calls) == (jobs.SUCCEEDED, 2, 2)
        assert second.details["salesforce"]["sent"] == 0


def test_progress_record_carries_the_mapped_values(sqlite_engine, connectors):
    """The Salesforce record has the key, the Account lookup, percent scaling and freshness."""
    with Session(sqlite_engine) as session:
        seeded = seed(session, partners=1, targets=1)
        run_push(session, shipped("salesforce"), connectors)
    record = connectors["salesforce"].upserts[0][2][0]
    expected = {
        "External_Id__c": "P-00001-2026:t0000",
        "Partner_Account__c": seeded.sf_accounts["P-00001"],
        "Plan_Key__c": "P-00001-2026",
        "Metric__c": "partner_sourced_revenue",
        "Metric_Label__c": "Sourced",
        "Period__c": "FY2026",
        "Target__c": Decimal(1000),
        "Actual__c": Decimal("625.50"),
        "Attainment__c": Decimal("62.55"),
        "Expected_To_Date__c": Decimal("330.00"),
        "Forecast__c": Decimal("1876.50"),
        "Gap__c": Decimal("-374.50"),
        "Status__c": "on_track",
        "Computed_At__c": T0,
        "Data_As_Of__c": T0 - timedelta(hours=1),
        "Metric_Version__c": "v1",
    }
    assert expected == record


def test_rollup_updates_the_partner_account(sqlite_engine, connectors):
    """The Account gets the plan score in percent, the worst target status and computed-at."""
    with Session(sqlite_engine) as session:
        seeded = seed(session, partners=1, targets=2)
        run_push(session, shipped("salesforce"), connectors)
    ((object_, records),) = connectors["salesforce"].updates
    expected = {
        "id": seeded.sf_accounts["P-00001"],
        "Plan_Score__c": Decimal("62.50"),
        "Plan_Status__c": "on_track",
        "Plan_Computed_At__c": T0,
    }
    assert ("Account", [expected]) == (object_, records)


def test_changing_one_target_pushes_only_that_target_and_its_rollup(engine, connectors):
    """Diff-only: one changed actual sends one progress record per CRM (no roll-up change)."""
    with Session(engine) as session:
        seeded = seed(session, partners=2, targets=3)
        run_push(session, shipped(), connectors)
        set_actual(session, seeded.target_ids[4], Decimal("700.00"))
        summary = run_push(session, shipped(), connectors)
    sf = connectors["salesforce"]
    assert [r["External_Id__c"] for r in sf.upserts[1][2]] == ["P-00002-2026:t0001"]
    assert summary.details["salesforce"]["sent"] == 1
    assert len(sf.updates) == 1


def test_a_recompute_that_only_moves_timestamps_pushes_nothing(sqlite_engine, connectors):
    """computed_at and data_as_of ride along with a change but never cause a push alone."""
    from plans.store import ProgressRow

    with Session(sqlite_engine) as session:
        seed(session, partners=1, targets=2)
        run_push(session, shipped(), connectors)
        for row in session.scalars(select(ProgressRow)):
            row.computed_at = T0 + timedelta(hours=1)
            row.data_as_of = T0 + timedelta(minutes=50)
        session.flush()
        summary = run_push(session, shipped(), connectors)
    assert summary.details["salesforce"]["sent"] == 0
    assert connectors["salesforce"].write_calls == 2


def test_unknown_values_never_clear_a_crm_value(sqlite_engine, connectors):
    """A None actual is left out of the record (the CRM keeps its value) unless write_nulls."""
    with Session(sqlite_engine) as session:
        seeded = seed(session, partners=1, targets=1)
        set_actual(session, seeded.target_ids[0], None)
        run_push(session, shipped("salesforce"), connectors)
    assert "Actual__c" not in connectors["salesforce"].upserts[0][2][0]


def test_write_nulls_sends_none_for_listed_fields(sqlite_engine, connectors, tmp_path):
    """A field listed in write_nulls is sent as null, clearing the CRM value."""
    text = SHIPPED.read_text().replace("write_nulls: []", "write_nulls: [actual]", 1)
    path = tmp_path / "writeback.yaml"
    path.write_text(text)
    model, problems = load_writeback(path, dict.fromkeys(KINDS))
    assert problems == []
    with Session(sqlite_engine) as session:
        seeded = seed(session, partners=1, targets=1)
        set_actual(session, seeded.target_ids[0], None)
        run_push(session, model, connectors)
    record = connectors["salesforce"].upserts[0][2][0]
    assert ("Actual__c" in record, record.get("Actual__c")) == (True, None)


def test_fields_owned_by_the_crm_are_never_written(sqlite_engine, connectors, tmp_path):
    """owned_by_crm removes a field from every record, even though the map names it."""
    text = SHIPPED.read_text().replace("owned_by_crm: []", "owned_by_crm: [Status__c]", 1)
    path = tmp_path / "writeback.yaml"
    path.write_text(text)
    model, _ = load_writeback(path, dict.fromkeys(KINDS))
    with Session(sqlite_engine) as session:
        seed(session, partners=1, targets=2)
        run_push(session, model, connectors)
    assert all("Status__c" not in r for r in connectors["salesforce"].upserts[0][2])


def test_rejected_records_are_recorded_and_the_rest_land(engine, connectors):
    """A rejected record keeps the CRM's message, an attempt and a backoff; the others land."""
    with Session(engine) as session:
        seed(session, partners=2, targets=3)
        sf = connectors["salesforce"]
        sf.fail_keys = {"P-00001-2026:t0001"}
        summary = run_push(session, shipped("salesforce"), connectors)
        rows = states(session, "salesforce")
    failed = rows["P-00001-2026:t0001"]
    assert summary.outcome == jobs.INCOMPLETE
    assert (summary.details["salesforce"]["landed"], summary.details["salesforce"]["failed"]) == (
        7,
        1,
    )
    assert failed.last_error == "FIELD_CUSTOM_VALIDATION_EXCEPTION: locked row"
    assert (failed.attempts, failed.fingerprint, failed.next_attempt_at) == (
        1,
        None,
        T0 + push.BACKOFF,
    )
    assert rows["P-00001-2026:t0000"].fingerprint is not None
    assert "rejected" in (summary.error or "")


def test_a_rejected_record_waits_its_backoff_then_lands_once_fixed(sqlite_engine, connectors):
    """Before next_attempt_at it is not resent; after, with the fault cleared, it lands."""
    key = "P-00001-2026:t0001"
    with Session(sqlite_engine) as session:
        seed(session, partners=1, targets=3)
        sf = connectors["salesforce"]
        sf.fail_keys = {key}
        run_push(session, shipped("salesforce"), connectors)
        early = run_push(session, shipped("salesforce"), connectors, now=T0 + timedelta(seconds=30))
        assert (early.details["salesforce"]["sent"], early.details["salesforce"]["waiting"]) == (
            0,
            1,
        )
        sf.fail_keys = set()
        later = run_push(session, shipped("salesforce"), connectors, now=T0 + timedelta(minutes=2))
        row = states(session, "salesforce")[key]
    assert later.outcome == jobs.SUCCEEDED
    assert [r["External_Id__c"] for r in sf.upserts[-1][2]] == [key]
    assert (row.last_error, row.attempts, row.next_attempt_at) == (None, 0, None)


def test_backoff_doubles_up_to_a_cap():
    """Each further rejection doubles the wait, never beyond MAX_BACKOFF."""
    waits = [push.backoff(n) for n in (1, 2, 3, 40)]
    assert waits == [push.BACKOFF, push.BACKOFF * 2, push.BACKOFF * 4, push.MAX_BACKOFF]


def test_fields_are_checked_against_the_crm_before_the_first_write(sqlite_engine, connectors):
    """A field the CRM lacks stops that destination before any write; the run fails."""
    with Session(sqlite_engine) as session:
        seed(session, partners=1, targets=1)
        sf = connectors["salesforce"]
        sf.missing = {"Gap__c"}
        summary = run_push(session, shipped("salesforce"), connectors)
        rows = states(session, "salesforce")
    assert (summary.outcome, sf.upserts, rows) == (jobs.FAILED, [], {})
    assert "Gap__c" in (summary.error or "")
    assert "External_Id__c" in sf.checks[0][1]


def test_a_partner_missing_from_a_crm_is_counted_not_sent(sqlite_engine, connectors):
    """Targets of a partner with no record in that CRM are reported as unlinked."""
    from plans.store import PartnerLinkRow

    with Session(sqlite_engine) as session:
        seed(session, partners=2, targets=2)
        link = session.scalars(
            select(PartnerLinkRow).where(PartnerLinkRow.source == "hubspot")
        ).first()
        session.delete(link)
        session.flush()
        summary = run_push(session, shipped("hubspot"), connectors)
    assert (summary.details["hubspot"]["unlinked"], summary.details["hubspot"]["sent"]) == (2, 3)


def test_thousand_changed_targets_cost_the_minimum_calls(sqlite_engine, connectors):
    """1,000 targets: ceil(1000/200) progress calls to Salesforce and ceil(1000/100) to HubSpot."""
    with Session(sqlite_engine) as session:
        seed(session, partners=1, targets=1000)
        plans = push.plan(session, shipped(), KINDS, {}, T0)
        progress = {p.name: len(p.part("progress")) for p in plans}
        run_push(session, shipped(), connectors)
    assert progress == {"salesforce": 1000, "hubspot": 1000}
    assert (connectors["salesforce"].write_calls, connectors["hubspot"].write_calls) == (
        5 + 1,
        10 + 1,
    )


def test_a_decimal_scale_change_does_not_change_what_is_sent():
    """625.50 and 625.5000 (before/after a database round trip) render the same, exactly."""
    from writeback.payloads import plain

    assert (plain(Decimal("625.50")), plain(Decimal("625.5000")), plain(Decimal("700.00"))) == (
        "625.5",
        "625.5",
        "700",
    )


def stream_push(session, writeback, connectors):
    """The push stage as a run does it: records built, decided and sent chunk by chunk."""
    summary = push.push_all(session, writeback, KINDS, connectors.__getitem__, {}, jobs.now())
    session.flush()
    return summary


def test_pushing_in_partner_chunks_still_costs_the_minimum_calls(engine, connectors, monkeypatch):
    """Chunks of 2 partners (7 x 30 targets): full batches across chunks, none sent twice."""
    monkeypatch.setattr(payloads, "CHUNK_PARTNERS", 2)
    with Session(engine) as session:
        seeded = seed(session, partners=7, targets=30)
        first = stream_push(session, shipped(), connectors)
        sf, hs = connectors["salesforce"], connectors["hubspot"]
        assert [len(records) for _, _, records in sf.upserts] == [200, 10]
        assert [len(records) for _, records in sf.updates] == [7]
        assert [len(records) for _, _, records in hs.upserts] == [100, 100, 10]
        assert (sf.write_calls, hs.write_calls) == (2 + 1, 3 + 1)
        assert first.details["salesforce"]["landed"] == 217
        keys = [r["External_Id__c"] for _, _, records in sf.upserts for r in records]
        assert len(keys) == len(set(keys)) == 210
        assert len(states(session, "salesforce")) == 217

        second = stream_push(session, shipped(), connectors)
        assert second.details["salesforce"]["sent"] == 0
        assert (sf.write_calls, hs.write_calls) == (3, 4)

        set_actual(session, seeded.target_ids[0], Decimal(5))
        set_actual(session, seeded.target_ids[-1], Decimal(6))
        third = stream_push(session, shipped(), connectors)
    assert third.details["salesforce"]["sent"] == 2  # the roll-ups' score and status held
    assert [len(records) for _, _, records in sf.upserts[2:]] == [2]
    assert (sf.write_calls, hs.write_calls) == (3 + 1, 4 + 1)


def test_chunks_hold_whole_partners_and_add_up_to_every_record(sqlite_engine):
    """Each chunk has at most N partners, each partner in one chunk, roll-up beside progress."""
    with Session(sqlite_engine) as session:
        seed(session, partners=5, targets=3)
        config = shipped().destinations["salesforce"]
        dialect = REGISTRY.dialect("salesforce")
        pieces = list(
            payloads.chunks(session, "salesforce", config, {}, T0.date(), dialect, size=2)
        )
        whole, unlinked = payloads.build(session, "salesforce", config, {}, T0.date(), dialect)
    partners = [{o.partner_key for o in records} for records, _ in pieces]
    assert [len(p) for p in partners] == [2, 2, 1]
    assert set.union(*partners) == {f"P-{i:05d}" for i in range(1, 6)}
    for records, _ in pieces:
        rollups = {o.partner_key for o in records if o.part == "rollup"}
        assert rollups == {o.partner_key for o in records if o.part == "progress"}
    assert sorted(o.record_key for records, _ in pieces for o in records) == sorted(
        o.record_key for o in whole
    )
    assert (len(whole), unlinked) == (5 * 3 + 5, 0)
