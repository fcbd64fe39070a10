"""Plans in the store follow their life: responses pulled as activities, versions, locking."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from plans.planfile import PlanSet
from plans.planstore import sync_plans
from plans.store import PlanRow, PlanVersionRow, PushStateRow, TargetRow
from tests.plans.factories import activity, add_activities, add_partners, plan

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _plan(value: int, status: str = "shared") -> PlanSet:
    return PlanSet([plan("P-1-Q1", "P-1", "2027-Q1", [_won(value)], status=status)])


def _won(value: int) -> dict[str, object]:
    return {"metric": "won_deals", "value": value}


def _response(partner: int, kind: str, version: int, hour: int, comment: str = "") -> dict:
    return activity(
        partner,
        "plan_response",
        status=kind,
        attributes={
            "plan_key": "P-1-Q1",
            "comment": comment,
            "version": version,
            "by": "005PARTNER",
            "by_name": "Pat Partner",
            "at": f"2026-12-01T{hour:02d}:00:00+00:00",
        },
    )


def _state(session: Session) -> tuple[str, int, int | None, Decimal]:
    row = session.scalar(select(PlanRow))
    value = session.scalar(select(TargetRow.value))
    assert row is not None and value is not None
    return row.status, row.version, row.accepted_version, value


def test_a_change_request_then_an_edit_then_acceptance(sqlite_engine):
    """shared → changes requested → (edit) shared v2 → accepted v2, targets follow the config."""
    with Session(sqlite_engine) as session:
        partner = add_partners(session, "P-1")["P-1"]
        sync_plans(session, _plan(10), NOW)
        first = _state(session)
        add_activities(session, [_response(partner, "request_changes", 1, 10, "Lower it")])
        sync_plans(session, _plan(10), NOW)
        asked = _state(session)
        sync_plans(session, _plan(8), NOW)
        edited = _state(session)
        add_activities(session, [_response(partner, "accept", 2, 12)])
        sync_plans(session, _plan(8), NOW)
        accepted = _state(session)
    assert first == ("shared", 1, None, Decimal(10))
    assert asked == ("changes_requested", 1, None, Decimal(10))
    assert edited == ("shared", 2, None, Decimal(8))
    assert accepted == ("accepted", 2, 2, Decimal(8))


def test_an_accepted_plan_edited_in_config_keeps_its_accepted_targets(sqlite_engine):
    """Editing an accepted plan makes version 2, shared, measured on version 1's target."""
    with Session(sqlite_engine) as session:
        partner = add_partners(session, "P-1")["P-1"]
        sync_plans(session, _plan(10), NOW)
        add_activities(session, [_response(partner, "accept", 1, 10)])
        sync_plans(session, _plan(10), NOW)
        sync_plans(session, _plan(12), NOW)
        locked = _state(session)
        versions = dict(session.execute(select(PlanVersionRow.version, PlanVersionRow.terms)).all())
        add_activities(session, [_response(partner, "accept", 2, 11)])
        sync_plans(session, _plan(12), NOW)
        unlocked = _state(session)
    assert locked == ("shared", 2, 1, Decimal(10))
    assert ["10", "12"] == [versions[v]["targets"][0]["value"] for v in (1, 2)]
    assert unlocked == ("accepted", 2, 2, Decimal(12))


def test_editing_a_draft_keeps_version_one(sqlite_engine):
    """A plan nobody was shown changes without new versions."""
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        sync_plans(session, _plan(10, "draft"), NOW)
        sync_plans(session, _plan(11, "draft"), NOW)
        state = _state(session)
    assert state == ("draft", 1, None, Decimal(11))


def test_a_crm_edit_of_a_config_plan_is_a_conflict_not_applied(sqlite_engine):
    """The CRM's title differs from what was pushed: recorded per source, config untouched."""
    with Session(sqlite_engine) as session:
        partner = add_partners(session, "P-1")["P-1"]
        session.add(
            PushStateRow(
                destination="test",
                record_key="plan:P-1-Q1",
                fingerprint="f",
                pushed={"title": "P-1-Q1", "status": "shared"},
            )
        )
        mirror = activity(
            partner,
            "plan",
            record_id="a0F1",
            status="shared",
            attributes={
                "key": "P-1-Q1",
                "origin": "config",
                "title": "Renamed in CRM",
                "status": "shared",
            },
        )
        add_activities(session, [mirror])
        sync_plans(session, _plan(10), NOW)
        row = session.scalar(select(PlanRow))
    assert row is not None
    assert {
        "test": {
            "record_id": "a0F1",
            "fields": {"title": {"crm": "Renamed in CRM", "pushed": "P-1-Q1"}},
        }
    } == row.conflicts
