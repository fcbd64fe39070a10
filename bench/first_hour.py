"""The README's first-hour path, timed: what a newcomer waits for at each step.

    .venv/bin/python -m bench.first_hour

Runs the same walk as ``tests/test_first_hour.py`` (``tests/first_hour.py``) in a temporary
folder and prints each command with its exit code and duration. Nothing is asserted here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.first_hour import BIN, Walk


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        demo = Walk.fresh(Path(folder) / "demo")
        for line in demo.demo(scale=20):
            demo.shell(line)
        print("after make demo (DEMO_SCALE 20):")
        print(demo.report())
        own = Walk.fresh(Path(folder) / "own")
        own.shell(f'export PATH="{BIN}:$PATH"')
        own.shell("partnerplan init myconfig")
        with own.sandbox():
            own.shell("partnerplan validate --config myconfig")
            own.shell("partnerplan run --config myconfig")
            own.shell("partnerplan status --config myconfig")
        print("\nyour own config, against the sandbox:")
        print(own.report())


if __name__ == "__main__":
    main()
