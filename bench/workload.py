"""The standard workload: a seeded sandbox, the shipped config with one plan per partner, a store.

The benchmark drives partnerplan exactly as a user would: the shipped ``config/`` (mappings,
metrics, write-back) pointed at the sandbox through the same environment variables the e2e
tests use, plus one plans file giving every partner an active plan for the current quarter
with ten targets (2,000 plans x 10 targets at ``--scale 2000``). Stores are throw-away: a
SQLite file in a temporary folder, or a PostgreSQL schema of its own, dropped afterwards.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from sqlalchemy import text

from plans.db import make_engine
from sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("PARTNERPLAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TIERS = ("Platinum", "Gold", "Silver", "Registered")
TARGETS: list[dict[str, Any]] = [
    {"metric": "won_revenue", "value": 500000, "currency": "USD", "weight": 3},
    {"metric": "win_rate", "value": 40},
    {"metric": "pipeline_created", "value": 1500000, "currency": "USD", "weight": 2},
    {"metric": "registrations_approved", "value": 20},
    {"metric": "registration_approval_rate", "value": 70},
    {"metric": "leads_submitted", "value": 50},
    {"metric": "lead_acceptance_rate", "value": 60},
    {"metric": "course_completions", "value": 10},
    {"metric": "certified_individuals", "value": 5},
    {"metric": "marketing_spend", "value": 20000, "currency": "EUR"},
]
"""Ten targets per plan, over every activity kind the mappings produce."""
ACTIVITY_OBJECTS = {
    "salesforce": [
        "Opportunity",
        "Lead",
        "Deal_Registration__c",
        "Partner_Training__c",
        "Partner_Certification__c",
        "Partner_Marketing_Activity__c",
    ],
    "hubspot": ["deals", "contacts", "deal_registrations", "partner_trainings"],
}
"""The activity objects the shipped mappings read; ``touch`` changes a share of each."""
WRITE_ENDPOINT_MARKERS = (
    "/composite/sobjects",
    "/batch/upsert",
    "/batch/update",
    "/batch/create",
    "/batch/associate",
)
"""Paths of write calls: the floor replays reads only."""
REPLAYED_HEADERS = ("authorization", "content-type", "sforce-query-options")


def current_quarter(today: date | None = None) -> str:
    """``2026-Q4``: plans cover the quarter the sandbox data is anchored in."""
    day = today or date.today()
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


UNPACED = {"window_calls": 1000, "window_seconds": 1, "search_per_second": 1000}
"""HubSpot pace for a sandbox that enforces no rate limit: the CPU regime measures our own cost."""


def write_config(folder: Path, *, paced: bool = False) -> Path:
    """The shipped config, with HubSpot's search lag off and one plan template per tier.

    Args:
        folder: where the config is written.
        paced: keep the shipped HubSpot pace (the published limits), for a sandbox that
            enforces them (``bench/realistic.py``). Otherwise the pace is unbound: the sandbox
            without a profile limits nothing, and a pace would measure itself, not the sync.
    """
    shutil.copytree(ROOT / "config", folder)
    settings = yaml.safe_load((folder / "settings.yaml").read_text())
    settings["sources"]["hubspot"]["search_lag_seconds"] = 0
    if not paced:
        settings["sources"]["hubspot"]["rate_limits"] = dict(UNPACED)
    (folder / "settings.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    shutil.rmtree(folder / "plans")
    (folder / "plans").mkdir()
    templates = [
        {
            "key": "{partner}-{period}",
            "tier": tier,
            "period": current_quarter(),
            "status": "active",
            "sections": [{"name": "Objectives", "targets": TARGETS}],
        }
        for tier in TIERS
    ]
    plans = {"version": 1, "templates": templates}
    (folder / "plans" / "bench.yaml").write_text(yaml.safe_dump(plans, sort_keys=False))
    return folder


@contextmanager
def store(db: str, folder: Path) -> Iterator[str]:
    """A DATABASE_URL on an empty store; a PostgreSQL schema is dropped on exit."""
    if db == "sqlite":
        path = folder / f"store-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in folder.glob(f"{path.name}*"):
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Recorded:
    """One request a sandbox server answered."""

    server: str
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """Remembers the read requests both sandbox servers answer while ``on``.

    The floor replays exactly these, so it fetches the same pages the sync fetched.
    """

    on: bool = False
    requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, sb: Sandbox) -> None:
        """Wrap each server's app so every request passes through :meth:`note`."""
        for server_name, server in zip(("salesforce", "hubspot"), sb._servers, strict=True):
            inner = server._server.app

            def app(request: Any, inner: Any = inner, name: str = server_name) -> Any:
                self.note(name, request)
                return inner(request)

            server._server.app = app

    def note(self, server: str, request: Any) -> None:
        """Keep a read request (not a write, not the OAuth token grant)."""
        if not self.on or any(m in request.path for m in WRITE_ENDPOINT_MARKERS):
            return
        if request.path.endswith("/oauth2/token"):
            return
        query = urlencode([(k, v) for k, values in request.query.items() for v in values])
        target = request.path + (f"?{query}" if query else "")
        headers = {k: v for k, v in request.headers.items() if k in REPLAYED_HEADERS}
        with self._lock:
            self.requests.append(Recorded(server, request.method, target, headers, request.body))


CHANGES: dict[str, dict[str, Any]] = {
    "Opportunity": {"Amount": 12345.5},
    "Deal_Registration__c": {"Amount__c": 2345.5},
    "Partner_Marketing_Activity__c": {"Spend__c": 345.5},
    "deals": {"amount": "12345.5"},
    "deal_registrations": {"amount": "2345.5"},
}
"""What a touch changes besides the modified stamp: amounts, so targets really move."""


def touch_share(sb: Sandbox, share: float, offset: int = 0) -> dict[str, int]:
    """Change ``share`` of every activity object's live records, spread evenly by id.

    ``offset`` picks a different slice each time, so repeated touches change other records.
    """
    touched: dict[str, int] = {}
    every = max(1, round(1 / share))
    for server, objects in ACTIVITY_OBJECTS.items():
        for name in objects:
            records = [r for r in sb.records(server, name) if not _deleted(r)]
            ids = [str(r.get("Id") or r.get("id")) for r in records[offset % every :: every]]
            sb.touch(server, name, ids, CHANGES.get(name))
            touched[f"{server}.{name}"] = len(ids)
    return touched


def _deleted(record: dict[str, Any]) -> bool:
    return bool(record.get("IsDeleted") or record.get("archived"))


def minimum_calls(rows: int, batch: int) -> int:
    """The fewest write calls that can carry ``rows`` records in batches of ``batch``."""
    return math.ceil(rows / batch)
