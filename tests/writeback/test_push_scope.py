"""The push rebuilds only the partners whose progress changed, with a full diff when it must."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from plans.store import PartnerLinkRow, PushStateRow
from tests.writeback.helpers import T0, FakeConnector, seed, set_actual
from tests.writeback.test_push import KINDS, shipped
from worker import jobs
from writeback import payloads, push, scope
from writeback.config import WritebackFile

LABELS = {"partner_sourced_revenue": "Sourced"}


@pytest.fixture
def connectors() -> dict[str, FakeConnector]:
    return {
        "salesforce": FakeConnector("salesforce", 200),
        "hubspot": FakeConnector("hubspot", 100),
    }


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of every progress record built, in order (payloads are counted exactly)."""
    keys: list[str] = []
    original = payloads._progress

    def counting(*args: Any, **kwargs: Any) -> payloads.Outgoing:
        out = original(*args, **kwargs)
        keys.append(out.record_key)
        return out

    monkeypatch.setattr(payloads, "_progress", counting)
    return keys


def run(
    session: Session,
    connectors: dict[str, FakeConnector],
    *,
    now=T0,
    writeback: WritebackFile | None = None,
    labels: dict[str, str] | None = None,
    placement: payloads.Placement | None = None,
    placement_digest: Callable[[str], str] | None = None,
) -> push.PushSummary:
    summary = push.push_all(
        session,
        writeback or shipped("salesforce"),
        KINDS,
        connectors.__getitem__,
        LABELS if labels is None else labels,
        now,
        placement=placement,
        placement_digest=placement_digest,
    )
    session.flush()
    return summary


def test_after_a_change_to_one_partner_only_its_records_are_built_and_sent(
    engine, connectors, built
):
    """20 partners x 5 targets: one changed target builds 5 records and costs 2 write calls."""
    with Session(engine) as session:
        seeded = seed(session, partners=20, targets=5)
        first = run(session, connectors)
        assert (len(built), connectors["salesforce"].write_calls) == (100, 2)
        assert first.details["salesforce"]["full_diff"] is True

        built.clear()
        set_actual(session, seeded.target_ids[7], Decimal("700.00"))  # partner 2, target 2
        second = run(session, connectors, now=T0 + timedelta(hours=1))
    sf = connectors["salesforce"]
    assert built == [f"P-00002-2026:t{t:04d}" for t in range(5)]
    assert second.details["salesforce"]["rebuilt_partners"] == 1
    assert second.details["salesforce"]["full_diff"] is False
    assert [r["External_Id__c"] for r in sf.upserts[-1][2]] == ["P-00002-2026:t0002"]
    assert (second.details["salesforce"]["sent"], sf.write_calls) == (1, 3)


def test_nothing_changed_builds_nothing(engine, connectors, built):
    """A push with no change since the last one builds no record and makes no call."""
    with Session(engine) as session:
        seed(session, partners=3, targets=2)
        run(session, connectors)
        built.clear()
        again = run(session, connectors, now=T0 + timedelta(minutes=5))
    assert (built, again.details["salesforce"]["sent"]) == ([], 0)
    assert connectors["salesforce"].write_calls == 2


def test_a_writeback_configuration_change_rebuilds_every_partner(sqlite_engine, connectors, built):
    """New metric labels make a full diff: every record rebuilt, only the changed ones sent."""
    with Session(sqlite_engine) as session:
        seed(session, partners=3, targets=2)
        run(session, connectors)
        built.clear()
        later = T0 + timedelta(minutes=5)
        unused = run(session, connectors, now=later, labels={**LABELS, "other": "Other"})
        assert (len(built), unused.details["salesforce"]["sent"]) == (6, 0)
        assert unused.details["salesforce"]["full_diff"] is True
        built.clear()
        relabelled = run(session, connectors, now=later, labels={"partner_sourced_revenue": "PSR"})
    assert len(built) == 6
    assert relabelled.details["salesforce"]["sent"] == 6  # metric_label changed on every record


def test_a_full_diff_runs_at_least_daily_and_heals_drift(sqlite_engine, connectors, built):
    """A push state changed behind the digest's back is noticed by the next day's full diff."""
    key = "P-00001-2026:t0001"
    with Session(sqlite_engine) as session:
        seed(session, partners=2, targets=2)
        run(session, connectors)
        drifted = session.scalars(select(PushStateRow).where(PushStateRow.record_key == key)).one()
        drifted.fingerprint = "restored-from-an-old-backup"
        session.flush()
        built.clear()
        same_day = run(session, connectors, now=T0 + timedelta(hours=23))
        assert (built, same_day.details["salesforce"]["sent"]) == ([], 0)
        next_day = run(session, connectors, now=T0 + timedelta(hours=24))
    assert len(built) == 4 and next_day.details["salesforce"]["full_diff"] is True
    assert next_day.details["salesforce"]["sent"] == 1
    assert [r["External_Id__c"] for r in connectors["salesforce"].upserts[-1][2]] == [key]


def test_a_failed_write_is_retried_by_the_next_push(engine, connectors, built):
    """The partner of a rejected record is rebuilt until the record lands, then left alone."""
    key = "P-00002-2026:t0000"
    with Session(engine) as session:
        seed(session, partners=3, targets=2)
        sf = connectors["salesforce"]
        sf.fail_keys = {key}
        first = run(session, connectors)
        assert first.outcome == jobs.INCOMPLETE
        built.clear()
        waiting = run(session, connectors, now=T0 + timedelta(seconds=30))
        assert built == ["P-00002-2026:t0000", "P-00002-2026:t0001"]
        assert waiting.details["salesforce"]["waiting"] == 1
        sf.fail_keys = set()
        built.clear()
        retried = run(session, connectors, now=T0 + timedelta(minutes=2))
        assert built == ["P-00002-2026:t0000", "P-00002-2026:t0001"]
        assert [r["External_Id__c"] for r in sf.upserts[-1][2]] == [key]
        assert retried.outcome == jobs.SUCCEEDED
        built.clear()
        settled = run(session, connectors, now=T0 + timedelta(minutes=3))
    assert (built, settled.details["salesforce"]["sent"]) == ([], 0)
    assert sf.write_calls == 2 + 1


def test_a_stopped_push_records_no_digest(sqlite_engine, connectors, built):
    """A destination stopped by an error (a missing field) is rebuilt whole next time."""
    with Session(sqlite_engine) as session:
        seed(session, partners=2, targets=2)
        connectors["salesforce"].missing = {"Actual__c"}
        stopped = run(session, connectors)
        assert stopped.outcome == jobs.FAILED
        connectors["salesforce"].missing = set()
        built.clear()
        recovered = run(session, connectors, now=T0 + timedelta(minutes=1))
    assert len(built) == 4 and recovered.details["salesforce"]["full_diff"] is True
    assert recovered.details["salesforce"]["landed"] == 6


def test_a_new_link_to_the_crm_rebuilds_that_partner(sqlite_engine, connectors, built):
    """A partner whose CRM record changes gets its records rebuilt (they name the record)."""
    with Session(sqlite_engine) as session:
        seeded = seed(session, partners=3, targets=2)
        run(session, connectors)
        link = session.scalars(
            select(PartnerLinkRow).where(
                PartnerLinkRow.partner_id == seeded.partners["P-00003"],
                PartnerLinkRow.source == "salesforce",
            )
        ).one()
        link.record_id = "001000000000000999"
        session.flush()
        built.clear()
        moved = run(session, connectors, now=T0 + timedelta(minutes=1))
    assert built == ["P-00003-2026:t0000", "P-00003-2026:t0001"]
    assert moved.details["salesforce"]["sent"] == 3  # two progress records and the roll-up


def test_skipped_unlinked_partners_are_still_counted(sqlite_engine, connectors, built):
    """A partner with no record in the CRM is reported unlinked on every push, built or not."""
    with Session(sqlite_engine) as session:
        seeded = seed(session, partners=2, targets=3)
        session.delete(
            session.scalars(
                select(PartnerLinkRow).where(
                    PartnerLinkRow.partner_id == seeded.partners["P-00002"],
                    PartnerLinkRow.source == "salesforce",
                )
            ).one()
        )
        session.flush()
        first = run(session, connectors)
        built.clear()
        second = run(session, connectors, now=T0 + timedelta(minutes=1))
    assert first.details["salesforce"]["unlinked"] == second.details["salesforce"]["unlinked"] == 3
    assert built == []


def test_a_changed_placement_rebuilds_every_partner(sqlite_engine, connectors, built):
    """A new placement digest (a plan or a section published) makes a full diff."""
    places = {"value": "a"}

    def placement(_destination, _plan, _target):
        return None

    def digest(_destination: str) -> str:
        return places["value"]

    with Session(sqlite_engine) as session:
        seed(session, partners=2, targets=2)
        run(session, connectors, placement=placement, placement_digest=digest)
        built.clear()
        run(
            session,
            connectors,
            now=T0 + timedelta(minutes=1),
            placement=placement,
            placement_digest=digest,
        )
        assert built == []
        places["value"] = "b"
        again = run(
            session,
            connectors,
            now=T0 + timedelta(minutes=2),
            placement=placement,
            placement_digest=digest,
        )
    assert len(built) == 4 and again.details["salesforce"]["full_diff"] is True


def test_scope_rows_are_not_crm_records(sqlite_engine, connectors):
    """Digest rows carry no push time, error or CRM id: no listing counts them as pushed."""
    with Session(sqlite_engine) as session:
        seed(session, partners=2, targets=1)
        run(session, connectors)
        rows = session.scalars(
            select(PushStateRow).where(PushStateRow.record_key.startswith(scope.SCOPE_KEY))
        ).all()
    assert sorted(r.record_key for r in rows) == [
        "push-scope",
        "push-scope:P-00001",
        "push-scope:P-00002",
    ]
    assert {(r.pushed_at, r.last_error, r.crm_record_id) for r in rows} == {(None, None, None)}
