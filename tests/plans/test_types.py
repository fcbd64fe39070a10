"""Column types: the one-call bind processors store exactly what the decorators stored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.dialects.sqlite import pysqlite

from plans.db import json_dumps
from plans.types import Money, UTCDateTime

DIALECTS = [pysqlite.dialect(), psycopg.dialect()]
STAMPS = [
    datetime(2026, 4, 2, 11, 20, 31, tzinfo=UTC),
    datetime(2026, 4, 2, 11, 20, 31, 123456, tzinfo=UTC),
    datetime(2026, 4, 2, 23, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 12, 31, 20, 0, 0, 1, tzinfo=timezone(timedelta(hours=-7))),
    datetime(999, 1, 1, tzinfo=UTC),
    None,
]
AMOUNTS = [Decimal("1234.56789"), Decimal("0.00005"), Decimal("0.00015"), Decimal("-12.5"), 7, None]


def _chained(column_type, dialect):
    """What SQLAlchemy's decorator did: process_bind_param, then the dialect's own processor."""
    impl = column_type.impl_instance.dialect_impl(dialect).bind_processor(dialect)
    return lambda value: (impl or (lambda v: v))(column_type.process_bind_param(value, dialect))


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_timestamps_bind_as_the_decorator_and_the_dialect_did(dialect):
    """Any aware timestamp is stored as the same UTC text (SQLite) or UTC instant as before."""
    fast = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    chained = _chained(UTCDateTime(), dialect)
    assert [repr(chained(v)) for v in STAMPS] == [repr(fast(v)) for v in STAMPS]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_naive_timestamps_are_refused_by_the_bind_processor(dialect):
    """A naive datetime never reaches the database, whichever path binds it."""
    fast = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    with pytest.raises(ValueError, match="naive datetime"):
        fast(datetime(2026, 3, 1, 9, 30))


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_amounts_bind_as_the_same_scaled_integers(dialect):
    """Amounts are rounded half-even to 4 places and scaled, exactly as the decorator did."""
    fast = Money().dialect_impl(dialect).bind_processor(dialect)
    chained = _chained(Money(), dialect)
    assert [chained(v) for v in AMOUNTS] == [fast(v) for v in AMOUNTS]
    assert [12345679, 0, 2, -125000, 70000, None] == [fast(v) for v in AMOUNTS]


@pytest.mark.parametrize(
    "value",
    [
        {"product_line": "Platform", "tags": ["a", "b"], "n": 3, "ok": True, "none": None},
        {"name": "Zürich Ü €", "nested": [{"x": 1.5}]},
        {1: "integer keys become strings"},
        {"huge": 2**70},
        [],
    ],
)
def test_json_columns_store_what_the_stdlib_wrote(value):
    """JSON columns serialize to the same document as json.dumps (blanks aside)."""
    assert json.loads(json.dumps(value)) == json.loads(json_dumps(value))


@pytest.mark.parametrize(
    "value", [{"at": datetime(2026, 1, 1, tzinfo=UTC)}, {"on": date(2026, 1, 1)}, {"x": Decimal(1)}]
)
def test_json_columns_refuse_what_the_stdlib_refused(value):
    """Dates and Decimals are not silently turned into JSON: callers convert them on purpose."""
    with pytest.raises(TypeError):
        json_dumps(value)
