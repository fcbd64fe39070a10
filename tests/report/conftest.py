"""The shipped demo's store and reports, and a headless Chromium to look at them with.

The demo (``worker/demo.py``: the sandbox CRMs, the shipped config, one run, then
``report --all``) runs once per module at a small scale. Chromium is Debian's ``chromium``
package (``.ci/run`` installs it): without it the browser tests are skipped locally and fail in
CI, like the PostgreSQL and Redis tests.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from report.browser import find_browser
from tests.report.chromium import Browser, chromium
from worker import demo as demo_module

REPO = Path(__file__).resolve().parents[2]
DEMO_SCALE = 4
SECRETS = {"SF_CLIENT_ID": "demo", "SF_CLIENT_SECRET": "demo", "HUBSPOT_TOKEN": "demo"}
"""What the shipped settings.yaml reads; a report reads the store, never the CRMs."""


@dataclass(frozen=True)
class Demo:
    """A finished ``make demo``: its folder, store and portfolio report."""

    root: Path
    database_url: str
    output: str

    @property
    def report(self) -> Path:
        """The portfolio report's folder."""
        return self.root / demo_module.REPORT_DIR


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``python -m worker.demo 4`` in a fresh folder, as a newcomer runs it (env restored after)."""
    root = tmp_path_factory.mktemp("demo")
    saved = dict(os.environ)
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.chdir(root)
        patch.setenv("PARTNERPLAN_CONFIG", str(REPO / "config"))
        try:
            code = demo_module.main([str(DEMO_SCALE)])
        finally:
            os.environ.clear()  # the demo exports the sandbox's URLs and its store's
            os.environ.update(saved)
    assert 0 == code, printed.getvalue()
    yield Demo(
        root, f"sqlite:///{root / demo_module.DEMO_DIR / 'partnerplan.db'}", printed.getvalue()
    )


@pytest.fixture(scope="session")
def browser_path() -> str:
    """The headless browser the report tests use (skipped locally, failed in CI, when absent)."""
    found = find_browser()
    if found is None:
        message = "no Chromium/Chrome found (Debian: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must install it (.ci/run)")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser(browser_path: str) -> Iterator[Browser]:
    """One headless Chromium for a module's tests (each page opens in a fresh tab)."""
    with chromium(browser_path) as running:
        yield running
