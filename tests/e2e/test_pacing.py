"""Pacing against the sandbox's realistic limits: concurrent streams, two processes, a stray 429.

The sandbox counts every call per token in HubSpot's rolling windows (here a small one, 20
calls per rolling 2 s, and search's 5 per rolling second) and answers 429 over them; these
tests count its 429s exactly, and check every record arrived once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.hubspot.connector import HubSpotConnector
from connectors.retry import RetryPolicy
from connectors.spec import StreamSpec
from sandbox import Sandbox
from tests.connectors.against import (
    DEALS,
    OPPORTUNITIES,
    drain,
    hs_ids,
    hubspot,
    live_hs_ids,
    live_sf_ids,
    salesforce,
    sf_ids,
)
from tests.e2e.conftest import Flow

REPO = Path(__file__).resolve().parents[2]
WINDOW = {"hs_window_limit": 20, "hs_window_seconds": 2, "hs_search_per_second": 5}
"""The sandbox's windows: small, so that a few seconds of calls would overrun them."""
LIMITS = {"window_calls": 20, "window_seconds": 2, "search_per_second": 5, "margin": 0.75}
"""The same limits told to the connector. A window of 20 leaves little room: paced at 75 % it
holds 15 + 1 calls, plus one late window turn per stream waiting for a search turn (four
here at most; :mod:`connectors.pacing`). At HubSpot's 190 the default 90 % leaves room for 18."""
CONTACTS = StreamSpec(
    name="hs_contacts",
    source="hubspot",
    object="contacts",
    fields=("email", "firstname"),
    modified_field="lastmodifieddate",
)


def _policy() -> RetryPolicy:
    return RetryPolicy(attempts=6, backoff=0.05, max_backoff=0.5)


def _pull_all(jobs: list[tuple[HubSpotConnector, StreamSpec]]) -> list[list[dict[str, Any]]]:
    """Each (connector, stream) drained on a thread of its own, all at once."""
    results: list[list[dict[str, Any]]] = [[] for _ in jobs]
    errors: list[BaseException] = []

    def run(index: int, connector: HubSpotConnector, spec: StreamSpec) -> None:
        try:
            results[index] = drain(connector.pull(spec, None))[0]
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(i, connector, spec))
        for i, (connector, spec) in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    return results


WORKER = """
import json, sys, threading
from pydantic import SecretStr
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSource
from connectors.retry import RetryPolicy
from connectors.spec import StreamSpec

url, token, limits, backend = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
MODIFIED = {"deals": "hs_lastmodifieddate", "contacts": "lastmodifieddate"}
results = {}

def pull(job):
    object, method = job.split(":")
    source = HubSpotSource.model_validate({
        "type": "hubspot", "base_url": url, "token": SecretStr(token), "search_lag_seconds": 0,
        "first_load": method, "rate_limits": limits, "rate_limits_backend": backend,
    })
    spec = StreamSpec(name=job, source="hubspot", object=object, fields=("hs_object_id",),
                      modified_field=MODIFIED[object])
    connector = HubSpotConnector("hubspot", source, page_size=25,
                                 retry=RetryPolicy(attempts=6, backoff=0.05, max_backoff=0.5))
    results[job] = [str(r["id"]) for page in connector.pull(spec, None) for r in page.records]

threads = [threading.Thread(target=pull, args=(job,)) for job in sys.argv[5:]]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(results))
"""


def _workers(sb: Sandbox, backend: str, env: dict[str, str], *jobs: list[str]) -> list[Any]:
    """Run each list of ``object:method`` jobs in a process of its own, each job on a thread
    (the CRM is remote: the clients do not share the sandbox's interpreter); their results."""
    args = [sb.hubspot_url, sb.hubspot_token, json.dumps(LIMITS), backend]
    started = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *args, *each],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for each in jobs
    ]
    outputs = [worker.communicate(timeout=120) for worker in started]
    assert [0] * len(started) == [worker.returncode for worker in started], outputs
    for _, stderr in outputs:
        assert sb.hubspot_token not in stderr
    return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]


@pytest.fixture
def realistic(make_sandbox) -> Sandbox:
    """The sandbox with the realistic profile (latency included) and the small windows."""
    sb: Sandbox = make_sandbox(seed=7, scale=2)
    sb.set_faults("hubspot", profile="realistic", page_size=25, **WINDOW)
    return sb


def _check(sb: Sandbox, results: list[dict[str, list[str]]]) -> None:
    """No 429 from the sandbox, more calls than one window holds, every record once a job."""
    stats = sb.stats("hubspot")
    assert (0, {}) == (stats["responses_429"], stats["throttled"])
    assert stats["total_calls"] > WINDOW["hs_window_limit"] * 2  # the windows were tested
    for jobs in results:
        for job, ids in jobs.items():
            assert live_hs_ids(sb, job.split(":")[0]) == set(ids)
            assert len(ids) == len(set(ids))


def test_six_concurrent_streams_on_one_token_get_no_429_and_every_record(realistic):
    """Six streams at once in one process, searching and listing on one token: no 429, every
    record once per stream."""
    jobs = [
        f"{object}:{method}"
        for object in ("deals", "contacts")
        for method in ("search", "list", "list")
    ]
    _check(realistic, _workers(realistic, "memory", {}, jobs))


def test_two_worker_processes_sharing_one_token_stay_under_the_limit(realistic, redis_url):
    """Two processes, each searching and listing the same portal with one token, pace through
    Redis: no 429 from the sandbox, every record read by each stream."""
    jobs = ["deals:search", "deals:list", "contacts:list"]
    _check(realistic, _workers(realistic, "redis", {"REDIS_URL": redis_url}, jobs, jobs))


def test_a_429_that_still_comes_is_honoured_and_holds_the_other_streams(make_sandbox):
    """A 429 injected on the 4th call (Retry-After 1 s): the refused call waits it and is sent
    again, the other stream waits out the shared cool-down; one 429 in all, every record."""
    sb: Sandbox = make_sandbox(seed=7, scale=2)
    sb.set_faults("hubspot", page_size=25, rate_limit_after=3, rate_limit_count=1, retry_after=1)
    policies = [_policy(), _policy()]
    jobs = [
        (hubspot(sb, retry=policy, page_size=25, rate_limits=LIMITS), spec)
        for policy, spec in zip(policies, (DEALS, CONTACTS), strict=True)
    ]
    results = _pull_all(jobs)
    stats = sb.stats("hubspot")
    assert (1, {"TEN_SECONDLY_ROLLING": 1}) == (stats["responses_429"], stats["throttled"])
    assert [1.0] == [wait for policy in policies for wait in policy.waits]
    for (_, spec), records in zip(jobs, results, strict=True):
        assert live_hs_ids(sb, spec.object) == set(hs_ids(records))
    assert any(connector.pacer.waited > 0.5 for connector, _ in jobs)


def test_salesforce_keeps_its_requests_in_flight_under_the_org_limit(make_sandbox):
    """Six streams with two in-flight slots against an org refusing a third long request:
    no ConcurrentPerOrgLongTxn refusal, every opportunity read by each stream."""
    sb: Sandbox = make_sandbox(seed=7, scale=2)
    sb.set_faults(
        "salesforce",
        profile="realistic",
        sf_concurrent_long_limit=2,
        sf_long_request_seconds=0.05,
        page_size=40,
    )
    results: list[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def run() -> None:
        connector = salesforce(sb, retry=_policy(), bulk_threshold=0, rate_limits={"in_flight": 2})
        records, _ = drain(connector.pull(OPPORTUNITIES, None))
        with lock:
            results.append(records)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = sb.stats("salesforce")
    assert {} == stats["throttled"]
    assert 6 == len(results)
    for records in results:
        assert live_sf_ids(sb, "Opportunity") == set(sf_ids(records))


def small_window_flow(make_flow: Callable[..., Flow]) -> Flow:
    """A flow on the realistic profile with HubSpot's windows small (:data:`WINDOW`, paced by
    :data:`LIMITS`) and the latency short, so that a test run meets the limits in seconds."""
    flow = make_flow(profile="realistic")
    quick = {"profile": "realistic", "latency_ms": 10, "latency_per_record_ms": 0}
    flow.sandbox.set_faults("hubspot", **quick, **WINDOW)
    flow.sandbox.set_faults("salesforce", **quick)
    path = flow.config / "settings.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["sources"]["hubspot"]["rate_limits"] = LIMITS
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return flow


def test_partnerplan_run_under_the_realistic_profile_gets_no_429(make_flow):
    """The whole run (every stream of both CRMs, pull and push) on the realistic profile's
    limits, HubSpot's windows small and the latency short: it succeeds, and neither CRM
    refused a call."""
    flow = small_window_flow(make_flow)
    assert 0 == flow.run("--full")
    hubspot_stats, salesforce_stats = (flow.sandbox.stats(s) for s in ("hubspot", "salesforce"))
    assert (0, {}) == (hubspot_stats["responses_429"], hubspot_stats["throttled"])
    assert (0, {}) == (salesforce_stats["responses_429"], salesforce_stats["throttled"])
    assert hubspot_stats["total_calls"] > WINDOW["hs_window_limit"] * 2  # windows were tested
