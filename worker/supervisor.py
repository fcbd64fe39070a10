"""``python -m worker.supervisor ARGS``: Dramatiq's command line, logging through partnerplan's.

``partnerplan worker`` replaces itself with this process. It configures partnerplan's logging
(``PARTNERPLAN_LOG_LEVEL``) before Dramatiq's supervisor starts, so the supervisor's own lines
are JSON (or console) lines like every other, then hands ``ARGS`` to Dramatiq unchanged.
"""

from __future__ import annotations

import os
import sys

from dramatiq.cli import main as dramatiq_main

from partnerplan.logs import configure


def main() -> int:
    """Configure logging, then run Dramatiq's supervisor with this process's arguments."""
    configure(os.environ.get("PARTNERPLAN_LOG_LEVEL", "warning"))
    sys.argv[0] = "partnerplan worker"
    return int(dramatiq_main() or 0)  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    sys.exit(main())
