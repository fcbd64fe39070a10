"""Bulk API 2.0 query jobs (create, poll, CSV results paged by ``Sforce-Locator``).

The job runs when it is created (rows fixed then, like a cursor) and reports ``JobComplete`` at
the first poll. CSV: every value quoted, null empty, booleans ``true``/``false``, dateTimes with
``Z`` (the reference marks these details [mem]; assumed). Ingest jobs are not emulated.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from array import array
from collections.abc import Callable, Iterable
from typing import Any

from sandbox import ids
from sandbox.formats import now_ms, sf_csv_datetime, sf_datetime
from sandbox.httpbase import Request, Response, json_response
from sandbox.sf_org import Job, SalesforceOrg
from sandbox.sf_reference import INTEGRATION_USER
from sandbox.sf_store import SalesforceStore
from sandbox.soql import SoqlError
from sandbox.soql_eval import Plan, Row, resolve, select


def routes(org: SalesforceOrg) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
    """The Bulk 2.0 query routes, bound to ``org``."""
    bulk = Bulk(org)
    return [
        ("POST", re.compile(r"^jobs/query$"), bulk.create),
        ("GET", re.compile(r"^jobs/query/(\w+)$"), bulk.info),
        ("PATCH", re.compile(r"^jobs/query/(\w+)$"), bulk.abort),
        ("DELETE", re.compile(r"^jobs/query/(\w+)$"), bulk.delete),
        ("GET", re.compile(r"^jobs/query/(\w+)/results$"), bulk.results),
    ]


def _error(status: int, code: str, message: str) -> Response:
    return json_response(status, [{"errorCode": code, "message": message}])


class Bulk:
    """Handlers for Bulk 2.0 query jobs."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org

    def _info(self, job: Job, version: str) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.plan.sobject.name,
            "createdById": INTEGRATION_USER,
            "createdDate": sf_datetime(job.created),
            "systemModstamp": sf_datetime(job.created),
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if job.state == "JobComplete":
            info.update(
                jobType="V2Query",
                numberRecordsProcessed=len(job.rows),
                retries=0,
                totalProcessingTime=len(job.rows) // 50,
                isPkChunkingSupported=True,
            )
        return info

    def create(self, request: Request, version: str) -> Response:
        """``POST /jobs/query`` ``{"operation": "query"|"queryAll", "query": ...}``."""
        body = request.json() or {}
        operation = body.get("operation", "query")
        if operation not in {"query", "queryAll"}:
            return _error(400, "INVALIDJOB", f"Invalid operation: {operation}")
        try:
            plan = self.org.plan(str(body.get("query", "")))
        except SoqlError as exc:
            return _error(400, "INVALIDJOB", str(exc))
        if plan.query.count is not False:
            return _error(400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0")
        every = operation == "queryAll"
        rows = array("q", select(plan, self.org.store, every, self.org.purged_before()))
        job = Job(ids.sf_id("750", self.org.next_serial()), operation, plan, rows, now_ms())
        self.org.jobs[job.id] = job
        return json_response(200, self._info(job, version))

    def info(self, request: Request, version: str, job_id: str) -> Response:
        """``GET /jobs/query/{id}``: InProgress at most once, then JobComplete."""
        job = self.org.jobs.get(job_id)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if job.state in {"UploadComplete", "InProgress"}:
            job.state = "JobComplete"
        return json_response(200, self._info(job, version))

    def abort(self, request: Request, version: str, job_id: str) -> Response:
        """``PATCH /jobs/query/{id}`` ``{"state": "Aborted"}``."""
        job = self.org.jobs.get(job_id)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        job.state = "Aborted"
        return json_response(200, self._info(job, version))

    def delete(self, request: Request, version: str, job_id: str) -> Response:
        """``DELETE /jobs/query/{id}``: 204."""
        self.org.jobs.pop(job_id, None)
        return Response(204)

    def results(self, request: Request, version: str, job_id: str) -> Response:
        """``GET /jobs/query/{id}/results?maxRecords=&locator=``: one CSV page."""
        job = self.org.jobs.get(job_id)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if job.state != "JobComplete":
            return _error(400, "INVALIDJOB", f"Job {job_id} is not complete: {job.state}")
        locator = request.param("locator") or ""
        try:
            start = int(base64.b64decode(locator + "==").decode()) if locator else 0
        except ValueError:
            return _error(400, "INVALID_LOCATOR", "invalid locator")
        raw = request.param("maxRecords") or ""
        size = self.org.faults.page(int(raw) if raw.isdigit() else 50000)
        chunk = job.rows[start : start + size]
        text = csv_text(job.plan, self.org.store, chunk)
        following = start + len(chunk)
        next_locator = (
            base64.b64encode(str(following).encode()).decode().rstrip("=")
            if following < len(job.rows)
            else "null"
        )
        self.org.faults.served(job.plan.sobject.name, len(chunk))
        return Response(
            200,
            text.encode(),
            content_type="text/csv",
            headers={"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(chunk))},
        )


def csv_text(plan: Plan, store: SalesforceStore, chunk: Iterable[int]) -> str:
    """Rows ``chunk`` of a query as Bulk CSV: a header of the select paths, every value quoted."""
    table = store.table(plan.sobject.name)
    getters = [resolve(plan.query, plan.sobject, path, store) for path in plan.query.fields]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([".".join(path.parts) for path in plan.query.fields])
    for index in chunk:
        row = Row(table, index)
        writer.writerow([_cell(f.type, getter(row)) for f, getter in getters])
    return out.getvalue()


def _cell(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "datetime":
        return sf_csv_datetime(value)
    return str(value)
