"""How long ``partnerplan --help`` and ``--version`` take, in fresh processes (median of N).

    .venv/bin/python -m bench.cli_startup                  # this checkout
    .venv/bin/python -m bench.cli_startup --repo ../main   # another checkout, for a before/after

Each run is a new interpreter (``python -m worker.cli``) with the checkout first on
``PYTHONPATH``, so the figure is what a user waits for. Nothing is asserted: it depends on the
machine (and on what else runs on it); the issue's aim is under 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(repo: Path, args: list[str], runs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "worker.cli", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            check=True,
        )
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    for args in (["--help"], ["--version"], ["status", "--help"]):
        try:
            seconds = timed(options.repo.resolve(), args, options.runs)
        except subprocess.CalledProcessError as exc:
            print(f"partnerplan {' '.join(args)}: exit {exc.returncode}")
            continue
        print(
            f"partnerplan {' '.join(args):<16} median {statistics.median(seconds):.2f} s "
            f"(min {min(seconds):.2f}, max {max(seconds):.2f}, {options.runs} runs)"
        )


if __name__ == "__main__":
    main()
