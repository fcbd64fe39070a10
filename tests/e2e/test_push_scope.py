"""Incremental runs cost what changed: compute, push and HubSpot's archived listing."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import Flow, won_q4_deal, write_config

LISTING = re.compile(r"^GET /crm/v3/objects/[^/]+$")
"""The list endpoint: incremental pulls search, so on an incremental run only the archived
listing calls it."""


def _listing_calls(flow: Flow) -> int:
    calls: dict[str, int] = flow.sandbox.stats("hubspot")["calls_by_endpoint"]
    return sum(n for endpoint, n in calls.items() if LISTING.match(endpoint.replace("\\", "")))


def _last(flow: Flow, stage: str) -> dict[str, Any]:
    return [r for r in flow.runs() if r.stage == stage][-1].details


def test_one_changed_deal_computes_and_pushes_only_its_partner(make_flow, frozen_as_of):
    """After one deal changes, the compute reads only targets it can move, and the push
    rebuilds one partner per CRM; a full recompute then finds nothing left to change."""
    flow = make_flow()
    assert flow.run() == 0
    every_target = _last(flow, "compute_progress")["targets"]
    deal = won_q4_deal(flow, "P-00001")
    flow.sandbox.touch("salesforce", "Opportunity", [deal["Id"]], {"Amount": deal["Amount"] + 7})
    flow.sandbox.reset_stats()
    assert flow.run() == 0
    compute, push = _last(flow, "compute_progress"), _last(flow, "push_progress")
    assert 0 < compute["targets"] < every_target
    assert compute["changed_targets"] >= 1
    for destination in ("salesforce", "hubspot"):
        assert (push[destination]["rebuilt_partners"], push[destination]["full_diff"]) == (1, False)
    assert flow.sandbox.stats("salesforce")["write_calls"] <= 2  # progress, maybe the roll-up

    before = flow.progress()
    assert flow.run("--full") == 0  # everything recomputed from scratch agrees
    assert flow.progress() == before


def test_the_archived_listing_is_not_paged_on_every_incremental_run(make_flow, tmp_path):
    """With the default interval an incremental run lists no archived records; set to 0, every
    run pages through them again (the cost the interval saves)."""
    flow = make_flow()
    assert flow.run() == 0
    flow.sandbox.reset_stats()
    assert flow.run() == 0
    skipped = _listing_calls(flow)

    every_run = write_config(tmp_path / "every-run", archived_listing_every_minutes=0)
    flow.config = every_run
    flow.sandbox.reset_stats()
    assert flow.run() == 0
    assert skipped == 0
    assert _listing_calls(flow) >= 1
