"""``make demo``: the sandbox CRMs, the shipped config, one in-process run on SQLite, the plans,
and the portfolio report.

Everything a newcomer sees is the real product: the shipped ``config/`` (mappings, metrics,
plans), the real connectors talking HTTP to the sandbox servers, the SQLite store in
``demo/`` and the QBR pages in ``demo/report/``. Only the CRMs are local.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from sandbox import Sandbox
from worker.cli import run

DEMO_DIR = Path("demo")
REPORT_DIR = DEMO_DIR / "report"
DEMO_URL = f"sqlite:///{DEMO_DIR}/partnerplan.db"
VENV_BIN = ".venv/bin"
NEXT_COMMANDS = (
    "runs",
    "status --plan P-00001-2026-Q4",
    "explain P-00001-2026-Q4 won_revenue",
    "quarantine list",
    "status --check",
)
"""The commands the demo ends with; tests/test_first_hour.py runs each as printed."""


def sandbox_env(sandbox: Sandbox) -> dict[str, str]:
    """The variables the shipped config reads, pointed at ``sandbox`` (demo, bench and tests)."""
    return {
        "SF_INSTANCE_URL": sandbox.salesforce_url,
        "SF_CLIENT_ID": sandbox.salesforce_client_id,
        "SF_CLIENT_SECRET": sandbox.salesforce_client_secret,
        "SF_CA_BUNDLE": str(sandbox.ca_bundle),
        "HUBSPOT_BASE_URL": sandbox.hubspot_url,
        "HUBSPOT_TOKEN": sandbox.hubspot_token,
    }


def main(argv: list[str] | None = None) -> int:
    """Start the sandbox, run the flow once, print the plan progress; return the exit code."""
    args = argv if argv is not None else sys.argv[1:]
    scale = int(args[0]) if args else int(os.environ.get("DEMO_SCALE", "20"))
    config = Path(os.environ.get("PARTNERPLAN_CONFIG", "config"))
    DEMO_DIR.mkdir(mode=0o700, exist_ok=True)
    for stale in [*DEMO_DIR.glob("partnerplan.db*"), REPORT_DIR]:
        if not stale.exists():
            continue
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    started = time.perf_counter()
    print(f"Starting the sandbox CRMs with {scale} partners ...", flush=True)
    with Sandbox(seed=1, scale=scale) as sandbox:
        os.environ.update(sandbox_env(sandbox))
        os.environ["DATABASE_URL"] = DEMO_URL
        print(f"  Salesforce: {sandbox.salesforce_url}   HubSpot: {sandbox.hubspot_url}")
        code = run(["run", "--config", str(config)])
        if code != 0:
            return code
        code = run(["status", "--config", str(config)])
        if code != 0:
            return code
        code = run(["report", "--all", "--config", str(config), "-o", str(REPORT_DIR)])
    print(f"Done in {time.perf_counter() - started:.0f} s. The store is {DEMO_DIR}/partnerplan.db.")
    print(closing_hint(config))
    if code == 0:
        print(f"The portfolio report: {(REPORT_DIR / 'index.html').resolve()}")
    return code


def closing_hint(config: Path) -> str:
    """What to type next: commands that work as printed, from the repository's directory.

    The first line puts the CLI on the PATH and points every command at the demo's store;
    the others only read that store (no CRM secret needed, the sandbox has stopped).
    """
    options = "" if config == Path("config") else f" --config {config}"
    lines = [
        f'export PATH="$PWD/{VENV_BIN}:$PATH" DATABASE_URL={DEMO_URL}',
        *(f"partnerplan {command}{options}" for command in NEXT_COMMANDS),
    ]
    return "Next, in this directory (a shell's lines, as printed):\n" + "\n".join(
        f"  {line}" for line in lines
    )


if __name__ == "__main__":
    sys.exit(main())
