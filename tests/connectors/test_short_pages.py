"""Every pager follows the API's own continuation: short pages mid-stream lose nothing.

Each test switches on the sandbox's ``page_size`` fault (every page smaller than asked) or its
``short_pages`` fault (every other page a third as long, the continuation still pointing on)
and checks that the connector still reads every record exactly once. A pager that stopped at
the first page shorter than it asked for would read 100 of 160 deals here (and 11 % of a real
portal's).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.spec import StreamSpec
from sandbox import Sandbox
from tests.connectors.against import (
    DEALS,
    OPPORTUNITIES,
    drain,
    hs_ids,
    hubspot,
    live_hs_ids,
    live_sf_ids,
    salesforce,
    sf_ids,
)

SHORT = [{"page_size": 100}, {"short_pages": 2}, {"page_size": 7, "short_pages": 3}]


@pytest.mark.parametrize("faults", SHORT, ids=str)
def test_hubspot_search_reads_every_deal_through_short_pages(sandbox: Sandbox, faults):
    """Search pages shorter than the 200 asked: every live deal is still pulled once."""
    sandbox.set_faults("hubspot", **faults)
    records, _ = drain(hubspot(sandbox, page_size=200).pull(DEALS, None))
    pulled = hs_ids(records)
    assert (live_hs_ids(sandbox, "deals"), len(pulled)) == (set(pulled), len(set(pulled)))


@pytest.mark.parametrize("faults", [{"page_size": 3}, {"short_pages": 2}], ids=str)
def test_hubspot_archived_listing_reads_every_archived_deal_through_short_pages(
    sandbox: Sandbox, faults
):
    """The archived listing follows paging.next.after: every archived deal, once."""
    archived = {str(r["id"]) for r in sandbox.records("hubspot", "deals") if r["archived"]}
    assert len(archived) > 3
    sandbox.set_faults("hubspot", **faults)
    records = [r for page in hubspot(sandbox).deletions(DEALS, None) for r in page.records]
    assert (archived, len(archived)) == (set(hs_ids(records)), len(records))


def test_hubspot_association_reads_follow_each_records_paging(sandbox: Sandbox):
    """A deal linked to 4 companies, read 1 association a page: all 4, primary first."""
    companies = [str(r["id"]) for r in sandbox.records("hubspot", "companies")]
    assert 4 == len(companies)
    [deal] = sandbox.insert(
        "hubspot",
        "deals",
        [{"properties": {"dealname": "Wide"}, "associations": {"companies": companies}}],
    )
    spec = StreamSpec(
        "hs_deals", "hubspot", "deals", ("dealname",), "hs_lastmodifieddate",
        associations=("companies",),
    )  # fmt: skip
    sandbox.set_faults("hubspot", page_size=1)
    records, _ = drain(hubspot(sandbox).pull(spec, None))
    [wide] = [r for r in records if r["id"] == deal]
    assert companies == wide["associations"]["companies"]


@pytest.mark.parametrize("faults", [{"page_size": 7}, {"short_pages": 2}], ids=str)
def test_salesforce_query_more_reads_every_record_through_short_batches(sandbox: Sandbox, faults):
    """queryMore pages smaller than the batchSize asked: every live Opportunity, once."""
    sandbox.set_faults("salesforce", **faults)
    records, _ = drain(salesforce(sandbox, page_size=200).pull(OPPORTUNITIES, None))
    pulled = sf_ids(records)
    assert (live_sf_ids(sandbox, "Opportunity"), len(pulled)) == (set(pulled), len(set(pulled)))


@pytest.mark.parametrize("faults", [{"page_size": 9}, {"short_pages": 2}], ids=str)
def test_salesforce_bulk_locators_read_every_record_through_short_result_pages(
    sandbox: Sandbox, faults
):
    """Bulk 2.0 result pages with fewer rows than maxRecords: the locator is followed to null."""
    sandbox.set_faults("salesforce", **faults)
    connector = salesforce(sandbox, page_size=50, bulk_threshold=1)
    records, mark = drain(connector.pull(OPPORTUNITIES, None))
    pulled = sf_ids(records)
    assert (live_sf_ids(sandbox, "Opportunity"), len(pulled)) == (set(pulled), len(set(pulled)))
    assert mark is not None and mark.modified_at < datetime.now(UTC)
