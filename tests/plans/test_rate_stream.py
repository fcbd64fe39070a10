"""A ``kind: rate`` stream (Salesforce's DatedConversionRate) fills the rate table.

Its rows are tagged with the stream's name; ``rates.yaml``'s ``stream:`` makes the engine
convert with them instead of the configured entries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from mappings.loader import MappingSet, load_mappings
from plans.ingest import store_batch
from plans.planfile import PlanSet
from plans.rates import RateSet, RatesFile
from plans.store import FxRateRow
from tests.mappings.conftest import SHIPPED
from tests.plans.factories import (
    activity,
    add_activities,
    add_partners,
    compute,
    plan,
    progress_by_key,
    store_plans,
    utc,
)

NOW = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def mappings() -> MappingSet:
    """The shipped mappings (their sf_rates stream reads DatedConversionRate)."""
    loaded, problems = load_mappings(SHIPPED)
    assert loaded is not None, problems
    return loaded


def _rate(n: int, iso: str, rate: str, start: str, following: str) -> dict[str, Any]:
    """One DatedConversionRate record as SOQL returns it (rates parsed as Decimal)."""
    return {
        "attributes": {"type": "DatedConversionRate"},
        "Id": f"04w8d000000000{n}AAA",
        "IsoCode": iso,
        "ConversionRate": Decimal(rate),
        "StartDate": start,
        "NextStartDate": following,
        "SystemModstamp": "2026-01-01T00:00:00.000+0000",
    }


RATES = [
    _rate(1, "EUR", "0.50", "2026-01-01", "2026-07-01"),
    _rate(2, "EUR", "0.60", "2026-07-01", "9999-12-31"),
    _rate(3, "GBP", "0.25", "2026-01-01", "9999-12-31"),
]


def _store(session: Session, mappings: MappingSet, raws: list[dict[str, Any]], **kw: Any) -> Any:
    stream = mappings.stream("sf_rates")
    items = [stream.map(raw, **kw) for raw in raws]
    return store_batch(session, stream.source, "sf_rates", items, NOW)


def _stored(session: Session) -> list[tuple[Any, ...]]:
    rows = session.execute(
        select(
            FxRateRow.source, FxRateRow.base, FxRateRow.currency, FxRateRow.start_on,
            FxRateRow.end_on, FxRateRow.rate,
        ).order_by(FxRateRow.currency, FxRateRow.start_on)  # type: ignore[arg-type]
    )  # fmt: skip
    return [tuple(row) for row in rows]


def test_rate_records_become_rows_of_the_rate_table_tagged_with_the_stream(engine, mappings):
    """Three rates: three rows tagged sf_rates, base USD, the open range without an end."""
    with Session(engine) as session:
        result = _store(session, mappings, RATES)
        stored = _stored(session)
    assert [
        ("sf_rates", "USD", "EUR", "2026-01-01", "2026-07-01", "0.50"),
        ("sf_rates", "USD", "EUR", "2026-07-01", None, "0.60"),
        ("sf_rates", "USD", "GBP", "2026-01-01", None, "0.25"),
    ] == stored
    assert (3, 0, 0) == (result.stored, result.unlinked, result.quarantined)


def test_a_changed_rate_replaces_its_row_and_a_deleted_one_removes_it(engine, mappings):
    """EUR from July moves to 0.65; the GBP range is deleted in the CRM; nothing else moves."""
    with Session(engine) as session:
        _store(session, mappings, RATES)
        _store(session, mappings, [_rate(2, "EUR", "0.65", "2026-07-01", "9999-12-31")])
        _store(session, mappings, [RATES[2]], deleted=True)
        stored = [(row[2], row[3], row[5]) for row in _stored(session)]
    assert [("EUR", "2026-01-01", "0.50"), ("EUR", "2026-07-01", "0.65")] == stored


def test_a_rate_without_a_usable_rate_is_quarantined_naming_the_field(engine, mappings):
    """A zero rate is quarantined with its field; the good rate beside it is stored."""
    with Session(engine) as session:
        result = _store(session, mappings, [_rate(4, "JPY", "0", "2026-01-01", "9999-12-31")])
        rejection = mappings.stream("sf_rates").map(
            _rate(4, "JPY", "0", "2026-01-01", "2027-01-01")
        )
    assert (1, "amount") == (result.quarantined, getattr(rejection, "field", None))


def test_rates_yaml_stream_converts_money_with_the_crm_rates(engine, mappings):
    """With `stream: sf_rates`, 100 EUR won in April is 200 USD (0.50), not the config's 125."""
    config = RateSet.from_file(
        RatesFile.model_validate(
            {
                "base": "USD",
                "stream": "sf_rates",
                "rates": {"EUR": [{"from": "2026-01-01", "rate": "0.80"}]},
            }
        )
    )
    with Session(engine) as session:
        _store(session, mappings, RATES)
        ids = add_partners(session, "P-1")
        won = activity(
            ids["P-1"], "opportunity", status="won", amount="100", currency="EUR",
            occurred_on=date(2026, 4, 10),
        )  # fmt: skip
        add_activities(session, [won])
        store_plans(
            session,
            [plan("p", "P-1", "2026-Q2", [{"metric": "won_revenue", "value": 400}])],
            config,
        )
        compute(session, utc(2026, 8, 1), rates_source=PlanSet([], [], config).rates_source)
        row = progress_by_key(session)["won_revenue"]
    assert Decimal("200") == row.actual
