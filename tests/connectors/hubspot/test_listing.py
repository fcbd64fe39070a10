"""HubSpot's first load: list or search, by the floor of the limits; incremental runs search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.hubspot.connector import LOADS
from connectors.hubspot.listing import Conditions, Latency, choose, floor
from connectors.pacing import Rate
from connectors.spec import Filter, StreamSpec
from sandbox import Sandbox
from tests.connectors.against import DEALS, drain, hs_ids, hubspot, live_hs_ids

SEARCH = r"POST /crm/v3/objects/([\w-]+)/search"
LIST = r"GET /crm/v3/objects/([\w-]+)"
PUBLISHED = {"window_calls": 190, "window_seconds": 10, "search_per_second": 5}
"""HubSpot's published limits (Professional): the choice is made from these."""
WINDOW = Rate("window", 190, 10)
SEARCH_RATE = Rate("search", 5, 1, margin=0.8)
START = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def _calls(sb: Sandbox, endpoint: str) -> int:
    return int(sb.stats("hubspot")["calls_by_endpoint"].get(endpoint, 0))


def test_at_the_published_limits_listing_is_faster_unless_associations_double_its_calls():
    """190 per 10 s at 100 a list call beats 5 searches a second at 200 (about 1,690 records a
    second to 800), still with one associated kind (845); two kinds triple listing's calls
    and search wins."""
    plain = floor(DEALS, WINDOW, SEARCH_RATE, 200)
    assert (1695, 800) == (round(1 / plain.list_seconds), round(1 / plain.search_seconds))
    one = StreamSpec(**{**DEALS.__dict__, "associations": ("companies",)})
    two = StreamSpec(**{**DEALS.__dict__, "associations": ("companies", "contacts")})
    assert "list" == choose(DEALS, "auto", WINDOW, SEARCH_RATE, 200)
    assert "list" == choose(one, "auto", WINDOW, SEARCH_RATE, 200)
    assert "search" == choose(two, "auto", WINDOW, SEARCH_RATE, 200)


@pytest.mark.parametrize(("streams", "expected"), [(1, "search"), (4, "list")])
def test_a_stream_alone_with_slow_list_calls_searches_and_four_at_once_list(streams, expected):
    """Measured on the realistic profile: a list call takes ~155 ms and a search ~190 ms. One
    stream alone is bound by that latency and searches (200 a call); four share the limits,
    which bind first, and list."""
    slow = Conditions(streams, list_latency=0.155, search_latency=0.19)
    assert expected == choose(DEALS, "auto", WINDOW, SEARCH_RATE, 200, slow)


@pytest.mark.parametrize(
    ("configured", "filtered", "expected"),
    [
        ("list", False, "list"),
        ("search", False, "search"),
        ("list", True, "search"),
        ("auto", True, "search"),
    ],
)
def test_a_filtered_stream_always_searches_and_first_load_forces_the_rest(
    configured, filtered, expected
):
    """Listing cannot filter, so a filtered stream searches whatever ``first_load`` says."""
    filters = (Filter("dealstage", "eq", "closedwon"),) if filtered else ()
    spec = StreamSpec(**{**DEALS.__dict__, "filters": filters})
    assert expected == choose(spec, configured, WINDOW, SEARCH_RATE, 200)


def test_first_load_lists_every_record_and_the_incremental_run_searches(sandbox):
    """153 live deals: two list calls and no search on the first load, with the watermark at
    the load's start; the next run from it searches and lists nothing."""
    connector = hubspot(sandbox, now=lambda: START, first_load="auto", rate_limits=PUBLISHED)
    pages = list(connector.pull(DEALS, None))
    records = [r for page in pages for r in page.records]
    assert 153 == len(live_hs_ids(sandbox, "deals"))
    assert live_hs_ids(sandbox, "deals") == set(hs_ids(records))
    assert len(records) == len(set(hs_ids(records)))
    assert (2, 0) == (_calls(sandbox, LIST), _calls(sandbox, SEARCH))
    assert [None, START] == [p.watermark and p.watermark.modified_at for p in pages]
    later = hubspot(sandbox, first_load="auto", rate_limits=PUBLISHED)
    drain(later.pull(DEALS, pages[-1].watermark))
    assert (2, 1) == (_calls(sandbox, LIST), _calls(sandbox, SEARCH))


def test_records_changed_during_a_listed_load_are_read_again_by_the_next_run(sandbox):
    """Ten deals edited after the first list page: the load holds every deal once, and the
    next run's search from its watermark reads the ten again at their new state."""
    before = {str(r["id"]): r["updatedAt"] for r in sandbox.records("hubspot", "deals")}
    sandbox.set_faults(
        "hubspot", page_size=40, change_after_page=1, change_object="deals", change_count=10
    )
    records, mark = drain(hubspot(sandbox, first_load="list").pull(DEALS, None))
    after = {str(r["id"]): r["updatedAt"] for r in sandbox.records("hubspot", "deals")}
    changed = {i for i, stamp in after.items() if stamp != before[i]}
    assert 10 == len(changed)
    assert live_hs_ids(sandbox, "deals") == set(hs_ids(records))
    assert len(records) == len(set(hs_ids(records)))
    sandbox.clear_faults("hubspot")
    lists = _calls(sandbox, LIST)
    again, _ = drain(hubspot(sandbox).pull(DEALS, mark))
    assert changed <= set(hs_ids(again))
    assert lists == _calls(sandbox, LIST)


def test_a_filtered_stream_searches_its_first_load(sandbox):
    """Listing cannot apply the mapping's filter: the first load of a filtered stream searches."""
    spec = StreamSpec(**{**DEALS.__dict__, "filters": (Filter("dealstage", "eq", "closedwon"),)})
    records, _ = drain(hubspot(sandbox, first_load="auto", rate_limits=PUBLISHED).pull(spec, None))
    won = {
        str(r["id"])
        for r in sandbox.records("hubspot", "deals")
        if not r.get("archived") and r["properties"].get("dealstage") == "closedwon"
    }
    assert won == set(hs_ids(records))
    assert 0 == _calls(sandbox, LIST)
    assert _calls(sandbox, SEARCH) >= 1


@pytest.mark.parametrize(("associations", "expected"), [((), "list"), (("companies",), "search")])
def test_half_the_lanes_sharing_list_plain_streams_and_search_associated_ones(
    associations, expected
):
    """At the realistic latency, with two streams sharing each pool, a plain stream lists and
    one with associations searches (half the association reads on its chain): both pools work."""
    spec = StreamSpec(**{**DEALS.__dict__, "associations": associations})
    shared = Conditions(2, list_latency=0.155, search_latency=0.19)
    assert expected == choose(spec, "auto", WINDOW, SEARCH_RATE, 200, shared)


def test_an_unseen_endpoints_latency_is_taken_from_the_portals_other_calls():
    """Before the first list call, the properties call's latency stands in for it."""
    latency = Latency()
    latency.observe(("portal", "properties"), 0.12)
    latency.observe(("other", "list"), 0.9)
    assert 0.12 == latency.get(("portal", "list"))
    assert 0.0 == latency.get(("unknown", "list"))


def test_an_associated_stream_lists_when_two_loads_already_search():
    """At the realistic latency an associated stream searches while search has room; with two
    other first loads of the token already searching (three sharing 4 a second), listing is
    faster, so the window takes it instead of search's queue growing."""
    spec = StreamSpec(**{**DEALS.__dict__, "associations": ("companies",)})
    alone = Conditions(2, list_latency=0.155, search_latency=0.19)
    crowded = Conditions(2, list_latency=0.155, search_latency=0.19, searching=2)
    assert "search" == choose(spec, "auto", WINDOW, SEARCH_RATE, 200, alone)
    assert "list" == choose(spec, "auto", WINDOW, SEARCH_RATE, 200, crowded)


def test_a_first_load_counts_on_its_method_while_it_runs_even_when_left_early(sandbox):
    """A listed first load counts as one listing load of its token from its first page until
    its pages end, or until the caller stops reading them."""
    sandbox.set_faults("hubspot", page_size=40)
    connector = hubspot(sandbox, first_load="list")
    pages = connector.pull(DEALS, None)
    assert 0 == LOADS.count(connector.key, "list")
    next(pages)
    assert (1, 0) == (LOADS.count(connector.key, "list"), LOADS.count(connector.key, "search"))
    pages.close()
    assert 0 == LOADS.count(connector.key, "list")
    drain(connector.pull(DEALS, None))
    assert 0 == LOADS.count(connector.key, "list")
