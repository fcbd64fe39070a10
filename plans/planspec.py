"""The YAML form of plans (``config/plans/*.yaml``): plans, sections, targets and templates.

```yaml
version: 1
plans:
  - key: P-00001-2026-Q4            # unique; what the CRM record is keyed by
    partner: P-00001                # the partner key (Partner_Key__c / partner_key)
    period: 2026-Q4                 # 2026, 2026-Q4, 2026-H1, 2026-03, FY2027, FY2027-Q1
    status: active                  # draft | proposed | accepted | active | closed
    owner: ana@example.com
    attachments: [{title: Signed plan, url: "https://..."}]
    sections:
      - name: Sales objectives
        summary: Grow platform revenue in EMEA.
        targets:
          - {metric: won_revenue, value: 250000, currency: USD, weight: 2,
             filters: {product_line: Platform}, phasing: monthly}
        target_accounts: [Globex, Initech]
        action_items: [{title: Joint QBR, due: 2026-11-15, done: false}]
templates:
  - key: "{partner}-{period}"       # placeholders: {partner}, {period}
    tier: Gold                      # every Gold partner (resolved from the store) ...
    partners: [P-00007]             # ... and/or these partners
    period: 2026-Q4
    status: active
    sections: [...]                 # as in a plan
    overrides:                      # per partner: replace target values, drop a partner
      P-00003: {targets: {won_revenue: {value: 400000}}}
      P-00009: {skip: true}
```
A target's key defaults to its metric (plus its filter values when filtered); it must be unique
within a plan. ``phasing`` is ``linear`` (expected grows with elapsed days, the default),
``monthly`` (equal per calendar month) or explicit values per month ``{2026-10: 50000, ...}``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from partnerplan.config import StrictModel
from plans.catalogue import FilterValue

PlanStatus = Literal["draft", "proposed", "accepted", "active", "closed"]


def _decimal(value: object) -> object:
    # YAML reads 0.1 as a float; its shortest repr is what the user wrote. Allow "35%".
    if isinstance(value, float):
        return str(value)
    if isinstance(value, str):
        return value.strip().removesuffix("%").replace("_", "")
    return value


class Attachment(StrictModel):
    """A link attached to a plan (the signed PDF, a shared deck)."""

    title: str
    url: str


class ActionItem(StrictModel):
    """Something one side committed to do, with a due date."""

    title: str
    due: date | None = None
    owner: str | None = None
    done: bool = False


class TargetSpec(StrictModel):
    """A target: reach ``value`` of ``metric`` in the plan's period."""

    metric: str
    value: Decimal
    key: str | None = Field(default=None, max_length=300)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    weight: Decimal = Field(default=Decimal(1), ge=0)
    filters: dict[str, FilterValue] = Field(default_factory=dict)
    phasing: Literal["linear", "monthly"] | dict[str, Decimal] = "linear"

    _value = field_validator("value", "weight", mode="before")(_decimal)


class SectionSpec(StrictModel):
    """A section of a plan (sales objectives, marketing plan, ...)."""

    name: str
    summary: str = ""
    targets: list[TargetSpec] = Field(default_factory=list)
    target_accounts: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)


class PlanSpec(StrictModel):
    """One joint business plan."""

    key: str = Field(max_length=200)
    partner: str = Field(max_length=200)
    period: str
    status: PlanStatus = "draft"
    owner: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    sections: list[SectionSpec] = Field(default_factory=list)

    _period = field_validator("period", mode="before")(lambda v: str(v))


class TargetOverride(StrictModel):
    """A per-partner change to one target of a template."""

    value: Decimal | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    weight: Decimal | None = Field(default=None, ge=0)
    remove: bool = False

    _value = field_validator("value", "weight", mode="before")(_decimal)


class PartnerOverride(StrictModel):
    """What differs for one partner of a template."""

    skip: bool = False
    owner: str | None = None
    status: PlanStatus | None = None
    targets: dict[str, TargetOverride] = Field(default_factory=dict)


class TemplateSpec(StrictModel):
    """One plan shape applied to many partners, with per-partner overrides."""

    key: str = "{partner}-{period}"
    partners: list[str] = Field(default_factory=list)
    tier: str | None = None
    period: str
    status: PlanStatus = "draft"
    owner: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    sections: list[SectionSpec] = Field(default_factory=list)
    overrides: dict[str, PartnerOverride] = Field(default_factory=dict)

    _period = field_validator("period", mode="before")(lambda v: str(v))


class PlansFile(StrictModel):
    """One file under ``config/plans``."""

    version: int = 1
    plans: list[PlanSpec] = Field(default_factory=list)
    templates: list[TemplateSpec] = Field(default_factory=list)
