"""Timestamps as each CRM writes and reads them; the store keeps every instant as epoch ms (UTC).

Salesforce JSON: ``2024-04-01T17:03:11.000+0000`` (milliseconds, offset without a colon); Bulk
CSV: ``...000Z`` (the reference marks that [mem]; assumed). HubSpot: ISO with ``Z`` and the
milliseconds dropped when zero, as Java's ``Instant.toString()`` writes them.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    """The current instant in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def to_datetime(ms: int) -> datetime:
    """Epoch ms → aware UTC datetime."""
    return EPOCH + timedelta(milliseconds=ms)


@lru_cache(maxsize=4096)
def _day_text(day: int) -> str:
    return (EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")


def sf_datetime(ms: int) -> str:
    """Epoch ms → Salesforce JSON dateTime (hot: every served record has several)."""
    day, rest = divmod(ms, 86_400_000)
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day_text(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}+0000"


def sf_csv_datetime(ms: int) -> str:
    """Epoch ms → Bulk 2.0 CSV dateTime."""
    return sf_datetime(ms)[:-5] + "Z"


def hs_datetime(ms: int) -> str:
    """Epoch ms → HubSpot ISO instant (``Z``; milliseconds only when non-zero)."""
    moment = to_datetime(ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def parse_instant(text: str) -> int:
    """Any ISO-8601 instant with ``Z`` or an offset (with or without colon) → epoch ms.

    Raises:
        ValueError: the text is not an instant with a zone (naive values are ambiguous).
    """
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return (moment - EPOCH) // timedelta(milliseconds=1)


def day_ms(day: date) -> int:
    """Midnight UTC of ``day`` in epoch ms (HubSpot date properties are written so)."""
    return (datetime(day.year, day.month, day.day, tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)


def ms_day(ms: int) -> str:
    """Epoch ms → ``YYYY-MM-DD`` (UTC)."""
    return to_datetime(ms).date().isoformat()
