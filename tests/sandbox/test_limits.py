"""The realistic profile: the CRMs' latencies and rate limits, as a client meets them.

Windows are tiny (10 calls per 2 s) so a burst over them is a dozen local calls; the only
waits are for a window to roll or a request to become "long", never asserted as durations.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.faults import FaultSpec, FaultSpecError
from sandbox.limits import HubSpotWindows, LongRequests, WindowLimits
from tests.sandbox.helpers import sample, trusting
from worker.cli import run

API = "/services/data/v62.0"
QUIET = {"latency_ms": 0, "latency_per_record_ms": 0}  # limits only: keep the tests fast
RATE_HEADERS = {
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
}
SEARCH = {"limit": 1, "properties": ["name"]}
SOQL_40 = "SELECT Id FROM Opportunity LIMIT 40"


class HubSpotHttp:
    """Plain HTTP calls to the sandbox HubSpot, so status, body and headers are all visible."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.base = sandbox.hubspot_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {sandbox.hubspot_token}"

    def list(self, limit: int = 1) -> requests.Response:
        """One page of deals."""
        return self.session.get(f"{self.base}/crm/v3/objects/deals", params={"limit": limit})

    def search(self) -> requests.Response:
        """One search page of companies."""
        return self.session.post(f"{self.base}/crm/v3/objects/companies/search", json=SEARCH)


def _sf_get(sandbox: Sandbox, path: str, **params: Any) -> requests.Response:
    session = trusting(sandbox.ca_bundle)
    headers = {"Authorization": f"Bearer {sandbox.salesforce_session_id}"}
    return session.get(f"{sandbox.salesforce_url}{API}/{path}", headers=headers, params=params)


@pytest.fixture
def realistic(make_sandbox: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    """A one-partner sandbox under the realistic profile, with these keys over it (no latency)."""

    def make(salesforce: dict[str, Any] | None = None, **hubspot: Any) -> Sandbox:
        faults = {"hubspot": {**QUIET, **hubspot}, "salesforce": {**QUIET, **(salesforce or {})}}
        return make_sandbox(seed=3, scale=1, profile="realistic", faults=faults)

    return make


def test_a_burst_over_the_ten_second_window_gets_hubspots_429(realistic):
    """Calls under the window succeed with Remaining counting down; the ones over it get the
    real TEN_SECONDLY_ROLLING body; the sandbox counts each 429."""
    sandbox = realistic(hs_window_limit=10, hs_window_seconds=2)
    hs = HubSpotHttp(sandbox)
    answers = [hs.list() for _ in range(12)]
    served, refused = answers[:10], answers[10:]
    expected = sample_keys("hs-error-429-ten-secondly-rolling.json")
    assert [200] * 10 + [429] * 2 == [a.status_code for a in answers]
    assert [str(n) for n in range(9, -1, -1)] == [
        a.headers["X-HubSpot-RateLimit-Remaining"] for a in served
    ]
    assert {"10", "2000"} == {
        served[0].headers["X-HubSpot-RateLimit-Max"],
        served[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"],
    }
    for answer in refused:
        body = answer.json()
        assert expected == set(body)
        assert ("RATE_LIMIT", "TEN_SECONDLY_ROLLING") == (body["errorType"], body["policyName"])
        assert "You have reached your ten_secondly_rolling limit." == body["message"]
        assert "0" == answer.headers["X-HubSpot-RateLimit-Remaining"]
    stats = sandbox.stats("hubspot")
    assert (2, {"TEN_SECONDLY_ROLLING": 2}) == (stats["responses_429"], stats["throttled"])


def test_the_window_frees_up_once_it_has_rolled(realistic):
    """After a refused burst, waiting out the window lets calls through again."""
    sandbox = realistic(hs_window_limit=3, hs_window_seconds=0.5)
    hs = HubSpotHttp(sandbox)
    burst = [hs.list().status_code for _ in range(4)]
    time.sleep(0.6)  # the window's length, so every call in it has left it
    after = hs.list()
    assert [200, 200, 200, 429] == burst
    assert (200, "2") == (after.status_code, after.headers["X-HubSpot-RateLimit-Remaining"])


def test_windows_roll_and_refused_calls_are_not_counted():
    """The rolling window, on a given clock: a refused call does not use up capacity, and
    a call is counted for exactly ``window_seconds``."""
    windows, limits = HubSpotWindows(), WindowLimits(2, 10.0, None)
    at = [windows.admit("pat-1", False, limits, now)[0] for now in (0.0, 1.0, 2.0, 9.0, 10.0)]
    other_token = windows.admit("pat-2", False, limits, 10.0)
    assert [None, None, "TEN_SECONDLY_ROLLING", "TEN_SECONDLY_ROLLING", None] == at
    assert (None, 1) == other_token


def test_search_counts_in_both_windows():
    """A search uses the per-second search window and the 10-second window (assumed)."""
    windows, limits = HubSpotWindows(), WindowLimits(3, 10.0, 2)
    searches = [windows.admit("pat", True, limits, t)[0] for t in (0.0, 0.1, 0.2, 1.2)]
    listing = windows.admit("pat", False, limits, 1.3)
    assert [None, None, "SECONDLY", None] == searches
    assert ("TEN_SECONDLY_ROLLING", 3) == listing


def test_search_over_its_per_second_window_gets_secondly(realistic):
    """Searches over hs_search_per_second get 429 SECONDLY with the real body; search answers
    carry no rate-limit headers, while a listing call in the same second still succeeds."""
    sandbox = realistic(hs_search_per_second=2)
    hs = HubSpotHttp(sandbox)
    answers = [hs.search() for _ in range(3)]
    listing = hs.list()
    body = answers[2].json()
    assert ([200, 200, 429], 200) == ([a.status_code for a in answers], listing.status_code)
    assert sample_keys("hs-error-429-search-secondly.json") == set(body)
    assert ("SECONDLY", "You have reached your secondly limit.") == (
        body["policyName"],
        body["message"],
    )
    assert all(not RATE_HEADERS & set(a.headers) for a in answers)
    assert RATE_HEADERS <= set(listing.headers)
    assert {"SECONDLY": 1} == sandbox.stats("hubspot")["throttled"]


def test_the_daily_cap_gets_daily_and_the_headers_count_down(realistic):
    """Daily-Remaining counts down on each answer; the call over hs_daily_limit gets 429 DAILY."""
    sandbox = realistic(hs_daily_limit=3)
    hs = HubSpotHttp(sandbox)
    answers = [hs.list() for _ in range(4)]
    body = answers[3].json()
    assert [200, 200, 200, 429] == [a.status_code for a in answers]
    assert ["2", "1", "0", "0"] == [
        a.headers["X-HubSpot-RateLimit-Daily-Remaining"] for a in answers
    ]
    assert {"3"} == {a.headers["X-HubSpot-RateLimit-Daily"] for a in answers}
    assert sample_keys("hs-error-429-daily.json") == set(body)
    assert ("DAILY", "You have reached your daily limit.") == (body["policyName"], body["message"])
    assert 1 == sandbox.stats("hubspot")["responses_429"]


def test_api_budget_is_an_alias_that_wins_over_the_daily_keys(realistic):
    """api_budget, the older key, still sets either server's daily limit."""
    sandbox = realistic(salesforce={"api_budget": 7}, api_budget=5)
    assert (7, 5) == (
        sandbox.stats("salesforce")["api_budget"],
        sandbox.stats("hubspot")["api_budget"],
    )


def test_an_injected_429_is_counted(sandbox: Sandbox):
    """responses_429 counts the deterministic rate_limit_after 429s too; reset_stats zeroes it."""
    sandbox.set_faults("hubspot", rate_limit_after=1, rate_limit_count=2)
    hs = HubSpotHttp(sandbox)
    statuses = [hs.list().status_code for _ in range(4)]
    counted = sandbox.stats("hubspot")["responses_429"]
    sandbox.reset_stats()
    assert ([200, 429, 429, 200], 2) == (statuses, counted)
    assert (0, {}) == (
        sandbox.stats("hubspot")["responses_429"],
        sandbox.stats("hubspot")["throttled"],
    )


def test_salesforce_reports_and_enforces_its_daily_limit(realistic):
    """sf_daily_limit is DailyApiRequests.Max in /limits and M in Sforce-Limit-Info; once
    spent, 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded."."""
    sandbox = realistic(salesforce={"sf_daily_limit": 3})
    limits = _sf_get(sandbox, "limits")
    usage = [_sf_get(sandbox, "sobjects").headers["Sforce-Limit-Info"] for _ in range(2)]
    over = _sf_get(sandbox, "limits")
    assert {"Max": 3, "Remaining": 2} == limits.json()["DailyApiRequests"]
    assert ["api-usage=2/3", "api-usage=3/3"] == usage
    assert (403, sample("sf-error-403-request-limit-exceeded.json")) == (
        over.status_code,
        over.json(),
    )
    assert {"TotalRequests": 1} == sandbox.stats("salesforce")["throttled"]


def test_the_realistic_salesforce_daily_limit_is_the_published_order(realistic):
    """Without a key, the realistic profile reports 100,000 daily requests."""
    sandbox = realistic()
    answer = _sf_get(sandbox, "limits")
    assert "api-usage=1/100000" == answer.headers["Sforce-Limit-Info"]
    assert {"Max": 100000, "Remaining": 99999} == answer.json()["DailyApiRequests"]


def test_concurrent_long_running_requests_refuse_a_new_one(make_sandbox):
    """While sf_concurrent_long_limit requests have run sf_long_request_seconds, a new request
    gets 403 ConcurrentPerOrgLongTxn; once they finish, requests are served again."""
    spec = {"latency_ms": 800, "sf_long_request_seconds": 0.1, "sf_concurrent_long_limit": 1}
    sandbox = make_sandbox(seed=3, scale=1, faults={"salesforce": spec})
    slow: list[requests.Response] = []
    first = threading.Thread(target=lambda: slow.append(_sf_get(sandbox, "sobjects")))
    first.start()
    deadline = time.monotonic() + 5
    while sandbox.sf_app.in_flight.running_long(0.1) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    refused = _sf_get(sandbox, "sobjects")
    first.join()
    sandbox.set_faults("salesforce", sf_long_request_seconds=0.1, sf_concurrent_long_limit=1)
    again = _sf_get(sandbox, "sobjects")
    assert (403, sample("sf-error-403-concurrent-request-limit.json")) == (
        refused.status_code,
        refused.json(),
    )
    assert (200, 200) == (slow[0].status_code, again.status_code)
    assert {"ConcurrentPerOrgLongTxn": 1} == sandbox.stats("salesforce")["throttled"]


def test_latency_has_a_per_record_part(make_sandbox):
    """The delay the sandbox computes is latency_ms plus latency_per_record_ms per record
    answered: a 40-record page costs more than a 2-record one, on both servers."""
    spec = {"latency_ms": 5, "latency_per_record_ms": 0.25}
    sandbox = make_sandbox(seed=3, scale=1, faults={"salesforce": spec, "hubspot": spec})
    delays = []
    for size, soql in ((2, "SELECT Id FROM Opportunity LIMIT 2"), (40, SOQL_40)):
        sandbox.reset_stats()
        query = _sf_get(sandbox, "query", q=soql)
        page = HubSpotHttp(sandbox).list(limit=size)
        assert (size, size) == (len(query.json()["records"]), len(page.json()["results"]))
        delays.append(
            (
                sandbox.stats("salesforce")["delay_ms_total"],
                sandbox.stats("hubspot")["delay_ms_total"],
            )
        )
    assert [(5.5, 5.5), (15.0, 15.0)] == delays


def test_realistic_latency_makes_a_full_salesforce_page_cost_more():
    """Under the realistic profile a 2,000-record page costs 0.5-1 s more than a 10-record one."""
    spec = FaultSpec.build({"profile": "realistic"})
    extra = (spec.latency_per_record_ms * 2000 - spec.latency_per_record_ms * 10) / 1000
    assert 0.5 <= extra <= 1.0
    assert spec.latency_ms > 0


def test_latency_holds_no_lock(make_sandbox):
    """Concurrent calls are answered at the same time, not one after another."""
    sandbox = make_sandbox(seed=3, scale=1, faults={"salesforce": {"latency_ms": 400}})
    threads = [threading.Thread(target=_sf_get, args=(sandbox, "limits")) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 4 == sandbox.sf_app.in_flight.peak


def test_the_realistic_profile_sets_published_defaults_and_keys_override_them():
    """profile=realistic sets every limit; a key beside it wins; later specs keep the profile
    unless they name profile "none"; an unknown profile is refused."""
    built = FaultSpec.build({"profile": "realistic", "hs_window_limit": 10})
    assert (10, 10.0, 5, 650_000, 100_000, 20.0, 25) == (
        built.hs_window_limit,
        built.hs_window_seconds,
        built.hs_search_per_second,
        built.hs_daily_limit,
        built.sf_daily_limit,
        built.sf_long_request_seconds,
        built.sf_concurrent_long_limit,
    )
    with Sandbox(seed=3, scale=1, profile="realistic") as sandbox:
        sandbox.set_faults("hubspot", latency_ms=0)
        kept = sandbox.stats("hubspot")["faults"]
        sandbox.set_faults("hubspot", profile="none")
        dropped = sandbox.stats("hubspot")["faults"]
    assert ("realistic", 190, 0) == (kept["profile"], kept["hs_window_limit"], kept["latency_ms"])
    assert (None, None) == (dropped["profile"], dropped["hs_window_limit"])
    with pytest.raises(FaultSpecError, match="unknown profile 'fast'"):
        FaultSpec.build({"profile": "fast"})


def test_serve_accepts_the_realistic_profile():
    """`sandbox serve --profile realistic` serves with HubSpot's published window in force."""
    command = [sys.executable, "-c", "from worker.cli import main; main()", "sandbox", "serve"]
    command += ["--scale", "1", "--profile", "realistic", "--format", "json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.rstrip() == "}":
                break
        sheet = json.loads("".join(lines))
        answer = requests.get(
            sheet["hubspot"]["url"] + "/crm/v3/objects/companies",
            headers={"Authorization": f"Bearer {sheet['hubspot']['token']}"},
            timeout=30,
        )
        assert ("realistic", 200) == (sheet["profile"], answer.status_code)
        assert ("190", "189") == (
            answer.headers["X-HubSpot-RateLimit-Max"],
            answer.headers["X-HubSpot-RateLimit-Remaining"],
        )
    finally:
        process.send_signal(signal.SIGINT)
        assert 0 == process.wait(timeout=30)


def test_serve_refuses_an_unknown_profile(capsys):
    """An unknown --profile is bad input (exit 2) naming the known ones."""
    assert 2 == run(["sandbox", "serve", "--profile", "fast"])
    assert "realistic" in capsys.readouterr().err


def sample_keys(name: str) -> set[str]:
    """The keys of a recorded error body."""
    return set(sample(name))


def test_long_requests_count_only_those_past_the_threshold():
    """Only requests running the threshold or longer count toward the concurrent limit."""
    flight = LongRequests()
    first = flight.enter(20.0, 1, now=0.0)
    young = flight.enter(20.0, 1, now=5.0)
    refused = flight.enter(20.0, 1, now=20.0)
    flight.leave(first)
    admitted = flight.enter(20.0, 1, now=21.0)
    assert (None, 2) == (refused, flight.peak)
    assert None not in (first, young, admitted)
