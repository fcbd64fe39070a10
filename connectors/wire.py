"""Small wire-format helpers shared by the connectors: timestamps, exact JSON numbers, batching."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def parse_timestamp(value: Any) -> datetime:
    """Parse a CRM timestamp to an aware UTC datetime.

    Accepts Salesforce's ``2024-04-01T17:03:11.000+0000``, HubSpot's ``...Z`` (with or without
    milliseconds) and epoch milliseconds (older HubSpot properties).
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    else:
        parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch (HubSpot's search filter values)."""
    return int(value.timestamp() * 1000 + (0.5 if value.timestamp() >= 0 else -0.5))


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        as_float = float(value)
        # A JSON number is written from the float's shortest repr; use it only when that text
        # is exactly the Decimal, otherwise send the digits as a string (never a rounded value).
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write a {type(value).__name__} to the CRM")


def dumps(body: Any) -> str:
    """JSON for a CRM request: Decimals exact, datetimes ISO UTC, dates ``YYYY-MM-DD``."""
    return json.dumps(body, default=_exact, separators=(",", ":"))


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def isolate(
    batch: Sequence[T],
    send: Callable[[Sequence[T]], list[R]],
    reject: Callable[[T, Exception], R],
    rejected: type[Exception],
) -> list[R]:
    """Send ``batch``; if the CRM rejects it whole, halve it until the bad record is alone.

    A batch with one bad record then costs about ``2 * log2(n)`` extra calls, and every good
    record is still written; the bad one gets its own reason.
    """
    try:
        return send(batch)
    except rejected as exc:
        if len(batch) == 1:
            return [reject(batch[0], exc)]
        middle = len(batch) // 2
        return isolate(batch[:middle], send, reject, rejected) + isolate(
            batch[middle:], send, reject, rejected
        )
