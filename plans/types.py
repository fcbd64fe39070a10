"""Column types that keep the design's promises on every database: aware UTC and exact money.

SQLite has no timezone-aware timestamp and no exact decimal, so both are encoded here once:

* :class:`UTCDateTime` refuses naive datetimes on the way in and returns aware UTC on the way out.
* :class:`Money` stores a ``Decimal`` as a scaled integer (4 decimal places), so that ``SUM()``
  in SQL is exact on SQLite as on PostgreSQL; the scale is applied back when results are read,
  including for ``func.sum(column)`` whose type SQLAlchemy takes from the column.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

MONEY_SCALE = 4
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_FACTOR = 10**MONEY_SCALE


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; timestamps must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any]:
        """UTC text on SQLite, an aware UTC datetime elsewhere: one call per value.

        The decorator would chain ``process_bind_param`` and the dialect's own processor, for
        every timestamp of every row the bulk upsert stores; this stores exactly what they did
        (``tests/plans/test_types.py`` holds them equal).
        """
        return _sqlite_stamp if dialect.name == "sqlite" else _aware_utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC)


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given; timestamps must be aware")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _sqlite_stamp(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME text, "2026-04-02 11:20:31.000000": the UTC isoformat less
    # its "+00:00" (cheaper than building the naive datetime first).
    stamp = _aware_utc(value)
    return None if stamp is None else stamp.isoformat(" ", "microseconds")[:-6]


def to_minor(value: Decimal) -> int:
    """A Decimal amount as the scaled integer the database stores."""
    return int((value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN) * _FACTOR).to_integral_value())


def from_minor(value: int | Decimal) -> Decimal:
    """The scaled integer the database stores (or summed) as a Decimal amount."""
    amount: Decimal = (Decimal(value) / _FACTOR).quantize(_QUANTUM)
    return amount


def _minor_or_none(value: Decimal | None) -> int | None:
    return None if value is None else to_minor(Decimal(value))


class Money(TypeDecorator[Decimal]):
    """An exact amount stored as a scaled BIGINT (1 unit = 10^-4 of the currency)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return to_minor(Decimal(value))

    def bind_processor(self, dialect: Dialect) -> Callable[[Decimal | None], Any]:
        """``process_bind_param`` without the decorator's wrapper call around it.

        BIGINT has no processor of its own, so the scaled integer goes to the driver as is.
        """
        return _minor_or_none

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_minor(value)
