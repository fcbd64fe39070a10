"""What a stream asks its connector to fetch: the contract between mappings and connectors.

A mapping knows which source fields it reads; a connector knows how to fetch them. `StreamSpec`
is the plain-data hand-off between the two, so neither needs the other's internals: the mapping
layer builds one per compiled stream, the connector turns it into SOQL or HubSpot search calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FilterOp = Literal["eq", "ne", "in", "not_in", "is_null", "not_null", "gt", "gte", "lt", "lte"]


@dataclass(frozen=True)
class Filter:
    """A declarative source filter, translated to SOQL / HubSpot filters by connectors.

    Attributes:
        field: The source field (SOQL field or HubSpot property name).
        op: The comparison.
        value: The operand; a list for `in`/`not_in`, unused for `is_null`/`not_null`.
    """

    field: str
    op: FilterOp
    value: Any = None


@dataclass(frozen=True)
class StreamSpec:
    """What the connector must fetch for one stream.

    Attributes:
        name: Stream name, unique across all mappings.
        source: Source name from settings.yaml (e.g. "salesforce", "hubspot").
        object: The CRM object: "Opportunity", "Deal_Registration__c", "deals", ...
        fields: Source fields the mapping reads: the SOQL select list including relationship
            paths like "PartnerAccount.Partner_Key__c", or HubSpot property names.
        modified_field: The field the watermark follows: "SystemModstamp",
            "hs_lastmodifieddate" or "lastmodifieddate".
        filters: Source-side filters (all must hold).
        associations: HubSpot object types whose associated ids the mapping reads,
            e.g. ("companies",).
    """

    name: str
    source: str
    object: str
    fields: tuple[str, ...]
    modified_field: str
    filters: tuple[Filter, ...] = ()
    associations: tuple[str, ...] = ()
