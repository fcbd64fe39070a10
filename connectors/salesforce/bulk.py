"""Bulk API 2.0 query jobs for large initial loads, read as pages of REST-shaped records.

A first sync of a big object through REST costs one call per 2,000 records; a Bulk 2.0 query
job costs a few calls in all and one per ``maxRecords`` page of CSV. The job is driven over
HTTP with the connector's own authenticated client (so re-login, retries, error translation,
TLS pinning and the budget apply exactly as for REST), rather than through simple-salesforce's
``bulk2``, whose errors escape any hierarchy and whose polling sleeps on its own clock.

**Order and watermarks.** Salesforce documents that Bulk 2.0 queries should not use
``ORDER BY``: it turns off the automatic PK chunking, and large ordered jobs then time out. The
job therefore runs unordered and rows arrive in no ``(SystemModstamp, Id)`` order, so no page
but the last can carry a watermark: persisting one mid-load could skip a record a later page
holds with an earlier stamp. Every page is yielded with ``watermark=None``; the last page
carries the highest ``(SystemModstamp, Id)`` seen. A load that stops part-way (budget, crash)
keeps the records it stored and restarts from nothing next time; its upserts are idempotent.
The rows are a snapshot taken when the job ran: a record changed after that has a later stamp
than every row, so the next incremental pull (from the final watermark) reads it.

**Record shape.** CSV has strings only; each value is converted by the field's describe type
into what the REST query returns (numbers as Decimal, booleans, ``null``, datetimes as
``2024-04-01T17:03:11.000+0000``, relationship paths nested under an ``attributes`` object),
so the mappings cannot tell a bulk-loaded record from a REST one.

**Streamed results.** A results body (``maxRecords`` rows of CSV, tens of MB for wide objects)
is never held whole: it is read from the socket in chunks (:func:`csv_lines`), decoded
incrementally and fed to :mod:`csv` line by line, so a quoted field holding newlines or quotes
is parsed exactly as from the whole text, and the sync's memory holds one slice of records.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.util import exception_handler

from connectors.base import Page, Watermark
from connectors.errors import TransientHttpError
from connectors.salesforce import soql
from connectors.spec import StreamSpec
from connectors.wire import dumps, parse_timestamp

Call = Callable[[Callable[[Salesforce], Any]], Any]
"""Runs one call on the connector's client: re-login once, retries, error translation."""
DescribeFields = Callable[[str], list[dict[str, Any]]]
"""An object's describe ``fields``."""
PAGE_SIZE = 10_000
"""CSV rows per results call unless the connector's page size says otherwise: 24 calls for
240,000 records (REST takes 120), with one results body (a few MB of CSV) held at a time."""
RECORDS_PER_PAGE = 2_000
"""Records per yielded page, as REST pages: a results body is parsed and stored in slices, so
the sync's memory does not grow with ``maxRecords``."""
CHUNK_BYTES = 64 * 1024
"""Bytes read from a results body at a time."""
POLL_WAITS = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Pauses between job polls; the last one repeats."""
MAX_WAIT_SECONDS = 4 * 3600.0
"""Give up on a job that has not completed after this long (the run is retried later)."""
_NUMBERS = {"double", "currency", "percent"}


@dataclass(frozen=True)
class Column:
    """One CSV column: the select path, its describe type, and where it goes in the record.

    Attributes:
        path: The SOQL path as selected (``Amount``, ``PartnerAccount.Partner_Key__c``).
        type: The describe type of the last field of the path.
        relation: For a relationship path: (relationship name, target object, lookup field),
            the lookup's id telling a null relationship from a related record whose field is null.
        hidden: Selected only for a relationship's lookup id; not part of the yielded record.
    """

    path: str
    type: str
    relation: tuple[str, str, str] | None = None
    hidden: bool = False


def columns(spec: StreamSpec, describe: DescribeFields) -> list[Column]:
    """The bulk select list: REST's, plus each relationship's lookup id (hidden)."""
    out: list[Column] = []
    wanted = soql.select_list(spec)
    chosen = {name.lower() for name in wanted}
    fields = {f["name"].lower(): f for f in describe(spec.object)}
    by_relation = {(f.get("relationshipName") or "").lower(): f for f in fields.values()}
    for path in wanted:
        head, _, rest = path.partition(".")
        if not rest:
            out.append(Column(path, fields[head.lower()]["type"]))
            continue
        lookup = by_relation[head.lower()]
        target = lookup["referenceTo"][0]
        targets = {f["name"].lower(): f for f in describe(target)}
        out.append(Column(path, targets[rest.lower()]["type"], (head, target, lookup["name"])))
        if lookup["name"].lower() not in chosen:
            chosen.add(lookup["name"].lower())
            out.append(Column(lookup["name"], "reference", hidden=True))
    return out


def query(spec: StreamSpec, cols: list[Column], field_types: dict[str, str]) -> str:
    """The job's SOQL: the columns and the mapping's filters, no ORDER BY (see module doc)."""
    where = [soql.condition(f, field_types.get(f.field.lower())) for f in spec.filters]
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    names = ", ".join(soql.identifier(c.path) for c in cols)
    return f"SELECT {names} FROM {soql.identifier(spec.object)}{clause}"  # noqa: S608  # SOQL: names validated, values quoted


def _value(kind: str, text: str) -> Any:
    if text == "":
        return None
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "int":
        return int(text)
    if kind in _NUMBERS:
        return Decimal(text)
    if kind == "datetime":
        at = parse_timestamp(text)
        return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
    return text


class RecordBuilder:
    """Turns CSV rows into records shaped exactly as the REST query returns them."""

    def __init__(self, object: str, version: str, cols: list[Column], header: list[str]) -> None:
        self.object, self.version, self.cols = object, version, cols
        lowered = [name.lower() for name in header]
        missing = [c.path for c in cols if c.path.lower() not in lowered]
        if missing:
            raise TransientHttpError(
                f"Bulk API 2.0 results lack the columns {missing}; the job is read again on "
                f"the next run"
            )
        self.positions = [lowered.index(c.path.lower()) for c in cols]

    def _url(self, object: str, record_id: Any) -> str:
        return f"/services/data/v{self.version}/sobjects/{object}/{record_id}"

    def build(self, row: list[str]) -> dict[str, Any]:
        """One REST-shaped record from one CSV row."""
        values = {
            c.path.lower(): _value(c.type, row[p])
            for c, p in zip(self.cols, self.positions, strict=True)
        }
        record: dict[str, Any] = {
            "attributes": {"type": self.object, "url": self._url(self.object, values["id"])}
        }
        for col in self.cols:
            if col.hidden:
                continue
            if col.relation is None:
                record[col.path] = values[col.path.lower()]
                continue
            name, target, lookup = col.relation
            if name not in record:
                related_id = values[lookup.lower()]
                record[name] = (
                    None
                    if related_id is None
                    else {"attributes": {"type": target, "url": self._url(target, related_id)}}
                )
            if record[name] is not None:
                record[name][col.path.partition(".")[2]] = values[col.path.lower()]
        return record


def csv_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of a UTF-8 body that arrives in chunks, each with its ``\\n`` kept.

    A chunk may end inside a line, a quoted field or a multi-byte character: the decoder is
    incremental and a partial line waits for the next chunk. The line ends are kept because
    :func:`csv.reader` needs them to tell a newline inside a quoted field from the end of a
    row. NUL characters (which :mod:`csv` refuses) are dropped, as the whole-body parse did.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    rest = ""
    for chunk in chunks:
        text = rest + decoder.decode(chunk)
        if "\n" not in text:
            rest = text
            continue
        end = text.rindex("\n") + 1
        rest = text[end:]
        # split on "\n" alone, as a text file opened with newline="" is read: splitlines()
        # would also end a line at \r, \x1c or \u2028 inside an unquoted field
        for line in text[: end - 1].replace("\x00", "").split("\n"):
            yield line + "\n"
    rest += decoder.decode(b"", final=True)
    if rest:
        yield rest.replace("\x00", "")


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """A results body in chunks; a connection lost mid-body is a retriable error."""
    try:
        yield from response.iter_content(CHUNK_BYTES)
    except requests.RequestException as exc:
        raise TransientHttpError(
            f"the Bulk API 2.0 results connection broke mid-body ({exc.__class__.__name__}); "
            "the initial load is retried on the next run"
        ) from exc
    finally:
        response.close()


def supported(spec: StreamSpec) -> bool:
    """Whether a stream can load through Bulk 2.0: relationship paths at most one level deep."""
    return all(path.count(".") <= 1 for path in spec.fields)


@dataclass
class BulkReader:
    """Runs one query job and yields its result pages (see the module docstring).

    Attributes:
        call: The connector's call wrapper (re-login, retries, error translation).
        version: The API version, for the records' ``attributes.url``.
        sleep: How to pause between job polls (the retry policy's, so tests never sleep).
        between_pages: Called before every results call but the first (the budget check).
        page_size: CSV rows per results call (``maxRecords``).
    """

    call: Call
    version: str
    sleep: Callable[[float], None]
    between_pages: Callable[[], None]
    page_size: int = PAGE_SIZE

    def pages(self, spec: StreamSpec, cols: list[Column], text: str) -> Iterator[Page]:
        """Create the job, wait for it, then yield its CSV pages as records."""
        job_id = self._create(text)
        self._wait(job_id)
        modified = next(c.path for c in cols if c.path.lower() == spec.modified_field.lower())
        locator: str | None = None
        best: Watermark | None = None
        first = True
        held: list[dict[str, Any]] | None = None  # one slice behind: the last gets the mark
        while True:
            if not first:
                self.between_pages()
            first = False
            response, locator = self._results(job_id, locator)
            lines = csv_lines(_chunks(response))
            for records in self._slices(spec, cols, lines):
                for record in records:
                    mark = Watermark(parse_timestamp(record[modified]), str(record["Id"]))
                    best = mark if best is None else max(best, mark)
                if held:
                    yield Page(held, None)
                held = records
            if locator is None:
                yield Page(held or [], best)
                return

    def _slices(
        self, spec: StreamSpec, cols: list[Column], lines: Iterable[str]
    ) -> Iterator[list[dict[str, Any]]]:
        """The records of one CSV results body, ``RECORDS_PER_PAGE`` at a time, parsed as the
        body's lines arrive (:func:`csv_lines`)."""
        rows = csv.reader(lines)
        header = next(rows, None)
        if not header:
            return
        builder = RecordBuilder(spec.object, self.version, cols, header)
        while records := [builder.build(row) for row in islice(rows, RECORDS_PER_PAGE) if row]:
            yield records

    def _create(self, text: str) -> str:
        payload = dumps(
            {"operation": "query", "query": text, "columnDelimiter": "COMMA", "lineEnding": "LF"}
        )
        job = self.call(lambda sf: sf.restful("jobs/query", method="POST", data=payload))
        return str(job["id"])

    def _wait(self, job_id: str) -> None:
        waited = 0.0
        for attempt in range(10_000):
            info = self.call(lambda sf: sf.restful(f"jobs/query/{job_id}"))
            state = str((info or {}).get("state", ""))
            if state == "JobComplete":
                return
            if state in ("Failed", "Aborted"):
                raise TransientHttpError(
                    f"Bulk API 2.0 query job {job_id} ended {state}: "
                    f"{(info or {}).get('errorMessage') or 'no reason given'}; the initial load "
                    f"is retried on the next run"
                )
            pause = POLL_WAITS[min(attempt, len(POLL_WAITS) - 1)]
            if waited + pause > MAX_WAIT_SECONDS:
                break
            self.sleep(pause)
            waited += pause
        raise TransientHttpError(
            f"Bulk API 2.0 query job {job_id} did not complete within {MAX_WAIT_SECONDS:g} s; "
            f"the initial load is retried on the next run"
        )

    def _results(self, job_id: str, locator: str | None) -> tuple[requests.Response, str | None]:
        """Open one results page: the response, its body not read yet, and the next locator."""
        params: dict[str, Any] = {"maxRecords": self.page_size}
        if locator:
            params["locator"] = locator

        def fetch(sf: Salesforce) -> requests.Response:
            url = f"{sf.base_url}jobs/query/{job_id}/results"
            headers = {**sf.headers, "Accept": "text/csv"}
            response = sf.session.request("GET", url, headers=headers, params=params, stream=True)
            if response.status_code >= 300:
                exception_handler(response, "bulk2 results")
            return response

        response: requests.Response = self.call(fetch)
        following = response.headers.get("Sforce-Locator")
        return response, None if following in (None, "", "null") else following
