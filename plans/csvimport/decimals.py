"""Numbers as spreadsheets export them, read only when they cannot be misread.

A cell such as ``50.000`` is fifty with a decimal point and fifty thousand with a decimal comma;
guessing wrong puts a target off by a factor of a thousand with nothing to show for it. So each
cell is read under both conventions: with ``--decimal-separator`` the user's convention decides;
without it a cell is accepted only when the decimal-point reading is the only one, or both
readings agree (``1234``, ``1,234.56``, ``0.35``). A cell that reads only with a decimal comma
(``12,5``, ``1.234,56``) or differently under each (``50.000``, ``120,000``) is refused with a
message naming the option. Thousands may be grouped by the other separator or by a space, in
groups of three digits, consistently; a trailing ``%`` is allowed and reported to the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class DecimalSeparator(StrEnum):
    """The character a sheet writes between the whole and the fractional part."""

    point = "."
    comma = ","


class NumberError(ValueError):
    """A cell is not a number, or is one only under a convention the user has not chosen."""


@dataclass(frozen=True)
class Number:
    """A number read from a cell, and whether it was written with a ``%`` sign."""

    value: Decimal
    percent: bool = False


def _pattern(decimal: DecimalSeparator) -> re.Pattern[str]:
    group = "," if decimal is DecimalSeparator.point else r"\."
    spaces = "\u0020\u00a0\u202f"  # space, no-break space, narrow no-break space
    grouped = rf"[1-9]\d{{0,2}}(?P<g>{group}|[{spaces}])\d{{3}}(?:(?P=g)\d{{3}})*"
    return re.compile(
        rf"^(?P<sign>[-+])?(?P<int>{grouped}|\d*)(?:{re.escape(decimal)}(?P<frac>\d+))?"
        r"\s*(?P<pct>%)?$"
    )


_PATTERNS = {sep: _pattern(sep) for sep in DecimalSeparator}


def _read(text: str, decimal: DecimalSeparator) -> Number | None:
    match = _PATTERNS[decimal].match(text)
    if match is None or not (match["int"] or match["frac"]):
        return None
    whole = re.sub(r"\D", "", match["int"]) or "0"
    fraction = f".{match['frac']}" if match["frac"] else ""
    value = Decimal(f"{match['sign'] or ''}{whole}{fraction}")
    return Number(value, percent=match["pct"] is not None)


def plain(value: Decimal) -> str:
    """``Decimal('50000.00')`` → ``50000``: the shortest fixed-point text, for messages."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_number(text: str, decimal: DecimalSeparator | None = None) -> Number:
    """Read ``text`` under ``decimal``, or refuse it if, without one, it could be misread.

    Raises:
        NumberError: the message says why and names ``--decimal-separator`` when it would help.
    """
    point = _read(text, DecimalSeparator.point)
    comma = _read(text, DecimalSeparator.comma)
    if decimal is not None:
        chosen, other = (point, comma) if decimal is DecimalSeparator.point else (comma, point)
        if chosen is not None:
            return chosen
        hint = ""
        if other is not None:
            flip = "," if decimal is DecimalSeparator.point else "."
            hint = f" (it reads as {plain(other.value)} with --decimal-separator {flip})"
        raise NumberError(
            f"{text!r} is not a number written with '{decimal.value}' for decimals{hint}"
        )
    if point is not None and (comma is None or comma.value == point.value):
        return point
    if point is None and comma is None:
        raise NumberError(f"{text!r} is not a number; write digits, e.g. 1234.56")
    if point is None:
        assert comma is not None
        raise NumberError(
            f"{text!r} has a decimal comma; pass --decimal-separator , to read the sheet that "
            f"way (or write {plain(comma.value)})"
        )
    assert comma is not None
    raise NumberError(
        f"{text!r} is ambiguous: {plain(point.value)} with a decimal point, "
        f"{plain(comma.value)} with a decimal comma; pass --decimal-separator . or "
        "--decimal-separator , to say which (or write it without a thousands separator)"
    )
