"""Syncing against the CRMs' own limits: the realistic profile, next to the rate-limit floor.

Against a real CRM a sync is bound by latency and rate limits, not CPU. This stage runs the same
workload on a sandbox started with ``profile="realistic"`` (``sandbox/limits.py``: 120 ms plus
0.35 ms a record per answer; HubSpot 190 calls per rolling 10 s per token, searches 5 a second;
Salesforce's daily and concurrent long-request limits), then:

1. a full sync (``partnerplan run --full``) on an empty store;
2. an incremental (``partnerplan run``) after 1 % of every activity object changed;

and prices each against its **rate-limit floor**: the least time the CRMs' published limits
allow for the calls that run needed (counted by the sandbox, never by partnerplan):

* per CRM, the longest **chain** of sequential calls: the pages of one stream follow each other
  (a page's continuation is in the page before it), so a stream takes at least the sum of its
  pages' latencies, as the sandbox computed them. Chains are told apart from the requests
  themselves: a Salesforce query and its query-mores share a cursor, a Bulk job its id; the
  HubSpot searches of one object with one property list are one chain (each page is keyed on
  the one before), a listing is the same request but for ``after``. Every other call
  (describes, writes, batch reads) is a chain of its own, so the floor does not overstate;
* HubSpot's **rate**: ``n`` calls served (searches included) take at least
  ``window * ((n - 1) // limit)`` seconds (the first ``limit`` go at once, each ``window`` lets
  ``limit`` more through), and ``s`` searches ``1 * ((s - 1) // per_second)``;
* a CRM's floor is the largest of these; the two CRMs sync in parallel, so the run's floor is
  the larger CRM floor. Refused calls (429) are not "needed": they count against the run.

The **paced floor** is the same with HubSpot's rates at the pace its connector keeps by default
(90 % of the window, 80 % of search's rate, spaced evenly: :mod:`connectors.pacing`): the
least time a run that never meets a 429 can take. The distance between the two floors is the
price of the pacer's safety margins; the distance from the paced floor to the measured time is
the run's own scheduling (stages in series, lanes idle, CPU).

Compute and the store's own work are not in the floor: they are CPU, which the other figures of
:mod:`bench.run` price. The ratio printed is measured / floor (1.00 would be perfect).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import measure
from bench.workload import store, touch_share
from connectors.hubspot.settings import HubSpotRateLimits
from connectors.pacing import Rate
from sandbox import Sandbox
from sandbox.httpbase import Request, Response
from worker.demo import sandbox_env

SEED = 1
CHANGED_SHARE = 0.01
SERVERS = ("salesforce", "hubspot")
_SF_API = re.compile(r"^/services/(?:data/v[\d.]+|async/[\d.]+)/(?P<rest>.*?)/?$")
_SF_MORE = re.compile(r"^(?:query|queryAll)/(?P<cursor>\w+)-\d+$")
_SF_JOB = re.compile(r"^(?:jobs/query|job)/(?P<job>\w+)")
_NEXT_URL = re.compile(rb'"nextRecordsUrl"\s*:\s*"[^"]*/(\w+)-\d+"')
_JOB_ID = re.compile(rb'"id"\s*:\s*"(\w+)"|<id>(\w+)</id>')


@dataclass(frozen=True)
class Call:
    """One API call as the sandbox answered it."""

    server: str
    chain: str
    search: bool
    status: int
    delay_ms: float
    at: float = 0.0
    """Seconds from the start of the log to the answer."""
    kind: str = "read"


@dataclass
class CallLog:
    """Every API call both sandbox servers answer while ``on``, with its chain and latency."""

    on: bool = False
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cursors: dict[str, str] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _started: float = 0.0

    def install(self, sb: Sandbox) -> None:
        """Wrap each server's app (after any other wrapper) so every answer is noted."""
        locals_ = {"salesforce": sb.sf_app.faults.local, "hubspot": sb.hs_app.faults.local}
        for name, server in zip(SERVERS, sb._servers, strict=True):
            inner, local = server._server.app, locals_[name]

            def app(
                request: Request, inner: Any = inner, local: Any = local, name: str = name
            ) -> Response:
                local.last_delay = None
                response: Response = inner(request)
                delay = getattr(local, "last_delay", None)
                if self.on and delay is not None:  # None: not an API call (OAuth, control)
                    self.note(name, request, response, float(delay))
                return response

            server._server.app = app

    def start(self) -> None:
        """Forget what was noted and note from now on."""
        with self._lock:
            self.calls.clear()
            self._cursors.clear()
            self._started = time.monotonic()
        self.on = True

    def note(self, server: str, request: Request, response: Response, delay: float) -> None:
        """Keep one call with the chain it belongs to."""
        if server == "salesforce":
            chain, search = self._sf_chain(request, response), False
        else:
            search = request.method == "POST" and request.path.rstrip("/").endswith("/search")
            chain = _hs_chain(request)
        at = time.monotonic() - self._started
        kind = _kind(request, search)
        with self._lock:
            self.calls.append(Call(server, chain, search, response.status, delay, at, kind))

    def _sf_chain(self, request: Request, response: Response) -> str:
        found = _SF_API.match(request.path)
        rest = found.group("rest") if found else request.path
        more = _SF_MORE.match(rest)
        if more is not None:
            cursor = more.group("cursor")
            with self._lock:
                return self._cursors.get(cursor, f"cursor:{cursor}")
        job = _SF_JOB.match(rest)
        if job is not None:
            return f"job:{job.group('job')}"
        chain = f"call:{next(self._serial)}"
        if rest in ("query", "queryAll"):
            following = _NEXT_URL.search(response.body[-2000:]) or _NEXT_URL.search(response.body)
            if following is not None:
                with self._lock:
                    self._cursors[following.group(1).decode()] = chain
        elif rest in ("jobs/query", "job") and request.method == "POST":
            created = _JOB_ID.search(response.body)
            if created is not None:
                return f"job:{(created.group(1) or created.group(2)).decode()}"
        return chain


def _kind(request: Request, search: bool) -> str:
    """What a call does, for the timeline: search, write or read."""
    if search:
        return "search"
    path = request.path
    if request.method in ("PATCH", "DELETE") or (
        request.method == "POST" and ("/batch/" in path and not path.endswith("/read"))
    ):
        return "write"
    return "read"


def timeline(calls: list[Call], step: float = 2.0) -> dict[str, list[dict[str, Any]]]:
    """Per CRM, the calls answered in each ``step`` seconds by kind: where a run left a CRM's
    allowance idle (a gap, a serial stage) shows as a thin stretch."""
    out: dict[str, list[dict[str, Any]]] = {}
    for server in SERVERS:
        buckets: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for call in calls:
            if call.server == server:
                buckets[int(call.at // step)][call.kind] += 1
        last = max(buckets, default=-1)
        out[server] = [
            {"from_s": round(i * step, 1), **dict(sorted(buckets[i].items()))}
            for i in range(last + 1)
        ]
    return out


def _hs_chain(request: Request) -> str:
    """The chain a HubSpot call belongs to.

    A search page's successor starts from the last page's stamp or id (``connectors/hubspot/
    search.py`` never pages by offset alone), so its filters change from page to page: every
    search of one object with the same properties is one chain. Any other call is the same
    request but for ``after`` (listings, association pages) or a chain of its own.
    """
    if request.method == "POST" and request.path.rstrip("/").endswith("/search"):
        data = orjson.loads(request.body or b"{}")
        properties = sorted(data.get("properties") or []) if isinstance(data, dict) else []
        return f"search {request.path} {properties}"
    query = sorted((k, v) for k, values in request.query.items() if k != "after" for v in values)
    body = request.body
    if b'"after"' in body:
        data = orjson.loads(body)
        if isinstance(data, dict):
            data.pop("after", None)
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f"{request.method} {request.path} {query} {digest}"


def floor(calls: list[Call], limits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The rate-limit floor of ``calls`` (see the module docstring), per CRM and overall."""
    out: dict[str, Any] = {}
    for server in SERVERS:
        served = [c for c in calls if c.server == server and c.status != 429]
        chains: dict[str, float] = defaultdict(float)
        for call in served:
            chains[call.chain] += call.delay_ms
        longest = max(chains.values(), default=0.0) / 1000
        figures: dict[str, Any] = {
            "calls": len(served),
            "chains": len(chains),
            "longest_chain_s": round(longest, 3),
        }
        bound = longest
        if server == "hubspot":
            spec = limits["hubspot"]
            searches = sum(1 for c in served if c.search)
            window = _rate(len(served), spec["hs_window_limit"], spec["hs_window_seconds"])
            per_second = _rate(searches, spec["hs_search_per_second"], 1.0)
            paced_window, paced_search = _paced(len(served), searches)
            figures |= {
                "search_calls": searches,
                "window_bound_s": round(window, 3),
                "search_bound_s": round(per_second, 3),
                "paced_window_s": round(paced_window, 3),
                "paced_search_s": round(paced_search, 3),
            }
            figures["paced_floor_s"] = round(max(bound, paced_window, paced_search), 3)
            bound = max(bound, window, per_second)
        figures["floor_s"] = round(bound, 3)
        figures.setdefault("paced_floor_s", figures["floor_s"])
        out[server] = figures
    out["floor_s"] = max(out[s]["floor_s"] for s in SERVERS)
    out["paced_floor_s"] = max(out[s]["paced_floor_s"] for s in SERVERS)
    out["binding"] = max(SERVERS, key=lambda s: out[s]["floor_s"])
    return out


def _paced(calls: int, searches: int) -> tuple[float, float]:
    """The least seconds ``calls`` (``searches`` of them searches) take at the pace HubSpot's
    connector keeps by default (:class:`~connectors.hubspot.settings.HubSpotRateLimits`: 90 %
    of the 10 s window, 80 % of search's rate, spaced evenly): the floor with the pacer's
    safety margins, so a run's distance from it is its scheduling alone."""
    limits = HubSpotRateLimits()
    window = Rate("window", limits.window_calls, limits.window_seconds, limits.margin)
    search = Rate("search", limits.search_per_second, 1.0, limits.search_margin)
    return max(0, calls - 1) / window.per_second, max(0, searches - 1) / search.per_second


def _rate(calls: int, limit: int | None, seconds: float) -> float:
    """The least time ``calls`` take at ``limit`` per rolling ``seconds`` (0 if unlimited)."""
    if not calls or not limit:
        return 0.0
    return float(seconds) * ((calls - 1) // int(limit))


def _measured(
    sb: Sandbox, log: CallLog, report: dict[str, Any], url: str, before: int
) -> dict[str, Any]:
    log.on = False
    limits = {s: sb.stats(s)["faults"] for s in SERVERS}
    stats = {s: sb.stats(s) for s in SERVERS}
    bound = floor(list(log.calls), limits)
    seconds = float(report["seconds"])
    paced = bound["paced_floor_s"]
    return {
        "seconds": round(seconds, 2),
        "floor": bound,
        "ratio_to_floor": round(seconds / bound["floor_s"], 2) if bound["floor_s"] else None,
        "ratio_to_paced_floor": round(seconds / paced, 2) if paced else None,
        "responses_429": sum(stats[s]["responses_429"] for s in SERVERS),
        "throttled": {s: stats[s]["throttled"] for s in SERVERS},
        "api_calls": {s: stats[s]["total_calls"] for s in SERVERS},
        "calls_by_endpoint": {s: stats[s]["calls_by_endpoint"] for s in SERVERS},
        "delay_slept_s": {s: round(stats[s]["delay_ms_total"] / 1000, 2) for s in SERVERS},
        "maxrss_mib": round(report["maxrss_kib"] / 1024, 1),
        "timeline": timeline(list(log.calls)),
        **measure.summarise_runs(measure.runs_since(url, before)),
    }


def run(
    scale: int,
    config: Path,
    tmp: Path,
    db: str = "sqlite",
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A full sync and an incremental under the realistic profile, each with its floor.

    Args:
        scale: partners in the sandbox.
        config: the bench config (:func:`bench.workload.write_config`).
        tmp: where a SQLite store goes.
        db: ``sqlite`` or ``postgres``.
        overrides: fault keys over the profile for both servers (the smoke run shortens the
            latency with them).
    """
    faults = {s: dict(overrides or {}) for s in SERVERS}
    with Sandbox(seed=SEED, scale=scale, profile="realistic", faults=faults) as sb:
        log = CallLog()
        log.install(sb)
        env = sandbox_env(sb)
        with store(db, tmp) as url:
            sb.reset_stats()
            log.start()
            full = _measured(sb, log, measure.child(config, url, env, full=True), url, 0)
            print(_line("realistic full", full))
            touched = touch_share(sb, CHANGED_SHARE, offset=1)
            before = measure.last_run_id(url)
            sb.reset_stats()
            log.start()
            started_at = datetime.now(UTC)
            inc = _measured(sb, log, measure.child(config, url, env, full=False), url, before)
            inc["records_changed"] = sum(touched.values())
            inc["push_calls"] = measure.push_calls(
                measure.pushed_rows(url, started_at), inc["calls_by_endpoint"]
            )
            inc["share_of_full"] = round(inc["seconds"] / full["seconds"], 3)
            print(_line("realistic incr.", inc))
        profile = {s: sb.stats(s)["faults"] for s in SERVERS}
    return {"db": db, "scale": scale, "profile": profile, "full_sync": full, "incremental": inc}


def _line(label: str, f: dict[str, Any]) -> str:
    bound = f["floor"]
    return (
        f"{label:16} {f['seconds']:.1f} s, floor {bound['floor_s']:.1f} s "
        f"({bound['binding']}), ratio {f['ratio_to_floor']}, 429s {f['responses_429']}, "
        f"calls {f['api_calls']}"
    )


def lines(figures: dict[str, Any]) -> list[str]:
    """The console summary: each realistic figure next to its floor and target."""
    full, inc = figures["full_sync"], figures["incremental"]
    out = [f"\n== realistic profile ({figures['db']}, scale {figures['scale']}) =="]
    for label, f, target in (
        ("full sync", full, "<= 1.15 x floor, 0 x 429"),
        ("incremental 1 %", inc, "<= 1.2 x floor, <= 0.02 of full"),
    ):
        bound = f["floor"]
        hs, sf = bound["hubspot"], bound["salesforce"]
        out.append(
            f"{label:16} {f['seconds']:>8.1f} s   floor {bound['floor_s']:>7.1f} s   "
            f"ratio {f['ratio_to_floor']}   429s {f['responses_429']}   (target {target})"
        )
        out.append(
            f"{'':16} paced floor {bound['paced_floor_s']} s (the pacer's margins), "
            f"ratio {f['ratio_to_paced_floor']}"
        )
        out.append(
            f"{'':16} Salesforce {sf['calls']} calls, longest chain {sf['longest_chain_s']} s; "
            f"HubSpot {hs['calls']} calls ({hs['search_calls']} search), longest chain "
            f"{hs['longest_chain_s']} s, 10 s window {hs['window_bound_s']} s, "
            f"search {hs['search_bound_s']} s"
        )
    out.append(f"{'':16} incremental = {inc['share_of_full']} of the full sync")
    return out
