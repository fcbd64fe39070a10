"""The `Connector` contract, run over every implementation against the sandbox CRMs.

What the worker relies on, whichever CRM is behind the connector: pages in ``(modified, id)``
order, each watermark the key of its page's last record, one write result per record in the
order given, and call counts that match what the CRM itself counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.base import Connector, Watermark
from connectors.spec import StreamSpec
from connectors.wire import parse_timestamp
from sandbox import Sandbox
from tests.connectors.against import DEALS, OPPORTUNITIES, hubspot, salesforce


@dataclass(frozen=True)
class Case:
    """One implementation: how to build it, what to pull, what to write, how to read records."""

    server: str
    build: Callable[..., Connector]
    spec: StreamSpec
    progress: str
    key: str
    id_field: str
    modified: Callable[[dict[str, Any]], str]
    id_order: Callable[[str], Any]

    def live(self, sb: Sandbox) -> set[str]:
        """Ids of the stream's records that are not deleted, per the CRM's own store."""
        deleted = "IsDeleted" if self.server == "salesforce" else "archived"
        return {
            str(r[self.id_field])
            for r in sb.records(self.server, self.spec.object)
            if not r[deleted]
        }


CASES = [
    Case(
        "salesforce",
        lambda sb, **kw: salesforce(sb, page_size=kw.get("page_size")),
        OPPORTUNITIES,
        "Partner_Plan_Progress__c",
        "External_Id__c",
        "Id",
        lambda r: str(r["SystemModstamp"]),
        str,  # ORDER BY Id: the Id text
    ),
    Case(
        "hubspot",
        lambda sb, **kw: hubspot(sb, page_size=kw.get("page_size") or 200),
        DEALS,
        "partner_plan_progress",
        "progress_key",
        "id",
        lambda r: str(r["properties"]["hs_lastmodifieddate"]),
        int,  # hs_object_id sorts as a number
    ),
]


@pytest.fixture(params=CASES, ids=[c.server for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    """Each connector implementation in turn."""
    return request.param  # type: ignore[no-any-return]


def test_pages_come_in_modified_then_id_order_with_the_last_record_as_watermark(sandbox, case):
    """Every page's watermark is its last record's (modified, id); keys never go back."""
    sandbox.set_faults(case.server, page_size=20)
    previous: Watermark | None = None
    seen: list[str] = []
    for page in case.build(sandbox, page_size=20).pull(case.spec, None):
        keys = [
            Watermark(parse_timestamp(case.modified(r)), str(r[case.id_field]))
            for r in page.records
        ]
        assert keys[-1] == page.watermark
        assert sorted(keys, key=lambda k: (k.modified_at, case.id_order(k.record_id))) == keys
        assert previous is None or keys[0].modified_at >= previous.modified_at
        previous = page.watermark
        seen.extend(k.record_id for k in keys)
    assert case.live(sandbox) == set(seen)
    assert len(seen) == len(set(seen))


def test_writes_return_one_result_per_record_in_the_order_given(sandbox, case):
    """Upsert results line up with the input, keyed by the external id; all land."""
    rows = [{case.key: f"contract-{n:03d}"} for n in range(250)]
    results = case.build(sandbox).upsert(case.progress, case.key, rows)
    assert [r[case.key] for r in rows] == [r.key for r in results]
    assert all(r.ok and r.record_id for r in results)
    assert 250 == len(sandbox.records(case.server, case.progress))


def test_usage_counts_every_call_the_crm_counted(sandbox, case):
    """The connector's own call count covers every call the CRM saw (logins are extra)."""
    connector = case.build(sandbox)
    list(connector.pull(case.spec, None))
    connector.upsert(case.progress, case.key, [{case.key: "usage-1"}])
    counted = sandbox.stats(case.server)["total_calls"]
    usage = connector.usage()
    assert counted <= usage.calls <= counted + 1
    assert 1 == usage.write_calls
    assert usage.daily_max is not None and usage.daily_used is not None
