"""Every record a destination should hold of the plans, in the manifests' vocabulary (no API call).

From the store alone: each plan (its record, sections, the place of each target, action items,
investment lines, target accounts, files) as :class:`PartRecord` values named as the manifests
name them (:mod:`writeback.manifest`), CRM-neutral; :mod:`writeback.planwire` maps them onto a
CRM's fields. Parents are :class:`Ref` values: a record of this package by its key, or any
record (the partner's Account / company) by id.

Which plans: those from config (their origin owns them: every part is written), except removed
ones, for partners linked to the destination's CRM. A plan whose record the CRM edited (a
conflict, :func:`plans.planstore.conflicts`) keeps its parts pushed, but not its own record.
CRM-authored plans are the CRM's: only what partnerplan owns is written to them, by record id
(:class:`Claim`): their score, status transitions and acceptance, and the keys progress is
upserted by, on their target records.

The joint investment section also lists the partner's market development funds of the plan's
period (fund activities: allocations, requests, claims) as lines whose source is the fund
record, beside the lines the plan names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from plans.crmplans import PLAN_RECORD
from plans.lifecycle import COMPUTED
from plans.planstore import REMOVED
from plans.store import ActivityRow, PartnerLinkRow, PlanRow, ProgressRow, TargetRow
from writeback.planfunds import fund_lines, fund_records
from writeback.planparts import (
    Bundle,
    Claim,
    FileRecord,
    PartRecord,
    Ref,
    external_key,
    section_key,
)


def _last_day(end: date) -> date:
    return end - timedelta(days=1)


def _acceptance(row: PlanRow) -> dict[str, Any]:
    return {
        "status": row.status,
        "version": Decimal(row.version),
        "accepted_by": row.accepted_by,
        "accepted_at": row.accepted_at,
        "accepted_version": None if row.accepted_version is None else Decimal(row.accepted_version),
        "score": row.score,
    }


def partner_links(session: Session, destination: str) -> dict[int, str]:
    """Each partner's record id in ``destination`` (the newest link wins)."""
    return dict(
        session.execute(
            select(col(PartnerLinkRow.partner_id), col(PartnerLinkRow.record_id))
            .where(col(PartnerLinkRow.source) == destination)
            .order_by(col(PartnerLinkRow.id).desc())
        ).all()
    )


def place(
    row: PlanRow, target: TargetRow, units: Mapping[str, str], key_max: int
) -> PartRecord | None:
    """The progress record placing ``target`` in its plan (None: a plan whose targets get no
    progress record from the plan push: CRM-authored, removed, or not computed yet).

    The caller checks the partner is linked in the destination, as :func:`build` does."""
    if row.origin == "crm" or row.status == REMOVED or row.status not in COMPUTED:
        return None
    plan = _Plan(row, "", [target], units, key_max)
    records = plan.progress(Ref("plan", plan.key()))
    return records[0] if records else None


def build(
    session: Session,
    destination: str,
    units: Mapping[str, str],
    key_max: int,
    root: Path | None,
    plan_ids: Collection[int] | None = None,
    links: Mapping[int, str] | None = None,
) -> Bundle:
    """Every plan record ``destination`` should hold now (see the module docstring).

    Args:
        session: The store.
        destination: The destination's name (its source's): partner links and conflicts are
            per source.
        units: Each metric's unit (a progress record says how to read its numbers).
        key_max: The longest key the CRM stores (longer keys are hashed).
        root: The config directory (attachment paths are relative to it).
        plan_ids: Only these plans (the push's :mod:`writeback.planscope`); all when None.
        links: The partners' record ids in the destination, when the caller has read them.
    """
    links = partner_links(session, destination) if links is None else links
    chosen = select(PlanRow).where(col(PlanRow.status) != REMOVED)
    target_query = select(TargetRow).order_by(col(TargetRow.id))
    as_of_query = select(col(ProgressRow.plan_id), func.min(col(ProgressRow.data_as_of)))
    if plan_ids is not None:
        ids = sorted(plan_ids)
        chosen = chosen.where(col(PlanRow.id).in_(ids))
        target_query = target_query.where(col(TargetRow.plan_id).in_(ids))
        as_of_query = as_of_query.where(col(ProgressRow.plan_id).in_(ids))
    plans = session.scalars(chosen.order_by(col(PlanRow.key))).all()
    targets: dict[int, list[TargetRow]] = defaultdict(list)
    for target in session.scalars(target_query):
        targets[target.plan_id].append(target)
    as_of = dict(session.execute(as_of_query.group_by(col(ProgressRow.plan_id))).all())
    partners = None if plan_ids is None else {p.partner_id for p in plans if p.partner_id}
    funds = fund_records(session, partners)
    bundle = Bundle()
    for row in plans:
        assert row.id is not None
        account = links.get(row.partner_id) if row.partner_id is not None else None
        if account is None:
            bundle.unlinked.append(row.key)
            continue
        if row.origin == "crm":
            bundle.claims.extend(_claims(row, destination, as_of.get(row.id), key_max))
            continue
        plan = _Plan(row, account, targets[row.id], units, key_max)
        if destination in (row.conflicts or {}):
            bundle.held[row.key] = row.conflicts[destination]
        else:
            bundle.records.append(plan.record(as_of.get(row.id)))
        bundle.records.extend(plan.parts(funds.get(row.partner_id or 0, [])))
        bundle.files.extend(_files(row, root, key_max))
    return bundle


class _Plan:
    """One config plan's records."""

    def __init__(
        self,
        row: PlanRow,
        account: str,
        targets: list[TargetRow],
        units: Mapping[str, str],
        key_max: int,
    ) -> None:
        self.row, self.account, self.targets = row, account, targets
        self.units, self.key_max = units, key_max
        self.definition = row.definition or {}
        self.sections: list[dict[str, Any]] = list(self.definition.get("sections") or [])

    def key(self, *parts: str) -> str:
        return external_key(":".join((self.row.key, *parts)), self.key_max)

    def record(self, data_as_of: datetime | None) -> PartRecord:
        row, definition = self.row, self.definition
        shared = row.status != "draft"
        values = {
            "title": definition.get("title") or row.key,
            "partner": Ref(id=self.account),
            "partner_key": row.partner_key,
            "shared_with": Ref(id=self.account) if shared else None,
            "period": row.period,
            "start": row.period_start,
            "end": _last_day(row.period_end),
            "summary": definition.get("summary") or None,
            "data_as_of": data_as_of,
            "origin": "config",
            "currency": definition.get("currency"),
            **_acceptance(row),
        }
        return PartRecord("plan", self.key(), row.key, values, frozenset({"shared_with"}))

    def _section_ref(self, name: str | None) -> Ref | None:
        for section in self.sections:
            if section.get("name") == name:
                return Ref("section", self.key(section_key(section)))
        return None

    def parts(self, funds: list[ActivityRow]) -> list[PartRecord]:
        plan = Ref("plan", self.key())
        out: list[PartRecord] = []
        for position, section in enumerate(self.sections):
            key = section_key(section)
            here = Ref("section", self.key(key))
            out.append(
                PartRecord(
                    "section",
                    self.key(key),
                    self.row.key,
                    {
                        "plan": plan,
                        "title": section["name"],
                        "order": Decimal(position + 1),
                        "kind": section.get("kind") or "custom",
                        "summary": section.get("summary") or None,
                    },
                )
            )
            out.extend(self._items(section, key, plan, here))
        if self.row.status in COMPUTED:  # a draft's targets stay out of progress records
            out.extend(self.progress(plan))
        out.extend(fund_lines(self.row, self.sections, plan, funds, self.key))
        return out

    def _items(self, section: dict[str, Any], key: str, plan: Ref, here: Ref) -> list[PartRecord]:
        out: list[PartRecord] = []
        for item in section.get("action_items") or []:
            values = {
                "plan": plan,
                "section": here,
                "title": item["title"],
                "owner_side": item.get("owner_side") or "vendor",
                "owner": item.get("owner"),
                "due": date.fromisoformat(item["due"]) if item.get("due") else None,
                "status": item.get("status") or "open",
            }
            out.append(PartRecord("action", self.key(key, item["key"]), self.row.key, values))
        for line in section.get("investments") or []:
            values = {
                "plan": plan,
                "section": here,
                "title": line["title"],
                "amount": Decimal(str(line["amount"])),
                "currency": line.get("currency"),
                "vendor_share": Decimal(str(line.get("vendor_share", 100))) / 100,
                "status": line.get("status") or "planned",
                "source": "plan",
            }
            out.append(PartRecord("investment", self.key(key, line["key"]), self.row.key, values))
        for account in section.get("target_accounts") or []:
            values = {
                "plan": plan,
                "section": here,
                "name": account["name"],
                "account": Ref(id=account["account"]) if account.get("account") else None,
                "notes": account.get("notes") or None,
            }
            record = PartRecord(
                "target_account", self.key(key, account["key"]), self.row.key, values
            )
            out.append(record)
        return out

    def progress(self, plan: Ref) -> list[PartRecord]:
        proposed = {
            t["key"]: Decimal(str(t["value"])) for t in self.definition.get("targets") or []
        }
        locked = (
            self.row.accepted_version is not None
            and self.row.accepted_version < (self.row.version)
            and self.row.declared not in ("accepted", "active", "closed")
        )
        out: list[PartRecord] = []
        for target in self.targets:
            section = next(
                (s["name"] for s in self.sections if target.key in (s.get("targets") or [])),
                None,
            )
            offer = proposed.get(target.key)
            values = {
                "plan": plan,
                "section": self._section_ref(section),
                "unit": self.units.get(target.metric),
                "weight": target.weight,
                "currency": target.currency,
                "proposed_target": offer if locked and offer != target.value else None,
                "origin": "config",
            }
            out.append(
                PartRecord(
                    "progress",
                    self.key(target.key),
                    self.row.key,
                    values,
                    frozenset({"proposed_target"}),
                    target.id,
                )
            )
        return out


def _claims(
    row: PlanRow, destination: str, data_as_of: datetime | None, key_max: int
) -> list[Claim]:
    """What partnerplan writes to a CRM-authored plan in the CRM it came from."""
    crm = (row.definition or {}).get("crm") or {}
    if crm.get("source") != destination or not crm.get("record_id"):
        return []
    values = {**_acceptance(row), "data_as_of": data_as_of}
    out = [Claim("plan", str(crm["record_id"]), row.key, values, PLAN_RECORD.format(key=row.key))]
    for target_key, record in (crm.get("targets") or {}).items():
        wanted = external_key(f"{row.key}:{target_key}", key_max)
        if record.get("external") == wanted:
            continue
        out.append(
            Claim("progress", str(record["record_id"]), row.key, {"key": wanted}, f"claim:{wanted}")
        )
    return out


def _files(row: PlanRow, root: Path | None, key_max: int) -> list[FileRecord]:
    out: list[FileRecord] = []
    for attachment in (row.definition or {}).get("attachments") or []:
        path = attachment.get("path")
        out.append(
            FileRecord(
                plan=row.key,
                key=external_key(f"{row.key}:{attachment['key']}", key_max),
                title=attachment["title"],
                sha256=attachment["sha256"],
                path=(root / path) if path and root is not None else None,
                url=attachment.get("url"),
            )
        )
    return out
