"""The benchmark: ``make bench`` (``--scale 100``) or ``SCALE=2000 make bench`` (the standard one).

    .venv/bin/python -m bench.run [--scale 100] [--db sqlite,postgres] [--repeat N] [--no-write]
    .venv/bin/python -m bench.run --smoke     # every stage at scale 1 on SQLite, in seconds

For each database, on a fresh sandbox (seed 1) with every partner holding an active plan of ten
targets, it measures (medians of ``--repeat`` runs where a run is cheap):

1. floor: the read requests of the first full sync replayed by a bare urllib3 client (records/s);
2. full sync: ``partnerplan run --full`` on an empty store, in a child process (records/s, ratio
   to the floor, stage seconds, API calls, peak RSS);
3. incremental: 1 % of every activity object changed (``Sandbox.touch``), then ``partnerplan run``;
4. compute: :mod:`bench.compute` at the same scale (plans x 10 targets, scale x 500 activities);
5. push: write calls of the full sync's push and of the incremental one, against the minimum;
6. mapping alone: :mod:`bench.mapping_throughput` (the shipped Opportunity mapping);
7. peak RSS of the full sync at ``scale / 10`` against ``scale``;
8. the realistic profile (:mod:`bench.realistic`): a full sync and an incremental against the
   CRMs' latencies and rate limits, each next to its rate-limit floor, with the 429s counted;

then a cProfile of one full sync (SQLite), top functions by cumulative time. Results go to
``bench/results/<date>-<db>-scale<N>.json`` (and ``<date>-profile-<N>.txt``); no figure is
asserted, they depend on the machine.

``--smoke`` (``make bench-smoke``, part of ``make test``) runs the same stages once at scale 1 on
SQLite with a small mapping sample and no profile, writes nothing, and exits 1 unless every
stage measured something (:mod:`bench.smoke`): a moved module cannot break the benchmark unseen.
Its realistic run keeps the profile's limits but shortens the latency to a few milliseconds.

``--realistic`` runs only the realistic stage (at ``--realistic-scale``, default ``--scale``);
``--no-realistic`` leaves it out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench import compute as compute_bench
from bench import floor, mapping_throughput, measure, realistic, smoke
from bench.workload import ROOT, Recorder, store, touch_share, write_config
from sandbox import Sandbox
from worker.demo import sandbox_env

RESULTS = ROOT / "bench" / "results"
SEED = 1
CHANGED_SHARE = 0.01
SMOKE_LATENCY = {"latency_ms": 5, "latency_per_record_ms": 0.01}
"""The smoke run's realistic stage: the profile's limits, a few milliseconds of latency."""


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _full_syncs(
    sb: Sandbox, db: str, config: Path, tmp: Path, repeat: int, recorder: Recorder | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``repeat`` full syncs on empty stores; the last store then takes the incremental runs."""
    env = sandbox_env(sb)
    fulls: list[dict[str, Any]] = []
    incrementals: list[dict[str, Any]] = []
    for attempt in range(repeat):
        with store(db, tmp) as url:
            sb.reset_stats()
            if recorder is not None:
                recorder.on = attempt == 0
            started_at = datetime.now(UTC)
            report = measure.child(config, url, env, full=True)
            if recorder is not None:
                recorder.on = False
            by_endpoint = measure.calls(sb)
            figures = {
                **report,
                **measure.summarise_runs(measure.runs_since(url, 0)),
                "api_calls": measure.api_calls(by_endpoint),
                "push_calls": measure.push_calls(measure.pushed_rows(url, started_at), by_endpoint),
            }
            fulls.append(figures)
            print(
                f"  full sync {attempt + 1}/{repeat}: {figures['seconds']:.1f} s, "
                f"{figures['records_pulled']:,} records, RSS {report['maxrss_kib'] // 1024} MiB"
            )
            if attempt == repeat - 1:
                incrementals = _incrementals(sb, config, url, env, repeat)
    return fulls, incrementals


def _incrementals(
    sb: Sandbox, config: Path, url: str, env: dict[str, str], repeat: int
) -> list[dict[str, Any]]:
    out = []
    for attempt in range(repeat):
        touched = touch_share(sb, CHANGED_SHARE, offset=attempt + 1)
        sb.reset_stats()
        before = measure.last_run_id(url)
        started_at = datetime.now(UTC)
        report = measure.child(config, url, env, full=False)
        by_endpoint = measure.calls(sb)
        figures = {
            **report,
            "records_changed": sum(touched.values()),
            **measure.summarise_runs(measure.runs_since(url, before)),
            "api_calls": measure.api_calls(by_endpoint),
            "push_calls": measure.push_calls(measure.pushed_rows(url, started_at), by_endpoint),
        }
        out.append(figures)
        print(
            f"  incremental {attempt + 1}/{repeat}: {figures['seconds']:.1f} s, "
            f"{figures['records_pulled']:,} records pulled"
        )
    return out


def _floor(sb: Sandbox, recorder: Recorder, repeat: int) -> dict[str, Any]:
    runs = [floor.replay(sb, recorder.requests) for _ in range(repeat)]
    seconds = _median([r["seconds"] for r in runs])
    records = runs[0]["records"]
    return {
        "seconds": seconds,
        "records": records,
        "calls": runs[0]["calls"],
        "mb": runs[0]["mb"],
        "records_per_s": round(records / seconds),
        "runs_seconds": [round(r["seconds"], 3) for r in runs],
    }


def _summary(fulls: list[dict[str, Any]], incs: list[dict[str, Any]], floor_rate: float) -> dict:
    seconds = _median([f["seconds"] for f in fulls])
    records = fulls[0]["records_pulled"]
    rate = records / seconds
    inc_seconds = _median([i["seconds"] for i in incs]) if incs else None
    return {
        "full_sync": {
            "seconds": seconds,
            "records_pulled": records,
            "records_per_s": round(rate),
            "ratio_to_floor": round(rate / floor_rate, 3),
            "stage_seconds": {
                k: _median([f[k] for f in fulls])
                for k in ("sync_seconds", "compute_seconds", "push_seconds")
            },
            "maxrss_mib": round(max(f["maxrss_kib"] for f in fulls) / 1024, 1),
            "runs": fulls,
        },
        "incremental": {
            "seconds": inc_seconds,
            "share_of_full": round(inc_seconds / seconds, 3) if inc_seconds else None,
            "records_changed": _median([i["records_changed"] for i in incs]) if incs else None,
            "records_pulled": _median([i["records_pulled"] for i in incs]) if incs else None,
            "runs": incs,
        },
        "push": {
            "first": fulls[0]["push_calls"],
            "after_1pct_change": [i["push_calls"] for i in incs],
        },
    }


def _rss_small(small: int, db: str, config: Path, tmp: Path) -> dict[str, Any]:
    with Sandbox(seed=SEED, scale=small) as sb, store(db, tmp) as url:
        report = measure.child(config, url, sandbox_env(sb), full=True)
    return {"scale": small, "maxrss_mib": round(report["maxrss_kib"] / 1024, 1)}


def _profile(scale: int, config: Path, tmp: Path, text_file: Path) -> dict[str, Any]:
    out = tmp / "sync.prof"
    with Sandbox(seed=SEED, scale=scale) as sb, store("sqlite", tmp) as url:
        report = measure.child(config, url, sandbox_env(sb), full=True, profile=out)
    with text_file.open("w", encoding="utf-8") as stream:
        stats = pstats.Stats(str(out), stream=stream)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
    top = []
    listing = pstats.Stats(str(out))
    listing.sort_stats("cumulative")
    for func in listing.fcn_list[:60]:  # type: ignore[attr-defined]
        _cc, ncalls, tottime, cumtime, _callers = listing.stats[func]  # type: ignore[attr-defined]
        top.append(
            {
                "function": pstats.func_std_string(func),
                "calls": ncalls,
                "tottime": round(tottime, 2),
                "cumtime": round(cumtime, 2),
            }
        )
    return {
        "seconds_under_profile": round(report["seconds"], 1),
        "file": text_file.name,
        "top_cumulative": top,
    }


def _arguments() -> argparse.Namespace:
    """The command line; ``--smoke`` turns every size down and every write off."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, help="partners (default 100; 2000 = standard)")
    parser.add_argument("--db", help="comma-separated databases (default sqlite,postgres)")
    parser.add_argument("--repeat", type=int, help="runs per median (default 3; 1 above 500)")
    parser.add_argument("--rss-scale", type=int, help="scale compared for RSS (default N/10)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-compute", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results")
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="only the realistic-profile stage (full sync and incremental against the floor)",
    )
    parser.add_argument("--no-realistic", action="store_true", help="leave the realistic stage out")
    parser.add_argument(
        "--realistic-scale", type=int, help="scale of the realistic stage (default --scale)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="every stage once at scale 1 on SQLite, nothing written; exit 1 if one measured "
        "nothing (make test runs this)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.scale = args.scale or 1
        args.db = args.db or "sqlite"
        args.repeat = 1
        args.rss_scale = args.rss_scale or args.scale  # reuses the full sync's figure
        args.no_profile = args.no_write = True
    args.scale = args.scale or 100
    args.db = args.db or "sqlite,postgres"
    args.realistic_scale = args.realistic_scale or args.scale
    return args


def _realistic(args: argparse.Namespace, stamp: str) -> dict[str, Any]:
    """The realistic-profile stage on the first database asked for; written unless --no-write."""
    db = args.db.split(",")[0]
    print(f"[{db}] realistic profile, scale {args.realistic_scale}: full sync and incremental ...")
    with tempfile.TemporaryDirectory(prefix="pp-bench-realistic-") as folder:
        tmp = Path(folder)
        config = write_config(tmp / "config", paced=True)
        figures = realistic.run(
            args.realistic_scale, config, tmp, db, SMOKE_LATENCY if args.smoke else None
        )
    figures["date"] = stamp
    if not args.no_write:
        out = RESULTS / f"{stamp}-realistic-{db}-scale{args.realistic_scale}.json"
        out.write_text(json.dumps(figures, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"wrote {out.relative_to(ROOT)}")
    return figures


def main() -> None:
    """Run everything, print a summary, write bench/results/<date>-<db>-scale<N>.json."""
    args = _arguments()
    if args.smoke:
        print(f"smoke: {len(smoke.import_all())} bench modules import")
    repeat = args.repeat or (3 if args.scale <= 500 else 1)
    stamp = date.today().isoformat()
    if args.realistic:
        print("\n".join(realistic.lines(_realistic(args, stamp))))
        return
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    started = time.perf_counter()
    print(f"mapping alone (shipped sf_opportunities, {machine['cpus']} cpus) ...")
    mapping = mapping_throughput.measure(*((2_000, 1) if args.smoke else (50_000, 3)))
    print(f"  {mapping['records_per_s']:,} records/s")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="pp-bench-") as folder:
        tmp = Path(folder)
        config = write_config(tmp / "config")
        floor_figures: dict[str, Any] | None = None
        for db in args.db.split(","):
            print(f"[{db}] scale {args.scale}: full syncs and incrementals ...")
            with Sandbox(seed=SEED, scale=args.scale) as sb:
                recorder = Recorder()
                recorder.install(sb)
                fulls, incs = _full_syncs(sb, db, config, tmp, repeat, recorder)
                if floor_figures is None:
                    floor_figures = _floor(sb, recorder, 1 if args.smoke else max(repeat, 3))
                    print(f"  floor: {floor_figures['records_per_s']:,} records/s")
            figures = _summary(fulls, incs, floor_figures["records_per_s"])
            small_scale = args.rss_scale or max(1, args.scale // 10)
            if small_scale == args.scale:  # the full syncs above measured this very scale
                small = {"scale": small_scale, "maxrss_mib": figures["full_sync"]["maxrss_mib"]}
            else:
                print(f"[{db}] peak RSS at scale {small_scale} ...")
                small = _rss_small(small_scale, db, config, tmp)
            figures["rss"] = {
                "small": small,
                "large": {"scale": args.scale, "maxrss_mib": figures["full_sync"]["maxrss_mib"]},
                "ratio": round(figures["full_sync"]["maxrss_mib"] / small["maxrss_mib"], 2),
            }
            if not args.no_compute:
                print(f"[{db}] compute: {args.scale} plans x 10 targets ...")
                figures["compute"] = compute_bench.run(db, args.scale, args.scale * 500)
            results[db] = {
                "db": db,
                "scale": args.scale,
                "seed": SEED,
                "date": stamp,
                "machine": machine,
                "floor": floor_figures,
                "mapping_alone": mapping,
                **figures,
            }
            results[db]["bench_seconds"] = round(time.perf_counter() - started, 1)
            if not args.no_write:  # written now, so a long run keeps what it measured
                _write(results[db], stamp)
        profile = None
        if not args.no_profile:
            print("profile: one full sync under cProfile (SQLite) ...")
            folder = tmp if args.no_write else RESULTS
            profile = _profile(
                args.scale, config, tmp, folder / f"{stamp}-profile-{args.scale}.txt"
            )
    for figures in results.values():
        if profile is not None:
            figures["profile"] = profile
        _print(figures)
        if not args.no_write:
            _write(figures, stamp)
    lifelike = None if args.no_realistic else _realistic(args, stamp)
    if lifelike is not None:
        print("\n".join(realistic.lines(lifelike)))
    if args.smoke:
        _smoke_verdict(results, lifelike)


def _smoke_verdict(results: dict[str, dict[str, Any]], lifelike: dict[str, Any] | None) -> None:
    """Print what each database's smoke run failed to measure; exit 1 if anything."""
    found = [f"[{db}] {problem}" for db, f in results.items() for problem in smoke.problems(f)]
    if lifelike is not None:
        found += [f"[realistic] {problem}" for problem in smoke.realistic_problems(lifelike)]
    for problem in found:
        print(f"smoke: {problem}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"smoke: every stage measured ({', '.join(results)})")


def _write(figures: dict[str, Any], stamp: str) -> None:
    out = RESULTS / f"{stamp}-{figures['db']}-scale{figures['scale']}.json"
    out.write_text(json.dumps(figures, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


def _print(f: dict[str, Any]) -> None:
    full, inc = f["full_sync"], f["incremental"]
    print(f"\n== {f['db']}, scale {f['scale']}, {f['machine']['cpus']} cpus ==")
    print(f"floor            {f['floor']['records_per_s']:>10,} records/s")
    print(
        f"full sync        {full['records_per_s']:>10,} records/s  {full['seconds']:.1f} s  "
        f"ratio {full['ratio_to_floor']:.2f}  stages {full['stage_seconds']}"
    )
    print(
        f"incremental      {inc['seconds']} s ({inc['share_of_full']} of full), "
        f"{inc['records_pulled']} pulled for {inc['records_changed']} changed"
    )
    if "compute" in f:
        first = f["compute"]["compute"]["first"]
        print(
            f"compute          {first['seconds']} s, {first['statements']} statements, "
            f"{first['targets']} targets"
        )
    for label, calls in (
        ("push first", f["push"]["first"]),
        *(("push after 1 %", c) for c in f["push"]["after_1pct_change"]),
    ):
        for server, c in calls.items():
            print(
                f"{label:16} {server:10} {c['write_calls']} calls (minimum "
                f"{c['minimum_write_calls']}, rows {c['rows']}), "
                f"{c['association_calls']} association calls"
            )
    print(f"mapping alone    {f['mapping_alone']['records_per_s']:>10,} records/s")
    rss = f["rss"]
    print(
        f"peak RSS         {rss['small']['maxrss_mib']} MiB at scale {rss['small']['scale']}, "
        f"{rss['large']['maxrss_mib']} MiB at {rss['large']['scale']} (x{rss['ratio']})"
    )


if __name__ == "__main__":
    main()
