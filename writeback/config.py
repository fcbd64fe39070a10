"""``config/writeback.yaml``: where progress lands in each CRM, and which CRM fields it may touch.

Each destination is named after a source in ``settings.yaml`` (its connection is reused) and
holds up to two parts:

* ``progress``: one CRM record per plan target, upserted by an external-id field / unique
  property and tied to the partner's record, by a lookup field (``partner_field:``, e.g.
  Salesforce) or an association (``associate:``, e.g. HubSpot), as the CRM's dialect says;
* ``rollup``: fields on the partner's own account/company record (plan score, status, when
  computed), updated by record id;
* ``plans``: each plan whole (the plan, its sections, its targets' places, action items,
  investment lines, target accounts and files), written as the CRM's field manifest says
  (``crm/salesforce/partnerplan-fields.yaml``, ``crm/hubspot/partnerplan-properties.yaml``).

``fields`` maps a progress (or roll-up) field, from the closed vocabulary
:data:`PROGRESS_FIELDS` / :data:`ROLLUP_FIELDS`, to a CRM field name, or to ``{field: NAME,
percent: true}`` for CRM percent fields that expect 85 for 85 %. A value partnerplan does not
know (None) is never sent, so a CRM value is never cleared, unless the progress field is listed
in ``write_nulls``. A CRM field listed in ``owned_by_crm`` is never written at all, whatever the
map says (an admin can hand a field to CRM users without editing the map).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from connectors.crms import REGISTRY
from partnerplan.config import Document, Loc, StrictModel, parse, validate
from partnerplan.errors import Problem

Kind = Literal["text", "number", "percent", "datetime"]
PROGRESS_FIELDS: dict[str, Kind] = {
    "plan_key": "text",
    "target_key": "text",
    "metric": "text",
    "metric_label": "text",
    "period": "text",
    "target": "number",
    "actual": "number",
    "attainment": "number",
    "expected_to_date": "number",
    "forecast": "number",
    "gap": "number",
    "status": "text",
    "activity_count": "number",
    "computed_at": "datetime",
    "data_as_of": "datetime",
    "metric_version": "text",
}
"""What a progress record can carry, and each value's kind (drives CRM setup and checks)."""
ROLLUP_FIELDS: dict[str, Kind] = {
    "score": "number",
    "status": "text",
    "plan_key": "text",
    "period": "text",
    "computed_at": "datetime",
    "data_as_of": "datetime",
}
"""What a partner's account/company roll-up can carry."""
FRESHNESS = frozenset({"computed_at", "data_as_of"})
"""Fields that say when, not what: sent along with a change, never a reason to push alone."""


class FieldTarget(StrictModel):
    """A CRM field, optionally scaled for percent fields (0.85 is sent as 85)."""

    field: str = Field(min_length=1)
    percent: bool = False


FieldSpec = str | FieldTarget


def _target(spec: FieldSpec) -> FieldTarget:
    return spec if isinstance(spec, FieldTarget) else FieldTarget(field=spec)


class _Part(StrictModel):
    """What one part (progress or roll-up) of a destination writes."""

    object: str = Field(min_length=1)
    fields: dict[str, FieldSpec] = Field(min_length=1)
    write_nulls: list[str] = Field(default_factory=list)
    owned_by_crm: list[str] = Field(default_factory=list)

    def targets(self) -> dict[str, FieldTarget]:
        """Each mapped source field to its CRM field, minus the fields the CRM owns."""
        owned = {name.lower() for name in self.owned_by_crm}
        out = {key: _target(spec) for key, spec in self.fields.items()}
        return {key: t for key, t in out.items() if t.field.lower() not in owned}

    def crm_fields(self) -> list[str]:
        """The CRM fields this part writes, in map order."""
        return [t.field for t in self.targets().values()]


def _unknown(name: str, allowed: dict[str, Kind], what: str) -> str | None:
    if name in allowed:
        return None
    hint = difflib.get_close_matches(name, list(allowed), n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    return f"{name!r} is not a {what} field; {suggestion}known: {', '.join(allowed)}"


def _check_names(
    doc: Document, loc: Loc, part: _Part, allowed: dict[str, Kind], what: str
) -> list[Problem]:
    """Each unknown field name, located at its own key (or list item)."""
    problems: list[Problem] = []
    for name in part.fields:
        message = _unknown(name, allowed, what)
        if message:
            problems.append(doc.problem((*loc, "fields", name), message))
    for index, name in enumerate(part.write_nulls):
        message = _unknown(name, allowed, what)
        if message:
            problems.append(doc.problem((*loc, "write_nulls", index), message))
    return problems


class ProgressPart(_Part):
    """One CRM record per plan target.

    Attributes:
        key_field: The external-id field / unique property the records are upserted by;
            partnerplan fills it with ``<plan key>:<target key>``.
        partner_field: In CRMs that link by lookup: the field set to the partner's record id.
        associate: In CRMs that link by association: the object type the record is associated
            with (the partner's company).
    """

    key_field: str = Field(min_length=1)
    partner_field: str | None = None
    associate: str | None = None


class RollupPart(_Part):
    """Fields on the partner's own account/company record, updated by its record id."""


class PlansPart(StrictModel):
    """The plan push (:mod:`writeback.plans`): each plan whole, as the CRM's manifest names it.

    Attributes:
        currency: The CRM keeps a currency per record (a Salesforce multi-currency org; the
            HubSpot model's ``currency`` property): amounts are sent with theirs. Turn it off
            for a single-currency Salesforce org, where every amount is in the org's currency.
        attachments: Upload the files and links a plan names.
    """

    currency: bool = True
    attachments: bool = True


class Destination(StrictModel):
    """What is written to one CRM (named after its source in settings.yaml)."""

    enabled: bool = True
    progress: ProgressPart | None = None
    rollup: RollupPart | None = None
    plans: PlansPart | None = None

    @model_validator(mode="after")
    def _something(self) -> Destination:
        if self.progress is None and self.rollup is None and self.plans is None:
            raise ValueError("a destination needs `progress:`, `rollup:`, `plans:` or several")
        return self


class WritebackFile(StrictModel):
    """The whole of ``writeback.yaml``."""

    version: Literal[1] = 1
    destinations: dict[str, Destination] = Field(default_factory=dict)


def _cross_check(
    doc: Document, model: WritebackFile, sources: dict[str, Any] | None
) -> list[Problem]:
    problems: list[Problem] = []
    for name, dest in model.destinations.items():
        loc: tuple[str | int, ...] = ("destinations", name)
        if sources is not None and name not in sources:
            hint = difflib.get_close_matches(name, list(sources), n=1)
            suggestion = f"did you mean {hint[0]!r}? " if hint else ""
            known = ", ".join(sorted(sources)) or "none"
            problems.append(
                doc.problem(
                    loc,
                    f"no source named {name!r} in settings.yaml; {suggestion}"
                    f"destinations are named after sources ({known})",
                )
            )
            continue
        kind = getattr(sources.get(name), "type", None) if sources is not None else None
        if dest.rollup is not None:
            problems += _check_names(doc, (*loc, "rollup"), dest.rollup, ROLLUP_FIELDS, "roll-up")
        progress = dest.progress
        if progress is None:
            continue
        problems += _check_names(doc, (*loc, "progress"), progress, PROGRESS_FIELDS, "progress")
        if kind in REGISTRY.kinds():
            link = REGISTRY.dialect(kind).partner_link
            linked = progress.partner_field if link.via == "lookup" else progress.associate
            if not linked:
                problems.append(doc.problem((*loc, "progress"), link.hint))
        mapped = {t.field.lower() for t in progress.targets().values()}
        if progress.key_field.lower() in mapped:
            problems.append(
                doc.problem(
                    (*loc, "progress", "fields"),
                    f"{progress.key_field} is the key field; partnerplan fills it, do not map it",
                )
            )
    return problems


def load_writeback(
    path: Path, sources: dict[str, Any] | None = None
) -> tuple[WritebackFile | None, list[Problem]]:
    """Load ``writeback.yaml``; a missing file means write-back is off (an empty config).

    Args:
        path: The file (usually ``config/writeback.yaml``).
        sources: The sources of settings.yaml (None when settings failed to load: skip the
            cross-check rather than report a second, derived problem).

    Returns:
        The validated config (None if invalid) and every problem found, each at FILE:LINE.
    """
    if not path.exists():
        return WritebackFile(), []
    doc = parse(path)
    model = validate(doc, WritebackFile)
    if model is not None:
        doc.problems.extend(_cross_check(doc, model, sources))
    errors = [p for p in doc.problems if p.severity == "error"]
    return (None if errors else model), doc.problems
