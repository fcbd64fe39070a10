"""``python -m worker.cli``: the same as the ``partnerplan`` console script."""

from __future__ import annotations

from worker.cli import main

main()
