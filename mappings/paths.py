"""Checking field paths against the CRM schema and collecting what a stream must fetch.

Salesforce paths are SOQL names: ``Amount``, ``PartnerAccount.Partner_Key__c``,
``Partner_Account__r.Name``. HubSpot paths follow the API's record shape: ``properties.amount``,
``associations.companies[0]``, ``id``, ``createdAt``, ``updatedAt``, ``archived``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from mappings.catalog import HUBSPOT_TOP_LEVEL, SCHEMAS, ObjectSchema, relationship_name
from mappings.expressions import parse_path

Check = tuple[str | None, tuple[str, ...] | None]
"""(error message or None, the field's known picklist values or None)."""

_EXTRA_HINT = "if your org has it, list it under `extra_fields:` of this stream"


def _unknown(what: str, name: str, known: object) -> str:
    options = sorted(known) if isinstance(known, set | frozenset | dict | list) else []
    hint = difflib.get_close_matches(name, options, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"{what} has no field {name!r}{suggestion} ({_EXTRA_HINT})"


@dataclass
class PathChecker:
    """Checks one stream's paths and remembers the fields and associations it reads."""

    source_type: str
    object: str
    extra_fields: tuple[str, ...] = ()
    fields: list[str] = field(default_factory=list)
    associations: list[str] = field(default_factory=list)

    @property
    def schema(self) -> ObjectSchema | None:
        """The known schema of the stream's object, if partnerplan knows it."""
        return SCHEMAS[self.source_type].get(self.object)

    def _fetch(self, name: str) -> None:
        if name not in self.fields:
            self.fields.append(name)

    def check(self, path: str, *, filter_field: bool = False) -> Check:
        """Check ``path``; record what must be fetched for it."""
        steps = parse_path(path)
        if steps is None:
            return f"{path!r} is not a field path", None
        if self.source_type == "salesforce":
            return self._salesforce(path, [name for name, _ in steps], steps)
        return self._hubspot(path, steps, filter_field)

    def _salesforce(
        self, path: str, names: list[str], steps: list[tuple[str, int | None]]
    ) -> Check:
        if any(index is not None for _, index in steps):
            return f"{path!r}: Salesforce fields have no [index]; write Field or Rel.Field", None
        self._fetch(path)
        if path in self.extra_fields or names[0] in self.extra_fields:
            return None, None
        schema, owner = self.schema, self.object
        for depth, name in enumerate(names):
            if schema is None:
                return None, None
            if depth == len(names) - 1:
                if name not in schema.fields:
                    return _unknown(owner, name, schema.fields), None
                return None, schema.picklists.get(name)
            targets = {relationship_name(k): v for k, v in schema.lookups.items()}
            if name not in targets:
                return _unknown(f"{owner} (relationships)", name, targets), None
            owner = targets[name]
            schema = SCHEMAS["salesforce"].get(owner)
        return None, None  # pragma: no cover - the loop always returns

    def _hubspot(self, path: str, steps: list[tuple[str, int | None]], filter_field: bool) -> Check:
        head, index = steps[0]
        if len(steps) == 1 and index is None and head in HUBSPOT_TOP_LEVEL:
            return None, None
        if filter_field and len(steps) == 1 and index is None:
            steps = [("properties", None), (head, None)]
            head = "properties"
        if head == "associations" and len(steps) == 2 and index is None:
            if steps[1][0] not in self.associations:
                self.associations.append(steps[1][0])
            return None, None
        if head != "properties" or len(steps) != 2 or index is not None or steps[1][1] is not None:
            return (
                f"{path!r} is not a HubSpot field path; write properties.NAME, "
                "associations.TYPE[0] or one of " + ", ".join(sorted(HUBSPOT_TOP_LEVEL)),
                None,
            )
        name = steps[1][0]
        self._fetch(name)
        schema = self.schema
        if schema is None or name in self.extra_fields or path in self.extra_fields:
            return None, None
        if name not in schema.fields:
            return _unknown(f"HubSpot {self.object}", name, schema.fields), None
        return None, schema.picklists.get(name)
