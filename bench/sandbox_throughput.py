"""How fast the sandbox CRMs serve pages, measured alone (no client-side mapping or storing).

    .venv/bin/python -m bench.sandbox_throughput [--scale 100] [--seconds 10]

Prints and records (bench/results/sandbox-<date>.json):

* what ``partnerplan sandbox serve --scale 2000`` would serve, counted from the generator
  without building the records (about 1,000,000 activities);
* Salesforce: 2,000-record SOQL pages (``query`` + ``nextRecordsUrl``) over TLS, pages/s and MB/s;
* HubSpot: 200-record search pages (one search paged by offset) and 100-record list pages,
  pages/s and MB/s;
* HubSpot keyset walk: every deal read as the connector reads it (``SearchPager``: a new lower
  bound on the modified date every request), whole walk timed: the sandbox must keep this
  linear in the record count, or it, not partnerplan, sets the pace at scale 2000.

The client side is a bare keep-alive connection (requests / urllib3) that only decodes what it
needs to follow the cursor, so the numbers are the servers' own. Figures depend on the machine;
they are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import urllib3

from connectors.hubspot.search import SearchPager
from sandbox import Sandbox
from sandbox.hs_data import ACTIVITY_TYPES, HubSpotData
from sandbox.sf_data import ACTIVITY_OBJECTS, SalesforceData
from sandbox.world import World

ROOT = Path(__file__).resolve().parents[1]
SOQL = (
    "SELECT Id, Name, StageName, Amount, CurrencyIsoCode, CloseDate, IsClosed, IsWon, AccountId,"
    " PartnerAccountId, PartnerAccount.Partner_Key__c, Type, LeadSource, Product_Line__c,"
    " IsDeleted, CreatedDate, LastModifiedDate, SystemModstamp FROM Opportunity"
    " WHERE SystemModstamp >= 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id"
)
EVERYTHING = {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}
DEAL_PROPERTIES = [
    "dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "closedate",
    "hs_is_closed", "hs_is_closed_won", "product_line", "dealtype", "hs_lastmodifieddate",
]  # fmt: skip


def scale_2000() -> dict[str, int]:
    """Activities ``--scale 2000`` serves, from the generator's counts."""
    world = World.create(1, 2000)
    salesforce = SalesforceData(world).counts
    hubspot = HubSpotData(world).counts
    return {
        "salesforce": sum(salesforce[name] for name in ACTIVITY_OBJECTS),
        "hubspot": sum(hubspot[name] for name in ACTIVITY_TYPES),
        **{f"salesforce.{name}": salesforce[name] for name in ACTIVITY_OBJECTS},
        **{f"hubspot.{name}": hubspot[name] for name in ACTIVITY_TYPES},
    }


def _rate(pages: int, records: int, size: int, seconds: float) -> dict[str, float]:
    return {
        "pages": pages,
        "records": records,
        "seconds": round(seconds, 3),
        "pages_per_s": round(pages / seconds, 1),
        "records_per_s": round(records / seconds),
        "mb_per_s": round(size / seconds / 1e6, 2),
    }


def salesforce(sb: Sandbox, budget: float) -> dict[str, float]:
    """Follow 2,000-record SOQL pages over TLS until the query ends or time runs out."""
    pool = urllib3.HTTPSConnectionPool(
        "127.0.0.1", int(sb.salesforce_url.rsplit(":", 1)[1]), ca_certs=sb.ca_bundle, maxsize=1
    )
    headers = {"Authorization": f"Bearer {sb.salesforce_session_id}"}
    pages = records = size = 0
    started = time.perf_counter()
    url = "/services/data/v62.0/query/?" + urlencode({"q": SOQL})
    while time.perf_counter() - started < budget:
        body = pool.request("GET", url, headers=headers).data
        page = orjson.loads(body)
        pages, records, size = pages + 1, records + len(page["records"]), size + len(body)
        url = page.get("nextRecordsUrl") or "/services/data/v62.0/query/?" + urlencode({"q": SOQL})
    return _rate(pages, records, size, time.perf_counter() - started)


def hubspot(sb: Sandbox, budget: float, kind: str) -> dict[str, float]:
    """Search (200 a page, modified-date order) or list (100 a page, id order) deals."""
    pool = urllib3.HTTPConnectionPool("127.0.0.1", int(sb.hubspot_url.rsplit(":", 1)[1]), maxsize=1)
    headers = {"Authorization": f"Bearer {sb.hubspot_token}", "Content-Type": "application/json"}
    pages = records = size = 0
    after: str | None = None
    started = time.perf_counter()
    while time.perf_counter() - started < budget:
        if kind == "search":
            request = {
                "filterGroups": [{"filters": [EVERYTHING]}],
                "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                "properties": DEAL_PROPERTIES, "limit": 200, "after": after or "0",
            }  # fmt: skip
            body = pool.request(
                "POST", "/crm/v3/objects/deals/search", body=orjson.dumps(request), headers=headers
            ).data
        else:
            query = "&".join(f"properties={p}" for p in DEAL_PROPERTIES) + "&associations=companies"
            suffix = f"&after={after}" if after else ""
            body = pool.request(
                "GET", f"/crm/v3/objects/deals?limit=100&{query}{suffix}", headers=headers
            ).data
        page = orjson.loads(body)
        pages, records, size = pages + 1, records + len(page["results"]), size + len(body)
        following = (page.get("paging") or {}).get("next", {}).get("after")
        after = following if following and (kind != "search" or int(following) < 10_000) else None
    return _rate(pages, records, size, time.perf_counter() - started)


def hubspot_keyset(sb: Sandbox, budget: float) -> dict[str, float]:
    """Walk every deal with the connector's keyset pager (200 a page) until done or out of time."""
    pool = urllib3.HTTPConnectionPool("127.0.0.1", int(sb.hubspot_url.rsplit(":", 1)[1]), maxsize=1)
    headers = {"Authorization": f"Bearer {sb.hubspot_token}", "Content-Type": "application/json"}
    pages = records = size = 0

    def search(filters: list[dict[str, Any]], sort: str) -> dict[str, Any]:
        nonlocal pages, size
        request = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": DEAL_PROPERTIES, "limit": 200,
        }  # fmt: skip
        body = pool.request(
            "POST", "/crm/v3/objects/deals/search", body=orjson.dumps(request), headers=headers
        ).data
        pages, size = pages + 1, size + len(body)
        page: dict[str, Any] = orjson.loads(body)
        return page

    pager = SearchPager(
        search=search,
        modified="hs_lastmodifieddate",
        extra=[],
        limit=200,
        between_pages=lambda: None,
    )
    started = time.perf_counter()
    for batch in pager.batches(datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC)):
        records += len(batch)
        if time.perf_counter() - started >= budget:
            break
    return _rate(pages, records, size, time.perf_counter() - started)


def main() -> None:
    """Run the measurements, print them, and record them under bench/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100, help="partners in the measured sandbox")
    parser.add_argument("--seconds", type=float, default=8.0, help="time budget per measurement")
    args = parser.parse_args()
    counted = scale_2000()
    print(f"--scale 2000 serves {counted['salesforce'] + counted['hubspot']:,} activities "
          f"({counted['salesforce']:,} Salesforce + {counted['hubspot']:,} HubSpot)")  # fmt: skip
    with Sandbox(seed=1, scale=args.scale) as sb:
        started = time.perf_counter()
        results = {
            "salesforce_query_2000": salesforce(sb, args.seconds),
            "hubspot_search_200": hubspot(sb, args.seconds, "search"),
            "hubspot_list_100": hubspot(sb, args.seconds, "list"),
            "hubspot_keyset_walk": hubspot_keyset(sb, args.seconds),
        }
        elapsed = time.perf_counter() - started
    for name, figures in results.items():
        pages, records = figures["pages_per_s"], figures["records_per_s"]
        print(f"{name:24} {pages:8.1f} pages/s {records:9,} records/s "
              f"{figures['mb_per_s']:7.2f} MB/s  ({figures['pages']} pages)")  # fmt: skip
    record = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "scale": args.scale,
        "seconds_budget": args.seconds,
        "elapsed": round(elapsed, 1),
        "scale_2000_activities": counted,
        **results,
    }
    out = ROOT / "bench" / "results" / f"sandbox-{date.today().isoformat()}.json"
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"recorded {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
