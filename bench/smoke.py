"""What ``python -m bench.run --smoke`` must have measured for the benchmark to count as working.

The smoke run (``make bench-smoke``, part of ``make test``) drives every stage of the benchmark at
scale 1 so that a moved module, a renamed sandbox endpoint or a changed run record breaks
``make test`` instead of the next person who wants figures. It checks that each figure was
*measured* (records were pulled, writes were counted, targets were computed), never how fast:
speed depends on the machine, and the benchmark asserts no speed anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import bench

WRITE_SERVERS = ("salesforce", "hubspot")


def import_all() -> list[str]:
    """Import every module of the ``bench`` package; their names.

    :mod:`bench.run` imports only what it drives; the other tools (``stage_memory``,
    ``sandbox_throughput``) would otherwise break unseen when a module they import moves.
    """
    names = [f"bench.{info.name}" for info in pkgutil.iter_modules(bench.__path__)]
    for name in names:
        importlib.import_module(name)
    return names


def problems(figures: dict[str, Any]) -> list[str]:
    """Everything a database's figures lack that a working benchmark measures; empty if none."""
    found: list[str] = []
    full, inc = figures["full_sync"], figures["incremental"]
    for label, runs in (("full sync", full["runs"]), ("incremental", inc["runs"])):
        for run in runs:
            found += [f"{label}: run {failed}" for failed in run["not_succeeded"]]
    if not full["records_pulled"]:
        found.append("full sync pulled no records")
    if not inc["records_changed"]:
        found.append("the incremental changed no records (workload.touch_share)")
    elif (inc["records_pulled"] or 0) < inc["records_changed"]:
        found.append(
            f"the incremental pulled {inc['records_pulled']} records "
            f"for {inc['records_changed']} changed"
        )
    if not figures["floor"]["records"]:
        found.append("the floor replay decoded no records (workload.Recorder, floor.replay)")
    for server in WRITE_SERVERS:
        first = figures["push"]["first"].get(server, {})
        if not first.get("rows", {}).get("progress"):
            found.append(f"push to {server}: no progress rows in the push state")
        if not first.get("write_calls"):
            found.append(f"push to {server}: the sandbox counted no write calls")
    if "compute" in figures:
        computed = figures["compute"]["compute"]["first"]
        expected = figures["scale"] * 10
        if computed["targets"] != expected:
            found.append(f"compute: {computed['targets']} targets, expected {expected}")
        kept = figures["compute"].get("history") or {}
        if not kept.get("snapshots_worst_case") or not kept.get("history_table_bytes"):
            found.append("history: no snapshots or no size measured (bench/history.py)")
    if not figures["mapping_alone"]["records_per_s"]:
        found.append("mapping alone mapped no records")
    if not figures["rss"]["small"]["maxrss_mib"]:
        found.append("no peak RSS measured")
    return found


def realistic_problems(figures: dict[str, Any]) -> list[str]:
    """What the realistic stage (:mod:`bench.realistic`) failed to measure; empty if nothing."""
    found: list[str] = []
    for label in ("full_sync", "incremental"):
        run = figures[label]
        found += [f"{label}: run {failed}" for failed in run["not_succeeded"]]
        for server, calls in run["api_calls"].items():
            if not calls:
                found.append(f"{label}: the sandbox counted no {server} calls")
        if not run["floor"]["floor_s"]:
            found.append(f"{label}: no rate-limit floor (bench/realistic.py CallLog)")
    if not figures["full_sync"]["records_pulled"]:
        found.append("full_sync: pulled no records under the realistic profile")
    return found
