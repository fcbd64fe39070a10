"""Time to compute 2,000 plans x 10 targets over 1,000,000 activities, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.compute [--partners 2000] [--activities 1000000]
                                      [--db sqlite|postgres|both]

Activities are generated (seeded) straight into a fresh store with bulk inserts, in the shape the
mappings produce: six kinds, four currencies, dates over 2025-2026, ISO dates in attributes. Each
partner gets one active 2026-Q4 plan with the same ten targets (money in USD and EUR, ratios,
attribute-dated counts, a distinct count). The figures are printed and written to
``bench/results/compute-<date>-<db>.json``; they are never asserted in a test (they depend on
the machine). The target is <= 10 s for the first compute on either database.

Then :mod:`bench.history` fills the plans' quarter with a snapshot per target per day (the worst
case) and measures the history's size against the activity table's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from bench import history as history_bench
from plans.catalogue import load_catalogue
from plans.db import create_all, make_engine
from plans.engine import compute_progress
from plans.periods import parse_period
from plans.planfile import Plan, PlanSet, Target
from plans.planstore import sync_plans
from plans.rates import load_rates
from plans.store import ActivityRow, PartnerRow

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("PARTNERPLAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KINDS = [  # (kind, share, statuses)
    ("opportunity", 0.40, ["open", "won", "lost"]),
    ("lead", 0.20, ["new", "accepted", "rejected", "converted"]),
    ("deal_registration", 0.15, ["submitted", "approved", "rejected", "expired", "converted"]),
    ("training", 0.10, ["enrolled", "completed"]),
    ("certification", 0.05, ["certified", "expired"]),
    ("marketing", 0.10, ["planned", "completed", "cancelled"]),
]
CURRENCIES = ["USD", "USD", "EUR", "GBP", "JPY"]
TARGETS = [
    ("won_revenue", "500000", "USD"),
    ("win_rate", "40", None),
    ("pipeline_created", "1500000", "USD"),
    ("registrations_approved", "20", None),
    ("registration_approval_rate", "70", None),
    ("leads_submitted", "50", None),
    ("lead_acceptance_rate", "60", None),
    ("course_completions", "10", None),
    ("certified_individuals", "5", None),
    ("marketing_spend", "20000", "EUR"),
]
START = date(2025, 1, 1)
DAYS = 730


def _pick_kind(roll: float) -> tuple[str, list[str]]:
    acc = 0.0
    for kind, share, statuses in KINDS:
        acc += share
        if roll < acc:
            return kind, statuses
    return KINDS[-1][0], KINDS[-1][2]


def _activity(rng: random.Random, i: int, partner: int) -> dict[str, Any]:
    kind, statuses = _pick_kind(rng.random())
    status = rng.choice(statuses)
    day = START + timedelta(days=rng.randrange(DAYS))
    created = datetime(day.year, day.month, day.day, rng.randrange(24), tzinfo=UTC) - timedelta(
        days=rng.randrange(60)
    )
    attrs: dict[str, Any] = {}
    amount = None
    currency = None
    if kind in ("opportunity", "deal_registration", "marketing"):
        currency = rng.choice(CURRENCIES)
        amount = Decimal(rng.randrange(1_000, 200_000_00)) / 100
        if currency == "JPY":
            amount = amount * 100
    if kind == "opportunity":
        attrs = {
            "deal_type": rng.choice(["new_business", "existing_business"]),
            "lead_source": rng.choice(["Partner Referral", "Partner Event", "Web"]),
        }
    elif kind == "deal_registration":
        attrs = {"submitted_on": day.isoformat()}
        if status in ("approved", "converted", "expired"):
            attrs["approved_on"] = (day + timedelta(days=rng.randrange(1, 15))).isoformat()
    elif kind == "lead":
        if status != "new":
            attrs["accepted_on"] = (day + timedelta(days=rng.randrange(0, 10))).isoformat()
    elif kind == "training":
        attrs = {"contact": f"c{rng.randrange(20)}@p{partner}", "course": "Platform 101"}
        if status == "completed":
            attrs["completed_on"] = day.isoformat()
    elif kind == "certification":
        attrs = {
            "contact": f"c{rng.randrange(20)}@p{partner}",
            "certification": "Pro",
            "expires_on": (day + timedelta(days=730)).isoformat(),
        }
    elif kind == "marketing":
        attrs = {
            "activity_type": rng.choice(["Webinar", "Event"]),
            "leads_generated": rng.randrange(50),
        }
    return {
        "source": "bench",
        "stream": kind,
        "object": kind,
        "record_id": f"r{i}",
        "kind": kind,
        "partner_id": partner,
        "status": status,
        "amount": amount,
        "currency": currency,
        "occurred_on": day,
        "created_at": created,
        "closed_at": created + timedelta(days=30) if status in ("won", "lost") else None,
        "attributes": attrs,
        "deleted": rng.random() < 0.02,
        "content_hash": "x",
    }


def _load(engine: Any, partners: int, activities: int, chunk: int = 20_000) -> float:
    started = time.perf_counter()
    rng = random.Random(7)
    with Session(engine) as session:
        session.execute(
            PartnerRow.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "key": f"P-{i:05d}",
                    "name": f"Partner {i}",
                    "tier": "Gold",
                    "attributes": {},
                    "deleted": False,
                }
                for i in range(1, partners + 1)
            ],
        )
        session.commit()
        table = ActivityRow.__table__  # type: ignore[attr-defined]
        for offset in range(0, activities, chunk):
            rows = [
                _activity(rng, i, 1 + rng.randrange(partners))
                for i in range(offset, min(activities, offset + chunk))
            ]
            session.execute(table.insert(), rows)
            session.commit()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _plans(partners: int) -> list[Plan]:
    period = parse_period("2026-Q4")
    targets = [
        Target(
            key=m,
            section="Objectives",
            metric=m,
            value=Decimal(v),
            currency=c,
            weight=Decimal(1),
            filters={},
            phasing={"mode": "linear"},
        )
        for m, v, c in TARGETS
    ]
    return [
        Plan(
            key=f"P-{i:05d}-2026-Q4",
            partner_key=f"P-{i:05d}",
            period=period,
            status="active",
            owner=None,
            sections=[{"name": "Objectives", "summary": ""}],
            targets=targets,
        )
        for i in range(1, partners + 1)
    ]


def run(db: str, partners: int, activities: int) -> dict[str, Any]:
    schema = None
    folder = None
    if db == "sqlite":
        folder = tempfile.mkdtemp(prefix="pp-bench-")
        engine = make_engine(f"sqlite:///{folder}/bench.db")
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(PG_URL, schema=schema)
    try:
        create_all(engine)
        load_s = _load(engine, partners, activities)
        catalogue, _ = load_catalogue(None)
        rates, _ = load_rates(ROOT / "config")
        assert catalogue is not None and rates is not None
        with Session(engine) as session:
            started = time.perf_counter()
            sync_plans(session, PlanSet(_plans(partners), [], rates))
            session.commit()
            sync_s = time.perf_counter() - started
        figures: dict[str, Any] = {}
        snapshots: dict[str, int] = {}
        for label, moment in (
            ("first", datetime(2026, 11, 27, tzinfo=UTC)),
            ("unchanged", datetime(2026, 11, 27, 12, tzinfo=UTC)),
        ):
            with Session(engine) as session:
                started = time.perf_counter()
                result = compute_progress(
                    session, catalogue, as_of=moment, reporting_currency="USD"
                )
                session.commit()
                figures[label] = {
                    "seconds": round(time.perf_counter() - started, 2),
                    "targets": result.targets,
                    "changed": len(result.changed_target_ids),
                    "statements": result.statements,
                }
                snapshots[label] = history_bench.count(engine)
        print(f"[{db}] history: a snapshot per target per day of the quarter ...")
        history_figures = history_bench.figures(
            engine,
            after_first=snapshots["first"],
            after_unchanged=snapshots["unchanged"],
        )
        return {
            "db": db,
            "partners": partners,
            "plans": partners,
            "targets_per_plan": len(TARGETS),
            "activities": activities,
            "load_seconds": round(load_s, 1),
            "sync_plans_seconds": round(sync_s, 1),
            "compute": figures,
            "history": history_figures,
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "date": date.today().isoformat(),
        }
    finally:
        engine.dispose()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=2000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--no-write", action="store_true", help="Do not write bench/results.")
    args = parser.parse_args()
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        figures = run(db, args.partners, args.activities)
        print(json.dumps(figures, indent=2))
        if not args.no_write:
            out = ROOT / "bench" / "results" / f"compute-{figures['date']}-{db}.json"
            out.write_text(json.dumps(figures, indent=2) + "\n")
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
