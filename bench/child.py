"""One ``partnerplan run`` in a process of its own, so its peak RSS and time are its alone.

    python -m bench.child --config DIR --database-url URL [--full] [--profile FILE]

Runs the real CLI entry point (``worker.cli.run``: the schema upgrade, the progress
bars, every stage) and prints one JSON line on stdout: the exit code, the wall time measured
around the command with ``time.perf_counter``, and this process's peak RSS
(``VmHWM``, KiB). ``--profile`` runs the same command under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB.

    ``VmHWM`` rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` over from the parent
    through fork and exec, so a child of a big parent (the bench process holds the sandbox's
    records) would report the parent's peak. ``VmHWM`` belongs to this process's own memory.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    """Run the command once and report on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--profile", help="write cProfile stats to this file")
    args = parser.parse_args()
    imported = time.perf_counter()
    from worker.cli import run

    argv = ["run", "--config", args.config, "--database-url", args.database_url]
    if args.full:
        argv.append("--full")
    started = time.perf_counter()
    if args.profile:
        profiler = cProfile.Profile()
        code = profiler.runcall(run, argv)
        profiler.dump_stats(args.profile)
    else:
        code = run(argv)
    seconds = time.perf_counter() - started
    report = {
        "exit_code": code,
        "seconds": seconds,
        "import_seconds": started - imported,
        "maxrss_kib": peak_rss_kib(),
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
