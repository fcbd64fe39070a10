"""The demo's reports in a real headless Chromium: they load offline and clean, show every target,
render something visible, and print to the pages the layout promises."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlmodel import Session

from plans.catalogue import load_catalogue
from plans.db import make_engine
from plans.status import status_lines
from report.formats import fmt
from report.load import page_file
from tests.report.chromium import Browser, Page
from tests.report.conftest import REPO, SECRETS, Demo
from worker.cli import run as cli

PLAN = "P-00001-2026-Q4"
"""The demo's fullest plan: 11 targets in four sections, target accounts, action items, a link."""
MB = 1024 * 1024


def _keep(page: Page, name: str) -> None:
    """Copy the screenshot to ``PARTNERPLAN_SCREENSHOTS`` when set (to look at it)."""
    folder = os.environ.get("PARTNERPLAN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(page.screenshot)


def _not_blank(png: bytes) -> float:
    """The share of pixels that differ from the most common colour."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 24) or []
    background = max(count for count, _ in colors)
    return 1 - background / (image.width * image.height)


def _lines(demo: Demo, plan: str) -> list[tuple[str, str]]:
    """Each computed target of ``plan``: its label and its actual as ``status`` would print it."""
    catalogue, _ = load_catalogue(None)
    engine = make_engine(demo.database_url)
    with Session(engine) as session:
        lines = status_lines(session, catalogue, plan_keys={plan})
    engine.dispose()
    return [
        (
            line.label,
            fmt(
                line.progress.actual,
                line.currency or ("USD" if line.unit == "money" else None),
                line.unit,
            ),
        )
        for line in lines
    ]


def test_make_demo_ends_by_writing_the_portfolio_report_and_printing_its_path(demo):
    """The demo's last line is the path of the portfolio report it wrote."""
    index = (demo.root / "demo" / "report" / "index.html").resolve()
    assert f"The portfolio report: {index}" == demo.output.strip().splitlines()[-1]
    assert index.is_file()


def test_a_plan_page_loads_offline_without_errors_and_shows_every_target(demo, browser: Browser):
    """No console error, no request but the file itself, every target's label and actual in the
    rendered text, a screenshot that is not blank, and under 1 MB."""
    path = demo.report / page_file(PLAN)
    page = browser.open(path)
    _keep(page, "plan.png")
    expected = _lines(demo, PLAN)
    rendered = page.text.splitlines()
    missing = [
        (label, actual)
        for label, actual in expected
        if not any(label in row and actual in row for row in rendered)
    ]
    assert (11, [], [], [page.url]) == (len(expected), missing, page.console_errors, page.requests)
    assert _not_blank(page.screenshot) > 0.05
    assert path.stat().st_size < MB


def test_the_portfolio_loads_offline_and_links_every_plan_page(demo, browser: Browser):
    """The dashboard loads clean and offline, names every plan and links to a page for each."""
    index = demo.report / "index.html"
    page = browser.open(index)
    _keep(page, "portfolio.png")
    links = set(re.findall(r'href="([^"#]+\.html)', index.read_text()))
    plans = sorted(p.name for p in demo.report.glob("*.html") if p.name != "index.html")
    assert ([], [page.url]) == (page.console_errors, page.requests)
    assert sorted(links) == plans
    assert all(name.removesuffix(".html") in page.text for name in plans)
    assert _not_blank(page.screenshot) > 0.05


def test_the_pdf_has_the_pages_the_print_layout_promises(demo, browser_path, tmp_path, monkeypatch):
    """``--pdf``: the cover, one page per four targets of a section, changes, details: 7 page
    sections; the details print on two pages (the freshness of the shipped config's 27 streams)."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    html = tmp_path / "qbr.html"
    args = ["report", "--plan", PLAN, "-o", str(html), "--pdf"]
    code = cli([*args, "--config", str(REPO / "config"), "--database-url", demo.database_url])
    pages = len(PdfReader(tmp_path / "qbr.pdf").pages)
    folder = os.environ.get("PARTNERPLAN_SCREENSHOTS")
    if folder:
        shutil.copy(tmp_path / "qbr.pdf", Path(folder) / "plan.pdf")
    assert (0, 7, 8) == (code, html.read_text().count('<section class="page'), pages)


def test_the_harness_sees_requests_and_console_errors(tmp_path, browser: Browser):
    """A page that fetches from the network and logs an error is caught (the checks can fail)."""
    leaky = tmp_path / "leaky.html"
    leaky.write_text(
        '<!doctype html><html><body><img src="http://127.0.0.1:9/x.png">'
        '<script>console.error("boom")</script></body></html>'
    )
    page = browser.open(leaky, full_page=False)
    assert "http://127.0.0.1:9/x.png" in page.requests
    assert any("boom" in error for error in page.console_errors)


@pytest.mark.parametrize("name", ["index.html", page_file(PLAN)])
def test_reports_forbid_loading_anything(demo, name):
    """Each page declares a Content-Security-Policy that lets nothing load."""
    text = (demo.report / name).read_text()
    assert "default-src 'none'" in text
    assert not re.search(r'\b(src|href)="(https?:)?//', text.replace(_attachment_links(text), ""))


def _attachment_links(text: str) -> str:
    """The attachments list: links to click, not resources to load."""
    match = re.search(r"<h3>Attachments</h3>.*?</ul>", text, re.S)
    return match.group(0) if match else "\x00"
