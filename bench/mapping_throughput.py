"""Records mapped per second by the shipped Opportunity mapping (and, optionally, stored).

    .venv/bin/python -m bench.mapping_throughput [--records 200000] [--store]

Raw records are generated in the shape SOQL returns (seeded, so runs compare). The figure is
printed, never asserted in a test: it depends on the machine. ``--store`` also times
``store_batch`` into a fresh SQLite file in pages of 2,000 records, as the worker stores them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from mappings.loader import load_mappings
from plans.db import create_all, make_engine
from plans.ingest import store_batch

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["Prospecting", "Qualification", "Negotiation/Review", "Closed Won", "Closed Lost"]
TYPES = ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Renewal", None]


def opportunities(count: int, seed: int = 7) -> list[dict]:
    """``count`` raw Opportunity records as SOQL returns them."""
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    records = []
    for i in range(count):
        stage = rng.choice(STAGES)
        closed = stage.startswith("Closed")
        records.append(
            {
                "attributes": {"type": "Opportunity", "url": f"/sobjects/Opportunity/006{i:015d}"},
                "Id": f"006{i:015d}",
                "PartnerAccountId": f"001{rng.randrange(2000):015d}",
                "StageName": stage,
                "IsClosed": closed,
                "IsWon": stage == "Closed Won",
                "Amount": round(rng.uniform(1000, 250000), 2),
                "CurrencyIsoCode": rng.choice(["USD", "EUR", "GBP", "JPY"]),
                "CloseDate": (start + timedelta(days=rng.randrange(730))).isoformat(),
                "Type": rng.choice(TYPES),
                "LeadSource": rng.choice(["Partner Referral", "Web", None]),
                "Product_Line__c": rng.choice(["Platform", "Analytics", "Security", "Services"]),
                "Deal_Registration__c": None,
                "CreatedDate": "2025-01-15T09:12:44.000+0000",
                "SystemModstamp": "2026-04-01T17:03:11.000+0000",
                "IsDeleted": False,
            }
        )
    return records


def opportunity_stream() -> Any:
    """The shipped ``sf_opportunities`` stream, loaded from config/mappings."""
    mappings, problems = load_mappings(ROOT / "config" / "mappings")
    assert mappings is not None, problems
    return mappings.stream("sf_opportunities")


def measure(records: int, repeat: int = 3) -> dict[str, Any]:
    """Median records/s of the shipped Opportunity mapping over ``repeat`` passes."""
    stream = opportunity_stream()
    raws = opportunities(records)
    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        mapped = sum(1 for _ in stream.map_many(raws))
        rates.append(mapped / (time.perf_counter() - started))
    return {"records": records, "records_per_s": round(statistics.median(rates)), "runs": rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--store", action="store_true", help="also time store_batch (SQLite)")
    args = parser.parse_args()
    stream = opportunity_stream()
    raws = opportunities(args.records)
    started = time.perf_counter()
    results = list(stream.map_many(raws))
    elapsed = time.perf_counter() - started
    print(
        f"mapped {len(results):,} Opportunity records in {elapsed:.2f} s: "
        f"{len(results) / elapsed:,.0f} records/s"
    )
    if args.store:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/bench.db")
            create_all(engine)
            now = datetime.now(UTC)
            started = time.perf_counter()
            for offset in range(0, len(results), 2000):
                with Session(engine) as session:
                    page = results[offset : offset + 2000]
                    store_batch(session, "salesforce", stream.name, page, now)
                    session.commit()
            elapsed = time.perf_counter() - started
            print(
                f"stored {len(results):,} activities in pages of 2,000 in {elapsed:.2f} s: "
                f"{len(results) / elapsed:,.0f} records/s (SQLite)"
            )


if __name__ == "__main__":
    main()
