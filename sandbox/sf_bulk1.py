"""Bulk API 1.0 query jobs: ``/services/async/{version}/job...`` as the Bulk API guide has them.

Jobs (``query`` and ``queryAll``) are created as JSON or XML ``jobInfo``; a batch is the SOQL
text; batch status, the batch list, the result list and each result (CSV, JSON or XML, as the
job's ``contentType`` says) follow the "Bulk API Developer Guide" (Walk Through a Bulk Query
Sample; Use PK Chunking). Sessions come in the ``X-SFDC-Session`` header (a Bearer token is
accepted too). What the sandbox does its own way, each marked as an assumption below:

* a batch runs when it is added, so its first status is ``Completed`` (or ``Failed``);
* each result file holds at most ``RESULT_ROWS`` records (real files are cut at 1 GB), fewer
  under the ``page_size`` fault;
* JSON results write dateTimes as epoch milliseconds (simple-salesforce #290 shows it for
  dateTimes; dates are assumed to come the same way, at midnight UTC);
* ``Sforce-Enable-PKChunking`` splits the records by Id into ``chunkSize`` (default 100,000,
  at most 250,000) ranges: the batch added is ``NotProcessed`` and one batch per range does the
  work, its request the query with an Id range, as the guide describes;
* ingest operations (insert, update, ...) are refused: extractors only read;
* of the faults, the daily budget and ``page_size`` apply (not 429s, 5xx or session expiry).

Wire formats are in :mod:`sf_bulk1_wire`.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from sandbox import ids
from sandbox import sf_bulk1_wire as wire
from sandbox.formats import now_ms
from sandbox.httpbase import Request, Response
from sandbox.sf_bulk import csv_text
from sandbox.sf_org import SalesforceOrg
from sandbox.sf_reference import INTEGRATION_USER
from sandbox.soql import SoqlError
from sandbox.soql_eval import Plan, render, select

RESULT_ROWS = 50_000
_ROUTE = re.compile(r"^/services/async/(?P<version>\d+\.\d+)/(?P<rest>.*?)/?$")


@dataclass
class Batch:
    """One batch of a job: its query, state, and the result files' rows."""

    id: str
    job_id: str
    query: str
    state: str
    created: int
    message: str = ""
    results: list[tuple[str, array[int]]] = field(default_factory=list)
    plan: Plan | None = None

    @property
    def processed(self) -> int:
        """Records the batch returned."""
        return sum(len(rows) for _, rows in self.results)


@dataclass
class Job:
    """One Bulk 1.0 job."""

    id: str
    operation: str
    object: str
    content_type: str
    created: int
    chunk_size: int | None
    version: str
    state: str = "Open"
    batches: list[Batch] = field(default_factory=list)


class BulkV1:
    """Serves ``/services/async/...`` for one org (see the module docstring)."""

    def __init__(self, org: SalesforceOrg, valid: Callable[[str], bool]) -> None:
        self.org, self.valid = org, valid
        self.jobs: dict[str, Job] = {}
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("POST", re.compile(r"^job$"), self.create),
            ("GET", re.compile(r"^job/(\w+)$"), self.job_info),
            ("POST", re.compile(r"^job/(\w+)$"), self.close),
            ("POST", re.compile(r"^job/(\w+)/batch$"), self.add_batch),
            ("GET", re.compile(r"^job/(\w+)/batch$"), self.batch_list),
            ("GET", re.compile(r"^job/(\w+)/batch/(\w+)$"), self.batch_info),
            ("GET", re.compile(r"^job/(\w+)/batch/(\w+)/request$"), self.batch_request),
            ("GET", re.compile(r"^job/(\w+)/batch/(\w+)/result$"), self.result_list),
            ("GET", re.compile(r"^job/(\w+)/batch/(\w+)/result/(\w+)$"), self.result),
        ]

    @property
    def batches_used(self) -> int:
        """Batches created today (what ``DailyBulkApiBatches`` counts)."""
        return sum(len(job.batches) for job in self.jobs.values())

    def __call__(self, request: Request) -> Response | None:
        """Answer a ``/services/async/`` request (None for any other path)."""
        found = _ROUTE.match(request.path)
        if found is None:
            return None
        wants_json = _wants_json(request, None)
        token = request.header("x-sfdc-session") or request.header("authorization")
        if not self.valid(token.removeprefix("Bearer ").strip()):
            return wire.error(400, "InvalidSessionId", "Invalid session id", wants_json)
        rest = found.group("rest")
        self.org.faults.count_call(f"{request.method} async/{_shape(rest)}")
        if self.org.faults.api_used > self.org.faults.budget:
            return wire.error(400, "ExceededQuota", "TotalRequests Limit exceeded.", wants_json)
        for method, pattern, handler in self.routes:
            match = pattern.match(rest)
            if match and method == request.method:
                return handler(request, found.group("version"), *match.groups())
        return wire.error(404, "InvalidUrl", f"Unknown resource {rest}", wants_json)

    # -- jobs -------------------------------------------------------------------------------

    def create(self, request: Request, version: str) -> Response:
        """``POST job``: a query job, Open; its content type decides the result format."""
        as_json = _wants_json(request, None)
        body = wire.job_body(request, as_json)
        operation = str(body.get("operation") or "")
        if operation not in {"query", "queryAll"}:
            return wire.error(
                400,
                "InvalidJob",
                f"The sandbox's Bulk API 1.0 runs query and queryAll jobs only, not {operation!r}",
                as_json,
            )
        name = str(body.get("object") or "")
        o = self.org.store.sobject(name)
        if o is None:
            return wire.error(400, "InvalidJob", f"Unable to find object: {name}", as_json)
        content = str(body.get("contentType") or "CSV").upper()
        if content not in {"CSV", "JSON", "XML"}:
            return wire.error(400, "InvalidJob", f"Invalid content type: {content}", as_json)
        try:
            chunk = wire.chunk_size(request.header("sforce-enable-pkchunking"))
        except ValueError as exc:
            return wire.error(400, "InvalidJob", str(exc), as_json)
        serial = self.org.next_serial()
        job = Job(ids.sf_id("750", serial), operation, o.name, content, now_ms(), chunk, version)
        self.jobs[job.id] = job
        return wire.answer(201, "jobInfo", self._job(job), as_json)

    def _job(self, job: Job) -> dict[str, Any]:
        states = [b.state for b in job.batches]
        return {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdById": INTEGRATION_USER,
            "createdDate": job.created,
            "systemModstamp": job.created,
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": job.content_type,
            "numberBatchesQueued": states.count("Queued"),
            "numberBatchesInProgress": states.count("InProgress"),
            "numberBatchesCompleted": states.count("Completed"),
            "numberBatchesFailed": states.count("Failed"),
            "numberBatchesTotal": len(states),
            "numberRecordsProcessed": sum(b.processed for b in job.batches),
            "numberRetries": 0,
            "apiVersion": float(job.version),
            "numberRecordsFailed": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }

    def _find(self, request: Request, job_id: str) -> Job | Response:
        job = self.jobs.get(job_id)
        if job is None:
            return wire.error(400, "InvalidJob", f"Invalid job id: {job_id}", _wants_json(request))
        return job

    def job_info(self, request: Request, version: str, job_id: str) -> Response:
        """``GET job/{id}``."""
        job = self._find(request, job_id)
        if isinstance(job, Response):
            return job
        return wire.answer(200, "jobInfo", self._job(job), _wants_json(request, job))

    def close(self, request: Request, version: str, job_id: str) -> Response:
        """``POST job/{id}`` with ``state`` Closed or Aborted."""
        job = self._find(request, job_id)
        if isinstance(job, Response):
            return job
        as_json = _wants_json(request, job)
        state = str(wire.job_body(request, as_json).get("state") or "")
        if state not in {"Closed", "Aborted"}:
            return wire.error(400, "InvalidJobState", f"Invalid state: {state}", as_json)
        job.state = state
        return wire.answer(200, "jobInfo", self._job(job), as_json)

    # -- batches ----------------------------------------------------------------------------

    def add_batch(self, request: Request, version: str, job_id: str) -> Response:
        """``POST job/{id}/batch`` with the SOQL as the body: the batch runs at once."""
        job = self._find(request, job_id)
        if isinstance(job, Response):
            return job
        as_json = _wants_json(request, job)
        if job.state != "Open":
            return wire.error(400, "InvalidJobState", f"Job {job.id} is {job.state}", as_json)
        text = request.body.decode("utf-8").strip()
        batch = self._batch(job, text)
        if job.chunk_size is None or batch.plan is None:
            self._run(job, batch, batch.plan, None)
            return wire.answer(201, "batchInfo", _batch_info(batch), as_json)
        batch.state, batch.message = "NotProcessed", ""
        for low, high in _id_ranges(self.org, batch.plan, job.chunk_size):
            chunk = self._batch(job, text, _ranged(text, low, high))
            self._run(job, chunk, batch.plan, (low, high))
        return wire.answer(201, "batchInfo", _batch_info(batch), as_json)

    def _batch(self, job: Job, text: str, shown: str | None = None) -> Batch:
        """A new batch of ``text``; ``shown`` is what its ``/request`` reads (PK chunks)."""
        serial = self.org.next_serial()
        batch = Batch(ids.sf_id("751", serial), job.id, shown or text, "Queued", now_ms())
        job.batches.append(batch)
        try:
            plan = self.org.plan(text)
        except SoqlError as exc:
            batch.state, batch.message = "Failed", f"InvalidBatch : Failed to process query: {exc}"
            return batch
        if plan.sobject.name != job.object:
            batch.state = "Failed"
            batch.message = (
                f"InvalidBatch : The query is on {plan.sobject.name}, the job on {job.object}"
            )
        elif plan.query.count is not False:
            batch.state = "Failed"
            batch.message = "InvalidBatch : Aggregate queries are not supported by the Bulk API"
        else:
            batch.plan = plan
        return batch

    def _run(
        self, job: Job, batch: Batch, plan: Plan | None, ids_in: tuple[str, str | None] | None
    ) -> None:
        if plan is None or batch.state == "Failed":
            return
        every = job.operation == "queryAll"
        rows = select(plan, self.org.store, every, self.org.purged_before())
        table = self.org.store.table(plan.sobject.name)
        if ids_in is not None:
            low, high = ids_in
            rows = (i for i in rows if _in_range(_id(table, i), low, high))
        found = array("q", rows)
        start = 0
        while start < len(found) or not batch.results:
            size = self.org.faults.page(RESULT_ROWS)
            result_id = ids.sf_id("752", self.org.next_serial())[:15]
            batch.results.append((result_id, found[start : start + size]))
            start += size
        self.org.faults.served(plan.sobject.name, len(found))
        batch.state = "Completed"

    def _batch_of(
        self, request: Request, job_id: str, batch_id: str
    ) -> tuple[Job, Batch] | Response:
        job = self._find(request, job_id)
        if isinstance(job, Response):
            return job
        for batch in job.batches:
            if batch.id == batch_id:
                return job, batch
        return wire.error(
            400, "InvalidBatch", f"Invalid batch id: {batch_id}", _wants_json(request, job)
        )

    def batch_info(self, request: Request, version: str, job_id: str, batch_id: str) -> Response:
        """``GET job/{id}/batch/{batchId}``."""
        found = self._batch_of(request, job_id, batch_id)
        if isinstance(found, Response):
            return found
        job, batch = found
        return wire.answer(200, "batchInfo", _batch_info(batch), _wants_json(request, job))

    def batch_list(self, request: Request, version: str, job_id: str) -> Response:
        """``GET job/{id}/batch``: every batch, PK-chunked ones included."""
        job = self._find(request, job_id)
        if isinstance(job, Response):
            return job
        infos = [_batch_info(b) for b in job.batches]
        if _wants_json(request, job):
            return Response(200, orjson.dumps({"batchInfo": [wire.json(i) for i in infos]}))
        inner = "".join(wire.xml_element("batchInfo", i) for i in infos)
        return wire.xml(200, f'<batchInfoList xmlns="{wire.NS}">{inner}</batchInfoList>')

    def batch_request(self, request: Request, version: str, job_id: str, batch_id: str) -> Response:
        """``GET job/{id}/batch/{batchId}/request``: the query the batch ran."""
        found = self._batch_of(request, job_id, batch_id)
        if isinstance(found, Response):
            return found
        return Response(200, found[1].query.encode(), content_type="text/plain;charset=UTF-8")

    def result_list(self, request: Request, version: str, job_id: str, batch_id: str) -> Response:
        """``GET job/{id}/batch/{batchId}/result``: the ids of the batch's result files."""
        found = self._batch_of(request, job_id, batch_id)
        if isinstance(found, Response):
            return found
        job, batch = found
        as_json = _wants_json(request, job)
        if batch.state != "Completed":
            return wire.error(400, "InvalidBatch", f"Batch {batch.id} is {batch.state}", as_json)
        names = [name for name, _ in batch.results]
        if as_json:
            return Response(200, orjson.dumps(names))
        inner = "".join(f"<result>{n}</result>" for n in names)
        return wire.xml(200, f'<result-list xmlns="{wire.NS}">{inner}</result-list>')

    def result(
        self, request: Request, version: str, job_id: str, batch_id: str, result_id: str
    ) -> Response:
        """``GET job/{id}/batch/{batchId}/result/{resultId}``: the records, in the job's format."""
        found = self._batch_of(request, job_id, batch_id)
        if isinstance(found, Response):
            return found
        job, batch = found
        rows = dict(batch.results).get(result_id)
        if rows is None or batch.plan is None:
            return wire.error(
                400, "InvalidBatch", f"Invalid result id: {result_id}", _wants_json(request, job)
            )
        plan, store = batch.plan, self.org.store
        if job.content_type == "CSV":
            text = csv_text(plan, store, rows)
            return Response(200, text.encode(), content_type="text/csv;charset=UTF-8")
        table = store.table(plan.sobject.name)
        records = [
            render(
                plan,
                store,
                record,
                job.version,
                wire.bulk_json if job.content_type == "JSON" else wire.bulk_text,
            )
            for record in (table.record(i) for i in rows)
            if record is not None
        ]
        if job.content_type == "JSON":
            return Response(200, orjson.dumps(records))
        inner = "".join(wire.xml_record(r) for r in records)
        return wire.xml(
            200, f'<queryResult xmlns="{wire.NS}" xmlns:xsi="{wire.XSI}">{inner}</queryResult>'
        )


# -- wire helpers --------------------------------------------------------------------------


def _shape(rest: str) -> str:
    """The endpoint name stats count by (ids replaced)."""
    return re.sub(r"/\w{15,18}", "/{id}", rest)


def _wants_json(request: Request, job: Job | None = None) -> bool:
    """JSON for JSON jobs or JSON requests (Content-Type or Accept); XML otherwise."""
    if job is not None and job.content_type == "JSON":
        return True
    return "json" in request.header("content-type") or "json" in request.header("accept")


def _id(table: Any, index: int) -> str:
    return str(table.id_of(index)) if table.natural_ids else str((table.record(index) or {})["Id"])


def _ranged(text: str, low: str, high: str | None) -> str:
    """A PK chunk's query as its ``/request`` shows it: the query with an Id range added.

    Shown only (the chunk runs the original query within the range); placed at the end, which
    is right for the plain ``SELECT ... FROM ... [WHERE ...]`` that chunked extracts send.
    """
    joiner = " AND " if re.search(r"\bwhere\b", text, re.IGNORECASE) else " WHERE "
    bounds = f"Id >= '{low}'" + (f" AND Id < '{high}'" if high else "")
    return text + joiner + bounds


def _in_range(record_id: str, low: str, high: str | None) -> bool:
    return low <= record_id and (high is None or record_id < high)


def _id_ranges(org: SalesforceOrg, plan: Plan, size: int) -> list[tuple[str, str | None]]:
    """Boundaries every ``size`` Ids of the whole table (deleted rows too), in Id order."""
    table = org.store.table(plan.sobject.name)
    every = sorted(_id(table, i) for i in table.by_index())
    if not every:
        return [("", None)]
    starts = every[::size]
    return [(low, starts[n + 1] if n + 1 < len(starts) else None) for n, low in enumerate(starts)]


def _batch_info(batch: Batch) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": batch.id,
        "jobId": batch.job_id,
        "state": batch.state,
        "createdDate": batch.created,
        "systemModstamp": batch.created,
        "numberRecordsProcessed": batch.processed,
        "numberRecordsFailed": 0,
        "totalProcessingTime": 0,
        "apiActiveProcessingTime": 0,
        "apexProcessingTime": 0,
    }
    if batch.message or batch.state == "NotProcessed":
        info["stateMessage"] = batch.message or None
    return info
