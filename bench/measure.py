"""Measuring one ``partnerplan run``: time and RSS from the child, counts from the store and CRMs.

Wall time and peak RSS come from :mod:`bench.child` (its own process). Records pulled, stage
times, compute statements and push outcomes come from the run records the command wrote; API
calls come from the sandbox's own counters (``Sandbox.stats``), not from partnerplan's, so a
miscount in partnerplan cannot flatter the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from bench.workload import ROOT, minimum_calls
from plans.db import make_engine
from plans.store import PushStateRow, RunRow
from sandbox import Sandbox

WRITE_BATCH = {"salesforce": 200, "hubspot": 100}
"""The largest write batches the CRMs accept: the minimum calls are ceil(rows / batch)."""
PLAN_PARTS = ("plan", "section", "action", "investment", "target_account", "claim")
"""Push-state key prefixes of the plan push's records, each part its own object. (Attachments,
``file:``, are uploads whose calls depend on the CRM, and are left out of the minimum.)"""


def child(
    config: Path, url: str, env: dict[str, str], *, full: bool, profile: Path | None = None
) -> dict[str, Any]:
    """Run ``partnerplan run`` in a fresh process; its report (exit code, seconds, RSS)."""
    argv = [sys.executable, "-m", "bench.child", "--config", str(config), "--database-url", url]
    if full:
        argv.append("--full")
    if profile is not None:
        argv += ["--profile", str(profile)]
    done = subprocess.run(  # noqa: S603 - our own module, arguments built here
        argv, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(lines[-1])
    if report["exit_code"] != 0:
        raise RuntimeError(f"partnerplan run exited {report['exit_code']}:\n{done.stderr[-4000:]}")
    return report


def _seconds(run: RunRow) -> float:
    if run.started_at is None or run.finished_at is None:
        return 0.0
    return (run.finished_at - run.started_at).total_seconds()


def runs_since(url: str, after_id: int) -> list[RunRow]:
    """The run records with an id above ``after_id``, oldest first."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            query = select(RunRow).where(col(RunRow.id) > after_id).order_by(col(RunRow.id))
            return list(session.scalars(query))
    finally:
        engine.dispose()


def last_run_id(url: str) -> int:
    """The newest run id in the store (0 when the store is empty or has no tables yet)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ids = session.scalars(select(col(RunRow.id)).order_by(col(RunRow.id).desc()).limit(1))
            return int(next(iter(ids), 0) or 0)
    except Exception:  # no schema yet: the first run creates it
        return 0
    finally:
        engine.dispose()


def summarise_runs(runs: list[RunRow]) -> dict[str, Any]:
    """Records pulled, per-stage seconds, compute statements and push details of one command."""
    syncs = [r for r in runs if r.stage == "sync_stream"]
    computes = [r for r in runs if r.stage == "compute_progress"]
    pushes = [r for r in runs if r.stage == "push_progress"]
    failed = [f"{r.stage}/{r.stream}: {r.outcome}" for r in runs if r.outcome != "succeeded"]
    return {
        "records_pulled": sum(r.records_pulled for r in syncs),
        "records_deleted": sum(r.records_deleted for r in syncs),
        "records_quarantined": sum(r.records_quarantined for r in syncs),
        "sync_seconds": round(sum(_seconds(r) for r in syncs), 2),
        "compute_seconds": round(sum(_seconds(r) for r in computes), 2),
        "push_seconds": round(sum(_seconds(r) for r in pushes), 2),
        "compute": [brief(r.details) for r in computes],
        "push": [brief(r.details) for r in pushes],
        "not_succeeded": failed,
        "stages": stage_timeline(runs),
    }


LONG_LIST = 20
"""Lists and mappings longer than this in a run's details (partner ids, change notes by
partner) are kept as a count."""


def brief(details: Any) -> Any:
    """``details`` with every list or mapping longer than :data:`LONG_LIST` replaced by its
    length: an incremental's compute names each partner it read and its changes, which at
    scale 2000 made the results file half a megabyte of ids."""
    if isinstance(details, dict):
        if len(details) > LONG_LIST:
            return {"count": len(details)}
        return {key: brief(value) for key, value in details.items()}
    if isinstance(details, list):
        if len(details) > LONG_LIST:
            return {"count": len(details)}
        return [brief(value) for value in details]
    return details


def stage_timeline(runs: list[RunRow]) -> list[dict[str, Any]]:
    """When each run of one command started and how long it took, in seconds from the first
    run's start: where a command's wall time goes between its stages."""
    started = [r.started_at for r in runs if r.started_at is not None]
    if not started:
        return []
    origin = min(started)
    out = []
    for run in runs:
        if run.started_at is None:
            continue
        took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        out.append(
            {
                "run": run.stream or run.stage,
                "from_s": round((run.started_at - origin).total_seconds(), 2),
                "seconds": None if took is None else round(took, 2),
            }
        )
    return out


def pushed_rows(url: str, since: datetime | None) -> dict[str, dict[str, int]]:
    """Rows landed per destination and part (progress rows have a target) since ``since``."""
    engine = make_engine(url)
    counts: dict[str, dict[str, int]] = {}
    try:
        with Session(engine) as session:
            query = select(
                col(PushStateRow.destination),
                col(PushStateRow.target_id),
                col(PushStateRow.record_key),
            ).where(col(PushStateRow.pushed_at).is_not(None))
            if since is not None:
                query = query.where(col(PushStateRow.pushed_at) >= since)
            for destination, target_id, key in session.execute(query):
                prefix = key.split(":", 1)[0]
                if prefix in PLAN_PARTS:
                    part = prefix  # the plan push: one object (and batch count) per part
                else:
                    part = "progress" if target_id is not None else "rollup"
                by_part = counts.setdefault(destination, {"progress": 0, "rollup": 0})
                by_part[part] = by_part.get(part, 0) + 1
    finally:
        engine.dispose()
    return counts


def calls(sb: Sandbox) -> dict[str, dict[str, int]]:
    """Calls per endpoint on each sandbox server since the last ``reset_stats``."""
    servers = ("salesforce", "hubspot")
    return {server: dict(sb.stats(server)["calls_by_endpoint"]) for server in servers}


def push_calls(rows: dict[str, dict[str, int]], by_endpoint: dict[str, dict[str, int]]) -> dict:
    """Write calls each CRM received against the minimum for the rows that landed."""
    out: dict[str, Any] = {}
    for server, batch in WRITE_BATCH.items():
        parts = rows.get(server, {"progress": 0, "rollup": 0})
        endpoints = by_endpoint.get(server, {})
        writes = sum(n for e, n in endpoints.items() if _is_write(e) and "associate" not in e)
        associations = sum(n for e, n in endpoints.items() if "associate" in e)
        minimum = sum(minimum_calls(n, batch) for n in parts.values())
        out[server] = {
            "rows": parts,
            "write_calls": writes,
            "minimum_write_calls": minimum,
            "association_calls": associations,
            "at_minimum": writes == minimum,
        }
    return out


def _is_write(endpoint: str) -> bool:
    return endpoint.startswith(("PATCH", "PUT", "DELETE")) or any(
        marker in endpoint for marker in ("/batch/upsert", "/batch/update", "/batch/create")
    )


def api_calls(by_endpoint: dict[str, dict[str, int]]) -> dict[str, int]:
    """Total calls per server."""
    return {server: sum(endpoints.values()) for server, endpoints in by_endpoint.items()}
