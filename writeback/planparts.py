"""The records of the plan push, CRM-neutral: a part of a plan, a claim on a CRM-authored record,
a file, and what one destination should hold (see :mod:`writeback.planrecords`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plans.crmplans import PLAN_RECORD


def section_key(section: Mapping[str, Any]) -> str:
    """A stored section's key (its name for definitions stored before sections had keys)."""
    return str(section.get("key") or section["name"])


def external_key(text: str, max_length: int) -> str:
    """A record's key, or a stable hash of it when the CRM's keys cannot hold it."""
    if len(text) <= max_length:
        return text
    return "h:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Ref:
    """A parent: a record of this package by key (``part``), or any record by ``id``."""

    part: str | None = None
    key: str | None = None
    id: str | None = None


@dataclass
class PartRecord:
    """One record of one part of a plan, in the manifest's vocabulary.

    Attributes:
        part: ``plan``, ``section``, ``progress``, ``action``, ``investment``, ``target_account``.
        key: Its key (the CRM's external id / unique property value).
        plan: The plan's key.
        values: Values by vocabulary name (None: not known, not sent, unless in ``nulls``).
        nulls: Names whose None is sent (the CRM value is cleared).
        target_id: The target a progress record belongs to.
    """

    part: str
    key: str
    plan: str
    values: dict[str, Any]
    nulls: frozenset[str] = frozenset()
    target_id: int | None = None

    @property
    def state_key(self) -> str:
        """Its push-state key."""
        if self.part == "plan":
            return PLAN_RECORD.format(key=self.key)
        return f"{self.part}:{self.key}"


@dataclass
class Claim:
    """An update of a CRM-authored record by its id: what partnerplan owns of it."""

    part: str
    record_id: str
    plan: str
    values: dict[str, Any]
    state_key: str


@dataclass
class FileRecord:
    """An attachment of a plan: a file (``path``) or a link (``url``) and its content hash."""

    plan: str
    key: str
    title: str
    sha256: str
    path: Path | None = None
    url: str | None = None

    @property
    def state_key(self) -> str:
        """Its push-state key."""
        return f"file:{self.key}"


@dataclass
class Bundle:
    """What one destination should hold of the plans."""

    records: list[PartRecord] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    held: dict[str, Any] = field(default_factory=dict)
    unlinked: list[str] = field(default_factory=list)
