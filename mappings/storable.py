"""What the store can hold, checked on every mapped value so one bad record never blocks a page.

A CRM can hand us values no database column takes: an amount of ``1e15`` (money is stored as a
scaled 64-bit integer), ``1e300`` or an infinity, text with a NUL byte (PostgreSQL refuses it in
text and JSON), an unpaired UTF-16 surrogate (not Unicode text at all, so not encodable as
UTF-8), an integer beyond 64 bits in an attribute (JSON in the store is 64-bit), a date in the
year 9999. Such a value used to fail the whole page's statement, and the same page again on every
run. Checked here, at mapping time, the record is quarantined with a reason naming the field and
the rest of the page is stored, on SQLite and PostgreSQL alike.

Nothing is cleaned silently: removing a NUL or a surrogate loses what the CRM holds, so the
record goes to quarantine where the value can be seen and fixed at its source. The one lossless
rewrite is in :func:`quarantine_safe`, which escapes such characters (``\\u0000``) so that the
quarantined *raw* record itself can be stored and shown.

Implausible dates: a business date or timestamp before 1900-01-01 or after 2199-12-31 is taken
for a typo (``2925`` for ``2025``) rather than a plan's data, and quarantined.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

MONEY_SCALE = 4
"""Decimal places the store keeps (``plans.types.Money``); a test keeps the two equal."""
MAX_AMOUNT = Decimal(2**63 - 1).scaleb(-MONEY_SCALE)
"""The largest amount a scaled BIGINT holds: 922,337,203,685,477.5807."""
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
INT_RANGE = (-(2**63), 2**63 - 1)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    match = _UNSTORABLE.search(value)
    if match is None:
        return None
    char = match.group(0)
    where = f"at character {match.start() + 1}"
    if char == "\x00":
        return (
            f"contains a NUL byte (\\x00) {where}, which the store cannot hold; fix it in the CRM"
        )
    return (
        f"contains an unpaired UTF-16 surrogate (\\u{ord(char):04x}) {where}: not valid Unicode "
        "text; fix it in the CRM"
    )


def amount_problem(value: Decimal) -> str | None:
    """Why ``value`` cannot be stored as money, or None."""
    if not value.is_finite():
        return f"{value} is not a finite number"
    if abs(value) > MAX_AMOUNT:
        return (
            f"{value:.6g} is beyond the amounts the store holds (±{MAX_AMOUNT:,.0f}); "
            "check the value in the CRM"
        )
    return None


def date_problem(value: date) -> str | None:
    """Why ``value`` is not a plausible business date or timestamp, or None."""
    day = value.date() if isinstance(value, datetime) else value
    if EARLIEST <= day <= LATEST:
        return None
    return (
        f"{value.isoformat()} is outside {EARLIEST.isoformat()}..{LATEST.isoformat()}, taken for "
        "a typo in the CRM (see config/mappings/README.md, Implausible dates)"
    )


def value_problem(value: Any) -> str | None:
    """Why a mapped value (a normalized field or an attribute, nested or not) cannot be stored."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        low, high = INT_RANGE
        return None if low <= value <= high else f"{value} does not fit in 64 bits"
    if isinstance(value, Decimal):
        return None if value.is_finite() else f"{value} is not a finite number"
    if isinstance(value, float):
        return None if value == value and abs(value) != float("inf") else f"{value} is not finite"
    if isinstance(value, datetime | date):
        return date_problem(value)
    if isinstance(value, dict):
        for key, item in value.items():
            problem = value_problem(str(key)) or value_problem(item)
            if problem:
                return problem
        return None
    if isinstance(value, list | tuple):
        for item in value:
            problem = value_problem(item)
            if problem:
                return problem
    return None


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def quarantine_safe(value: Any) -> Any:
    """``value`` with NUL bytes and lone surrogates spelled ``\\u0000`` (storable as JSON).

    Only for the raw record kept in quarantine, where showing the bad value matters more than
    keeping its exact bytes; numbers beyond JSON's 64 bits become their digits as text.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub(_escape, value)
    if isinstance(value, dict):
        return {quarantine_safe(str(k)): quarantine_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [quarantine_safe(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        return str(value)
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        return str(value)
    return value
