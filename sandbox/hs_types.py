"""What a HubSpot object type is made of: property definitions and the type itself.

Shared by the portal's own types (:mod:`hs_schema`) and the standard types every portal has
(:mod:`hs_standard`), so that neither imports the other's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PORTAL = 4242424
EPOCH_TEXT = "1970-01-01T00:00:00Z"
ENUM = "enumeration"


@dataclass
class Prop:
    """One property definition."""

    name: str
    type: str = "string"
    options: tuple[str, ...] = ()
    unique: bool = False
    read_only: bool = False
    group: str = ""
    created: str = EPOCH_TEXT
    label: str = ""

    @property
    def field_type(self) -> str:
        """The UI field type HubSpot pairs with ``type``."""
        return {
            "number": "number",
            "date": "date",
            "datetime": "date",
            "enumeration": "select",
            "bool": "booleancheckbox",
            "phone_number": "phonenumber",
        }.get(self.type, "text")

    def definition(self, group: str) -> dict[str, Any]:
        """The body ``GET /crm/v3/properties/{type}`` returns for this property."""
        return {
            "name": self.name,
            "label": self.label or self.name.replace("_", " ").capitalize(),
            "type": self.type,
            "fieldType": self.field_type,
            "description": "",
            "groupName": self.group or group,
            "options": [
                {"label": o, "value": o, "displayOrder": n, "hidden": False}
                for n, o in enumerate(self.options)
            ],
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": False,
            "archived": False,
            "hasUniqueValue": self.unique,
            "hidden": False,
            "modificationMetadata": {
                "archivable": not self.read_only,
                "readOnlyDefinition": self.read_only,
                "readOnlyValue": self.read_only,
            },
            "formField": False,
            "dataSensitivity": "non_sensitive",
            "createdAt": self.created,
            "updatedAt": self.created,
        }


@dataclass
class ObjectType:
    """One CRM object type of the portal."""

    name: str
    type_id: str
    singular: str
    modified: str
    created: str
    id_base: int
    defaults: tuple[str, ...]
    props: dict[str, Prop] = field(default_factory=dict)

    @property
    def custom(self) -> bool:
        """Custom object types have ids ``2-…``."""
        return self.type_id.startswith("2-")

    @property
    def fqn(self) -> str:
        """``p<portal>_<name>`` for custom objects, the plain name otherwise."""
        return f"p{PORTAL}_{self.name}" if self.custom else self.name

    @property
    def aliases(self) -> set[str]:
        """Every name the API resolves to this type.

        Standard types: plural, singular and ``0-N``. Custom types: the objectTypeId
        ``2-N``, the fully qualified ``p<portal>_<name>`` and the short ``p_<name>``; HubSpot
        stopped resolving a custom object's bare name in 2025 ("Removed support for
        referencing custom object types by base name", developer changelog), so the bare
        name and its singular answer 400 "Unable to infer object type from: ...".
        """
        if self.custom:
            return {self.type_id, self.fqn, f"p_{self.name}"}
        return {self.name, self.singular, self.type_id}

    @property
    def group(self) -> str:
        """The default property group."""
        return f"{self.singular}information"


def props(*specs: str | Prop) -> dict[str, Prop]:
    """Property definitions by name (a plain string is a text property)."""
    out = {}
    for spec in specs:
        prop = spec if isinstance(spec, Prop) else Prop(spec)
        out[prop.name] = prop
    return out


def object_kind(
    name: str,
    type_id: str,
    singular: str,
    base: int,
    defaults: tuple[str, ...],
    *specs: str | Prop,
    modified: str = "hs_lastmodifieddate",
    created: str = "createdate",
) -> ObjectType:
    """An object type with the system properties every type has (id, created, modified)."""
    system = [
        Prop("hs_object_id", "number", read_only=True),
        Prop(created, "datetime", read_only=True),
        Prop(modified, "datetime", read_only=True),
    ]
    everything = props(*system, *specs)
    shown = (*defaults, created, modified, "hs_object_id")
    return ObjectType(name, type_id, singular, modified, created, base, shown, everything)
