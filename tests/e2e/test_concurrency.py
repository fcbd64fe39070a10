"""`partnerplan run` syncs streams concurrently: every record once, lanes overlap, stops cleanly."""

from __future__ import annotations

import _thread
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlmodel import Session

from plans.store import ActivityRow, RunRow, WatermarkRow
from tests.e2e.conftest import Flow, pg_url
from worker import jobs, pipeline
from worker.project import load_project

CHECKED = {
    ("salesforce", "Opportunity"),
    ("salesforce", "Lead"),
    ("salesforce", "Deal_Registration__c"),
    ("hubspot", "deals"),
    ("hubspot", "contacts"),
    ("hubspot", "deal_registrations"),
}
"""Objects whose every live record becomes exactly one activity (no filter, none quarantined)."""


def _lanes(config: Path, *, salesforce: int, hubspot: int) -> None:
    """Set each source's ``concurrent_streams`` in the flow's settings.yaml."""
    path = config / "settings.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["sources"]["salesforce"]["concurrent_streams"] = salesforce
    settings["sources"]["hubspot"]["concurrent_streams"] = hubspot
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def _checked_streams(flow: Flow) -> dict[str, tuple[str, str]]:
    """Stream name -> (sandbox server, object) for the objects in :data:`CHECKED`."""
    project = load_project(flow.config)
    kinds = {name: s.type for name, s in project.settings.sources.items()}
    return {
        name: (kinds[s.source], s.object)
        for name, s in project.mappings.streams.items()
        if (kinds[s.source], s.object) in CHECKED
    }


def _record_id(record: dict[str, Any]) -> str:
    return str(record.get("Id") or record["id"])


def _modified(record: dict[str, Any]) -> datetime:
    """Salesforce's SystemModstamp; HubSpot's hs_lastmodifieddate (contacts: lastmodifieddate)."""
    properties = record.get("properties", {})
    stamp = (
        record.get("SystemModstamp")
        or properties.get("hs_lastmodifieddate")
        or properties["lastmodifieddate"]
    )
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(UTC)


def _live(record: dict[str, Any]) -> bool:
    return not (record.get("IsDeleted") or record.get("archived"))


def _assert_stored_exactly_once(flow: Flow) -> None:
    """Each checked stream holds the CRM's live records, once each; its watermark covers them."""
    streams = _checked_streams(flow)
    assert len(streams) == len(CHECKED)
    with Session(flow.engine()) as session:
        rows = session.execute(
            select(ActivityRow.stream, ActivityRow.record_id, ActivityRow.deleted)
        ).all()
        marks = {m.stream: m for m in session.scalars(select(WatermarkRow))}
    assert len(rows) == len({(stream, record) for stream, record, _ in rows})
    for name, (server, obj) in streams.items():
        records = flow.sandbox.records(server, obj)
        live = {_record_id(r) for r in records if _live(r)}
        stored_live = {record for stream, record, gone in rows if stream == name and not gone}
        assert stored_live == live, name
        # the last record read, or (a first load that listed rather than searched) the time
        # the load started: never behind a stored record, never ahead of now
        last = max(_modified(r) for r in records if _live(r))
        mark = marks[name]
        assert mark.modified_at is not None and not mark.partial
        at = mark.modified_at.astimezone(UTC)
        assert last <= at <= datetime.now(UTC), name
        at_last = {_record_id(r) for r in records if _live(r) and _modified(r) == last}
        assert at > last or mark.record_id in at_last, name


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_concurrent_streams_store_every_record_exactly_once(make_flow, request, store):
    """Both CRMs' streams synced at once, then incrementally, then after changes: each live
    record is stored once, deletions are flagged, every watermark is the stream's last record."""
    url = pg_url(request.getfixturevalue("pg_schema")) if store == "postgres" else None
    flow = make_flow(database_url=url)
    _lanes(flow.config, salesforce=8, hubspot=4)
    assert flow.run() == 0
    _assert_stored_exactly_once(flow)
    first = flow.runs()
    assert {r.outcome for r in first if r.stage == "sync_stream"} == {jobs.SUCCEEDED}
    assert sum(r.stage == "compute_progress" for r in first) == 1

    assert flow.run() == 0  # incremental: reads back what the push wrote, nothing else
    _assert_stored_exactly_once(flow)

    sb = flow.sandbox
    opportunities = [o["Id"] for o in sb.records("salesforce", "Opportunity") if _live(o)]
    deals = [d["id"] for d in sb.records("hubspot", "deals") if _live(d)]
    leads = [lead["Id"] for lead in sb.records("salesforce", "Lead") if _live(lead)]
    sb.touch("salesforce", "Opportunity", opportunities[:10], {"Amount": 4321.0})
    sb.touch("hubspot", "deals", deals[:5], {"amount": "987"})
    sb.delete("salesforce", "Lead", leads[:3])
    before = len(flow.runs())
    assert flow.run() == 0
    _assert_stored_exactly_once(flow)
    changed = flow.runs()[before:]
    pulled = {r.stream: r.records_pulled for r in changed if r.stage == "sync_stream"}
    assert 10 <= pulled["sf_opportunities"] <= 15  # the 10 changed, plus the lookback overlap
    assert sum(r.stage == "compute_progress" for r in changed) == 1
    with Session(flow.engine()) as session:
        flagged = session.scalars(
            select(ActivityRow.record_id).where(
                ActivityRow.record_id.in_(leads[:3]),  # type: ignore[attr-defined]
                ActivityRow.deleted.is_(True),  # type: ignore[attr-defined]
            )
        ).all()
    assert sorted(flagged) == sorted(leads[:3])


def _most_at_once(runs: list[RunRow]) -> int:
    """The largest number of ``runs`` whose [started, finished] intervals overlap."""
    events = []
    for run in runs:
        assert run.started_at is not None and run.finished_at is not None
        events += [(run.started_at, 1), (run.finished_at, -1)]
    most = current = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start
        current += step
        most = max(most, current)
    return most


def test_streams_overlap_up_to_each_sources_bound(make_flow):
    """With latency on every call, each source syncs exactly its bound of streams at once, and
    the two CRMs' lanes run side by side."""
    flow = make_flow()
    _lanes(flow.config, salesforce=3, hubspot=2)
    for server in ("salesforce", "hubspot"):
        flow.sandbox.set_faults(server, latency_ms=20)
    assert flow.run() == 0
    syncs = [r for r in flow.runs() if r.stage == "sync_stream"]
    salesforce = [r for r in syncs if r.source == "salesforce"]
    hubspot = [r for r in syncs if r.source == "hubspot"]
    assert (_most_at_once(salesforce), _most_at_once(hubspot)) == (3, 2)
    assert _most_at_once(syncs) > 3  # more than either lane alone: both CRMs at once
    partners = {"sf_partners", "hs_partners"}
    last_partner = max(r.finished_at for r in syncs if r.stream in partners)  # type: ignore[type-var]
    first_other = min(r.started_at for r in syncs if r.stream not in partners)  # type: ignore[type-var]
    assert last_partner <= first_other  # partner streams first: activities link as stored


def test_a_failing_stream_does_not_stop_the_streams_beside_it(make_flow, monkeypatch):
    """One stream failing mid-run fails alone: the others complete, compute runs once, exit 1."""
    flow = make_flow()
    real = pipeline.pull_and_store

    def failing_leads(engine: Any, run: RunRow, *args: Any, **kwargs: Any) -> Any:
        if run.stream == "sf_leads":
            raise RuntimeError("the CRM closed the connection")
        return real(engine, run, *args, **kwargs)

    monkeypatch.setattr(pipeline, "pull_and_store", failing_leads)
    assert flow.run() == 1
    runs = flow.runs()
    outcomes = {r.stream: r.outcome for r in runs if r.stage == "sync_stream"}
    assert outcomes.pop("sf_leads") == jobs.FAILED
    assert set(outcomes.values()) == {jobs.SUCCEEDED}
    assert sum(r.stage == "compute_progress" for r in runs) == 1


def test_ctrl_c_with_streams_in_flight_marks_them_and_stops_their_threads(make_flow, monkeypatch):
    """Ctrl-C while streams sync at once: exit 130, nothing left running or pending, every sync
    thread ended; the next run completes and stores every record once."""
    flow = make_flow()
    _lanes(flow.config, salesforce=4, hubspot=2)
    for server in ("salesforce", "hubspot"):
        flow.sandbox.set_faults(server, latency_ms=20)
    real = pipeline.pull_and_store
    started: list[str] = []
    lock = threading.Lock()

    def ctrl_c_on_the_fifth(engine: Any, run: RunRow, *args: Any, **kwargs: Any) -> Any:
        with lock:
            started.append(str(run.stream))
            if len(started) == 5:
                _thread.interrupt_main()  # what a Ctrl-C does: KeyboardInterrupt in main
        return real(engine, run, *args, **kwargs)

    monkeypatch.setattr(pipeline, "pull_and_store", ctrl_c_on_the_fifth)
    assert flow.run() == 130
    syncs = [r for r in flow.runs() if r.stage == "sync_stream"]
    outcomes = [r.outcome for r in syncs]
    assert not {jobs.PENDING, jobs.RUNNING} & set(outcomes)
    assert outcomes.count(jobs.INTERRUPTED) >= len(syncs) - len(started)
    assert not [t for t in threading.enumerate() if t.name.startswith("sync-")]

    monkeypatch.setattr(pipeline, "pull_and_store", real)
    flow.sandbox.clear_faults("salesforce")
    flow.sandbox.clear_faults("hubspot")
    assert flow.run() == 0
    _assert_stored_exactly_once(flow)
    with Session(flow.engine()) as session:
        open_runs = session.scalar(
            select(func.count())
            .select_from(RunRow)
            .where(RunRow.outcome.in_([jobs.PENDING, jobs.RUNNING]))  # type: ignore[attr-defined]
        )
    assert open_runs == 0


def test_the_scheduler_without_redis_syncs_a_slots_streams_in_lanes_too(make_flow):
    """`scheduler --once` syncs the slot's streams of both CRMs at once, each within its bound,
    and every stream once."""
    from worker.cli import run as cli

    flow = make_flow()
    _lanes(flow.config, salesforce=3, hubspot=2)
    path = flow.config / "settings.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["schedules"] = [{"cron": "* * * * *"}]
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    for server in ("salesforce", "hubspot"):
        flow.sandbox.set_faults(server, latency_ms=20)
    config = ["--config", str(flow.config), "--database-url", flow.database_url]
    assert cli(["scheduler", "--once", *config]) == 0
    syncs = [r for r in flow.runs() if r.stage == "sync_stream"]
    assert sorted(r.stream for r in syncs) == sorted(load_project(flow.config).mappings.streams)
    salesforce = [r for r in syncs if r.source == "salesforce"]
    hubspot = [r for r in syncs if r.source == "hubspot"]
    assert (_most_at_once(salesforce), _most_at_once(hubspot)) == (3, 2)
    assert _most_at_once(syncs) > 3
