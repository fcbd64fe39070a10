"""The floor: the pages a sync fetched, fetched again by the barest client and decoded, no more.

The sandbox servers record every read request a sync makes (:class:`bench.workload.Recorder`);
the floor replays them in the same order over one keep-alive urllib3 connection per server and
decodes each body (orjson for JSON, the csv module for Bulk 2.0 result pages). No mapping, no
storage, no retry logic: whatever the full sync spends beyond this is partnerplan's own cost.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import orjson
import urllib3

from bench.workload import Recorded
from sandbox import Sandbox


def _pools(sb: Sandbox) -> dict[str, Any]:
    sf_port = int(sb.salesforce_url.rsplit(":", 1)[1])
    hs_port = int(sb.hubspot_url.rsplit(":", 1)[1])
    return {
        "salesforce": urllib3.HTTPSConnectionPool(
            "127.0.0.1", sf_port, ca_certs=sb.ca_bundle, maxsize=1
        ),
        "hubspot": urllib3.HTTPConnectionPool("127.0.0.1", hs_port, maxsize=1),
    }


def _records(body: bytes, content_type: str) -> int:
    """Decode a page and count the records in it."""
    if content_type.startswith("text/csv"):
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
        return max(0, len(rows) - 1)
    data = orjson.loads(body) if body else None
    if not isinstance(data, dict):
        return 0
    for key in ("records", "results"):
        if isinstance(data.get(key), list):
            return len(data[key])
    return 0


def replay(sb: Sandbox, requests: list[Recorded]) -> dict[str, Any]:
    """Replay ``requests``; seconds, calls, and records decoded (association rows excluded)."""
    pools = _pools(sb)
    records = calls = size = 0
    started = time.perf_counter()
    for r in requests:
        response = pools[r.server].request(
            r.method, r.target, body=r.body or None, headers=r.headers, retries=False
        )
        if response.status >= 400:
            answer = response.data[:300]
            status = response.status
            raise RuntimeError(f"floor replay: {r.method} {r.target} -> {status} {answer!r}")
        count = _records(response.data, response.headers.get("Content-Type", ""))
        if not any(part in r.target for part in ("/associations/", "/properties/", "/describe")):
            records += count
        calls += 1
        size += len(response.data)
    seconds = time.perf_counter() - started
    for pool in pools.values():
        pool.close()
    return {
        "seconds": seconds,
        "calls": calls,
        "records": records,
        "mb": round(size / 1e6, 1),
    }
