"""Consecutive `partnerplan run` processes share their CRM describes through the store: an
incremental run started after another asks neither CRM for a describe or a property list."""

from __future__ import annotations

import re

from sqlmodel import Session, delete

from connectors.schema_cache import SCHEMAS
from plans.store import DescribeRow
from tests.e2e.conftest import Flow, won_q4_deal

SCHEMA_CALLS = re.compile(r"GET (sobjects/.*/describe|/crm/v3/properties/)")
"""The sandboxes' describe (Salesforce) and properties (HubSpot) endpoints."""


def _run(flow: Flow) -> dict[str, tuple[int, int]]:
    """A new `partnerplan run` process (empty memory): per CRM, (schema calls, every call)."""
    SCHEMAS.clear()
    flow.sandbox.reset_stats()
    assert flow.run() == 0
    counted = {}
    for server in ("salesforce", "hubspot"):
        calls: dict[str, int] = flow.sandbox.stats(server)["calls_by_endpoint"]
        schema = sum(n for endpoint, n in calls.items() if SCHEMA_CALLS.match(endpoint))
        counted[server] = (schema, sum(calls.values()))
    return counted


def test_an_incremental_run_after_another_asks_for_no_describe(make_flow, frozen_as_of, capsys):
    """The first run fills the store's describes; the next (a deal changed) asks none; with the
    store's describes dropped, the same incremental run asks them all again. The store never
    failed a save on the way (the push checks its objects inside its own open transaction)."""
    flow = make_flow()
    first = _run(flow)
    deal = won_q4_deal(flow, "P-00001")
    flow.sandbox.touch("salesforce", "Opportunity", [deal["Id"]], {"Amount": deal["Amount"] + 7})
    second = _run(flow)
    with Session(flow.engine()) as session:
        session.exec(delete(DescribeRow))
        session.commit()
    flow.sandbox.touch("salesforce", "Opportunity", [deal["Id"]], {"Amount": deal["Amount"] + 9})
    without = _run(flow)
    counts = f"(schema calls, all calls) first {first}, second {second}, uncached {without}"
    assert first["salesforce"][0] > 0 and first["hubspot"][0] > 0, counts
    assert {"salesforce": 0, "hubspot": 0} == {s: n for s, (n, _) in second.items()}, counts
    assert without["salesforce"][0] > 0 and without["hubspot"][0] > 0, counts
    assert "schema_cache_shared_failed" not in capsys.readouterr().err
