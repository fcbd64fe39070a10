"""The Salesforce connector against the sandbox org, with its faults switched on.

Every test compares the ids the connector pulled with the sandbox's own records
(``sb.records``), so "the pull completes" always means "with exactly the right records".
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

from connectors.base import Watermark
from connectors.errors import DailyLimitReached
from connectors.wire import parse_timestamp
from partnerplan.errors import BudgetExhausted, ConfigurationError, RetriableError
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


def _modstamps(sb: Sandbox) -> dict[str, str]:
    return {r["Id"]: r["SystemModstamp"] for r in sb.records("salesforce", OPPS)}


def test_pull_reads_every_live_record_once_in_modified_then_id_order(sandbox):
    """Small pages: every live Opportunity once, ordered by (SystemModstamp, Id)."""
    sandbox.set_faults("salesforce", page_size=20)
    records, _ = drain(salesforce(sandbox).pull(OPPORTUNITIES, None))
    pulled = sf_ids(records)
    assert live_sf_ids(sandbox, OPPS) == set(pulled)
    assert len(pulled) == len(set(pulled))
    keys = [(parse_timestamp(r["SystemModstamp"]), r["Id"]) for r in records]
    assert sorted(keys) == keys


def test_resuming_from_any_page_watermark_misses_nothing_even_inside_a_timestamp_tie(sandbox):
    """Stop after any page, resume from its watermark: nothing lost, ties at the boundary too."""
    sandbox.set_faults("salesforce", page_size=10)
    stamps = Counter(_modstamps(sandbox).values())
    tie_stamp, tie_size = stamps.most_common(1)[0]
    assert tie_size > 10  # the bulk import: a tie longer than a page, so a boundary falls inside
    pages = list(salesforce(sandbox).pull(OPPORTUNITIES, None))
    everything = live_sf_ids(sandbox, OPPS)
    marks = [page.watermark for page in pages]
    assert any(m is not None and m.modified_at == parse_timestamp(tie_stamp) for m in marks[:-1])
    for index, mark in enumerate(marks):
        before = {r["Id"] for page in pages[: index + 1] for r in page.records}
        after, _ = drain(salesforce(sandbox).pull(OPPORTUNITIES, mark))
        assert everything == before | set(sf_ids(after)), f"resuming after page {index}"


def test_records_changed_while_paging_are_not_missed_and_the_next_pull_gets_them(sandbox):
    """A user edits records already served mid-sync: none is missed; the next pull re-reads them."""
    sandbox.set_faults(
        "salesforce", page_size=20, change_after_page=2, change_object=OPPS, change_count=10
    )
    before = _modstamps(sandbox)
    records, mark = drain(salesforce(sandbox).pull(OPPORTUNITIES, None))
    changed = {i for i, stamp in _modstamps(sandbox).items() if stamp != before[i]}
    assert 10 == len(changed)
    assert live_sf_ids(sandbox, OPPS) == set(sf_ids(records))
    assert len(records) == len(set(sf_ids(records)))
    sandbox.clear_faults("salesforce")
    again, _ = drain(salesforce(sandbox).pull(OPPORTUNITIES, mark))
    assert changed <= set(sf_ids(again))


FAULTS: dict[str, dict[str, Any]] = {
    "session expiry mid-pagination": {"expire_session_after": 3},
    "429 storm": {"rate_limit_after": 2, "rate_limit_count": 6, "retry_after": 3},
    "5xx burst": {"server_error_after": 2, "server_error_count": 4},
    "503 then 500": {"server_error_after": 4, "server_error_count": 2, "server_error_status": 500},
    "INVALID_QUERY_LOCATOR": {"invalid_locator_after": 2},
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_pull_completes_with_exactly_the_right_records_despite(sandbox, fault):
    """Session expiry, 429 storms, 5xx bursts, expired cursors: the same records, once each."""
    sandbox.set_faults("salesforce", page_size=20, **FAULTS[fault])
    retry = no_sleep()
    records, _ = drain(salesforce(sandbox, retry=retry).pull(OPPORTUNITIES, None))
    assert live_sf_ids(sandbox, OPPS) == set(sf_ids(records))
    assert len(records) == len(set(sf_ids(records)))
    if fault == "429 storm":
        assert 6 == len(retry.waits)
        assert all(wait >= 3 for wait in retry.waits)


def test_query_timeout_is_retried_until_the_org_answers(sandbox):
    """QUERY_TIMEOUT is transient: retried with backoff, then the pull completes."""
    sandbox.set_faults("salesforce", query_timeout=[OPPS])
    sleeps: list[float] = []

    def org_recovers_after_two_pauses(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            sandbox.set_faults("salesforce", page_size=20)

    retry = no_sleep(on_sleep=org_recovers_after_two_pauses)
    records, _ = drain(salesforce(sandbox, retry=retry).pull(OPPORTUNITIES, None))
    assert 2 == len(sleeps)
    assert live_sf_ids(sandbox, OPPS) == set(sf_ids(records))


def test_a_query_that_always_times_out_fails_retriably_after_the_policy_attempts(sandbox):
    """A query that never finishes ends the run with a retriable error, not a hang."""
    sandbox.set_faults("salesforce", query_timeout=["*"])
    before = sandbox.stats("salesforce")["total_calls"]
    with pytest.raises(RetriableError, match="QUERY_TIMEOUT"):
        drain(salesforce(sandbox, retry=no_sleep(attempts=3)).pull(OPPORTUNITIES, None))
    describes = 2  # Opportunity, and Account for the PartnerAccount.Partner_Key__c path
    assert describes + 3 == sandbox.stats("salesforce")["total_calls"] - before


def _pull_until_exhausted(sb: Sandbox, **settings: Any) -> tuple[list[str], Watermark | None]:
    pulled: list[str] = []
    mark: Watermark | None = None
    with pytest.raises(BudgetExhausted) as raised:
        for page in salesforce(sb, **settings).pull(OPPORTUNITIES, None):
            pulled.extend(sf_ids(page.records))
            mark = page.watermark
    assert "budget" in str(raised.value) or "allowance" in str(raised.value)
    return pulled, mark


def test_budget_share_spent_stops_at_a_page_boundary_and_the_next_run_gets_the_rest(sandbox):
    """Half of a 30-call day spent: the pull stops between pages; the next run resumes."""
    sandbox.set_faults("salesforce", page_size=10, api_budget=30)
    pulled, mark = _pull_until_exhausted(sandbox, budget_share=0.5)
    assert 0 < len(pulled) < len(live_sf_ids(sandbox, OPPS))
    assert 0 == len(pulled) % 10  # whole pages only
    assert sandbox.stats("salesforce")["api_used"] <= 15
    sandbox.set_faults("salesforce", page_size=10)  # a new day
    rest, _ = drain(salesforce(sandbox).pull(OPPORTUNITIES, mark))
    assert live_sf_ids(sandbox, OPPS) == set(pulled) | set(sf_ids(rest))


def test_daily_limit_refused_by_the_org_stops_cleanly_and_the_next_run_gets_the_rest(sandbox):
    """Another integration spends the day mid-sync: REQUEST_LIMIT_EXCEEDED ends the pull between
    pages as BudgetExhausted, and the next run resumes from the last page's watermark."""
    sandbox.set_faults("salesforce", page_size=10)
    pulled: list[str] = []
    mark: Watermark | None = None
    with pytest.raises(DailyLimitReached) as raised:
        for page in salesforce(sandbox, budget_share=1.0).pull(OPPORTUNITIES, None):
            pulled.extend(sf_ids(page.records))
            mark = page.watermark
            if len(pulled) == 30:
                used = sandbox.stats("salesforce")["api_used"]
                sandbox.set_faults("salesforce", page_size=10, api_budget=used)
    assert isinstance(raised.value, BudgetExhausted)
    assert 30 == len(pulled)
    sandbox.set_faults("salesforce", page_size=10)  # a new day
    rest, _ = drain(salesforce(sandbox).pull(OPPORTUNITIES, mark))
    assert live_sf_ids(sandbox, OPPS) == set(pulled) | set(sf_ids(rest))


@pytest.mark.parametrize("field", ["Amount__x", "PartnerAccount.Partner_Kee__c"])
def test_check_fields_names_the_object_and_the_field_the_org_lacks(sandbox, field):
    """A mapped field the org lacks is a configuration error naming object and field."""
    spec = dataclasses.replace(OPPORTUNITIES, fields=(*OPPORTUNITIES.fields, field))
    connector = salesforce(sandbox)
    with pytest.raises(ConfigurationError) as raised:
        connector.check_fields(spec)
    assert f"object 'Opportunity' has no field '{field}'" in str(raised.value)
    with pytest.raises(ConfigurationError):
        next(iter(connector.pull(spec, None)))


def test_check_fields_accepts_every_field_the_org_has(sandbox):
    """The shipped stream's fields, relationship path included, pass the describe check."""
    assert None is salesforce(sandbox).check_fields(OPPORTUNITIES)


def test_deletions_lists_deleted_records_since_the_watermark(sandbox):
    """queryAll reports exactly the records deleted, deleted ones only."""
    victims = sorted(live_sf_ids(sandbox, OPPS))[:3]
    already = {r["Id"] for r in sandbox.records("salesforce", OPPS) if r.get("IsDeleted")}
    sandbox.delete("salesforce", OPPS, victims)
    records, _ = drain(salesforce(sandbox).deletions(OPPORTUNITIES, None))
    assert already | set(victims) == set(sf_ids(records))
