"""Checking a stream's field paths and collecting what its connector must fetch.

How a path reads a record is the CRM's business: Salesforce paths are SOQL names
(``PartnerAccount.Partner_Key__c``), HubSpot paths follow the API's record shape
(``properties.amount``, ``associations.companies[0]``). :class:`PathChecker` parses each path,
asks the source's dialect what it means, and remembers the fields and associations to request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.dialect import Dialect
from mappings.expressions import parse_path

Check = tuple[str | None, tuple[str, ...] | None]
"""(error message or None, the field's known picklist values or None)."""


@dataclass
class PathChecker:
    """Checks one stream's paths and remembers the fields and associations it reads."""

    dialect: Dialect
    object: str
    extra_fields: tuple[str, ...] = ()
    fields: list[str] = field(default_factory=list)
    associations: list[str] = field(default_factory=list)

    def check(self, path: str, *, filter_field: bool = False) -> Check:
        """Check ``path``; record what must be fetched for it."""
        steps = parse_path(path)
        if steps is None:
            return f"{path!r} is not a field path", None
        use = self.dialect.read_path(
            self.object, path, steps, extra_fields=self.extra_fields, filter_field=filter_field
        )
        if use.fetch is not None and use.fetch not in self.fields:
            self.fields.append(use.fetch)
        if use.association is not None and use.association not in self.associations:
            self.associations.append(use.association)
        return use.error, use.picklist
