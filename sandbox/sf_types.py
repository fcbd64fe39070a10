"""What an sObject type is made of: fields with what describe and the query engine need.

Shared by the org's own objects (:mod:`sf_schema`) and the standard objects every org has
(:mod:`sf_standard`), so that neither imports the other's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

CURRENCIES = ("USD", "EUR", "GBP", "JPY")
AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")


@dataclass(frozen=True)
class Field:
    """One field of an sObject, with what describe and the query engine need to know.

    Attributes:
        name: the API name.
        type: describe's ``type`` (``string``, ``picklist``, ``reference``, ``currency``, ...).
        values: picklist values.
        reference_to: the object a lookup points at (the first, for polymorphic lookups).
        external_id: marked External ID (upserts may key on it).
        system: set by Salesforce only (Id, audit fields, SystemModstamp).
        calculated: a formula or roll-up: read-only.
        required: not nillable (describe ``nillable: false``).
        also_to: further objects a polymorphic lookup (``WhoId``, ``WhatId``) may point at.
        read_only: not createable or updateable although not a formula (``IsCorporate``).
    """

    name: str
    type: str
    values: tuple[str, ...] = ()
    reference_to: str | None = None
    external_id: bool = False
    system: bool = False
    calculated: bool = False
    required: bool = False
    also_to: tuple[str, ...] = ()
    read_only: bool = False

    @cached_property
    def relationship_name(self) -> str | None:
        """``AccountId`` → ``Account``; ``Partner_Account__c`` → ``Partner_Account__r``."""
        if self.type != "reference" or self.name == "Id":
            return None
        if self.name.endswith("__c"):
            return self.name[:-3] + "__r"
        return self.name[:-2] if self.name.endswith("Id") else self.name

    @property
    def updateable(self) -> bool:
        """Whether DML may set it (system, formula and read-only fields may not)."""
        return not (self.system or self.calculated or self.read_only)

    @property
    def nillable(self) -> bool:
        """Whether describe reports it nillable (booleans never are)."""
        return not (self.required or self.system or self.type in {"boolean", "id"})


@dataclass
class SObject:
    """An sObject type: its key prefix and fields, looked up case-insensitively like SOQL does.

    Attributes:
        writable: createable / updateable / deletable in describe.
        plural: the label's plural (``labelPlural``).
    """

    name: str
    prefix: str
    label: str
    fields: list[Field]
    writable: bool = True
    plural: str = ""
    by_lower: dict[str, Field] = field(init=False)
    by_relationship: dict[str, Field] = field(init=False)

    def __post_init__(self) -> None:
        self.by_lower = {f.name.lower(): f for f in self.fields}
        self.by_relationship = {
            f.relationship_name.lower(): f for f in self.fields if f.relationship_name
        }
        self.plural = self.plural or self.label + "s"

    @property
    def custom(self) -> bool:
        """Custom objects end in ``__c``."""
        return self.name.endswith("__c")

    def field(self, name: str) -> Field | None:
        """The field called ``name`` in any case, or None."""
        return self.by_lower.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        """The lookup field whose relationship name is ``name`` (any case), or None."""
        return self.by_relationship.get(name.lower())


def fld(
    name: str,
    kind: str,
    *values: str,
    to: str | None = None,
    ext: bool = False,
    required: bool = False,
    calc: bool = False,
    also: tuple[str, ...] = (),
    read_only: bool = False,
) -> Field:
    """A field (``values`` are a picklist's)."""
    return Field(
        name,
        kind,
        tuple(values),
        reference_to=to,
        external_id=ext,
        required=required,
        calculated=calc,
        also_to=also,
        read_only=read_only,
    )


def sobj(
    name: str,
    prefix: str,
    label: str,
    *fields: Field,
    named: str = "string",
    deletable: bool = True,
    owned: bool = False,
    writable: bool = True,
    plural: str = "",
) -> SObject:
    """An sObject with the system fields its kind has.

    Args:
        named: ``"string"`` a required, writable Name; ``"calculated"`` a read-only Name (a
            Contact's, an OpportunityLineItem's); ``""`` no Name at all (Task, CurrencyType).
        deletable: has ``IsDeleted`` (records go to the Recycle Bin).
        owned: has a required ``OwnerId`` (a User).
        writable: createable, updateable and deletable through the API.
    """
    system = [Field("Id", "id", system=True)]
    if deletable:
        system.append(Field("IsDeleted", "boolean", system=True))
    if named == "string":
        system.append(Field("Name", "string", required=True))
    elif named:
        system.append(Field("Name", "string", calculated=True))
    if owned:
        system.append(Field("OwnerId", "reference", reference_to="User", required=True))
    system += [
        Field("CreatedDate", "datetime", system=True),
        Field("CreatedById", "reference", reference_to="User", system=True),
        Field("LastModifiedDate", "datetime", system=True),
        Field("LastModifiedById", "reference", reference_to="User", system=True),
        Field("SystemModstamp", "datetime", system=True),
    ]
    return SObject(name, prefix, label, system + list(fields), writable=writable, plural=plural)
