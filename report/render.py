"""Rendering reports to HTML with Jinja2: one file per page, everything inline.

The templates (``report/templates``) get the model, the formatting functions of
:mod:`report.formats` as filters and the chart functions of :mod:`report.charts` as globals; the
stylesheet is inlined from ``report.css``. Every value is autoescaped; charts are SVG markup built
by :mod:`report.charts`. Pages carry a Content-Security-Policy that forbids loading anything, so a
stray reference to the network would fail loudly in the browser rather than leak a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from report import charts, formats
from report.model import PlanReport, Portfolio

_ENV = Environment(
    loader=PackageLoader("report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(
    fmt=formats.fmt,
    share=formats.share,
    stamp=formats.stamp,
    day=formats.day,
    status_label=formats.status,
)


def _status_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(status in words, count) rows for a bar chart."""
    return [(formats.status(status), count) for status, count in counts.items()]


def _pairs(items: Iterable[Any], label: str, value: str) -> list[tuple[str, Decimal | None]]:
    """(label, value) rows for a bar chart, read from two attributes of each item."""
    return [(str(getattr(item, label)), getattr(item, value)) for item in items]


_ENV.globals.update(
    trend_chart=charts.trend_chart,
    bar_chart=charts.bar_chart,
    status_rows=_status_rows,
    pairs=_pairs,
    status_label_colors={formats.status(s): color for s, color in charts.COLORS.items()},
    css=Markup(files("report").joinpath("templates", "report.css").read_text("utf-8")),  # noqa: S704 (our stylesheet)
)


def plan_html(report: PlanReport, *, portfolio_link: str | None = None) -> str:
    """The plan's QBR page (``portfolio_link``: a link back to the dashboard, when in one)."""
    return _ENV.get_template("plan.html.j2").render(plan=report, portfolio_link=portfolio_link)


def portfolio_html(portfolio: Portfolio) -> str:
    """The dashboard across partners, linking to each plan's page."""
    return _ENV.get_template("portfolio.html.j2").render(portfolio=portfolio)


def write(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` (UTF-8), creating its folder; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
