"""Printing a report to PDF with a headless Chromium or Chrome, when one is installed.

The HTML report is the product; the PDF is the same page printed by a real browser engine, so
the print stylesheet decides the pages. Nothing is bundled: ``PARTNERPLAN_BROWSER`` names the
browser, else the usual Chromium/Chrome/Edge names are looked up on ``PATH``; without one,
:class:`~report.errors.NoBrowser` says how to get one. The browser runs with a fresh profile and
its background networking, component updates and sync off, so printing sends nothing anywhere
(the page itself forbids loading anything through its Content-Security-Policy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from report.errors import NoBrowser, PdfFailed

BROWSER_ENV = "PARTNERPLAN_BROWSER"
NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "microsoft-edge",
    "msedge",
)
HEADLESS = (
    "--headless",
    # The browser's sandbox cannot start as root or in most containers; the page is our own,
    # static and forbidden from loading anything.
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for every headless run (the tests' browser uses them too)."""
HOW_TO_GET_ONE = (
    "install Chromium (Debian/Ubuntu: apt-get install chromium; Fedora: dnf install chromium; "
    "macOS: brew install --cask chromium) or Google Chrome, or set PARTNERPLAN_BROWSER to a "
    "Chromium-based browser's executable"
)


def find_browser() -> str | None:
    """``PARTNERPLAN_BROWSER``, else the first Chromium-based browser on ``PATH``, else None."""
    named = os.environ.get(BROWSER_ENV)
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: Path, pdf: Path, *, browser: str | None = None, timeout: float = 120) -> Path:
    """Print ``html`` to ``pdf`` with a headless browser; returns ``pdf``.

    Raises:
        NoBrowser: none is installed (the message says how to get one).
        PdfFailed: the browser ran but wrote no PDF.
    """
    executable = browser or find_browser()
    if executable is None:
        raise NoBrowser(f"--pdf needs a headless browser and none was found: {HOW_TO_GET_ONE}")
    pdf = pdf.resolve()
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="partnerplan-browser-") as profile:
        command = [
            executable,
            *HEADLESS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(  # noqa: S603 (the user's own browser, our own arguments)
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfFailed(f"{executable} could not print {html}: {exc}") from exc
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        said = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise PdfFailed(
            f"{executable} exited {done.returncode} without writing {pdf}"
            + (f": {said}" if said else "")
        )
    return pdf
