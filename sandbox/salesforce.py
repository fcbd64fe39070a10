"""The Salesforce REST emulator: routing, auth, limits headers, faults, queries and describe.

Writes (sObject rows, collections, upsert) live in :mod:`sf_writes`, Bulk 2.0 in :mod:`sf_bulk`,
Bulk 1.0 (``/services/async/``) in :mod:`sf_bulk1`, getUpdated/getDeleted in
:mod:`sf_replication`; all are written against
:class:`~sandbox.sf_org.SalesforceOrg`, the state this app extends, so that none imports this
module back.

Every ``/services/data/vNN.N/`` response carries ``Sforce-Limit-Info: api-usage=N/M``; errors
are JSON arrays of ``{"message", "errorCode"}`` as simple-salesforce requires.
"""

from __future__ import annotations

import re
import secrets
from array import array
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox import ids, sf_bulk, sf_replication, sf_writes
from sandbox.faults import control_route
from sandbox.httpbase import Request, Response, json_response, match_route
from sandbox.limits import LongRequests
from sandbox.sf_bulk1 import BulkV1
from sandbox.sf_oauth import OAuth, soap_login
from sandbox.sf_org import SalesforceOrg
from sandbox.sf_schema import describe_global, describe_object, sobject
from sandbox.sf_sharing import READABLE, Principal, can_read
from sandbox.sf_store import DmlError, SalesforceStore
from sandbox.soql import SoqlError
from sandbox.soql_eval import Plan, render, select

MAX_CURSORS = 20  # real orgs keep ~10 open cursors a user; older ones answer INVALID_QUERY_LOCATOR
_VERSIONS = [
    ("Winter '24", "59.0"),
    ("Spring '24", "60.0"),
    ("Summer '24", "61.0"),
    ("Winter '25", "62.0"),
]
_API = re.compile(r"^/services/data/v(?P<version>\d+\.\d+)/(?P<rest>.*?)/?$")
_PARTNER_ROUTES = ("query", "queryAll", "sobjects", "composite/sobjects")


def error(status: int, code: str, message: str, **extra: Any) -> Response:
    """A Salesforce error: always a JSON array."""
    return json_response(status, [{"message": message, "errorCode": code, **extra}])


@dataclass
class Cursor:
    """An open query: the matching rows fixed when it ran, served page by page."""

    plan: Plan
    rows: array[int]
    endpoint: str
    pages: int = 0
    locator: str = ""


class SalesforceApp(SalesforceOrg):
    """Handles every request of the Salesforce server (call :meth:`__call__`)."""

    def __init__(self, store: SalesforceStore, oauth: OAuth) -> None:
        super().__init__(store)
        self.url = ""
        self.oauth = oauth
        self.tokens: dict[str, bool] = {}
        self.session_id = self.issue_token()
        self.expired_for_spec = False
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.in_flight = LongRequests()
        self.bulk1 = BulkV1(self, lambda token: self.tokens.get(token, False))
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"^limits$"), self.limits),
            ("GET", re.compile(r"^sobjects$"), self.describe_global),
            ("GET", re.compile(r"^sobjects/(\w+)/describe$"), self.describe),
            ("GET", re.compile(r"^(query|queryAll)$"), self.query),
            ("GET", re.compile(r"^(query|queryAll)/([\w-]+)$"), self.query_more),
            *sf_replication.routes(self),
            *sf_writes.routes(self),
            *sf_bulk.routes(self),
        ]

    def issue_token(self) -> str:
        """A new valid access token (usable directly as a session id)."""
        token = "00D8d0000000001!AQ" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = True
        return token

    def partner_token(self, principal: Principal) -> str:
        """A session of a partner portal user: it reads and writes only what sharing allows."""
        token = self.issue_token()
        with self.lock:
            self.principals[token] = principal
        return token

    def limit_header(self) -> dict[str, str]:
        """``Sforce-Limit-Info`` as simple-salesforce parses it."""
        return {"Sforce-Limit-Info": f"api-usage={self.faults.api_used}/{self.faults.budget}"}

    def __call__(self, request: Request) -> Response:
        """Dispatch one request."""
        path = request.path
        if path.startswith("/__sandbox/"):
            return self.sandbox_route(request)
        if path.endswith("/services/oauth2/token") and request.method == "POST":
            return self.oauth.handle(request, self.url, self.issue_token)
        if re.search(r"/services/Soap/u/[\d.]+/?$", path) and request.method == "POST":
            return soap_login(self.oauth, request, self.url, self.issue_token)
        if path.rstrip("/") == "/services/data":
            return json_response(
                200,
                [
                    {"label": label, "url": f"/services/data/v{v}", "version": v}
                    for label, v in _VERSIONS
                ],
            )
        if path.startswith("/services/async/"):
            answer = self.bulk1(request)
            if answer is not None:
                self.faults.pause()
                return answer
        match = _API.match(path)
        if match is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        response = self.api(request, match.group("version"), match.group("rest"))
        response.headers.update(self.limit_header())
        return response

    def api(self, request: Request, version: str, rest: str) -> Response:
        """Auth, faults, then the route's handler."""
        token = request.header("authorization").removeprefix("Bearer ").strip()
        if not self.tokens.get(token):
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        found, handler, endpoint = match_route(self.routes, request.method, rest)
        call = self.faults.count_call(endpoint)
        spec = self.faults.spec
        ticket = self.in_flight.enter(spec.sf_long_request_seconds, spec.sf_concurrent_long_limit)
        try:
            if ticket is None:
                self.faults.throttle("ConcurrentPerOrgLongTxn", 403)
                return error(
                    403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."
                )
            return self.answer(request, version, rest, token, call, found, handler)
        finally:
            self.faults.pause()  # the latency, once the answer (and its size) is known
            self.in_flight.leave(ticket)

    def answer(
        self,
        request: Request,
        version: str,
        rest: str,
        token: str,
        call: int,
        found: re.Match[str] | None,
        handler: Callable[..., Response] | None,
    ) -> Response:
        """Faults, then the route's handler."""
        refused = self.inject(call)
        if refused is not None:
            return refused
        if handler is None or found is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if token in self.principals and not rest.startswith(_PARTNER_ROUTES):
            # Assumption: partner users reach only the query and sObject routes (Bulk, the
            # replication calls and /limits need permissions the partner profile does not have).
            return error(403, "INSUFFICIENT_ACCESS", "insufficient access rights for this call")
        try:
            return handler(request, version, *found.groups())
        except DmlError as exc:
            return error(400, exc.status_code, exc.message, fields=exc.fields)

    def inject(self, call: int) -> Response | None:
        """The fault answer for call number ``call``, if any."""
        spec = self.faults.spec
        if spec.expire_session_after is not None and call > spec.expire_session_after:
            with self.lock:
                expire_now = not self.expired_for_spec
                if expire_now:  # once per spec: tokens issued from here on stay valid
                    self.expired_for_spec = True
                    self.tokens = dict.fromkeys(self.tokens, False)
            if expire_now:
                return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        status = self.faults.server_error(call)
        if status is not None:
            return error(status, "SERVER_UNAVAILABLE", "Service temporarily unavailable")
        if self.faults.rate_limit(call):
            # Assumption: Salesforce REST does not document 429s; we answer one with the
            # REQUEST_LIMIT_EXCEEDED body and Retry-After so a client's 429 handling can be tested.
            response = error(
                429, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."
            )
            self.faults.throttle("ConcurrentPerOrgLongTxn", 429)
            if spec.retry_after:
                response.headers["Retry-After"] = str(spec.retry_after)
            return response
        if self.faults.api_used > self.faults.budget:
            self.faults.throttle("TotalRequests", 403)
            return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return None

    def set_faults(self, spec: dict[str, Any]) -> None:
        """Replace the fault spec (see :mod:`faults`)."""
        self.faults.set(spec)
        with self.lock:
            self.expired_for_spec = False

    def sandbox_route(self, request: Request) -> Response:
        """``/__sandbox/faults``, ``/__sandbox/stats``, ``/__sandbox/records/{object}``."""
        path = request.path.rstrip("/")
        answer = control_route(request, path, self.faults, self.set_faults)
        if answer is not None:
            return answer
        if path.startswith("/__sandbox/records/"):
            o = sobject(path.rsplit("/", 1)[1])
            if o is None:
                return json_response(404, {"message": f"no sObject {path.rsplit('/', 1)[1]}"})
            return json_response(
                200, self.store.records(o.name, purged_before=self.purged_before())
            )
        return json_response(404, {"message": "unknown sandbox path"})

    def limits(self, request: Request, version: str) -> Response:
        """``GET /limits``."""
        budget, used = self.faults.budget, self.faults.api_used
        return json_response(
            200,
            {
                "DailyApiRequests": {"Max": budget, "Remaining": max(budget - used, 0)},
                "DailyBulkApiBatches": {
                    "Max": 15000,
                    "Remaining": max(15000 - self.bulk1.batches_used, 0),
                },
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - len(self.jobs)},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            },
        )

    def describe_global(self, request: Request, version: str) -> Response:
        """``GET /sobjects``."""
        return json_response(200, describe_global(version))

    def describe(self, request: Request, version: str, name: str) -> Response:
        """``GET /sobjects/{name}/describe``."""
        o = sobject(name)
        principal = self.principal(request)
        if o is None or (principal is not None and o.name not in READABLE):
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        return json_response(200, describe_object(o, version))

    def query(self, request: Request, version: str, endpoint: str) -> Response:
        """``GET /query?q=`` and ``/queryAll?q=``: the first page and a cursor for the rest."""
        text = request.param("q")
        if not text:
            return error(400, "MALFORMED_QUERY", "q: the query parameter is required")
        try:
            plan = self.plan(text)
        except SoqlError as exc:
            return error(400, exc.code, str(exc))
        if self.faults.times_out(plan.sobject.name):
            return error(400, "QUERY_TIMEOUT", "Your query request was running for too long.")
        every = endpoint == "queryAll"
        found = select(plan, self.store, every, self.purged_before())
        principal = self.principal(request)
        if principal is not None:
            name = plan.sobject.name
            if name not in READABLE:
                return error(
                    400,
                    "INVALID_TYPE",
                    f"sObject type '{name}' is not supported. If you are attempting to use a "
                    "custom object, be sure to append the '__c' after the entity name. Please "
                    "reference your WSDL or the describe call for the appropriate names.",
                )
            table = self.store.table(name)
            found = (
                index
                for index in found
                if (record := table.record(index)) is not None
                and can_read(self.store, principal, name, record)
            )
        rows = array("q", found)
        if plan.query.count is not False:
            if plan.query.count is None:
                return json_response(200, {"totalSize": len(rows), "done": True, "records": []})
            aggregate = {"attributes": {"type": "AggregateResult"}, "expr0": len(rows)}
            return json_response(200, {"totalSize": 1, "done": True, "records": [aggregate]})
        cursor = Cursor(plan, rows, endpoint)
        return self.page(cursor, version, 0, self.batch_size(request))

    def batch_size(self, request: Request) -> int:
        """``Sforce-Query-Options: batchSize=N`` clamped to 200..2000, or what the faults force."""
        found = re.search(r"batchSize=(\d+)", request.header("sforce-query-options"))
        asked = min(max(int(found.group(1)), 200), 2000) if found else 2000
        return self.faults.page(asked)  # "not guaranteed": a smaller page is legal

    def page(self, cursor: Cursor, version: str, offset: int, size: int) -> Response:
        """Render rows ``offset..offset+size`` and keep the cursor open if more remain."""
        name = cursor.plan.sobject.name
        table = self.store.table(name)
        chunk = cursor.rows[offset : offset + size]
        records = []
        for index in chunk:
            record = table.record(index)
            if record is not None:
                records.append(render(cursor.plan, self.store, record, version))
        self.faults.served(name, len(records))
        cursor.pages += 1
        self.concurrent_change(cursor, offset + len(chunk))
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": True, "records": records}
        following = offset + len(chunk)
        if following < len(cursor.rows):
            locator = cursor.locator or ids.sf_id("01g", self.next_serial())[:15]
            cursor.locator = locator
            with self.lock:
                self.cursors[locator] = cursor
                while len(self.cursors) > MAX_CURSORS:
                    self.cursors.popitem(last=False)
            body["done"] = False
            body["nextRecordsUrl"] = (
                f"/services/data/v{version}/{cursor.endpoint}/{locator}-{following}"
            )
        return json_response(200, body)

    def concurrent_change(self, cursor: Cursor, served: int) -> None:
        """The ``change_after_page`` fault: a user edits rows this sync has already read."""
        spec = self.faults.spec
        name = cursor.plan.sobject.name
        if (
            spec.change_after_page != cursor.pages
            or (spec.change_object or "").lower() != name.lower()
        ):
            return
        table = self.store.table(name)
        touched = 0
        for index in cursor.rows[:served]:
            record = table.record(index)
            if touched >= spec.change_count:
                break
            if record is not None and not record["_del"]:
                self.store.update(name, record["Id"], {}, trusted=True)
                touched += 1

    def query_more(self, request: Request, version: str, endpoint: str, locator: str) -> Response:
        """``GET /query/{locator}-{offset}``."""
        cursor_id, _, offset = locator.rpartition("-")
        with self.lock:
            cursor = self.cursors.get(cursor_id)
            if cursor is not None:
                self.cursors.move_to_end(cursor_id)
        if cursor is None or not offset.isdigit() or self.faults.locator_fails():
            return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self.page(cursor, version, int(offset), self.batch_size(request))
