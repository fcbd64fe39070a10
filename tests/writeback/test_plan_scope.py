"""The plan push rebuilds only the plans whose records can have changed (writeback.planscope)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlmodel import Session

from connectors.base import WriteResult
from connectors.salesforce.dialect import SalesforceDialect
from plans.planstore import resolve_conflicts
from plans.store import PlanRow, PushStateRow
from tests.writeback.helpers import FakeConnector
from tests.writeback.test_planpush import KINDS, NOW, UNITS, WRITEBACK, _plan, linked_store
from writeback import planpush
from writeback.planparts import Bundle
from writeback.planpush import push_plans

Built = list[set[str]]


@pytest.fixture
def store(engine, tmp_path):
    """Two partners linked in Salesforce, on SQLite and PostgreSQL; a function that syncs plan
    dicts into the store."""
    return linked_store(engine, tmp_path)


BUILT: Built = []
"""The plans each push (of the test running) built records for, one set per push."""


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Iterator[Built]:
    """The plans each push built records for."""
    BUILT.clear()
    original = planpush.build

    def counting(*args: Any, **kwargs: Any) -> Bundle:
        bundle = original(*args, **kwargs)
        BUILT[-1].update(r.plan for r in bundle.records)
        return bundle

    monkeypatch.setattr(planpush, "build", counting)
    yield BUILT


def _push(
    session: Session,
    connector: FakeConnector,
    now: datetime = NOW,
    units: dict[str, str] = UNITS,
) -> Any:
    BUILT.append(set())
    return push_plans(session, WRITEBACK, KINDS, lambda _: connector, units, now)


def test_an_unchanged_push_builds_no_plan(engine, store, built):
    """After a first push (a full diff of both plans), a push with nothing changed builds none."""
    with Session(engine) as session:
        store(session, [_plan("A", "P-1"), _plan("B", "P-2")])
        first = _push(session, FakeConnector())
        again = FakeConnector()
        second = _push(session, again)
    report = second.details["salesforce"]
    assert [{"A", "B"}, set()] == built
    assert (True, 0, False, 0) == (
        first.details["salesforce"]["full_diff"],
        report["rebuilt_plans"],
        report["full_diff"],
        again.write_calls,
    )


def test_a_plan_whose_terms_change_is_the_only_one_rebuilt(engine, store, built):
    """Plan A's section summary changes: only A is built, and one call sends that section."""
    with Session(engine) as session:
        store(session, [_plan("A", "P-1"), _plan("B", "P-2")])
        _push(session, FakeConnector())
        store(session, [_plan("A", "P-1", summary="Grow faster."), _plan("B", "P-2")])
        again = FakeConnector()
        _push(session, again)
    sent = [(o, [r["External_Id__c"] for r in records]) for o, _, records in again.upserts]
    assert {"A"} == built[-1]
    assert (1, [("Partner_Plan_Section__c", ["A:section-0"])]) == (again.write_calls, sent)


def test_a_score_change_rebuilds_its_plan_and_sends_its_plan_record(engine, store, built):
    """A recompute moves plan B's score: B alone is built, its plan record alone is sent."""
    with Session(engine) as session:
        store(session, [_plan("A", "P-1"), _plan("B", "P-2")])
        _push(session, FakeConnector())
        plan = session.scalars(select(PlanRow).where(PlanRow.key == "B")).one()
        plan.score = plan.score or 0
        plan.score += 10
        again = FakeConnector()
        _push(session, again)
    assert ({"B"}, 1, ["B"]) == (
        built[-1],
        again.write_calls,
        [r["External_Id__c"] for _, _, records in again.upserts for r in records],
    )


def test_a_full_diff_at_least_daily_and_when_the_units_change(engine, store, built):
    """A day after the last full diff, or with other metric units, every plan is rebuilt (and,
    nothing having changed, nothing is sent); in between, none is."""
    later = NOW + timedelta(hours=25)
    with Session(engine) as session:
        store(session, [_plan("A", "P-1"), _plan("B", "P-2")])
        _push(session, FakeConnector())
        calls = []
        for now, units in [
            (NOW + timedelta(hours=23), UNITS),
            (later, UNITS),
            (later + timedelta(hours=1), UNITS),
            (later + timedelta(hours=2), {**UNITS, "new_logos": "logos"}),
        ]:
            connector = FakeConnector()
            _push(session, connector, now, units)
            calls.append(connector.write_calls)
    assert ([{"A", "B"}, set(), {"A", "B"}, set(), {"A", "B"}], [0, 0, 0, 0]) == (built, calls)


def test_a_rejected_plan_record_is_rebuilt_until_it_lands(engine, store, built):
    """A's section is rejected: A is rebuilt on every push (not re-sent while its backoff
    runs), sent again once the backoff is over, and left alone once it landed."""
    with Session(engine) as session:
        store(session, [_plan("A", "P-1"), _plan("B", "P-2")])
        failing = FakeConnector()
        failing.fail_keys = {"A:section-0"}
        _push(session, failing)
        waiting = FakeConnector()
        _push(session, waiting, NOW + timedelta(seconds=30))
        retried = FakeConnector()
        _push(session, retried, NOW + timedelta(minutes=2))
        settled = FakeConnector()
        _push(session, settled, NOW + timedelta(minutes=3))
    assert [{"A", "B"}, {"A"}, {"A"}, set()] == built
    assert [0, 1, 0] == [waiting.write_calls, retried.write_calls, settled.write_calls]
    assert [["A:section-0"]] == [
        [r["External_Id__c"] for r in records] for _, _, records in retried.upserts
    ]


def test_a_resolved_conflict_is_rebuilt_and_config_wins(engine, store, built):
    """`plans resolve` forgets the plan's digest: the next push rebuilds it and sends its
    record, though nothing else about the plan changed."""
    with Session(engine) as session:
        store(session, [_plan("A", "P-1")])
        _push(session, FakeConnector())
        plan = session.scalars(select(PlanRow).where(PlanRow.key == "A")).one()
        plan.conflicts = {"salesforce": {"record_id": "a1", "fields": {"title": {"crm": "X"}}}}
        session.flush()
        resolve_conflicts(session, "A")
        plan.conflicts = {}
        again = FakeConnector()
        _push(session, again)
        scope_rows = session.scalars(
            select(PushStateRow.record_key).where(PushStateRow.record_key == "plan-scope:A")
        ).all()
    assert ({"A"}, ["A"], ["plan-scope:A"]) == (
        built[-1],
        [r["External_Id__c"] for _, _, records in again.upserts for r in records],
        scope_rows,
    )


class DeletingConnector(FakeConnector):
    """A fake CRM that deletes records by id, one call per object and batch."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[tuple[str, list[str]]] = []

    def delete(self, object: str, ids: list[str]) -> list[WriteResult]:
        """Delete each record."""
        self.deleted.append((object, ids))
        self.write_calls += 1
        return [WriteResult(i, True) for i in ids]


def test_an_action_removed_from_a_rebuilt_plan_is_deleted(engine, store, built):
    """Plan A drops its action item: the push rebuilds A alone and deletes that one record, in
    one call; B's action stays."""
    bare = _plan("A", "P-1")
    bare["sections"][0]["action_items"] = []
    with Session(engine) as session:
        store(session, [_plan("A", "P-1"), _plan("B", "P-2")])
        _push(session, DeletingConnector())
        store(session, [bare, _plan("B", "P-2")])
        again = DeletingConnector()
        _push(session, again)
        left = session.scalars(
            select(PushStateRow.record_key).where(PushStateRow.record_key.startswith("action:"))
        ).all()
    assert ({"A"}, [("Partner_Plan_Action__c", ["rec-A:section-0:joint-qbr"])], 1) == (
        built[-1],
        again.deleted,
        again.write_calls,
    )
    assert ["action:B:section-0:joint-qbr"] == left


def _plans(count: int) -> list[dict[str, Any]]:
    return [_plan(f"K{n:02}", f"P-{1 + n % 2}", sections=2) for n in range(count)]


def _quarter(n: int) -> dict[str, Any]:
    """Plan ``K<n>``, two sections, in its own quarter (a partner has one plan a period)."""
    return {
        **_plan(f"K{n}", f"P-{1 + n % 2}", sections=2),
        "period": f"{2027 + n // 4}-Q{n % 4 + 1}",
    }


def _calls(session: Session, monkeypatch: pytest.MonkeyPatch, chunk: int) -> Any:
    """One first push (no push state) of the store's plans, ``chunk`` plans at a time."""
    session.execute(delete(PushStateRow))
    monkeypatch.setattr(planpush, "CHUNK_PLANS", chunk)
    connector = FakeConnector(batch=2)
    _push(session, connector)
    calls = [(o, [r["External_Id__c"] for r in records]) for o, _, records in connector.upserts]
    return connector.write_calls, calls


def test_a_chunked_plan_push_sends_what_the_unchunked_one_does(
    engine,
    store,
    built,
    monkeypatch,
):
    """Five plans built one or two at a time, with CRM batches of two records: the same calls,
    with the same records, as all five at once: full batches but each part's last, and every
    section and action written after its parent."""
    monkeypatch.setattr(SalesforceDialect, "write_batch", 2)
    with Session(engine) as session:
        store(session, [_quarter(n) for n in range(5)])
        whole = _calls(session, monkeypatch, 500)
        ones = _calls(session, monkeypatch, 1)
        twos = _calls(session, monkeypatch, 2)
    written: set[str] = set()
    for _, keys in ones[1]:
        assert all(":" not in k or k.rsplit(":", 1)[0] in written for k in keys)
        written.update(keys)
    sizes = {o: [len(k) for c, k in whole[1] if c == o] for o, _ in whole[1]}
    assert sorted(whole[1]) == sorted(ones[1]) == sorted(twos[1])
    assert (17, 17, 17) == (whole[0], ones[0], twos[0])  # 3 + 5 + 3 + 3 + 3
    assert [2, 2, 2, 2, 2] == sizes["Partner_Plan_Section__c"]
    assert [2, 2, 1] == sizes["Partner_Business_Plan__c"]
