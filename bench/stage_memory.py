"""Where the full sync's peak memory comes from: RSS after each stage of ``partnerplan run --full``.

    .venv/bin/python -m bench.stage_memory [--scale 100]

Starts a sandbox and runs the command in a child process whose stage functions are wrapped to
print ``VmRSS`` / ``VmHWM`` (MiB) after each stage (every stream, then compute, then push). It
explains figure 7 of ``bench.run``: which stage grows with the scale.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.workload import ROOT, store, write_config
from sandbox import Sandbox
from worker import pipeline
from worker.cli import run
from worker.demo import sandbox_env


def _memory() -> dict[str, int]:
    found: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, value = line.split(":")
            found[name] = int(value.split()[0]) // 1024
    return found


def child(config: str, url: str) -> int:
    """In the child: wrap every stage, then run the CLI."""
    for name, body in list(pipeline.STAGES.items()):

        def wrapped(ctx: Any, run_row: Any, body: Any = body, name: str = name) -> str:
            outcome: str = body(ctx, run_row)
            where = run_row.stream or name
            print(f"{where:24} {_memory()}", file=sys.stderr, flush=True)
            return outcome

        pipeline.STAGES[name] = wrapped
    return run(["run", "--full", "--config", config, "--database-url", url])


def main() -> None:
    """Start the sandbox and the child; print the child's per-stage memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.exit(child(*args.child))
    with tempfile.TemporaryDirectory(prefix="pp-bench-") as folder:
        tmp = Path(folder)
        config = write_config(tmp / "config")
        with Sandbox(seed=1, scale=args.scale) as sb, store("sqlite", tmp) as url:
            done = subprocess.run(  # noqa: S603 - our own module, arguments built here
                [sys.executable, "-m", "bench.stage_memory", "--child", str(config), url],
                env={**os.environ, **sandbox_env(sb)},
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
    print(f"scale {args.scale}, MiB after each stage:")
    print("\n".join(line for line in done.stderr.splitlines() if "VmHWM" in line))


if __name__ == "__main__":
    main()
