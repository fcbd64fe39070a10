"""The HubSpot connector against the sandbox portal, with its faults switched on.

The sandbox enforces HubSpot's search rules (200 a page, offsets refused past 10,000, at most
six filters a group), so a pull that completes here did not lean on anything HubSpot refuses.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.base import Watermark
from connectors.errors import DailyLimitReached
from connectors.wire import parse_timestamp
from partnerplan.errors import BudgetExhausted, ConfigurationError, FatalError
from sandbox import Sandbox
from tests.connectors.against import DEALS, drain, hs_ids, hubspot, live_hs_ids, no_sleep

SEARCH = r"POST /crm/v3/objects/([\w-]+)/search"
WINDOW_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIE = WINDOW_START + timedelta(hours=5, milliseconds=123)


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _deals(total: int, tied: int) -> list[dict[str, Any]]:
    """``total`` deals modified within one day, ``tied`` of them on one millisecond."""
    deals = []
    for n in range(total):
        at = TIE if n % (total // tied) == 0 and n // (total // tied) < tied else None
        at = at or WINDOW_START + timedelta(seconds=n * 3, milliseconds=n % 7)
        deals.append(
            {"properties": {"dealname": f"Deal {n}", "amount": "1000"}, "updatedAt": _stamp(at)}
        )
    return deals


def test_25000_deals_in_one_window_and_3000_on_one_timestamp_are_all_pulled_once(make_sandbox):
    """25,000 deals in one window, 3,000 on one millisecond: all pulled, none twice, no 400."""
    sb: Sandbox = make_sandbox(data={"hubspot": {"deals": _deals(25_000, 3_000)}})
    stamps = Counter(r["properties"]["hs_lastmodifieddate"] for r in sb.records("hubspot", "deals"))
    assert 3_000 == stamps.most_common(1)[0][1]
    end = WINDOW_START + timedelta(days=1)
    records, mark = drain(hubspot(sb, now=lambda: end).pull(DEALS, None))
    pulled = hs_ids(records)
    assert 25_000 == len(pulled)
    assert live_hs_ids(sb, "deals") == set(pulled)
    searches = sb.stats("hubspot")["calls_by_endpoint"][SEARCH]
    assert searches <= 25_000 // 200 + 15  # keyset paging: ~one call per 200 records
    assert mark is not None and max(parse_timestamp(s) for s in stamps) == mark.modified_at


def test_resuming_from_any_page_watermark_misses_nothing_even_inside_a_timestamp_tie(sandbox):
    """Stop after any page, resume from its watermark: nothing lost, a shared stamp included."""
    stamps = Counter(
        r["properties"]["hs_lastmodifieddate"] for r in sandbox.records("hubspot", "deals")
    )
    tie_stamp, tie_size = stamps.most_common(1)[0]
    assert tie_size > 5
    pages = list(hubspot(sandbox, page_size=5).pull(DEALS, None))
    everything = live_hs_ids(sandbox, "deals")
    marks = [page.watermark for page in pages]
    assert any(m is not None and m.modified_at == parse_timestamp(tie_stamp) for m in marks[:-1])
    for index, mark in enumerate(marks):
        before = {str(r["id"]) for page in pages[: index + 1] for r in page.records}
        after, _ = drain(hubspot(sandbox, page_size=5).pull(DEALS, mark))
        assert everything == before | set(hs_ids(after)), f"resuming after page {index}"


def test_records_changed_while_paging_are_not_missed_and_the_next_pull_gets_them(sandbox):
    """A user edits deals already served mid-sync: none is missed; the next pull re-reads them."""
    before = {str(r["id"]): r["updatedAt"] for r in sandbox.records("hubspot", "deals")}
    sandbox.set_faults("hubspot", change_after_page=2, change_object="deals", change_count=10)
    records, mark = drain(hubspot(sandbox, page_size=20).pull(DEALS, None))
    after = {str(r["id"]): r["updatedAt"] for r in sandbox.records("hubspot", "deals")}
    changed = {i for i, stamp in after.items() if stamp != before[i]}
    assert 10 == len(changed)
    assert live_hs_ids(sandbox, "deals") == set(hs_ids(records))
    assert len(records) == len(set(hs_ids(records)))
    sandbox.clear_faults("hubspot")
    again, _ = drain(hubspot(sandbox, page_size=20).pull(DEALS, mark))
    assert changed <= set(hs_ids(again))


FAULTS: dict[str, dict[str, Any]] = {
    "429 storm (ten-secondly)": {"rate_limit_after": 2, "rate_limit_count": 6, "retry_after": 0},
    "429 storm with Retry-After": {"rate_limit_after": 2, "rate_limit_count": 6, "retry_after": 3},
    "5xx burst": {"server_error_after": 2, "server_error_count": 4},
    "502 burst": {"server_error_after": 3, "server_error_count": 3, "server_error_status": 502},
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_pull_completes_with_exactly_the_right_records_despite(sandbox, fault):
    """429 storms and 5xx bursts: the same deals, once each; the portal's pauses honoured."""
    sandbox.set_faults("hubspot", **FAULTS[fault])
    retry = no_sleep()
    records, _ = drain(hubspot(sandbox, retry=retry, page_size=20).pull(DEALS, None))
    assert live_hs_ids(sandbox, "deals") == set(hs_ids(records))
    assert len(records) == len(set(hs_ids(records)))
    if fault.startswith("429"):
        floor = 10.0 if FAULTS[fault]["retry_after"] == 0 else 3.0
        assert [floor] * 6 == [min(wait, floor) for wait in retry.waits]
        assert 6 == len(retry.waits)


def test_search_timeouts_are_retried_until_the_portal_answers(sandbox):
    """A 504 from search is transient: retried, then the pull completes."""
    sandbox.set_faults("hubspot", query_timeout=["deals"])
    sleeps: list[float] = []

    def portal_recovers_after_two_pauses(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            sandbox.clear_faults("hubspot")

    retry = no_sleep(on_sleep=portal_recovers_after_two_pauses)
    records, _ = drain(hubspot(sandbox, retry=retry, page_size=20).pull(DEALS, None))
    assert 2 == len(sleeps)
    assert live_hs_ids(sandbox, "deals") == set(hs_ids(records))


def test_a_rejected_token_mid_pull_is_fatal_at_once_never_a_loop(sandbox):
    """A private-app token revoked mid-pull: a fatal error naming the fix, one call, no retries."""
    sandbox.set_faults("hubspot", expire_session_after=3)
    retry = no_sleep()
    with pytest.raises(FatalError, match="token was rejected") as raised:
        drain(hubspot(sandbox, retry=retry, page_size=20).pull(DEALS, None))
    assert sandbox.hubspot_token not in str(raised.value)
    assert 4 == sandbox.stats("hubspot")["total_calls"]
    assert [] == retry.waits


def test_budget_share_spent_stops_at_a_page_boundary_and_the_next_run_gets_the_rest(sandbox):
    """Search answers carry no usage headers, yet the estimate stops the pull between pages."""
    sandbox.set_faults("hubspot", api_budget=20)
    pulled: list[str] = []
    mark: Watermark | None = None
    with pytest.raises(BudgetExhausted, match=r"budget_share 0\.5"):
        for page in hubspot(sandbox, page_size=10, budget_share=0.5).pull(DEALS, None):
            pulled.extend(hs_ids(page.records))
            mark = page.watermark
    assert 10 <= sandbox.stats("hubspot")["api_used"] <= 11
    assert 0 < len(pulled) < len(live_hs_ids(sandbox, "deals"))
    sandbox.clear_faults("hubspot")  # a new day
    rest, _ = drain(hubspot(sandbox, page_size=10).pull(DEALS, mark))
    assert live_hs_ids(sandbox, "deals") == set(pulled) | set(hs_ids(rest))


def test_daily_limit_refused_by_the_portal_stops_cleanly_and_the_next_run_gets_the_rest(sandbox):
    """Another app spends the day mid-sync: 429 DAILY ends the pull between pages, no retry."""
    pulled: list[str] = []
    mark: Watermark | None = None
    retry = no_sleep()
    with pytest.raises(DailyLimitReached):
        for page in hubspot(sandbox, retry=retry, page_size=20, budget_share=1.0).pull(DEALS, None):
            pulled.extend(hs_ids(page.records))
            mark = page.watermark
            if len(pulled) >= 40:
                used = sandbox.stats("hubspot")["api_used"]
                sandbox.set_faults("hubspot", api_budget=used)
    assert [] == retry.waits
    sandbox.clear_faults("hubspot")  # a new day
    rest, _ = drain(hubspot(sandbox, page_size=20).pull(DEALS, mark))
    assert live_hs_ids(sandbox, "deals") == set(pulled) | set(hs_ids(rest))


def test_check_fields_names_the_object_and_the_property_the_portal_lacks(sandbox):
    """A mapped property the portal lacks is a configuration error naming object and property."""
    spec = dataclasses.replace(DEALS, fields=(*DEALS.fields, "deal_amount_usd"))
    with pytest.raises(ConfigurationError, match="object 'deals' has no field 'deal_amount_usd'"):
        hubspot(sandbox).check_fields(spec)
    assert None is hubspot(sandbox).check_fields(DEALS)


def test_pulled_deals_carry_their_associated_companies(sandbox):
    """Each deal arrives with its company ids, the same the portal holds, primary first."""
    spec = dataclasses.replace(DEALS, associations=("companies",))
    records, _ = drain(hubspot(sandbox, page_size=50).pull(spec, None))
    expected = {
        str(r["id"]): r["associations"].get("companies", [])
        for r in sandbox.records("hubspot", "deals")
        if not r["archived"]
    }
    assert expected == {str(r["id"]): r["associations"]["companies"] for r in records}


def test_deletions_list_exactly_the_archived_records(sandbox):
    """archived=true reports the archived deals, archived ones only."""
    victims = sorted(live_hs_ids(sandbox, "deals"))[:3]
    already = {str(r["id"]) for r in sandbox.records("hubspot", "deals") if r["archived"]}
    sandbox.delete("hubspot", "deals", victims)
    records, _ = drain(hubspot(sandbox).deletions(DEALS, None))
    assert already | set(victims) == set(hs_ids(records))
