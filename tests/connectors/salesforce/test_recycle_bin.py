"""Deletions are read from the Recycle Bin, which Salesforce empties after 15 days.

The connector relied on ``queryAll`` returning every deletion since any date, which no org
does. Deletions last listed more than 15 days ago are checked against the org's delete log
(getDeleted's ``earliestDateAvailable``): when something deleted since has been purged, the
listing says it cannot be complete instead of passing for one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.errors import DeletionsOutOfReach
from connectors.spec import StreamSpec
from sandbox import Sandbox
from tests.connectors.against import OPPORTUNITIES, live_sf_ids, salesforce

DELETED = r"GET sobjects/(\w+)/(updated|deleted)"


def _log_reads(sb: Sandbox) -> int:
    return int(sb.stats("salesforce")["calls_by_endpoint"].get(DELETED, 0))


def test_deletions_since_inside_the_bin_list_what_was_deleted_without_asking_the_log(
    sandbox: Sandbox,
):
    """Deletions last listed 14 days ago: the opportunity deleted now is listed, once."""
    gone = sorted(live_sf_ids(sandbox, "Opportunity"))[0]
    sandbox.delete("salesforce", "Opportunity", [gone])
    since = datetime.now(UTC) - timedelta(days=14)
    pages = list(salesforce(sandbox).deletions(OPPORTUNITIES, since))
    assert ([gone], 0) == ([r["Id"] for page in pages for r in page.records], _log_reads(sandbox))


def test_a_deletion_purged_after_the_last_listing_asks_for_a_full_run(sandbox: Sandbox):
    """Listed 16 days ago, a deletion since purged: an error naming the fix, no listing."""
    gone = sorted(live_sf_ids(sandbox, "Opportunity"))[0]
    sandbox.delete("salesforce", "Opportunity", [gone])
    sandbox.set_faults("salesforce", recycle_bin_days=0)  # the bin was emptied since
    since = datetime.now(UTC) - timedelta(days=16)
    connector = salesforce(sandbox)
    with pytest.raises(DeletionsOutOfReach, match=r"stream 'sf_opportunities'.*--full"):
        list(connector.deletions(OPPORTUNITIES, since))
    calls = sandbox.stats("salesforce")["calls_by_endpoint"]
    assert (1, 0) == (_log_reads(sandbox), calls.get(r"GET (query|queryAll)", 0))


def test_an_old_listing_with_nothing_purged_since_still_lists(make_sandbox):
    """Last listed 16 days ago but nothing purged since (the org says so): listed as usual."""
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    sb: Sandbox = make_sandbox(
        data={
            "salesforce": {
                "Opportunity": [
                    {"Name": f"O{n}", "StageName": "Prospecting", "SystemModstamp": old}
                    for n in range(3)
                ]
            }
        }
    )
    since = datetime.now(UTC) - timedelta(days=16)
    pages = list(salesforce(sb).deletions(OPPORTUNITIES, since))
    assert ([], 1) == ([r for page in pages for r in page.records], _log_reads(sb))


def test_an_object_without_a_recycle_bin_lists_no_deletions_and_sends_no_query(
    sandbox: Sandbox,
):
    """DatedConversionRate has no IsDeleted: deletions yield nothing, no queryAll is sent."""
    spec = StreamSpec(
        "sf_rates", "salesforce", "DatedConversionRate", ("IsoCode",), "SystemModstamp"
    )
    pages = list(salesforce(sandbox).deletions(spec, None))
    calls = sandbox.stats("salesforce")["calls_by_endpoint"]
    assert ([], 0) == (pages, calls.get(r"GET (query|queryAll)", 0))
