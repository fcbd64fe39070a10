"""Type coercions for field expressions: CRM JSON values to Decimal, date, datetime, int, bool, str.

Each coercion takes a non-null value and returns the typed value or raises
:class:`~partnerplan.errors.RecordError` with a reason a user can act on; the record is then
quarantined. Floats never reach a Decimal through binary arithmetic: ``Decimal(repr(x))`` keeps
the digits the CRM sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from partnerplan.errors import RecordError

Coercion = Callable[[Any], Any]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_decimal(value: Any) -> Decimal:
    """A number or numeric string (dot as decimal separator) as an exact Decimal."""
    if isinstance(value, bool):
        raise RecordError(f"{_show(value)} is a boolean, not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise RecordError(
                f"{_show(value)} is not a number; amounts use a dot for decimals and no "
                "thousands separators (e.g. 1234.5)"
            ) from None
    else:
        raise RecordError(f"{_show(value)} is not a number")
    if not result.is_finite():
        raise RecordError(f"{_show(value)} is not a finite number")
    return result


def _epoch_ms(text: str) -> datetime:
    return datetime.fromtimestamp(int(text) / 1000, tz=UTC)


def to_datetime(value: Any) -> datetime:
    """ISO 8601 with an offset, a date (its midnight UTC) or epoch ms, as an aware UTC datetime."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, int) and not isinstance(value, bool):
        return _epoch_ms(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _epoch_ms(text)
        if len(text) == 10:  # a date alone: the start of that day, UTC
            try:
                return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            except ValueError:
                pass
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(
                f"{_show(value)} is not a timestamp; expected ISO 8601 such as "
                "2026-04-02T11:20:31.000+0000 or epoch milliseconds"
            ) from None
    else:
        raise RecordError(f"{_show(value)} is not a timestamp")
    if stamp.tzinfo is None:
        raise RecordError(
            f"{_show(value)} has no timezone; timestamps must carry an offset (Z, +0000)"
        )
    return stamp.astimezone(UTC)


def to_date(value: Any) -> date:
    """``YYYY-MM-DD``, an ISO datetime (its UTC date) or epoch milliseconds, as a date."""
    if isinstance(value, datetime):
        return to_datetime(value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise RecordError(f"{_show(value)} is not a date; expected YYYY-MM-DD") from None
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            return to_datetime(value).date()
        except RecordError:
            raise RecordError(f"{_show(value)} is not a date; expected YYYY-MM-DD") from None
    raise RecordError(f"{_show(value)} is not a date; expected YYYY-MM-DD")


def to_int(value: Any) -> int:
    """An integer, an integral float, or a string of digits as an int."""
    if isinstance(value, bool):
        raise RecordError(f"{_show(value)} is a boolean, not an integer")
    if isinstance(value, int):
        return value
    try:
        number = to_decimal(value)
    except RecordError:
        raise RecordError(f"{_show(value)} is not an integer") from None
    if number != number.to_integral_value():
        raise RecordError(f"{_show(value)} is not a whole number")
    return int(number)


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def to_bool(value: Any) -> bool:
    """A boolean, or ``true``/``false`` (also ``1``/``0``, ``yes``/``no``) as a bool."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RecordError(f"{_show(value)} is not a boolean; expected true or false")


def to_string(value: Any) -> str:
    """A scalar as a string (numbers keep their digits); lists and objects are refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, int | Decimal):
        return str(value)
    raise RecordError(f"{_show(value)} is not a single value; pick a field inside it")


COERCIONS: dict[str, Coercion] = {
    "decimal": to_decimal,
    "date": to_date,
    "datetime": to_datetime,
    "int": to_int,
    "bool": to_bool,
    "string": to_string,
}
"""The ``type:`` names a field expression accepts."""
