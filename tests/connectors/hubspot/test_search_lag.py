"""HubSpot's search index lags writes: what a sync sees right after a change, and what it rereads.

A pull yields everything search shows up to now; pages of records changed within
``search_lag_seconds`` carry no watermark, so the next run reads that stretch again. The
sandbox's ``search_lag_ms`` fault hides records changed less than that long ago from search, as
an index that has not caught up does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.spec import Filter, StreamSpec
from connectors.wire import parse_timestamp
from sandbox import Sandbox
from tests.connectors.against import drain, hs_ids, hubspot

PARTNERS = StreamSpec(
    name="hs_partners",
    source="hubspot",
    object="companies",
    fields=("name", "partner_key", "is_partner"),
    modified_field="hs_lastmodifieddate",
    filters=(Filter("is_partner", "eq", "true"),),
)


def _partners(sb: Sandbox) -> list[str]:
    return [
        str(r["id"])
        for r in sb.records("hubspot", "companies")
        if r["properties"]["is_partner"] == "true"
    ]


def test_a_fresh_sync_right_after_a_roll_up_push_reads_the_partner_company(sandbox: Sandbox):
    """A partner company changed a moment ago (a roll-up push) is pulled by a fresh sync."""
    partners = _partners(sandbox)
    sandbox.touch("hubspot", "companies", partners[:1], {"plan_score": "0.93"})
    records, _ = drain(hubspot(sandbox, search_lag_seconds=120).pull(PARTNERS, None))
    assert sorted(partners) == sorted(hs_ids(records))


def test_records_changed_within_the_lag_carry_no_watermark(sandbox: Sandbox):
    """Pages of records changed within the lag have no watermark; every mark is before it."""
    partner = _partners(sandbox)[0]
    sandbox.touch("hubspot", "companies", [partner], {"plan_score": "0.5"})
    now = datetime.now(UTC) + timedelta(seconds=1)  # the sync starts a moment later
    pages = list(hubspot(sandbox, search_lag_seconds=120, now=lambda: now).pull(PARTNERS, None))
    marks = [p.watermark for p in pages if p.watermark is not None]
    [recent] = [p for p in pages if p.watermark is None]
    assert [partner] == hs_ids(recent.records)
    assert marks and max(marks).modified_at < now - timedelta(seconds=120)


def test_a_company_the_index_has_not_seen_yet_is_read_by_the_next_run(sandbox: Sandbox):
    """Search lags 60 s: a company changed now is missed, then read from the same watermark."""
    partners = _partners(sandbox)
    changed = partners[-1]
    sandbox.touch("hubspot", "companies", [changed], {"plan_score": "0.7"})
    sandbox.set_faults("hubspot", search_lag_ms=60_000)
    first, mark = drain(hubspot(sandbox, search_lag_seconds=120).pull(PARTNERS, None))
    sandbox.clear_faults("hubspot")  # the index caught up
    second, _ = drain(hubspot(sandbox, search_lag_seconds=120).pull(PARTNERS, mark))
    assert changed not in hs_ids(first)
    assert changed in hs_ids(second)
    assert sorted(partners) == sorted(set(hs_ids(first)) | set(hs_ids(second)))
    touched = next(r for r in sandbox.records("hubspot", "companies") if r["id"] == changed)
    assert mark is not None and mark.modified_at < parse_timestamp(touched["updatedAt"])
