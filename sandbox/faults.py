"""Fault injection and call accounting shared by both sandbox servers.

A fault spec is a flat dict (the body of ``POST /__sandbox/faults`` and the keyword arguments of
``Sandbox.set_faults``); unknown keys are rejected so a typo cannot silently test nothing.
Call counts in the spec ("after N calls") count API calls made since the spec was set.

============================  =================================================================
key                           effect
============================  =================================================================
``rate_limit_after``          after N calls, answer 429 with rate-limit headers ...
``rate_limit_count``          ... this many times (default: until cleared)
``rate_limit_policy``         HubSpot ``policyName``: TEN_SECONDLY_ROLLING, DAILY or SECONDLY
``retry_after``               seconds in the 429's ``Retry-After`` header (default 0 = no header:
                              whether HubSpot sends one is unverified; note urllib3 sleeps it)
``server_error_after``        after N calls, answer ``server_error_status`` (default 503) ...
``server_error_count``        ... this many times (default 1)
``profile``                   ``"realistic"``: start from the published limits and latencies
                              below (``sandbox/limits.py``: ``REALISTIC``); every key given
                              beside it overrides its value. ``"none"``: no profile. Without the
                              key, the profile the server was started with (``Sandbox(profile=)``,
                              ``sandbox serve --profile``) applies
``latency_ms``                the fixed part of every answer's delay (realistic 120)
``latency_per_record_ms``     plus this much per record in the answer (realistic 0.35: a
                              2,000-record page ~0.7 s more than a 10-record one). The delay is
                              slept after the answer is built, holding no lock, so concurrent
                              calls overlap as on a real server; ``stats()`` sums it
``hs_window_limit``           HubSpot: calls per access token in a rolling ``hs_window_seconds``
``hs_window_seconds``         window (realistic 190 per 10 s); over it, 429 TEN_SECONDLY_ROLLING
``hs_search_per_second``      HubSpot: search calls per token in a rolling second (realistic 5);
                              over it, 429 SECONDLY. Search calls count in the 10 s window too
                              (assumed). A refused call counts in neither window
``hs_daily_limit``            HubSpot daily limit (realistic 650,000); over it, 429 DAILY
``sf_daily_limit``            Salesforce ``DailyApiRequests`` Max (realistic 100,000), reported
                              in ``Sforce-Limit-Info`` and ``/limits``; once spent, 403
                              REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded."
``sf_concurrent_long_limit``  Salesforce: while this many requests have been running for
``sf_long_request_seconds``   ``sf_long_request_seconds`` or more (realistic 25 and 20 s), a
                              new one gets 403 REQUEST_LIMIT_EXCEEDED "ConcurrentPerOrgLongTxn
                              Limit exceeded." (the answer's delay counts as running time)
``expire_session_after``      after N calls, every token issued so far is invalid (401); tokens
                              from a new OAuth grant work (HubSpot: 401 until cleared)
``api_budget``                the daily API request limit of either server (an alias that wins
                              over ``sf_daily_limit`` / ``hs_daily_limit``); once spent,
                              Salesforce answers 403 REQUEST_LIMIT_EXCEEDED and HubSpot 429 DAILY
``query_timeout``             object names whose queries/searches fail with QUERY_TIMEOUT
                              (Salesforce) or 504 (HubSpot); ``["*"]`` for all
``invalid_locator_after``     the N-th query-more (1-based) answers INVALID_QUERY_LOCATOR
``fail_ids``                  ids / external-id values whose writes fail inside batch calls
``fail_every``                every N-th record of a batch write fails
``page_size``                 at most this many records a page in every paged read: Salesforce
                              query/queryMore (a smaller ``batchSize`` than asked is legal) and
                              Bulk 2.0 results (fewer rows than ``maxRecords``, locator still
                              set); HubSpot search, list and v4 association reads
``short_pages``               every N-th page of any paged read holds a third of what it would
                              (at least one record), the API's continuation still pointing on:
                              a short page mid-stream, which says nothing about the end
``recycle_bin_days``          Salesforce keeps deleted records this long (default 15): queryAll,
                              Bulk ``queryAll`` and getDeleted see them until then, then never
``search_lag_ms``             HubSpot search does not see records changed (or created) less
                              than this many ms ago: they are not indexed yet, so no search
                              matches them until then (lists, reads and batch reads see them)
``change_after_page``         after serving page K of a paged read of ``change_object`` ...
``change_object``             ... touch ``change_count`` records already served (default 10),
``change_count``              bumping their modified stamps, as a concurrent user would
============================  =================================================================

``stats()`` counts, besides calls and records: ``responses_429`` (every 429 answered, injected
or by a window), ``throttled`` (refusals by limit: HubSpot ``policyName`` for its 429s,
Salesforce ``TotalRequests`` / ``ConcurrentPerOrgLongTxn`` for its 403s and injected 429s) and
``delay_ms_total`` / ``delay_ms_by_endpoint`` (the latency the server computed and slept).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from sandbox.httpbase import Request, Response, json_response
from sandbox.limits import PROFILES, REALISTIC


class FaultSpecError(ValueError):
    """A fault spec named a key the sandbox does not know."""


@dataclass
class FaultSpec:
    """The faults one server injects (see the module docstring for each key)."""

    rate_limit_after: int | None = None
    rate_limit_count: int | None = None
    rate_limit_policy: str = "TEN_SECONDLY_ROLLING"
    retry_after: int = 0
    server_error_after: int | None = None
    server_error_count: int = 1
    server_error_status: int = 503
    profile: str | None = None
    latency_ms: float = 0
    latency_per_record_ms: float = 0.0
    hs_window_limit: int | None = None
    hs_window_seconds: float = 10.0
    hs_search_per_second: int | None = None
    hs_daily_limit: int | None = None
    sf_daily_limit: int | None = None
    sf_long_request_seconds: float = 20.0
    sf_concurrent_long_limit: int | None = None
    expire_session_after: int | None = None
    api_budget: int | None = None
    query_timeout: list[str] = field(default_factory=list)
    invalid_locator_after: int | None = None
    fail_ids: list[str] = field(default_factory=list)
    fail_every: int | None = None
    page_size: int | None = None
    short_pages: int | None = None
    recycle_bin_days: int = 15
    search_lag_ms: int = 0
    change_after_page: int | None = None
    change_object: str | None = None
    change_count: int = 10

    @classmethod
    def build(cls, spec: dict[str, Any], profile: str | None = None) -> FaultSpec:
        """A spec from a dict over the defaults of its ``profile`` (or the one given here).

        Raises:
            FaultSpecError: an unknown key or profile, named with the known ones.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise FaultSpecError(f"unknown fault keys {unknown}; known keys are {sorted(known)}")
        chosen = spec.get("profile", profile)
        if chosen is not None and chosen not in PROFILES:
            raise FaultSpecError(f"unknown profile {chosen!r}; known profiles are {PROFILES}")
        defaults: dict[str, Any] = dict(REALISTIC) if chosen == "realistic" else {}
        return cls(**{**defaults, **spec, "profile": None if chosen == "none" else chosen})

    def as_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Injector:
    """Holds a server's fault spec and counts calls, thread-safely."""

    def __init__(self, default_budget: int, daily_key: str = "api_budget") -> None:
        """Accounting for one server.

        Args:
            default_budget: the daily request limit when no spec key sets one.
            daily_key: the spec key naming this server's daily limit (``sf_daily_limit`` or
                ``hs_daily_limit``); ``api_budget`` overrides it for either server.
        """
        self.lock = threading.Lock()
        self.default_budget = default_budget
        self.daily_key = daily_key
        self.profile: str | None = None
        self.spec = FaultSpec()
        self.local = threading.local()
        self.responses_429 = 0
        self.throttled: Counter[str] = Counter()
        self.delay_ms_total = 0.0
        self.delay_by_endpoint: dict[str, float] = {}
        self.calls_since_set = 0
        self.rate_limited = 0
        self.server_errors = 0
        self.query_mores = 0
        self.pages = 0
        self.api_used = 0
        self.by_endpoint: Counter[str] = Counter()
        self.records_served: Counter[str] = Counter()
        self.total_calls = 0
        self.write_calls = 0

    def set(self, spec: dict[str, Any]) -> None:
        """Replace the spec (keys not given take their profile's defaults), restart its counts."""
        built = FaultSpec.build(spec, self.profile)
        with self.lock:
            self.spec = built
            self.calls_since_set = self.rate_limited = self.server_errors = self.query_mores = 0
            self.pages = 0

    def clear(self) -> None:
        """No faults."""
        self.set({})

    @property
    def budget(self) -> int:
        """The daily API request limit in force: ``api_budget``, the server's own key, default."""
        spec = self.spec
        for limit in (spec.api_budget, getattr(spec, self.daily_key, None)):
            if limit is not None:
                return int(limit)
        return self.default_budget

    def count_call(self, endpoint: str) -> int:
        """Record one API call; return its number since the spec was set (1-based).

        It also starts the call's latency accounting on this thread (the server answers each
        request on its own thread): records served until :meth:`pause` lengthen the delay.
        """
        self.local.endpoint = endpoint
        self.local.records = 0
        with self.lock:
            self.calls_since_set += 1
            self.total_calls += 1
            self.api_used += 1
            self.by_endpoint[endpoint] += 1
            return self.calls_since_set

    def delay_ms(self, records: int) -> float:
        """The latency of an answer holding ``records`` records: fixed part plus per record."""
        spec = self.spec
        return float(spec.latency_ms) + spec.latency_per_record_ms * records

    def pause(self) -> float:
        """Sleep the latency of the answer this thread has built; return it in ms.

        Called once the answer is ready, so its per-record part is known; no lock is held while
        sleeping, so concurrent calls overlap as they do on a real server.
        """
        delay = self.delay_ms(getattr(self.local, "records", 0))
        self.local.records = 0
        self.local.last_delay = delay  # read by bench/realistic.py's call log, same thread
        if delay > 0:
            endpoint = getattr(self.local, "endpoint", "?")
            with self.lock:
                self.delay_ms_total += delay
                self.delay_by_endpoint[endpoint] = self.delay_by_endpoint.get(endpoint, 0.0) + delay
            time.sleep(delay / 1000)
        return delay

    def throttle(self, limit: str, status: int) -> None:
        """Count one call refused by ``limit`` (a policyName or a Salesforce limit name)."""
        with self.lock:
            self.throttled[limit] += 1
            if status == 429:
                self.responses_429 += 1

    def server_error(self, call: int) -> int | None:
        """The 5xx status to answer call number ``call`` with, if a burst is on."""
        spec = self.spec
        with self.lock:
            if spec.server_error_after is None or call <= spec.server_error_after:
                return None
            if self.server_errors >= spec.server_error_count:
                return None
            self.server_errors += 1
            return spec.server_error_status

    def rate_limit(self, call: int) -> bool:
        """Whether call number ``call`` is answered 429."""
        spec = self.spec
        with self.lock:
            if spec.rate_limit_after is None or call <= spec.rate_limit_after:
                return False
            if spec.rate_limit_count is not None and self.rate_limited >= spec.rate_limit_count:
                return False
            self.rate_limited += 1
            return True

    def page(self, size: int) -> int:
        """How many records the next page of a paged read holds: ``size`` or fewer if faulted."""
        spec = self.spec
        if spec.page_size:
            size = min(size, spec.page_size)
        if spec.short_pages:
            with self.lock:
                self.pages += 1
                short = self.pages % spec.short_pages == 0
            if short:
                size = max(1, size // 3)
        return max(1, size)

    def locator_fails(self) -> bool:
        """Count one query-more; True when this is the one that must fail."""
        with self.lock:
            self.query_mores += 1
            return self.spec.invalid_locator_after == self.query_mores

    def times_out(self, name: str) -> bool:
        """Whether a query of ``name`` hits the injected timeout."""
        wanted = {n.lower() for n in self.spec.query_timeout}
        return "*" in wanted or name.lower() in wanted

    def write_fails(self, position: int, keys: list[str]) -> bool:
        """Whether the batch record at ``position`` (0-based) with these ids/keys must fail."""
        spec = self.spec
        if spec.fail_every and (position + 1) % spec.fail_every == 0:
            return True
        return any(key in spec.fail_ids for key in keys if key)

    def served(self, name: str, count: int) -> None:
        """Count records served from object ``name`` (they lengthen this answer's delay)."""
        self.local.records = getattr(self.local, "records", 0) + count
        with self.lock:
            self.records_served[name] += count

    def wrote(self) -> None:
        """Count one call that changed data."""
        with self.lock:
            self.write_calls += 1

    def stats(self) -> dict[str, Any]:
        """Calls by endpoint, records served by object, totals."""
        with self.lock:
            return {
                "calls_by_endpoint": dict(sorted(self.by_endpoint.items())),
                "records_served": dict(sorted(self.records_served.items())),
                "records_served_total": sum(self.records_served.values()),
                "total_calls": self.total_calls,
                "write_calls": self.write_calls,
                "api_used": self.api_used,
                "api_budget": self.budget,
                "responses_429": self.responses_429,
                "throttled": dict(sorted(self.throttled.items())),
                "delay_ms_total": round(self.delay_ms_total, 3),
                "delay_ms_by_endpoint": {
                    k: round(v, 3) for k, v in sorted(self.delay_by_endpoint.items())
                },
                "faults": self.spec.as_dict(),
            }

    def reset_stats(self) -> None:
        """Zero the counters (the daily API usage too)."""
        with self.lock:
            self.by_endpoint.clear()
            self.records_served.clear()
            self.total_calls = self.write_calls = self.api_used = self.responses_429 = 0
            self.throttled.clear()
            self.delay_by_endpoint.clear()
            self.delay_ms_total = 0.0


def control_route(
    request: Request, path: str, injector: Injector, set_faults: Callable[[dict[str, Any]], None]
) -> Response | None:
    """``/__sandbox/faults`` (GET, POST, DELETE) and ``/__sandbox/stats`` (GET, DELETE).

    Both servers answer these the same way; ``None`` means the path is not one of them.
    """
    if path == "/__sandbox/faults":
        if request.method == "GET":
            return json_response(200, injector.spec.as_dict())
        try:
            set_faults(request.json() or {} if request.method == "POST" else {})
        except (FaultSpecError, TypeError) as exc:
            return json_response(400, {"message": str(exc)})
        return json_response(200, injector.spec.as_dict())
    if path == "/__sandbox/stats":
        if request.method == "DELETE":
            injector.reset_stats()
        return json_response(200, injector.stats())
    return None
