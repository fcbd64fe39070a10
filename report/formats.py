"""How numbers, dates and statuses read, in the terminal (``partnerplan status``) and in reports.

One place, so that a partner sees "397,100 USD" in the QBR pack exactly as the channel manager
saw it in ``status``: thousands separated, no trailing zeros, the currency after the amount; a
percent metric with ``%``, a duration with ``days``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

NOT_AVAILABLE = "n/a"
_STATUS_LABELS = {
    "achieved": "achieved",
    "on_track": "on track",
    "at_risk": "at risk",
    "off_track": "off track",
    "no_data": "no data",
}


def fmt(value: Decimal | None, currency: str | None = None, unit: str | None = None) -> str:
    """An amount as ``status`` prints it; ``unit`` (a metric's) adds ``%`` or ``days``.

    Args:
        value: the amount; None reads ``n/a``.
        currency: written after a money amount.
        unit: the metric's unit: ``percent`` and ``days`` are written with theirs.
    """
    if value is None:
        return NOT_AVAILABLE
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if unit == "percent":
        return f"{text}%"
    if unit == "days":
        return f"{text} day" if value == 1 else f"{text} days"
    return f"{text} {currency}" if currency else text


def share(value: Decimal | None) -> str:
    """A fraction (attainment 0.9925) as a whole percent ("99%"), or ``n/a``."""
    return NOT_AVAILABLE if value is None else f"{value * 100:.0f}%"


def compact(value: Decimal | float, unit: str | None = None) -> str:
    """A short axis label: 1.2M, 400k, 35%, 5 d (the chart's table carries the exact values)."""
    number = float(value)
    size = abs(number)
    if size >= 1_000_000:
        text = f"{number / 1_000_000:.3g}M"
    elif size >= 10_000:
        text = f"{number / 1_000:.3g}k"
    else:
        text = f"{number:,.4g}"
    if unit == "percent":
        return f"{text}%"
    if unit == "days":
        return f"{text} d"
    return text


def stamp(moment: datetime | None, missing: str = "never") -> str:
    """An aware timestamp to the minute in UTC, as ``status`` prints freshness."""
    return missing if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def day(value: date | None, missing: str = "") -> str:
    """A date in ISO form (read the same way in every country a partner may be in)."""
    return missing if value is None else value.isoformat()


def status(value: str | None) -> str:
    """A progress status as words ("on track")."""
    if value is None:
        return NOT_AVAILABLE
    return _STATUS_LABELS.get(value, value.replace("_", " "))
