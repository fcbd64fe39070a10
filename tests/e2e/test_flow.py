"""End to end, in-process on SQLite: sandbox records → `partnerplan run` → progress."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session

from plans.store import ActivityRow
from tests.e2e.conftest import Flow, check_golden

Q4 = (date(2026, 10, 1), date(2027, 1, 1))


def _in_q4(day: str | None) -> bool:
    return day is not None and Q4[0] <= date.fromisoformat(day[:10]) < Q4[1]


def _approved_in_q4_by_hand(flow: Flow, partner_key: str) -> int:
    """Deal registrations approved in 2026-Q4 for one partner, counted from the CRMs' records."""
    sb = flow.sandbox
    sf_id = next(
        a["Id"]
        for a in sb.records("salesforce", "Account")
        if a.get("Partner_Key__c") == partner_key
    )
    hs_id = next(
        c["id"]
        for c in sb.records("hubspot", "companies")
        if c["properties"].get("partner_key") == partner_key
    )
    salesforce = sum(
        1
        for r in sb.records("salesforce", "Deal_Registration__c")
        if r["Partner_Account__c"] == sf_id and not r["IsDeleted"] and _in_q4(r["Approved_Date__c"])
    )
    hubspot = sum(
        1
        for r in sb.records("hubspot", "deal_registrations")
        if r["properties"]["partner_company_id"] == hs_id
        and not r["archived"]
        and _in_q4(r["properties"]["approved_date"])
    )
    return salesforce + hubspot


def _gone(record: dict) -> bool:
    """Deleted in Salesforce, archived in HubSpot."""
    return bool(record.get("IsDeleted") or record.get("archived"))


def test_run_stores_every_record_and_computes_the_golden_progress(make_flow, frozen_as_of):
    """Every live sandbox record becomes one activity; progress equals the reviewed golden file.

    A record deleted before the first sync ever saw it is not stored: a deletion listing
    (HubSpot's cannot filter) is not a source of records, only of their deletion.
    """
    flow = make_flow()
    assert flow.run() == 0
    expected_records = sum(
        sum(1 for r in flow.sandbox.records(server, name) if not _gone(r))
        for server, name in [
            ("salesforce", "Opportunity"),
            ("salesforce", "Lead"),
            ("salesforce", "Deal_Registration__c"),
            ("hubspot", "deals"),
            ("hubspot", "contacts"),
            ("hubspot", "deal_registrations"),
        ]
    )
    with Session(flow.engine()) as session:
        stored = session.scalar(
            select(func.count())
            .select_from(ActivityRow)
            .where(
                ActivityRow.kind.in_(["opportunity", "lead", "deal_registration"])  # type: ignore[attr-defined]
            )
        )
    progress = flow.progress()
    approved = next(
        p
        for p in progress
        if p["plan"] == "P-00001-2026-Q4" and p["target_key"] == "registrations_approved"
    )
    assert stored == expected_records
    assert Decimal(approved["actual"]) == _approved_in_q4_by_hand(flow, "P-00001")
    check_golden("progress-seed3-scale4", progress)


def test_second_run_with_nothing_changed_reads_only_and_recomputes_nothing(make_flow, frozen_as_of):
    """With no CRM change, a run makes only the incremental queries: no store writes, no compute."""
    flow = make_flow()
    assert flow.run() == 0
    assert flow.run() == 0  # reads back the plan records the first run published (a CRM change)
    first_runs = len(flow.runs())
    with Session(flow.engine()) as session:
        stored_before = session.scalar(select(func.max(ActivityRow.stored_at)))
    flow.sandbox.reset_stats()
    assert flow.run() == 0
    second = flow.runs()[first_runs:]
    with Session(flow.engine()) as session:
        stored_after = session.scalar(select(func.max(ActivityRow.stored_at)))
    sf_calls = flow.sandbox.stats("salesforce")
    hs_calls = flow.sandbox.stats("hubspot")
    assert {r.stage for r in second} == {"sync_stream"}
    assert all(r.outcome == "succeeded" for r in second)
    assert stored_after == stored_before
    assert sf_calls.get("write_calls", 0) == 0 and hs_calls.get("write_calls", 0) == 0


def test_ten_changed_records_repull_about_ten_and_recompute_only_their_partners(
    make_flow, frozen_as_of
):
    """Touching 10 opportunities re-pulls about 10 records and recomputes only their partners."""
    flow = make_flow()
    assert flow.run() == 0
    assert flow.run() == 0  # reads back the plan records the first run published (a CRM change)
    before = len(flow.runs())
    opportunities = [
        o for o in flow.sandbox.records("salesforce", "Opportunity") if not o["IsDeleted"]
    ]
    chosen = opportunities[:10]
    flow.sandbox.touch("salesforce", "Opportunity", [o["Id"] for o in chosen], {"Amount": 123456.0})
    assert flow.run() == 0
    runs = flow.runs()[before:]
    opp_sync = next(r for r in runs if r.stream == "sf_opportunities")
    other_syncs = [r for r in runs if r.stage == "sync_stream" and r.stream != "sf_opportunities"]
    compute = [r for r in runs if r.stage == "compute_progress"]
    accounts = {o["PartnerAccountId"] for o in chosen}
    with Session(flow.engine()) as session:
        from plans.store import PartnerLinkRow

        expected_partners = set(
            session.scalars(
                select(PartnerLinkRow.partner_id).where(
                    PartnerLinkRow.record_id.in_(accounts)  # type: ignore[attr-defined]
                )
            )
        )
    assert 10 <= opp_sync.records_pulled <= 15  # the 10 changed, plus the lookback overlap
    assert sum(r.records_pulled for r in other_syncs) <= 5 * len(other_syncs)
    assert len(compute) == 1
    assert set(compute[0].details["args"]["partner_ids"]) == expected_partners


def test_full_run_marks_records_gone_from_the_crm_as_deleted(make_flow, frozen_as_of):
    """`run --full` notices a record purged from the CRM (no deletion event) and flags it."""
    from plans.db import session_scope
    from plans.store import RunRow

    flow = make_flow()
    assert flow.run() == 0
    with session_scope(flow.engine()) as session:
        template = session.scalars(
            select(ActivityRow).where(ActivityRow.stream == "sf_opportunities")
        ).first()
        purged = ActivityRow(
            **{
                **template.model_dump(exclude={"id"}),
                "record_id": "0068d00000PURGEDAAA",
                "deleted": False,
            }
        )
        session.add(purged)
    assert flow.run("--full", "--stream", "sf_opportunities") == 0
    with Session(flow.engine()) as session:
        flags = dict(
            session.execute(
                select(ActivityRow.record_id, ActivityRow.deleted).where(
                    ActivityRow.stream == "sf_opportunities"
                )
            ).all()
        )
        last_sync = session.scalars(
            select(RunRow).where(RunRow.stream == "sf_opportunities").order_by(RunRow.id.desc())
        ).first()
    live = {
        o["Id"] for o in flow.sandbox.records("salesforce", "Opportunity") if not o["IsDeleted"]
    }
    assert flags["0068d00000PURGEDAAA"] is True
    assert {rid for rid, deleted in flags.items() if not deleted} == live
    assert last_sync.records_deleted >= 1


def test_a_failing_source_does_not_stop_the_others_and_leaves_no_run_pending(
    make_flow, monkeypatch, capsys
):
    """Revoked HubSpot token: exit 1, Salesforce synced, HubSpot runs failed with a clean error."""
    flow = make_flow()
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-revoked-token-0000")
    assert flow.run("--no-preflight") == 1  # the runs themselves fail (preflight: test_preflight)
    out, err = capsys.readouterr()
    err += out
    syncs = [r for r in flow.runs() if r.stage == "sync_stream"]
    outcomes = {(r.source, r.outcome) for r in syncs}
    assert outcomes == {("salesforce", "succeeded"), ("hubspot", "failed")}
    assert all(r.outcome != "pending" for r in flow.runs())
    assert "pat-revoked-token-0000" not in err + "".join(r.error or "" for r in syncs)
