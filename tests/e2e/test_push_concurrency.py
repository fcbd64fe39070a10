"""The progress push sends its write calls several at once, against the sandbox.

Batches are made small here (5 records, 5 associations a call) so that a four-partner sandbox
still takes many write calls per CRM; the CRMs' own batch sizes only make fewer, larger ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.dialect import HubSpotDialect
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.dialect import SalesforceDialect
from tests.e2e.conftest import AS_OF, Flow
from tests.e2e.test_pacing import WINDOW, small_window_flow
from worker import jobs

PROGRESS = {"salesforce": "Partner_Plan_Progress__c", "hubspot": "partner_plan_progress"}
ROLLUP = {"salesforce": "Account", "hubspot": "companies"}
MOVING = {
    # ids the CRM gives in the order records arrive, and the clock
    "Id",
    "attributes",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
    "Computed_At__c",
    "Data_As_Of__c",
    "Plan_Computed_At__c",
    "Plan__c",
    "Section__c",
    "id",
    "hs_object_id",
    "hs_createdate",
    "hs_lastmodifieddate",
    "createdAt",
    "updatedAt",
    "computed_at",
    "data_as_of",
    "plan_computed_at",
}


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five records (and five associations) per write call, on both CRMs."""
    monkeypatch.setattr(SalesforceDialect, "write_batch", 5)
    monkeypatch.setattr(HubSpotDialect, "write_batch", 5)
    monkeypatch.setattr(HubSpotDialect, "associate_batch", 5)


def _settings(flow: Flow, **changes: Any) -> None:
    """Set keys of both sources in the flow's settings.yaml."""
    path = flow.config / "settings.yaml"
    settings = yaml.safe_load(path.read_text())
    for source in ("salesforce", "hubspot"):
        settings["sources"][source].update(changes)
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def _serial_and_concurrent(make_flow: Callable[..., Flow], tmp_path: Any) -> Iterator[Flow]:
    """Two identical sandboxes after ``run --full``: one pushing a call at a time
    (``concurrent_streams: 1``), then one at the default concurrency."""
    for width in (1, None):
        flow = make_flow(f"sqlite:///{tmp_path / f'store-{width}.db'}")
        if width is not None:
            _settings(flow, concurrent_streams=width)
        assert flow.run("--full") == 0
        yield flow


def _push(flow: Flow) -> dict[str, Any]:
    """The last progress push's report, by destination."""
    return [r for r in flow.runs() if r.stage == "push_progress"][-1].details


def _steady(record: dict[str, Any]) -> dict[str, Any]:
    """A record's fields that do not depend on arrival order or the clock."""
    out = {k: v for k, v in record.items() if k not in MOVING and k != "properties"}
    out.update({k: v for k, v in record.get("properties", {}).items() if k not in MOVING})
    if "associations" in out:
        out["associations"] = sorted(out["associations"].get("companies", []))
    return out


def _held(flow: Flow) -> dict[str, Any]:
    """What each CRM holds of the push: progress records by key, roll-up fields by partner."""
    held: dict[str, Any] = {}
    for server in ("salesforce", "hubspot"):
        progress = [_steady(r) for r in flow.sandbox.records(server, PROGRESS[server])]
        key = "External_Id__c" if server == "salesforce" else "progress_key"
        assert len(progress) == len({r[key] for r in progress})  # each record once
        held[server] = {r[key]: r for r in progress}
        partners = [_steady(r) for r in flow.sandbox.records(server, ROLLUP[server])]
        held[f"{server} roll-ups"] = sorted(
            (
                str(r.get("Partner_Key__c") or r.get("partner_key")),
                r.get("Plan_Score__c") or r.get("plan_score"),
                r.get("Plan_Status__c") or r.get("plan_status"),
            )
            for r in partners
        )
    return held


Span = tuple[str, float, float]


OTHER_OBJECTS: list[str] = []
"""The objects of the calls :func:`threads_spans` saw made on no sending thread."""


@pytest.fixture
def threads_spans(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Span]]:
    """Every write call's (CRM, start, end) on the monotonic clock, by the prefix of the
    thread that made it: ``push`` (the progress push's sending threads), ``plans`` (the plan
    push's), and any other."""
    recorded: dict[str, list[Span]] = {"push": [], "plans": [], "other": []}
    elsewhere = OTHER_OBJECTS
    elsewhere.clear()
    lock = threading.Lock()

    def timed(cls: type, name: str, crm: str) -> None:
        real: Callable[..., Any] = getattr(cls, name)

        def call(self: Any, object: str, *args: Any) -> Any:
            start = time.monotonic()
            try:
                return real(self, object, *args)
            finally:
                prefix = threading.current_thread().name.split("-")[0]
                with lock:
                    recorded.get(prefix, recorded["other"]).append((crm, start, time.monotonic()))
                    if prefix not in recorded:
                        elsewhere.append(object)

        monkeypatch.setattr(cls, name, call)

    for name in ("upsert", "update"):
        timed(SalesforceConnector, name, "salesforce")
    for name in ("upsert", "update", "associate"):
        timed(HubSpotConnector, name, "hubspot")
    return recorded


@pytest.fixture
def spans(threads_spans: dict[str, list[Span]]) -> list[Span]:
    """Every progress-push write call made on the push's sending threads."""
    return threads_spans["push"]


def _most_at_once(spans: list[Span], crm: str) -> int:
    """The most calls to ``crm`` that were in flight at one moment."""
    edges = sorted(
        [(start, 1) for c, start, _ in spans if c == crm]
        + [(end, -1) for c, _, end in spans if c == crm]
    )
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def test_the_concurrent_push_sends_what_the_serial_one_does_with_the_same_calls(
    make_flow, frozen_as_of, tmp_path
):
    """On two identical sandboxes, a push one call at a time (concurrency 1) and one with the
    default concurrency leave the same records in each CRM, each once, with the same number
    of write calls."""
    held, reports, calls = [], [], []
    for flow in _serial_and_concurrent(make_flow, tmp_path):
        held.append(_held(flow))
        push = _push(flow)
        reports.append(
            {d: {k: push[d][k] for k in ("sent", "landed", "write_calls")} for d in PROGRESS}
        )
        calls.append(flow.sandbox.stats("hubspot")["calls_by_endpoint"])
    assert held[0] == held[1]
    assert reports[0] == reports[1]
    assert reports[1]["hubspot"]["write_calls"] >= 10  # batches of 5: many calls to overlap
    associations = [sum(n for endpoint, n in c.items() if "associate" in endpoint) for c in calls]
    assert associations[0] == associations[1]


def test_push_calls_overlap_when_every_call_has_latency(make_flow, spans):
    """With 40 ms on every call, each CRM has several progress write calls in flight at once,
    never more than its connector's concurrency."""
    flow = make_flow()
    _settings(flow, concurrent_streams=3)
    for server in ("salesforce", "hubspot"):
        flow.sandbox.set_faults(server, latency_ms=40)
    assert flow.run("--full") == 0
    push = _push(flow)
    assert len([s for s in spans if s[0] == "hubspot"]) == push["hubspot"]["write_calls"]
    assert 2 <= _most_at_once(spans, "hubspot") <= 3
    assert 2 <= _most_at_once(spans, "salesforce") <= 3
    assert not [t for t in threading.enumerate() if t.name.startswith(("push-", "plans-"))]


def test_rejected_records_land_on_the_next_run_and_the_rest_at_once(
    make_flow, frozen_as_of, monkeypatch, tmp_path
):
    """Two records the CRM rejects, in batches sent at once: every other record lands on the
    first run; the two are recorded with their error and land, once, on the next run after
    their backoff."""
    flow = make_flow(f"sqlite:///{tmp_path / 'keys.db'}")
    assert flow.run("--full") == 0  # a first sandbox, to learn the keys
    keys = sorted(
        r["External_Id__c"] for r in flow.sandbox.records("salesforce", PROGRESS["salesforce"])
    )
    rejected = [keys[1], keys[-2]]

    flow = make_flow()
    flow.sandbox.set_faults("salesforce", fail_ids=rejected)
    assert flow.run("--full") == 1  # the push is incomplete
    report = _push(flow)["salesforce"]
    stored = {
        r["External_Id__c"] for r in flow.sandbox.records("salesforce", PROGRESS["salesforce"])
    }
    assert (report["failed"], stored) == (2, set(keys) - set(rejected))

    flow.sandbox.clear_faults("salesforce")
    flow.sandbox.reset_stats()
    monkeypatch.setattr(jobs, "now", lambda: AS_OF + timedelta(minutes=5))  # past the backoff
    assert flow.run() == 0
    report = _push(flow)["salesforce"]
    assert (report["sent"], report["landed"], report["failed"]) == (2, 2, 0)
    progress = flow.sandbox.records("salesforce", PROGRESS["salesforce"])
    assert sorted(r["External_Id__c"] for r in progress) == keys


def test_the_concurrent_push_gets_no_429_under_the_realistic_profile(make_flow):
    """HubSpot's windows small (20 calls per rolling 2 s), the push's many calls at once:
    every record lands and the sandbox answered no 429."""
    flow = small_window_flow(make_flow)
    assert flow.run("--full") == 0
    push = _push(flow)
    assert push["hubspot"]["write_calls"] > WINDOW["hs_window_limit"] // 2
    hubspot, salesforce = (flow.sandbox.stats(s) for s in ("hubspot", "salesforce"))
    assert (0, {}) == (hubspot["responses_429"], hubspot["throttled"])
    assert (0, {}) == (salesforce["responses_429"], salesforce["throttled"])
    assert push["hubspot"]["failed"] == 0 and push["hubspot"]["landed"] == push["hubspot"]["sent"]


PLAN_PARTS = {
    "salesforce": (
        "Partner_Business_Plan__c",
        "Partner_Plan_Section__c",
        "Partner_Plan_Action__c",
        "Partner_Plan_Investment__c",
        "Partner_Plan_Target_Account__c",
    ),
    "hubspot": (
        "partner_plan",
        "partner_plan_section",
        "partner_plan_action",
        "partner_plan_investment",
        "partner_plan_target_account",
    ),
}


def _plan_records(flow: Flow) -> dict[str, list[Any]]:
    """Each plan object's records, steady fields only, sorted; and how many Salesforce
    children name their plan / HubSpot children are associated."""
    held: dict[str, list[Any]] = {}
    for server, objects in PLAN_PARTS.items():
        for name in objects:
            records = flow.sandbox.records(server, name)
            held[name] = sorted(repr(sorted(_steady(r).items())) for r in records)
            if server == "salesforce" and name != objects[0]:
                held[f"{name} with a plan"] = [str(sum(1 for r in records if r.get("Plan__c")))]
            if server == "hubspot" and name != objects[0]:
                held[f"{name} associated"] = [str(sum(1 for r in records if r.get("associations")))]
    return held


def test_the_concurrent_plan_push_sends_what_the_serial_one_does(make_flow, tmp_path):
    """The plan push, one call at a time and several at once: the same plan records (parents
    set, associations made) in each CRM, the same write calls, nothing rejected."""
    held, reports = [], []
    for flow in _serial_and_concurrent(make_flow, tmp_path):
        held.append(_plan_records(flow))
        plans = _push(flow)["plans"]
        reports.append(
            {
                d: {k: plans[d][k] for k in ("sent", "landed", "failed", "write_calls")}
                for d in plans
            }
        )
    assert held[0] == held[1]
    assert reports[0] == reports[1]
    assert [0, 0] == [reports[1][d]["failed"] for d in ("salesforce", "hubspot")]
    assert reports[1]["hubspot"]["write_calls"] >= 10  # batches of 5: many calls to overlap


def test_plan_push_calls_overlap_and_children_follow_their_parents(make_flow, threads_spans):
    """With 40 ms on every call, the plan push has several calls in flight (never more than
    the connector's concurrency), each on a sending thread; every child names (Salesforce) or is
    associated with (HubSpot) its parent, so none was sent before its parent landed."""
    flow = make_flow()
    _settings(flow, concurrent_streams=3)
    for server in ("salesforce", "hubspot"):
        flow.sandbox.set_faults(server, latency_ms=40)
    assert flow.run("--full") == 0
    plans = _push(flow)["plans"]
    spans = threads_spans["plans"]
    # every upsert, update and association on a sending thread, but attaching files (the
    # caller's connector uploads them, and HubSpot associates their notes)
    assert set(OTHER_OBJECTS) <= {"notes"}
    for crm in ("salesforce", "hubspot"):
        assert plans[crm]["failed"] == 0
        assert 0 < len([s for s in spans if s[0] == crm]) <= plans[crm]["write_calls"]
    assert 2 <= _most_at_once(spans, "hubspot") <= 3
    held = _plan_records(flow)
    for name in PLAN_PARTS["salesforce"][1:]:
        assert held[f"{name} with a plan"] == [str(len(held[name]))]
    assert not [t for t in threading.enumerate() if t.name.startswith("plans-")]


def test_the_two_crms_progress_pushes_overlap(make_flow, spans):
    """With 40 ms on every call, a Salesforce progress-push call and a HubSpot one are in
    flight at the same moment: the CRMs push side by side, not one after the other."""
    flow = make_flow()
    for server in ("salesforce", "hubspot"):
        flow.sandbox.set_faults(server, latency_ms=40)
    assert flow.run("--full") == 0
    push = _push(flow)
    assert [0, 0] == [push[crm]["failed"] for crm in ("salesforce", "hubspot")]
    both = [
        (sf, hs)
        for sf in spans
        if sf[0] == "salesforce"
        for hs in spans
        if hs[0] == "hubspot" and hs[1] < sf[2] and sf[1] < hs[2]
    ]
    assert both
