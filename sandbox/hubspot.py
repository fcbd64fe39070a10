"""The HubSpot CRM v3 emulator: routing, bearer auth, rate-limit headers, faults, objects, search.

Batch writes live in :mod:`hs_batch`; properties, pipelines, schemas and v4 associations in
:mod:`hs_meta`; uploaded files in :mod:`hs_files`; all are written against
:class:`~sandbox.hs_portal.HubSpotPortal`, the state this app extends, so that none imports this
module back.

Error bodies carry ``status``, ``message``, ``correlationId`` and ``category``; success statuses
are exactly the ones hubspot-api-client maps to models (201 for creates).
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox import hs_batch, hs_files, hs_meta
from sandbox.faults import control_route
from sandbox.formats import hs_datetime, now_ms
from sandbox.hs_portal import HubSpotPortal
from sandbox.hs_schema import PORTAL
from sandbox.hs_search import MAX_RESULTS, Searcher
from sandbox.hs_store import HsError, HubSpotStore
from sandbox.httpbase import Request, Response, json_response, match_route
from sandbox.limits import DAILY, TEN_SECONDLY, HubSpotWindows, WindowLimits

# Professional/Enterprise private apps: 190 requests per 10 s, reported in the headers when no
# ``hs_window_limit`` is set (and then not enforced).
BURST = 190
_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


def error(status: int, category: str, message: str, **extra: Any) -> Response:
    """HubSpot's error envelope."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
    }
    if category:
        body["category"] = category
    body.update(extra)
    return json_response(status, body)


def _split(values: list[str] | None) -> list[str]:
    """Repeated (``a=1&a=2``) and comma-separated (``a=1,2``) list parameters, both accepted."""
    return [part for value in values or [] for part in value.split(",") if part]


class HubSpotApp(HubSpotPortal):
    """Handles every request of the HubSpot server."""

    def __init__(self, store: HubSpotStore) -> None:
        super().__init__(store)
        self.token = "pat-na1-" + secrets.token_hex(16)
        self.searcher = Searcher()
        self.windows = HubSpotWindows()
        self.lock = threading.Lock()
        self.pages_served: dict[str, int] = {}
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"^/crm/v3/objects/([\w-]+)$"), self.list),
            ("POST", re.compile(r"^/crm/v3/objects/([\w-]+)/search$"), self.search),
            *hs_batch.routes(self),
            ("GET", re.compile(r"^/crm/v3/objects/([\w-]+)/(\w+)$"), self.get),
            *hs_meta.routes(self),
            *hs_files.routes(self),
        ]

    def set_faults(self, spec: dict[str, Any]) -> None:
        """Replace the fault spec (see :mod:`faults`)."""
        self.faults.set(spec)
        self.windows.clear()
        with self.lock:
            self.pages_served.clear()

    def window_limits(self) -> WindowLimits:
        """The rolling-window limits of the current spec."""
        spec = self.faults.spec
        return WindowLimits(spec.hs_window_limit, spec.hs_window_seconds, spec.hs_search_per_second)

    def headers(self, in_window: int) -> dict[str, str]:
        """``X-HubSpot-RateLimit-*`` as HubSpot sends them on non-search responses.

        Args:
            in_window: calls of this token in the rolling window, this one included.
        """
        spec = self.faults.spec
        most = spec.hs_window_limit if spec.hs_window_limit is not None else BURST
        budget = self.faults.budget
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(round(spec.hs_window_seconds * 1000)),
            "X-HubSpot-RateLimit-Max": str(most),
            "X-HubSpot-RateLimit-Remaining": str(max(most - in_window, 0)),
            "X-HubSpot-RateLimit-Daily": str(budget),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(budget - self.faults.api_used, 0)),
        }

    def __call__(self, request: Request) -> Response:
        """Dispatch one request."""
        path = request.path.rstrip("/") or "/"
        if path.startswith("/__sandbox/"):
            return self.sandbox_route(request, path)
        if request.header("authorization") != f"Bearer {self.token}":
            return error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication"
                " and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        found, handler, endpoint = match_route(self.routes, request.method, path)
        call = self.faults.count_call(endpoint)
        try:
            return self.answer(request, path, call, found, handler)
        finally:
            self.faults.pause()  # the latency, once the answer (and its size) is known

    def answer(
        self,
        request: Request,
        path: str,
        call: int,
        found: re.Match[str] | None,
        handler: Callable[..., Response] | None,
    ) -> Response:
        """Faults and limits, then the route's handler, then the rate-limit headers."""
        search = path.endswith("/search")
        refused = self.inject(call, request, search)
        if isinstance(refused, Response):
            return refused
        headers = self.headers(refused)
        if handler is None or found is None:
            return error(404, "OBJECT_NOT_FOUND", f"No route for {request.method} {path}")
        try:
            response = handler(request, *found.groups())
        except HsError as exc:
            response = error(exc.status, exc.category, exc.message, **exc.extra)
        if not search:  # search answers carry no rate-limit headers (reported)
            response.headers.update(headers)
        return response

    def inject(self, call: int, request: Request, search: bool) -> Response | int:
        """The fault or limit answer for call number ``call``, or the calls now in its window.

        Order: an expired token, an injected 5xx, the daily limit, the search per-second
        window, the 10-second window, then an injected 429. A call refused by a window is not
        counted in it (it was not served).
        """
        spec = self.faults.spec
        if spec.expire_session_after is not None and call > spec.expire_session_after:
            return error(
                401, "INVALID_AUTHENTICATION", "The OAuth token used to make this call expired."
            )
        status = self.faults.server_error(call)
        if status is not None:
            return error(status, "", "internal error")
        if self.faults.api_used > self.faults.budget:
            return self.too_many(DAILY, 0, search)
        token = request.header("authorization").removeprefix("Bearer ")
        policy, in_window = self.windows.admit(token, search, self.window_limits())
        if policy is not None:
            return self.too_many(policy, in_window, search)
        if self.faults.rate_limit(call):
            return self.too_many(spec.rate_limit_policy, in_window, search, injected=True)
        return in_window

    def too_many(
        self, policy: str, in_window: int, search: bool, *, injected: bool = False
    ) -> Response:
        """HubSpot's 429 for ``policy``, with the bodies of ``reference/hubspot-samples``.

        Search answers carry no rate-limit headers, refusals included (assumed, as for their
        successes); an injected 429 carries them everywhere, as it always has.
        """
        extra = {"errorType": "RATE_LIMIT", "policyName": policy}
        if policy == TEN_SECONDLY:  # groupName wording for private apps: assumed
            extra["groupName"] = f"publicapi:private-app-api-calls-ten-secondly:{PORTAL}"
        message = _MESSAGES.get(policy, _MESSAGES[TEN_SECONDLY])
        response = error(429, "", message, **extra)
        self.faults.throttle(policy, 429)
        if injected or not search:
            response.headers.update(self.headers(in_window))
            response.headers["X-HubSpot-RateLimit-Remaining"] = "0"
            if policy == DAILY:
                response.headers["X-HubSpot-RateLimit-Daily-Remaining"] = "0"
        if self.faults.spec.retry_after:
            response.headers["Retry-After"] = str(self.faults.spec.retry_after)
        return response

    def sandbox_route(self, request: Request, path: str) -> Response:
        """``/__sandbox/faults``, ``/__sandbox/stats``, ``/__sandbox/records/{type}``."""
        answer = control_route(request, path, self.faults, self.set_faults)
        if answer is not None:
            return answer
        if path.startswith("/__sandbox/records/"):
            try:
                return json_response(200, self.store.records(path.rsplit("/", 1)[1]))
            except HsError as exc:
                return json_response(404, {"message": exc.message})
        return json_response(404, {"message": "unknown sandbox path"})

    def _limit(self, request: Request, default: int, cap: int) -> int:
        raw = request.param("limit")
        limit = int(raw) if raw and raw.isdigit() else default
        return self.faults.page(max(1, min(limit, cap)))

    def list(self, request: Request, type_name: str) -> Response:
        """``GET /crm/v3/objects/{type}``: id order; ``after`` = next id; archived only if asked.

        ``paging.next.link`` repeats the request's own query (``properties``, ``archived``,
        ``associations``, ``propertiesWithHistory``, ``limit``) with the next ``after``, as
        HubSpot's links do (list-deals-page.json): following it gives the same kind of page.
        """
        kind = self.store.kind(type_name)
        table = self.store.table(kind)
        history = _split(request.query.get("propertiesWithHistory"))
        # 100 a page, 50 when histories are asked for (the batch limit for histories; assumed
        # to hold for lists too). Larger limits are clamped (assumed; not verified).
        limit = self._limit(request, 10, 50 if history else 100)
        archived = (request.param("archived") or "false").lower() == "true"
        properties = _split(request.query.get("properties"))
        associations = [self.store.kind(n) for n in _split(request.query.get("associations"))]
        after = request.param("after")
        start = 0
        if after:
            known = table.index(after)
            start = (
                known
                if known is not None
                else (int(after) - kind.id_base if after.isdigit() else 0)
            )
        results: list[dict[str, Any]] = []
        following = None
        for index in table.by_index(max(start, 0)):
            if table.stamp(index)[1] != archived:
                continue
            if len(results) == limit:
                following = table.id_of(index)
                break
            record = table.record(index)
            if record is not None:
                rendered = self.store.render(kind, record, properties, associations, history)
                results.append(rendered)
        self.faults.served(kind.name, len(results))
        body: dict[str, Any] = {"results": results}
        if following is not None:
            query = [(k, v) for k, values in request.query.items() if k != "after" for v in values]
            link = f"{self.url}{request.path}?{urlencode([*query, ('after', following)])}"
            body["paging"] = {"next": {"after": following, "link": link}}
        self.after_page(kind.name)
        return json_response(200, body)

    def get(self, request: Request, type_name: str, record_id: str) -> Response:
        """``GET /crm/v3/objects/{type}/{id}`` (``idProperty`` for a unique property)."""
        kind = self.store.kind(type_name)
        id_property = request.param("idProperty")
        record = None
        if id_property:
            index = self.store.unique_index(kind, id_property).get(record_id)
            record = self.store.table(kind).record(index) if index is not None else None
        else:
            record = self.store.get(kind, record_id)
        archived = (request.param("archived") or "false").lower() == "true"
        if record is None or record["_del"] != archived:
            return error(
                404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
            )
        properties = _split(request.query.get("properties"))
        associations = [self.store.kind(n) for n in _split(request.query.get("associations"))]
        history = _split(request.query.get("propertiesWithHistory"))
        return json_response(
            200, self.store.render(kind, record, properties, associations, history)
        )

    def search(self, request: Request, type_name: str) -> Response:
        """``POST /crm/v3/objects/{type}/search``."""
        kind = self.store.kind(type_name)
        body = request.json() or {}
        if len(request.body) > 3000:
            raise HsError(400, "VALIDATION_ERROR", "Search request body exceeds 3000 characters")
        limit = int(body.get("limit") or 10)
        if limit > 200:
            raise HsError(400, "VALIDATION_ERROR", "limit: must be less than or equal to 200")
        served = self.faults.page(max(limit, 1))  # HubSpot may answer fewer than asked
        after = str(body.get("after") or "0")
        if not after.isdigit():
            raise HsError(400, "VALIDATION_ERROR", f"after: must be an integer, got {after}")
        offset = int(after)
        if offset >= MAX_RESULTS:
            # No recorded body exists for this error; the status and category are documented.
            raise HsError(
                400,
                "VALIDATION_ERROR",
                f"Cannot page beyond {MAX_RESULTS} results for a single search query",
            )
        if self.faults.times_out(kind.name):
            return error(504, "", "The search request timed out")
        table = self.store.table(kind)
        found = self.searcher.run(kind, table, body)
        lag = self.faults.spec.search_lag_ms
        if lag:  # not yet indexed: changed too recently for search to see
            found = found.visible(now_ms() - lag, table)
        properties = [p for p in body.get("properties") or [] if isinstance(p, str)]
        results = []
        for index in found.page(offset, served):
            record = table.record(index)
            if record is not None:
                rendered = self.store.render(kind, record, properties)
                results.append(rendered)
        self.faults.served(kind.name, len(results))
        answer: dict[str, Any] = {"total": len(found), "results": results}
        if offset + served < len(found):
            answer["paging"] = {"next": {"after": str(offset + served)}}
        self.after_page(kind.name)
        return json_response(200, answer)

    def after_page(self, name: str) -> None:
        """The ``change_after_page`` fault: someone edits records already served."""
        spec = self.faults.spec
        if spec.change_after_page is None or (spec.change_object or "").lower() != name:
            return
        with self.lock:
            self.pages_served[name] = self.pages_served.get(name, 0) + 1
            if self.pages_served[name] != spec.change_after_page:
                return
        kind = self.store.kind(name, api=False)
        table = self.store.table(kind)
        touched = 0
        for index in table.by_modified():
            if touched >= spec.change_count:
                break
            record = table.record(index)
            if record is not None and not record["_del"]:
                self.store.update(kind, record, {})
                touched += 1

    def created_stamp(self) -> str:
        """Now, as HubSpot writes instants."""
        return hs_datetime(now_ms())
