"""Initial loads through Bulk API 2.0 against the sandbox org (a low ``bulk_threshold``)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from connectors.base import Watermark
from connectors.salesforce import bulk as sf_bulk
from connectors.spec import Filter
from connectors.wire import parse_timestamp
from partnerplan.errors import BudgetExhausted
from sandbox import Sandbox
from tests.connectors.against import (
    OPPORTUNITIES,
    drain,
    live_sf_ids,
    no_sleep,
    salesforce,
    sf_ids,
)

OPPS = "Opportunity"
CREATE = "POST jobs/query"
RESULTS = r"GET jobs/query/(\w+)/results"


def _endpoint(sb: Sandbox, endpoint: str) -> int:
    return int(sb.stats("salesforce")["calls_by_endpoint"].get(endpoint, 0))


def _plain(record: dict[str, Any]) -> Any:
    """A record as plain JSON data (simple-salesforce answers OrderedDicts)."""
    return json.loads(json.dumps(record, default=str))


def test_a_large_results_body_is_yielded_in_slices(sandbox, monkeypatch):
    """maxRecords 100, slices of 30: pages of at most 30, every record once, one mark, last."""
    monkeypatch.setattr(sf_bulk, "RECORDS_PER_PAGE", 30)
    pages = list(salesforce(sandbox, page_size=100, bulk_threshold=1).pull(OPPORTUNITIES, None))
    records = [r for page in pages for r in page.records]
    live = live_sf_ids(sandbox, OPPS)
    assert set(sf_ids(records)) == live and len(records) == len(live)
    assert -(-len(live) // 100) == _endpoint(sandbox, RESULTS)
    assert max(len(page.records) for page in pages) == 30
    assert len(pages) >= -(-len(live) // 30)
    assert [None] * (len(pages) - 1) == [page.watermark for page in pages[:-1]]
    assert pages[-1].watermark == max(
        Watermark(parse_timestamp(r["SystemModstamp"]), r["Id"]) for r in records
    )


def test_a_large_first_load_runs_as_one_bulk_job_with_the_watermark_on_the_last_page(sandbox):
    """240 > threshold 100: one query job, CSV pages of 50, every record once, final watermark."""
    pages = list(salesforce(sandbox, page_size=50, bulk_threshold=100).pull(OPPORTUNITIES, None))
    records = [r for page in pages for r in page.records]
    live = live_sf_ids(sandbox, OPPS)
    assert live == set(sf_ids(records))
    assert len(records) == len(set(sf_ids(records)))
    assert 1 == _endpoint(sandbox, CREATE)
    assert -(-len(live) // 50) == _endpoint(sandbox, RESULTS)
    assert [None] * (len(pages) - 1) == [page.watermark for page in pages[:-1]]
    newest = max(
        Watermark(parse_timestamp(r["SystemModstamp"]), r["Id"])
        for r in sandbox.records("salesforce", OPPS)
        if not r["IsDeleted"]
    )
    assert newest == pages[-1].watermark


def test_bulk_records_are_the_records_the_rest_query_returns(sandbox):
    """Types, nulls, datetimes and nested relationships: a bulk record equals its REST twin."""
    rest, _ = drain(salesforce(sandbox, bulk_threshold=0).pull(OPPORTUNITIES, None))
    bulk, _ = drain(salesforce(sandbox, page_size=70, bulk_threshold=1).pull(OPPORTUNITIES, None))
    assert 1 == _endpoint(sandbox, CREATE)
    assert any(r["PartnerAccount"] is None for r in rest)
    assert {r["Id"]: _plain(r) for r in rest} == {r["Id"]: _plain(r) for r in bulk}


def test_bulk_loads_apply_the_mapping_filters(sandbox):
    """The job's SOQL carries the stream's filters: only matching records are loaded."""
    spec = dataclasses.replace(OPPORTUNITIES, filters=(Filter("StageName", "eq", "Closed Won"),))
    records, _ = drain(salesforce(sandbox, page_size=50, bulk_threshold=1).pull(spec, None))
    expected = {
        r["Id"]
        for r in sandbox.records("salesforce", OPPS)
        if not r["IsDeleted"] and r["StageName"] == "Closed Won"
    }
    assert expected == set(sf_ids(records))
    assert 1 == _endpoint(sandbox, CREATE)


@pytest.mark.parametrize(
    ("threshold", "since"),
    [(100_000, None), (1, Watermark(parse_timestamp("2025-01-01T00:00:00Z"), ""))],
    ids=["below the threshold", "incremental pull"],
)
def test_small_first_loads_and_incremental_pulls_use_rest(sandbox, threshold, since):
    """Bulk 2.0 only for a first load above the threshold; otherwise REST paging."""
    records, _ = drain(salesforce(sandbox, bulk_threshold=threshold).pull(OPPORTUNITIES, since))
    assert records
    assert 0 == _endpoint(sandbox, CREATE)


def test_records_changed_after_the_bulk_job_are_read_by_the_next_incremental_pull(sandbox):
    """The job is a snapshot; the next pull from its final watermark reads later changes."""
    _, mark = drain(salesforce(sandbox, page_size=50, bulk_threshold=1).pull(OPPORTUNITIES, None))
    changed = sorted(live_sf_ids(sandbox, OPPS))[:5]
    sandbox.touch("salesforce", OPPS, changed, {"StageName": "Closed Won"})
    records, _ = drain(salesforce(sandbox, bulk_threshold=1).pull(OPPORTUNITIES, mark))
    assert mark is not None
    at_mark = {r["Id"] for r in records if parse_timestamp(r["SystemModstamp"]) == mark.modified_at}
    assert set(changed) | at_mark == set(sf_ids(records))  # the watermark's own stamp re-read


FAULTS: dict[str, dict[str, Any]] = {
    "session expiry mid-load": {"expire_session_after": 6},
    "429 storm": {"rate_limit_after": 4, "rate_limit_count": 5},
    "5xx burst": {"server_error_after": 5, "server_error_count": 3},
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_bulk_load_completes_with_exactly_the_right_records_despite(sandbox, fault):
    """Faults while the job runs and its pages download: the same records, once each."""
    sandbox.set_faults("salesforce", **FAULTS[fault])
    connector = salesforce(sandbox, retry=no_sleep(), page_size=40, bulk_threshold=1)
    records, _ = drain(connector.pull(OPPORTUNITIES, None))
    assert live_sf_ids(sandbox, OPPS) == set(sf_ids(records))
    assert len(records) == len(set(sf_ids(records)))
    assert 1 <= _endpoint(sandbox, CREATE) <= 2


def test_a_bulk_load_stopped_by_the_budget_saves_no_watermark_and_reloads_in_full(sandbox):
    """Budget spent mid-load: stops between pages with no watermark; the next run loads all."""
    sandbox.set_faults("salesforce", api_budget=18)
    pages = []
    with pytest.raises(BudgetExhausted):
        for page in salesforce(sandbox, page_size=20, bulk_threshold=1).pull(OPPORTUNITIES, None):
            pages.append(page)
    assert pages
    assert all(page.watermark is None for page in pages)
    assert all(20 == len(page.records) for page in pages)
    sandbox.set_faults("salesforce")  # a new day
    again = salesforce(sandbox, page_size=50, bulk_threshold=1)
    records, mark = drain(again.pull(OPPORTUNITIES, None))
    assert live_sf_ids(sandbox, OPPS) == set(sf_ids(records))
    assert mark is not None
