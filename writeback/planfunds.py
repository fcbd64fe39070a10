"""The partner's market development funds as investment lines of a plan's joint investment section.

Fund activities (allocations, requests and claims; approvals repeat requests and are left out)
dated in the plan's period become investment lines whose source is the fund record, beside the
lines the plan names, so the CRM's plan shows them next to the targets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from plans.store import ActivityRow, PlanRow
from writeback.planparts import PartRecord, Ref, section_key

FUND_SOURCES = {"allocation": "fund_allocation", "request": "fund_request", "claim": "fund_claim"}
FUND_STATUS = {
    ("allocation", "allocated"): "approved",
    ("request", "draft"): "planned",
    ("request", "submitted"): "requested",
    ("request", "approved"): "approved",
    ("request", "rejected"): "rejected",
    ("claim", "draft"): "planned",
    ("claim", "submitted"): "claimed",
    ("claim", "approved"): "paid",
    ("claim", "rejected"): "rejected",
}
"""A fund record's (type, status) as an investment line's status."""


def fund_records(
    session: Session, partner_ids: Collection[int] | None = None
) -> dict[int, list[ActivityRow]]:
    """Fund allocations, requests and claims by partner (approvals repeat requests: left out);
    of the partners ``partner_ids`` only, when given."""
    query = select(ActivityRow).where(
        col(ActivityRow.kind) == "fund",
        col(ActivityRow.deleted) == False,  # noqa: E712 (SQL comparison)
        col(ActivityRow.partner_id).is_not(None),
    )
    if partner_ids is not None:
        query = query.where(col(ActivityRow.partner_id).in_(sorted(partner_ids)))
    out: dict[int, list[ActivityRow]] = defaultdict(list)
    for row in session.scalars(query.order_by(col(ActivityRow.id))):
        if row.attributes.get("fund_type") in FUND_SOURCES and row.partner_id is not None:
            out[row.partner_id].append(row)
    return out


def fund_lines(
    row: PlanRow,
    sections: list[dict[str, Any]],
    plan: Ref,
    funds: list[ActivityRow],
    key: Callable[..., str],
) -> list[PartRecord]:
    """The plan's joint investment section lists the partner's funds of its period."""
    section = next((s for s in sections if s.get("kind") == "joint_investment"), None)
    if section is None:
        return []
    here = Ref("section", key(section_key(section)))
    start, end = row.period_start, row.period_end
    out: list[PartRecord] = []
    for fund in funds:
        if fund.occurred_on is None or not start <= fund.occurred_on < end:
            continue
        kind = str(fund.attributes.get("fund_type"))
        values = {
            "plan": plan,
            "section": here,
            "title": fund.attributes.get("title") or f"{kind.capitalize()} {fund.record_id}",
            "amount": fund.amount,
            "currency": fund.currency,
            "vendor_share": Decimal(1),
            "status": FUND_STATUS.get((kind, str(fund.status)), "planned"),
            "source": FUND_SOURCES[kind],
            "source_record": fund.record_id,
        }
        line = key(section_key(section), f"fund-{fund.record_id}")
        out.append(PartRecord("investment", line, row.key, values))
    return out
