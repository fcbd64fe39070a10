"""The wire formats of Bulk API 1.0: jobInfo / batchInfo as JSON or XML, errors, result records.

JSON answers write instants as ``2015-12-15T22:52:49.000+0000``, XML ones as ``...000Z`` (the
Bulk API guide's samples); JSON query results write dateTimes as epoch milliseconds
(simple-salesforce #290; dates assumed the same, at midnight UTC), XML ones as CSV does.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import orjson

from sandbox.formats import day_ms, sf_csv_datetime, sf_datetime
from sandbox.httpbase import Request, Response
from sandbox.sf_types import Field

NS = "http://www.force.com/2009/06/asyncapi/dataload"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DEFAULT_CHUNK, MAX_CHUNK = 100_000, 250_000


def job_body(request: Request, as_json: bool) -> dict[str, Any]:
    """The jobInfo a client sent, as JSON or as XML elements."""
    if as_json:
        data = orjson.loads(request.body or b"{}")
        return data if isinstance(data, dict) else {}
    text = request.body.decode("utf-8")
    return dict(re.findall(r"<(\w+)>([^<]*)</\1>", text))


def chunk_size(header: str) -> int | None:
    """``Sforce-Enable-PKChunking``: ``true``/``TRUE``, ``chunkSize=N``, ``false``, absent."""
    value = header.strip()
    if not value or value.lower() == "false":
        return None
    found = re.search(r"chunkSize=(\d+)", value)
    size = int(found.group(1)) if found else DEFAULT_CHUNK
    if not 1 <= size <= MAX_CHUNK:
        raise ValueError(f"chunkSize must be between 1 and {MAX_CHUNK}, got {size}")
    return size


def stamp_json(value: Any) -> Any:
    return sf_datetime(value) if isinstance(value, int) and not isinstance(value, bool) else value


def json(info: dict[str, Any]) -> dict[str, Any]:
    """An info dict as JSON writes it (instants as ``...000+0000``)."""
    return {
        k: stamp_json(v) if k in {"createdDate", "systemModstamp"} else v for k, v in info.items()
    }


def answer(status: int, root: str, info: dict[str, Any], as_json: bool) -> Response:
    if as_json:
        return Response(status, orjson.dumps(json(info)))
    return xml(status, xml_element(root, info, NS))


def xml(status: int, inner: str) -> Response:
    body = '<?xml version="1.0" encoding="UTF-8"?>' + inner
    return Response(status, body.encode(), content_type="application/xml")


def xml_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if key in {"createdDate", "systemModstamp"} and isinstance(value, int):
        return sf_csv_datetime(value)
    return escape(str(value))


def xml_element(root: str, info: dict[str, Any], namespace: str | None = None) -> str:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    inner = "".join(f"<{k}>{xml_value(k, v)}</{k}>" for k, v in info.items() if v is not None)
    return f"<{root}{xmlns}>{inner}</{root}>"


def error(status: int, code: str, message: str, as_json: bool) -> Response:
    if as_json:
        body = {"exceptionCode": code, "exceptionMessage": message}
        return Response(status, orjson.dumps(body))
    return xml(
        status,
        f'<error xmlns="{NS}"><exceptionCode>{code}</exceptionCode>'
        f"<exceptionMessage>{escape(message)}</exceptionMessage></error>",
    )


def bulk_json(f: Field, value: Any) -> Any:
    """Bulk 1.0 JSON: dateTimes (and dates, assumed) as epoch ms; the rest as REST writes it."""
    if value is None:
        return None
    if f.type == "datetime":
        return value
    if f.type == "date":
        return day_ms(date.fromisoformat(str(value)))
    return value


def bulk_text(f: Field, value: Any) -> Any:
    """Bulk 1.0 XML: dateTimes as CSV writes them (``...000Z``)."""
    if f.type == "datetime" and value is not None:
        return sf_csv_datetime(value)
    return value


def xml_record(record: dict[str, Any], tag: str = "records") -> str:
    kind = record["attributes"]["type"]
    parts = [f"<type>{kind}</type>"]
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            parts.append(xml_record(value, key))
        elif value is None:
            parts.append(f'<{key} xsi:nil="true"/>')
        else:
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            parts.append(f"<{key}>{escape(text)}</{key}>")
    return f'<{tag} xsi:type="sObject">{"".join(parts)}</{tag}>'
