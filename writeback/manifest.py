"""A CRM's plan manifest: which object and field holds each part of a plan, and of which kind.

Each CRM ships one in ``crm/`` (its dialect's ``plan_manifest`` names it):
``crm/salesforce/partnerplan-fields.yaml`` (pinned to the SFDX package by ``tests/crm``) and
``crm/hubspot/partnerplan-properties.yaml`` (what ``partnerplan crm setup`` creates). Both use
one vocabulary: the parts (``plan``, ``section``, ``progress``, ``action``, ``investment``,
``target_account``; ``response`` is pulled, never pushed) and the names of their values
(``title``, ``period``, ``status``, ...), which :mod:`writeback.planrecords` fills. The push
writes exactly the fields a manifest lists, so the manifest is the contract with the CRM.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import Field

from partnerplan.config import StrictModel
from partnerplan.errors import ConfigurationError

Kind = Literal[
    "text",
    "number",
    "percent",
    "money",
    "date",
    "datetime",
    "picklist",
    "reference",
    "user",
    "currency",
    "flag",
]
PARTS = ("plan", "section", "progress", "action", "investment", "target_account")
"""The pushed parts, in the order they are written (a part's parents before it)."""


class FieldEntry(StrictModel):
    """One value of a part: the CRM field holding it and its kind (and picklist values or the
    object a reference points at)."""

    field: str
    kind: Kind
    values: list[str] | None = None
    to: str | None = None


class ObjectEntry(StrictModel):
    """One part: its CRM object, whether it is pushed or pulled, how it is keyed, its fields."""

    object: str
    direction: Literal["push", "pull"]
    key_field: str | None = None
    key: str | None = None
    fields: dict[str, FieldEntry] = Field(default_factory=dict)


class Manifest(StrictModel):
    """A whole manifest file."""

    version: Literal[1] = 1
    objects: dict[str, ObjectEntry]

    def pushed(self) -> list[tuple[str, ObjectEntry]]:
        """The pushed parts, parents first."""
        return [
            (part, self.objects[part])
            for part in PARTS
            if part in self.objects and self.objects[part].direction == "push"
        ]

    def key_field_of(self, object: str) -> str | None:
        """The key field of a pushed object of this manifest (None for any other object)."""
        for entry in self.objects.values():
            if entry.object == object and entry.direction == "push":
                return entry.key_field
        return None


@cache
def load_manifest(path: str) -> Manifest:
    """The manifest at ``path`` inside the shipped ``crm/`` (read once per process)."""
    source = resources.files("partnerplan") / "crm" / path
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(
            f"cannot read the plan manifest crm/{path}: {exc}; reinstall partnerplan"
        ) from exc
    return Manifest.model_validate(data)
