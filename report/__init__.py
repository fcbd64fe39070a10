"""QBR reports: a plan's shareable page and the portfolio dashboard, as self-contained HTML.

Reads the store only (plans, sections, targets, progress and its history in
:mod:`plans.history`); the worker's CLI (``partnerplan report``) supplies the clock, the settings
and each stream's freshness. One file per page with styles and SVG charts inline, nothing loaded
from the network, printable (``--pdf`` prints it through a headless Chromium). ::

    load.py      store -> model (PlanReport, Portfolio)      model.py   the values a page shows
    charts.py    trend and bar charts (leather -> SVG)        render.py  Jinja2 templates -> HTML
    formats.py   numbers, dates, statuses (shared with ``partnerplan status``)
    browser.py   find a headless browser, print to PDF       errors.py  what can go wrong
"""

from __future__ import annotations

from report.browser import find_browser, print_pdf
from report.errors import NoBrowser, PdfFailed, UnknownPlan
from report.load import Context, page_file, plan_keys, plan_report, portfolio
from report.model import PlanReport, Portfolio
from report.render import plan_html, portfolio_html, write

__all__ = [
    "Context",
    "NoBrowser",
    "PdfFailed",
    "PlanReport",
    "Portfolio",
    "UnknownPlan",
    "find_browser",
    "page_file",
    "plan_html",
    "plan_keys",
    "plan_report",
    "portfolio",
    "portfolio_html",
    "print_pdf",
    "write",
]
