"""The YAML form of plans (``config/plans/*.yaml``): plans, sections, targets and templates.

```yaml
version: 1
plans:
  - key: P-00001-2026-Q4            # unique; what the CRM record is keyed by
    partner: P-00001                # the partner key (Partner_Key__c / partner_key)
    period: 2026-Q4                 # 2026, 2026-Q4, 2026-H1, 2026-03, FY2027, FY2027-Q1
    status: shared                  # draft | shared | accepted | active | closed
    title: Acme Q4 joint plan       # optional; the key when absent
    summary: Grow platform revenue in EMEA together.
    owner: ana@example.com
    attachments:                    # a file (relative to the config directory) or a link
      - {title: Signed plan, path: plans/files/acme-q4.pdf}
      - {title: Deck, url: "https://..."}
    sections:
      - name: Sales objectives
        kind: sales_objectives      # inferred from the name when absent (custom otherwise)
        summary: Grow platform revenue in EMEA.
        targets:
          - {metric: won_revenue, value: 250000, currency: USD, weight: 2,
             filters: {product_line: Platform}, phasing: monthly}
        target_accounts: [Globex, {name: Initech, notes: renewal in Q1}]
        action_items:
          - {title: Joint QBR, due: 2026-11-15, owner_side: vendor, status: open}
      - name: Joint investment
        investments:
          - {title: Q4 webinar series, amount: 20000, currency: USD, vendor_share: 60,
             status: approved}
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

``status`` is what the author declares (:mod:`plans.lifecycle` derives the plan's status from it,
the partner's responses and the calendar): ``draft`` stays internal; ``shared`` publishes the plan
for the partner to accept or to request changes; ``accepted``, ``active`` and ``closed`` declare a
plan agreed outside the CRM (a signed PDF). ``proposed``, the name ``shared`` had before, is still
read, with a warning. ``changes_requested`` is never written here: it is the partner's answer.
Sections, action items, investment lines and target accounts are keyed by a slug of their name or
title unless they name a ``key:``; the CRM records are keyed by those keys.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from partnerplan.config import StrictModel
from plans.catalogue import FilterValue

PlanStatus = Literal["draft", "shared", "accepted", "active", "closed", "proposed"]
"""What a plan file may declare (``proposed`` is the old name of ``shared``)."""
LEGACY_STATUSES = {"proposed": "shared"}
"""Statuses still read, and what they now mean (with a warning naming the new one)."""
SectionKind = Literal[
    "sales_objectives",
    "marketing",
    "training_certification",
    "joint_investment",
    "action_plan",
    "custom",
]
OwnerSide = Literal["vendor", "partner"]
ActionStatus = Literal["open", "in_progress", "done", "cancelled"]
InvestmentStatus = Literal[
    "planned", "requested", "approved", "rejected", "claimed", "paid", "cancelled"
]
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
"""Keys of a plan's parts: they become parts of CRM external ids (``<plan>:<section>:<line>``)."""


def _decimal(value: object) -> object:
    # YAML reads 0.1 as a float; its shortest repr is what the user wrote. Allow "35%".
    if isinstance(value, float):
        return str(value)
    if isinstance(value, str):
        return value.strip().removesuffix("%").replace("_", "")
    return value


def slug(text: str) -> str:
    """A part's default key: its name lower-cased, runs of other characters as one ``-``."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out or "item"


class Attachment(StrictModel):
    """A file or a link attached to a plan (the signed PDF, a shared deck).

    ``path`` is relative to the config directory; its content is uploaded to the CRM once and
    again only when it changes. ``url`` is attached as a link.
    """

    title: str = Field(min_length=1, max_length=255)
    url: str | None = None
    path: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Attachment:
        if (self.url is None) == (self.path is None):
            raise ValueError("an attachment needs exactly one of `url:` or `path:`")
        return self


class ActionItem(StrictModel):
    """Something one side committed to do, with a due date."""

    title: str = Field(min_length=1, max_length=255)
    key: str | None = Field(default=None, max_length=80, pattern=KEY_PATTERN)
    due: date | None = None
    owner: str | None = None
    owner_side: OwnerSide = "vendor"
    status: ActionStatus | None = None
    done: bool = False

    @property
    def state(self) -> str:
        """The status, ``done: true`` (the older form) meaning ``done``."""
        return self.status or ("done" if self.done else "open")


class TargetAccount(StrictModel):
    """A customer the plan names: by name, optionally its CRM Account id and notes."""

    name: str = Field(min_length=1, max_length=255)
    key: str | None = Field(default=None, max_length=80, pattern=KEY_PATTERN)
    account: str | None = Field(default=None, max_length=18)
    notes: str = ""


def _account(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


class InvestmentLine(StrictModel):
    """A joint investment line: an amount, who pays which share, and where it stands."""

    title: str = Field(min_length=1, max_length=255)
    key: str | None = Field(default=None, max_length=80, pattern=KEY_PATTERN)
    amount: Decimal = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    vendor_share: Decimal = Field(default=Decimal(100), ge=0, le=100)
    """The vendor's share in percent (0-100); the partner pays the rest."""
    status: InvestmentStatus = "planned"

    _value = field_validator("amount", "vendor_share", mode="before")(_decimal)


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

    name: str = Field(min_length=1, max_length=80)
    key: str | None = Field(default=None, max_length=80, pattern=KEY_PATTERN)
    kind: SectionKind | None = None
    summary: str = ""
    targets: list[TargetSpec] = Field(default_factory=list)
    target_accounts: list[Annotated[TargetAccount, BeforeValidator(_account)]] = Field(
        default_factory=list
    )
    action_items: list[ActionItem] = Field(default_factory=list)
    investments: list[InvestmentLine] = Field(default_factory=list)

    @property
    def section_key(self) -> str:
        """The section's key: its own, else a slug of its name."""
        return self.key or slug(self.name)

    @property
    def section_kind(self) -> str:
        """The kind: its own, else guessed from the name (``custom`` when nothing fits)."""
        if self.kind is not None:
            return self.kind
        name = self.name.lower()
        for word, kind in _KIND_WORDS:
            if word in name:
                return kind
        return "custom"


_KIND_WORDS = (
    ("investment", "joint_investment"),
    ("fund", "joint_investment"),
    ("training", "training_certification"),
    ("certif", "training_certification"),
    ("enablement", "training_certification"),
    ("marketing", "marketing"),
    ("action", "action_plan"),
    ("sales", "sales_objectives"),
    ("revenue", "sales_objectives"),
)
"""Words of a section's name and the kind they suggest, first match wins."""


class PlanSpec(StrictModel):
    """One joint business plan."""

    key: str = Field(max_length=200)
    partner: str = Field(max_length=200)
    period: str
    status: PlanStatus = "draft"
    owner: str | None = None
    title: str | None = Field(default=None, max_length=80)
    summary: str = ""
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
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
    title: str | None = Field(default=None, max_length=80)
    summary: str = ""
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    attachments: list[Attachment] = Field(default_factory=list)
    sections: list[SectionSpec] = Field(default_factory=list)
    overrides: dict[str, PartnerOverride] = Field(default_factory=dict)

    _period = field_validator("period", mode="before")(lambda v: str(v))


class PlansFile(StrictModel):
    """One file under ``config/plans``."""

    version: int = 1
    plans: list[PlanSpec] = Field(default_factory=list)
    templates: list[TemplateSpec] = Field(default_factory=list)
