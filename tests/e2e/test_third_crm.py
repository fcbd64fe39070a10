"""A third CRM, defined here, runs the whole flow without a product file being edited.

The CRM is a tiny in-memory one: a settings model, a connector over a dict of records, and a
dialect. Registering it is all it takes for ``settings.yaml`` to accept its sources, for
mappings to compile against it, and for the pull, compute and push stages to use it; that is the
promise of ``connectors/README.md`` ("Adding a CRM"), held to by this test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from connectors.base import ApiUsage, Page, Watermark, WriteResult
from connectors.crms import REGISTRY
from connectors.dialect import Dialect, FieldUse, PartnerLink, RecordPaths, Step
from connectors.errors import MissingField
from connectors.registry import Crm
from connectors.settings import SourceSettings
from connectors.spec import StreamSpec
from connectors.wire import parse_timestamp
from worker import jobs
from worker.cli import run as cli

AS_OF = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
PAGE = 2
"""Records per page: small, so that every stream takes several pages and watermarks."""


@dataclass
class Server:
    """The CRM's data: each object's fields, records by object and id, calls made."""

    schema: dict[str, set[str]]
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    calls: int = 0
    write_calls: int = 0

    def fields(self, object: str) -> set[str]:
        """The object's fields (the CRM's "describe")."""
        return self.schema.get(object, set())


SERVERS: dict[str, Server] = {}


class MemorySource(SourceSettings):
    """A source of the memory CRM: which server it talks to."""

    type: Literal["memory"]
    server: str


class MemoryConnector:
    """The :class:`~connectors.base.Connector` protocol over a :class:`Server`."""

    def __init__(self, name: str, server: Server) -> None:
        self.name, self.server = name, server
        self.concurrency = 1
        self.deletions_every = None

    def check_fields(self, spec: StreamSpec) -> None:
        """Every field the stream reads must exist on the object."""
        self.server.calls += 1
        known = self.server.fields(spec.object) | {"id"}
        missing = [f for f in (spec.modified_field, *spec.fields) if f not in known]
        if missing:
            raise MissingField(self.name, spec.object, missing)

    def pull(self, spec: StreamSpec, since: Watermark | None) -> Iterator[Page]:
        """Pages of records after ``since``, in (modified, id) order."""
        rows = sorted(
            (Watermark(parse_timestamp(r[spec.modified_field]), r["id"]), r)
            for r in self.server.objects.get(spec.object, {}).values()
        )
        fresh = [(mark, r) for mark, r in rows if since is None or mark > since]
        for start in range(0, len(fresh), PAGE):
            self.server.calls += 1
            page = fresh[start : start + PAGE]
            yield Page([dict(r) for _, r in page], page[-1][0])

    def deletions(self, spec: StreamSpec, since: datetime | None) -> Iterator[Page]:
        """Nothing is ever deleted in this CRM."""
        return iter(())

    def upsert(
        self, object: str, key_field: str, records: list[dict[str, Any]]
    ) -> list[WriteResult]:
        """Create or update by ``key_field``, :data:`PAGE` records a call."""
        table = self.server.objects.setdefault(object, {})
        results = []
        for start in range(0, len(records), MemoryDialect.write_batch):
            self.server.calls += 1
            self.server.write_calls += 1
            for record in records[start : start + MemoryDialect.write_batch]:
                key = str(record[key_field])
                created = key not in table
                table[key] = {"id": key, **table.get(key, {}), **record}
                results.append(WriteResult(key, True, record_id=key, created=created))
        return results

    def update(self, object: str, records: list[dict[str, Any]]) -> list[WriteResult]:
        """Update existing records by ``id``."""
        table = self.server.objects.setdefault(object, {})
        self.server.calls += 1
        self.server.write_calls += 1
        results = []
        for record in records:
            found = table.get(record["id"])
            if found is None:
                results.append(WriteResult(record["id"], False, error="no such record"))
                continue
            found.update(record)
            results.append(WriteResult(record["id"], True, record_id=record["id"]))
        return results

    def horizon(self, started_at: datetime) -> datetime:
        """Every change before a pull starts is read by it."""
        return started_at

    def usage(self) -> ApiUsage:
        """Calls so far; this CRM has no daily allowance."""
        return ApiUsage(self.server.calls, self.server.write_calls, None, None)


class MemoryDialect(Dialect):
    """Flat records: a path is a field name; progress records point at the partner by a lookup."""

    kind: ClassVar[str] = "memory"
    label: ClassVar[str] = "Memory CRM"
    record_paths: ClassVar[RecordPaths] = RecordPaths("id", "modified", "deleted")
    write_batch: ClassVar[int] = 2
    partner_link: ClassVar[PartnerLink] = PartnerLink("lookup", "set `partner_field:`")

    def modified_field(self, object: str) -> str:
        """Every record has ``modified``."""
        return "modified"

    def read_path(
        self,
        object: str,
        path: str,
        steps: list[Step],
        *,
        extra_fields: tuple[str, ...] = (),
        filter_field: bool = False,
    ) -> FieldUse:
        """One field name, fetched as it is."""
        if len(steps) != 1 or steps[0][1] is not None:
            return FieldUse(error=f"{path!r}: memory records are flat; write a field name")
        return FieldUse(fetch=path)


def connect(name: str, settings: Any, retry: Any) -> MemoryConnector:
    """The connector of one memory source."""
    return MemoryConnector(name, SERVERS[settings.server])


MEMORY = Crm(kind="memory", settings=MemorySource, connect=connect, dialect=MemoryDialect())

CONFIG = {
    "settings.yaml": """
version: 1
reporting_currency: USD
sources:
  mem:
    type: memory
    server: test
""",
    "mappings/memory.yaml": """
version: 1
source: mem
streams:
  - name: mem_partners
    object: accounts
    kind: partner
    attributes: {key: key, name: name, tier: tier}
  - name: mem_deals
    object: deals
    kind: opportunity
    fields:
      partner: account_id
      status: {field: stage, map: {won: won, lost: lost, "*": open}}
      amount: amount
      currency: currency
      occurred_on: close_date
      closed_at: closed_at
""",
    "plans/m1.yaml": """
version: 1
plans:
  - key: M-1-2026-Q4
    partner: M-1
    period: 2026-Q4
    status: active
    sections:
      - name: Sales objectives
        targets:
          - {metric: won_revenue, value: 1000, currency: USD}
          - {metric: won_deals, value: 4}
""",
    "writeback.yaml": """
version: 1
destinations:
  mem:
    progress:
      object: progress
      key_field: key
      partner_field: account
      fields:
        target: target
        actual: actual
        attainment: {field: attainment, percent: true}
        status: status
    rollup:
      object: accounts
      fields: {status: plan_status}
""",
}


def _deal(number: int, stage: str, amount: int, close: str) -> dict[str, Any]:
    return {
        "id": f"d{number}",
        "modified": f"2026-11-0{number}T10:00:00Z",
        "deleted": False,
        "account_id": "a1",
        "stage": stage,
        "amount": amount,
        "currency": "USD",
        "close_date": close,
        "closed_at": f"{close}T12:00:00Z" if stage != "open" else None,
    }


@pytest.fixture
def memory_crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The memory CRM registered, a server with one partner and five deals, and its config."""
    base = {"id", "modified", "deleted"}
    server = Server(
        schema={
            "accounts": base | {"key", "name", "tier", "plan_status"},
            "deals": base | set(_deal(0, "won", 0, "2026-10-01")),
            "progress": base | {"key", "account", "target", "actual", "attainment", "status"},
        },
        objects={
            "accounts": {
                "a1": {
                    "id": "a1",
                    "modified": "2026-10-01T00:00:00Z",
                    "deleted": False,
                    "key": "M-1",
                    "name": "Memory Partner",
                    "tier": "Gold",
                    "plan_status": None,
                }
            },
            "deals": {
                d["id"]: d
                for d in (
                    _deal(1, "won", 250, "2026-10-10"),
                    _deal(2, "won", 350, "2026-11-02"),
                    _deal(3, "lost", 900, "2026-11-03"),
                    _deal(4, "open", 700, "2026-12-20"),
                    _deal(5, "won", 5000, "2026-09-30"),
                )
            },
        },
    )
    SERVERS["test"] = server
    REGISTRY.register(MEMORY)
    for name, text in CONFIG.items():
        path = tmp_path / "config" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(jobs, "now", lambda: AS_OF)
    try:
        yield server
    finally:
        REGISTRY.unregister("memory")
        SERVERS.pop("test", None)


def test_a_registered_third_crm_runs_the_whole_flow(memory_crm, tmp_path):
    """Pull, map, store, compute and push all go through a CRM no product file names."""
    args = ["--config", str(tmp_path / "config"), "--database-url", f"sqlite:///{tmp_path}/s.db"]
    assert 0 == cli(["validate", "--config", str(tmp_path / "config")])
    assert 0 == cli(["run", *args])
    progress = memory_crm.objects["progress"]
    revenue, deals = progress["M-1-2026-Q4:won_revenue"], progress["M-1-2026-Q4:won_deals"]
    # Q4 won deals: d1 (250) and d2 (350); d5 closed in Q3, d3 was lost, d4 is open.
    # By 2026-11-15, 46 of Q4's 92 days have passed: 500 expected of 1,000, so 600 is on track;
    # 2 won deals against 2 expected of 4 is on track too.
    assert (revenue["actual"], revenue["target"], revenue["attainment"]) == (
        Decimal("600.00"),
        Decimal("1000"),
        Decimal("60.0000"),
    )
    assert (revenue["account"], revenue["status"]) == ("a1", "on_track")
    assert (deals["actual"], deals["status"]) == (Decimal("2.00"), "on_track")
    assert memory_crm.objects["accounts"]["a1"]["plan_status"] == "on_track"
    writes = memory_crm.write_calls
    assert writes == 2  # one batch of two progress records, one roll-up update

    assert 0 == cli(["run", *args])
    assert memory_crm.write_calls == writes  # nothing changed: nothing written
