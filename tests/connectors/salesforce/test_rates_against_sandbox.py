"""The shipped ``sf_rates`` stream loads the org's DatedConversionRate into the rate table."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from mappings.loader import load_mappings
from plans.ingest import store_batch
from plans.store import FxRateRow
from sandbox import Sandbox
from tests.connectors.against import salesforce
from tests.mappings.conftest import SHIPPED


def test_the_rate_stream_stores_every_dated_rate_of_the_org(sandbox: Sandbox, sqlite_engine):
    """Every DatedConversionRate row arrives, tagged sf_rates, rate and range as in the org."""
    mappings, problems = load_mappings(SHIPPED)
    assert mappings is not None, problems
    stream = mappings.stream("sf_rates")
    with Session(sqlite_engine) as session:
        for page in salesforce(sandbox).pull(stream.spec(), None):
            store_batch(session, "salesforce", "sf_rates", stream.map_many(page.records), None)
        stored = {
            (row.currency, row.start_on): (row.source, row.base, row.end_on, row.rate)
            for row in session.scalars(select(FxRateRow))
        }
    org = {
        (r["IsoCode"], r["StartDate"]): (
            "sf_rates",
            "USD",
            None if r["NextStartDate"] == "9999-12-31" else r["NextStartDate"],
            str(r["ConversionRate"]),
        )
        for r in sandbox.records("salesforce", "DatedConversionRate")
    }
    assert org == stored
