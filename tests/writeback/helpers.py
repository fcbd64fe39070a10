"""Seeding the store with plans and progress, and an in-memory connector that records writes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from connectors.base import ApiUsage, WriteResult
from partnerplan.errors import ConfigurationError
from plans.store import (
    PartnerLinkRow,
    PartnerRow,
    PlanRow,
    ProgressRow,
    TargetRow,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
AS_OF = datetime(2026, 5, 1, 11, 0, tzinfo=UTC)


@dataclass
class Seeded:
    """Ids of what :func:`seed` created, by partner key."""

    partners: dict[str, int] = field(default_factory=dict)
    sf_accounts: dict[str, str] = field(default_factory=dict)
    hs_companies: dict[str, str] = field(default_factory=dict)
    target_ids: list[int] = field(default_factory=list)


def seed(
    session: Session,
    partners: int = 2,
    targets: int = 3,
    *,
    sf_ids: list[str] | None = None,
    hs_ids: list[str] | None = None,
) -> Seeded:
    """``partners`` partners, each linked in both CRMs, one active plan of ``targets`` targets."""
    out = Seeded()
    for p in range(partners):
        key = f"P-{p + 1:05d}"
        partner = PartnerRow(key=key, name=f"Partner {p + 1}")
        session.add(partner)
        session.flush()
        assert partner.id is not None
        out.partners[key] = partner.id
        sf = sf_ids[p] if sf_ids else f"001{p:015d}"
        hs = hs_ids[p] if hs_ids else str(9000 + p)
        out.sf_accounts[key], out.hs_companies[key] = sf, hs
        session.add(PartnerLinkRow(partner_id=partner.id, source="salesforce", record_id=sf))
        session.add(PartnerLinkRow(partner_id=partner.id, source="hubspot", record_id=hs))
        plan = PlanRow(
            key=f"{key}-2026",
            partner_id=partner.id,
            partner_key=key,
            period="FY2026",
            period_start=date(2026, 1, 1),
            period_end=date(2027, 1, 1),
            status="active",
            definition={},
            definition_hash="x",
            score=Decimal("0.6250"),
        )
        session.add(plan)
        session.flush()
        assert plan.id is not None
        for t in range(targets):
            target = TargetRow(
                plan_id=plan.id, key=f"t{t:04d}", metric="partner_sourced_revenue", value=1000
            )
            session.add(target)
            session.flush()
            assert target.id is not None
            out.target_ids.append(target.id)
            session.add(
                ProgressRow(
                    target_id=target.id,
                    plan_id=plan.id,
                    partner_id=partner.id,
                    actual=Decimal("625.50"),
                    target=Decimal(1000),
                    attainment=Decimal("0.6255"),
                    expected_to_date=Decimal("330.00"),
                    forecast=Decimal("1876.50"),
                    gap=Decimal("-374.50"),
                    status="on_track",
                    activity_count=4,
                    metric_version="v1",
                    computed_at=T0,
                    data_as_of=AS_OF,
                    fingerprint="f0",
                )
            )
    session.flush()
    return out


def set_actual(session: Session, target_id: int, actual: Decimal | None) -> None:
    """Change one target's actual (as a recompute would)."""
    row = session.scalars(select(ProgressRow).where(ProgressRow.target_id == target_id)).one()
    row.actual = actual
    row.fingerprint = f"f-{actual}"
    session.flush()


class FakeConnector:
    """Records every write, batched like the real connectors; fails chosen keys per record."""

    def __init__(self, name: str = "salesforce", batch: int = 200) -> None:
        self.name = name
        self.batch = batch
        self.write_calls = 0
        self.checks: list[tuple[str, tuple[str, ...]]] = []
        self.upserts: list[tuple[str, str, list[dict[str, Any]]]] = []
        self.updates: list[tuple[str, list[dict[str, Any]]]] = []
        self.fail_keys: set[str] = set()
        self.missing: set[str] = set()
        self.records: dict[str, dict[str, Any]] = {}

    def check_fields(self, spec: Any) -> None:
        """Raise for fields listed in ``missing``."""
        self.checks.append((spec.object, spec.fields))
        absent = [f for f in spec.fields if f in self.missing]
        if absent:
            raise ConfigurationError(f"{spec.object} has no field {absent[0]}")

    def _write(self, keys: list[str]) -> list[WriteResult]:
        self.write_calls += math.ceil(len(keys) / self.batch)
        return [
            WriteResult(k, False, error="FIELD_CUSTOM_VALIDATION_EXCEPTION: locked row")
            if k in self.fail_keys
            else WriteResult(k, True, record_id=f"rec-{k}")
            for k in keys
        ]

    def upsert(self, object: str, key_field: str, records: list[dict[str, Any]]) -> list[Any]:
        """Upsert by ``key_field``."""
        self.upserts.append((object, key_field, records))
        results = self._write([str(r[key_field]) for r in records])
        for record, result in zip(records, results, strict=True):
            if result.ok:
                self.records.setdefault(result.key, {}).update(record)
        return results

    def update(self, object: str, records: list[dict[str, Any]]) -> list[Any]:
        """Update by id."""
        self.updates.append((object, records))
        results = self._write([str(r["id"]) for r in records])
        for record, result in zip(records, results, strict=True):
            if result.ok:
                self.records.setdefault(result.key, {}).update(record)
        return results

    def usage(self) -> ApiUsage:
        """Write calls so far."""
        return ApiUsage(self.write_calls, self.write_calls, None, None)
