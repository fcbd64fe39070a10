"""Charts as inline SVG, drawn server-side with leather, so a report file needs nothing else.

leather (no dependencies, deterministic output, a few kilobytes per chart) lays out the scales,
axes, legend and shapes; this module chooses the series and wraps the result in an ``<svg>``
with a ``viewBox`` (so it scales with the page), ``role="img"`` and a ``<title>``, and points to
the table that holds the same numbers (``aria-describedby``). Fonts and colours of text come
from the page's stylesheet, which overrides leather's presentation attributes.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import leather
from markupsafe import Markup

from report import formats
from report.model import TargetView

WIDTH, HEIGHT = 640, 220
BAR_WIDTH = 460
COLORS = {
    "achieved": "#1b5e20",
    "on_track": "#2e7d32",
    "at_risk": "#b26a00",
    "off_track": "#c62828",
    "no_data": "#757575",
}
ACTUAL, PACE, TARGET, FORECAST = "#1f4e9c", "#8a94a6", "#444444", "#d9822b"


def _svg(
    chart: leather.Chart, ident: str, title: str, table_id: str, width: int, height: int
) -> Markup:
    root = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {width} {height}",
            "class": "chart",
            "role": "img",
            "aria-labelledby": f"{ident}-title",
            "aria-describedby": table_id,
        },
    )
    label = ET.SubElement(root, "title", {"id": f"{ident}-title"})
    label.text = title
    root.append(chart.to_svg_group(width=width, height=height))
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 (our own serialized tree)


_STEPS = (1.0, 1.2, 1.6, 2.0, 2.4, 3.0, 4.0, 5.0, 6.0, 8.0)
"""Axis tops whose quarters are round numbers (1.2 -> 0.3, 0.6, 0.9; 1.6 -> 0.4, 0.8, 1.2)."""


def _nice_top(value: float) -> float:
    """The smallest round axis top at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in _STEPS:
        if value <= step * power * 1.000001:
            return step * power
    return 10.0 * power


def _y_axis(chart: leather.Chart, top: float, unit: str) -> None:
    chart.add_y_scale(0, top)
    ticks = [top * i / 4 for i in range(5)]
    chart.add_y_axis(ticks=ticks, tick_formatter=lambda v, *_: formats.compact(v, unit))


def _steps(target: TargetView, today: date) -> list[tuple[date, float]]:
    """The actual as a step line: each snapshot holds until the next, the last until today."""
    points: list[tuple[date, float]] = []
    last: float | None = None
    for point in target.trend:
        if point.actual is None:
            continue
        value = float(point.actual)
        if last is not None:
            points.append((point.day, last))
        points.append((point.day, value))
        last = value
    end = min(today, target.period.end)
    if last is not None and points and points[-1][0] < end:
        points.append((end, last))
    return points


def trend_chart(target: TargetView, today: date, table_id: str) -> Markup:
    """The target through its period: actual (steps, a dot per snapshot), the expected-to-date,
    the target and, for running totals, the forecast to the period's end."""
    period = target.period
    steps = _steps(target, today)
    forecast = target.progress.forecast if target.progress is not None else None
    values = [float(target.value), *(v for _, v in steps), *(float(v) for _, v in target.pace)]
    if forecast is not None and target.additive:
        values.append(float(forecast))
    chart = leather.Chart()
    chart.add_x_scale(period.start, period.end)
    months = [m.start for m in period.months()]
    chart.add_x_axis(
        ticks=[*months, period.end] if len(months) <= 12 else [period.start, period.end],
        tick_formatter=lambda d, *_: f"{d:%b} {d.day}",
    )
    _y_axis(chart, _nice_top(max(values) * 1.05), target.unit)
    chart.add_line(
        [(period.start, float(target.value)), (period.end, float(target.value))],
        name="Target",
        stroke_color=TARGET,
        width=1,
        stroke_dasharray="6 4",
    )
    if target.pace:
        chart.add_line(
            [(d, float(v)) for d, v in target.pace],
            name="Expected",
            stroke_color=PACE,
            width=1.5,
        )
    if steps:
        chart.add_line(steps, name="Actual", stroke_color=ACTUAL, width=2.5)
        dots = [(p.day, float(p.actual)) for p in target.trend if p.actual is not None]
        chart.add_dots(dots, name="Snapshot", fill_color=ACTUAL, radius=3)
        if forecast is not None and target.additive and steps[-1][0] < period.end:
            chart.add_line(
                [steps[-1], (period.end, float(forecast))],
                name="Forecast",
                stroke_color=FORECAST,
                width=1.5,
                stroke_dasharray="3 3",
            )
    actual = formats.fmt(target.actual, target.currency, target.unit)
    goal = formats.fmt(target.value, target.currency, target.unit)
    title = (
        f"Trend of {target.name} in {period.name}: actual {actual} against a target of {goal}, "
        f"{len(target.trend)} snapshot(s)"
    )
    return _svg(chart, f"chart-{target.id}", title, table_id, WIDTH, HEIGHT)


def bar_chart(
    ident: str,
    title: str,
    rows: Sequence[tuple[str, Decimal | int | None]],
    table_id: str,
    *,
    unit: str | None = None,
    colors: dict[str, str] | None = None,
) -> Markup:
    """Horizontal bars, one per (label, value) row; values shown as percentages when ``unit`` is
    ``share`` (attainment), colored per label when ``colors`` names them."""
    data = [
        (float(v) * (100 if unit == "share" else 1), label) for label, v in rows if v is not None
    ]
    if not data:
        data = [(0.0, "no data")]
    chart = leather.Chart()
    chart.add_x_scale(0, _nice_top(max(v for v, _ in data) * 1.05))
    suffix = "percent" if unit == "share" else None
    chart.add_x_axis(tick_formatter=lambda v, *_: formats.compact(v, suffix))
    palette = colors or {}

    def fill(datum: Any) -> str:
        return palette.get(datum.y, ACTUAL)

    chart.add_bars(data, fill_color=fill)
    height = max(110, 50 + 26 * len(data))
    return _svg(chart, ident, title, table_id, BAR_WIDTH, height)
