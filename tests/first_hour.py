"""The README's first-hour path, walked as a newcomer walks it, in a fresh directory.

Shared by ``tests/test_first_hour.py`` (which checks each step's exit code and a line of its
output) and ``bench/first_hour.py`` (which reports how long each step took). Every command
runs as a separate process through the installed ``partnerplan`` console script, with the
PATH line the demo prints, in a directory holding only what a clone holds (``config/`` and a
``.venv``), and with no CRM variable set.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
"""The virtualenv's scripts (``partnerplan``) of the interpreter running the walk."""
CRM_VARIABLES = (
    "SF_INSTANCE_URL",
    "SF_CLIENT_ID",
    "SF_CLIENT_SECRET",
    "SF_CA_BUNDLE",
    "HUBSPOT_BASE_URL",
    "HUBSPOT_TOKEN",
)
HIDDEN = ("DATABASE_URL", "REDIS_URL", "PARTNERPLAN_CONFIG", "PARTNERPLAN_SECRETS_FILE")


@dataclass
class Step:
    """One command of the walk: what was typed, its exit code, its output and its duration."""

    command: str
    code: int
    out: str
    err: str
    seconds: float


@dataclass
class Walk:
    """A fresh directory that looks like a clone after ``make install``."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    @classmethod
    def fresh(cls, home: Path) -> Walk:
        """``config/`` copied, ``.venv`` pointing at this interpreter's virtualenv."""
        import shutil

        shutil.copytree(ROOT / "config", home / "config")
        (home / ".venv").symlink_to(Path(sys.executable).parent.parent)
        hidden = (*HIDDEN, *CRM_VARIABLES)
        env = {k: v for k, v in os.environ.items() if k not in hidden}
        # the checkout's code, whichever checkout the virtualenv's editable install names
        env["PYTHONPATH"] = str(ROOT)
        env["COLUMNS"] = "200"
        return cls(home, env)

    def shell(self, line: str, timeout: float = 300) -> Step:
        """Run one shell line as printed (``export`` lines change the walk's environment)."""
        started = time.perf_counter()
        if line.startswith("export "):
            for assignment in shlex.split(line)[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = os.path.expandvars(value.replace("$PWD", str(self.home)))
            step = Step(line, 0, "", "", time.perf_counter() - started)
        else:
            done = subprocess.run(
                ["bash", "-c", line],
                cwd=self.home,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            elapsed = time.perf_counter() - started
            step = Step(line, done.returncode, done.stdout, done.stderr, elapsed)
        self.steps.append(step)
        return step

    def demo(self, scale: int = 2) -> list[str]:
        """``make demo``'s program; returns the lines it tells the newcomer to type next."""
        step = self.shell(f"{shlex.quote(sys.executable)} -m worker.demo {scale}")
        if step.code != 0:
            raise AssertionError(f"the demo exited {step.code}:\n{step.out}\n{step.err}")
        hint = step.out.split("Next, in this directory", 1)[1].splitlines()[1:]
        return [line.strip() for line in hint if line.startswith("  ")]

    @contextmanager
    def sandbox(self) -> Iterator[Step]:
        """``partnerplan sandbox serve --format env`` in the background, its exports applied."""
        started = time.perf_counter()
        process = subprocess.Popen(
            ["bash", "-c", "exec partnerplan sandbox serve --scale 1 --format env"],
            cwd=self.home,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in CRM_VARIABLES]
            step = Step(
                "partnerplan sandbox serve --format env",
                0,
                "".join(lines),
                "",
                time.perf_counter() - started,
            )
            self.steps.append(step)
            for line in lines:
                self.shell(line.strip())
            yield step
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            for name in CRM_VARIABLES:
                self.env.pop(name, None)

    def report(self) -> str:
        """Each step with its exit code and duration: the closing note's table."""
        lines = [f"{'seconds':>8}  exit  command"]
        for step in self.steps:
            if step.command.startswith("export ") and "PATH" not in step.command:
                continue
            lines.append(f"{step.seconds:8.2f}  {step.code:>4}  {step.command[:90]}")
        return "\n".join(lines)
