"""What write-back needs in a HubSpot portal: a property group, properties, a custom object.

Setup is a plan, then its application: :func:`plan_setup` reads what the portal already has
(property groups, properties, custom object schemas) and lists only the missing pieces as
:class:`Step`; :func:`apply` creates them in order. Running it twice therefore changes nothing
the second time, and ``--dry-run`` is the plan printed without applying it.

The caller says what it wants in plain terms (:class:`WantedObject`); this module knows HubSpot's
property types and request bodies, not the write-back config (connectors know nothing of the
stages to their right).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import hubspot

from connectors.hubspot.settings import HubSpotSource
from connectors.setup import SetupStep, WantedObject, WantedProperty
from partnerplan.errors import ConfigurationError, FatalError

GROUP = "partner_plan"
GROUP_LABEL = "Partner plan"
PARTNER_OBJECT = "COMPANY"
"""What a custom object linked to the partner is associated with: the partner's company."""
_TYPES: dict[str, tuple[str, str]] = {
    "text": ("string", "text"),
    "number": ("number", "number"),
    "percent": ("number", "number"),
    "datetime": ("datetime", "date"),
    "date": ("date", "date"),
    "choice": ("enumeration", "select"),
    "flag": ("bool", "booleancheckbox"),
}
"""Our value kinds to HubSpot ``(type, fieldType)``."""
_FLAG_OPTIONS = [
    {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
    {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
]


def property_body(wanted: WantedProperty, group: str) -> dict[str, Any]:
    """The Properties API create body of one wanted property."""
    kind, field_type = _TYPES[wanted.kind]
    body: dict[str, Any] = {
        "name": wanted.name,
        "label": wanted.label or wanted.name.replace("_", " ").capitalize(),
        "groupName": group,
        "type": kind,
        "fieldType": field_type,
        "description": "Written by partnerplan; edits are overwritten on the next push.",
    }
    if wanted.unique:
        body["hasUniqueValue"] = True
    if wanted.kind == "choice":
        body["options"] = [
            {
                "label": o.replace("_", " ").capitalize(),
                "value": o,
                "displayOrder": n,
                "hidden": False,
            }
            for n, o in enumerate(wanted.options)
        ]
    elif wanted.kind == "flag":
        body["options"] = _FLAG_OPTIONS
    return body


@dataclass
class Step:
    """One change to the portal."""

    action: Literal["create_schema", "create_group", "create_property", "create_association"]
    object: str
    name: str
    body: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the dry-run listing."""
        if self.action == "create_association":
            return f"create association {self.object} → {self.name}"
        what = {
            "create_schema": "create custom object",
            "create_group": "create property group",
            "create_property": "create property",
        }[self.action]
        kind = f" ({self.body.get('type')})" if self.action == "create_property" else ""
        return f"{what} {self.name}{kind} on {self.object}"


class Admin(Protocol):
    """The portal calls setup needs (a test double stands in for HubSpot)."""

    def schemas(self) -> list[dict[str, Any]]:
        """Custom object schemas: ``name``, ``objectTypeId``, ``fullyQualifiedName`` and
        ``associations`` (each with ``toObjectTypeId``)."""
        ...

    def groups(self, object: str) -> set[str]:
        """Property group names of an object type."""
        ...

    def properties(self, object: str) -> set[str]:
        """Property names of an object type."""
        ...

    def create(self, step: Step) -> None:
        """Apply one step."""
        ...


def _schema_of(object: str, schemas: list[dict[str, Any]]) -> dict[str, Any] | None:
    for schema in schemas:
        names = {schema.get("name"), schema.get("objectTypeId"), schema.get("fullyQualifiedName")}
        if object in names:
            return schema
    return None


def _schema_body(wanted: WantedObject) -> dict[str, Any]:
    key = next((p.name for p in wanted.properties if p.unique), wanted.properties[0].name)
    label = wanted.label or wanted.object.replace("_", " ").capitalize()
    return {
        "name": wanted.object,
        "labels": {"singular": label, "plural": label},
        "primaryDisplayProperty": key,
        "requiredProperties": [key],
        "searchableProperties": [key],
        "associatedObjects": [PARTNER_OBJECT] if wanted.linked_to_partner else [],
        "properties": [property_body(p, GROUP) for p in wanted.properties],
    }


_STANDARD_IDS = {"companies": "0-2", "contacts": "0-1", "deals": "0-3", "notes": "0-46"}


def _type_id(name: str, schemas: list[dict[str, Any]]) -> str | None:
    if name in _STANDARD_IDS:
        return _STANDARD_IDS[name]
    schema = _schema_of(name, schemas)
    return str(schema.get("objectTypeId")) if schema is not None else None


def _associations(wanted: list[WantedObject], schemas: list[dict[str, Any]]) -> list[Step]:
    """Association definitions between custom objects that do not exist yet."""
    steps: list[Step] = []
    for item in wanted:
        schema = _schema_of(item.object, schemas)
        have = {str(a.get("toObjectTypeId")) for a in (schema or {}).get("associations") or []}
        for other in item.linked_to:
            target = _type_id(other, schemas)
            if schema is None or target is None or target not in have:
                body = {"from": item.object, "to": other}
                steps.append(Step("create_association", item.object, other, body))
    return steps


def plan_setup(admin: Admin, wanted: list[WantedObject]) -> list[Step]:
    """The steps that bring the portal to ``wanted``; empty when it is already there.

    Custom objects come first (a new one with all its properties), then the properties and
    groups missing from existing objects, then the associations between custom objects: those
    need both objects' type ids, which :func:`apply` reads once the objects exist.
    """
    steps: list[Step] = []
    schemas = admin.schemas() if any(w.custom for w in wanted) else []
    for item in wanted:
        object_type = item.object
        if item.custom:
            schema = _schema_of(item.object, schemas)
            if schema is None:
                steps.append(Step("create_schema", item.object, item.object, _schema_body(item)))
                continue  # the schema body carries every property
            object_type = str(schema.get("objectTypeId") or item.object)
        have = admin.properties(object_type)
        missing = [p for p in item.properties if p.name not in have]
        if missing and GROUP not in admin.groups(object_type):
            body = {"name": GROUP, "label": GROUP_LABEL, "displayOrder": -1}
            steps.append(Step("create_group", object_type, GROUP, body))
        steps.extend(
            Step("create_property", object_type, p.name, property_body(p, GROUP)) for p in missing
        )
    return steps + _associations(wanted, schemas)


def apply(admin: Admin, steps: list[Step], echo: Callable[[str], None] = lambda _: None) -> None:
    """Create each step's piece, in order (associations with the type ids of now)."""
    schemas: list[dict[str, Any]] | None = None
    for step in steps:
        if step.action == "create_association":
            schemas = schemas if schemas is not None else admin.schemas()
            source = _type_id(step.object, schemas)
            target = _type_id(step.name, schemas)
            if source is None or target is None:
                raise ConfigurationError(
                    f"cannot associate {step.object} with {step.name}: one of them is missing"
                )
            step.body = {
                "fromObjectTypeId": source,
                "toObjectTypeId": target,
                "name": f"{step.object}_to_{step.name}",
            }
        else:
            schemas = None  # a new object changes the type ids known
        admin.create(step)
        echo(f"done: {step.describe()}")


class ClientAdmin:
    """:class:`Admin` over hubspot-api-client (properties, groups and schemas APIs)."""

    def __init__(self, name: str, source: HubSpotSource) -> None:
        self.name = name
        client = hubspot.Client.create(
            access_token=source.token.get_secret_value(),
            host=source.base_url.rstrip("/"),
            ssl_ca_cert=source.ca_bundle,
        )
        self._timeout = (source.timeouts.connect, source.timeouts.read)
        self._properties = client.crm.properties.core_api
        self._groups = client.crm.properties.groups_api
        self._schemas = client.crm.schemas.core_api

    def __repr__(self) -> str:
        return f"ClientAdmin(name={self.name!r})"

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args, _request_timeout=self._timeout)
        except Exception as exc:
            status = getattr(exc, "status", None)
            if status is None:
                raise
            body = str(getattr(exc, "body", "") or "")[:500]
            if status in (401, 403):
                raise FatalError(
                    f"source {self.name!r}: HubSpot refused the setup call ({status}); the "
                    f"private app needs the crm.schemas.custom.write and properties scopes: {body}"
                ) from exc
            raise ConfigurationError(
                f"source {self.name!r}: HubSpot answered {status} to a setup call: {body}"
            ) from exc

    def schemas(self) -> list[dict[str, Any]]:
        """Custom object schemas as plain dicts."""
        answer = self._call(self._schemas.get_all)
        return [
            {
                "name": s.name,
                "objectTypeId": s.object_type_id,
                "fullyQualifiedName": s.fully_qualified_name,
                "associations": [
                    {"toObjectTypeId": a.to_object_type_id} for a in s.associations or []
                ],
            }
            for s in answer.results or []
        ]

    def groups(self, object: str) -> set[str]:
        """Property group names."""
        return {g.name for g in self._call(self._groups.get_all, object).results or []}

    def properties(self, object: str) -> set[str]:
        """Property names."""
        return {p.name for p in self._call(self._properties.get_all, object).results or []}

    def create(self, step: Step) -> None:
        """Create a schema, a group or a property."""
        if step.action == "create_schema":
            self._call(self._schemas.create, step.body)
        elif step.action == "create_association":
            self._call(self._schemas.create_association, step.body["fromObjectTypeId"], step.body)
        elif step.action == "create_group":
            self._call(self._groups.create, step.object, step.body)
        else:
            self._call(self._properties.create, step.object, step.body)


class HubSpotSetup:
    """:class:`~connectors.setup.CrmSetup` for one HubSpot source."""

    def __init__(self, name: str, source: HubSpotSource, admin: Admin | None = None) -> None:
        self.admin = admin or ClientAdmin(name, source)

    def plan(self, wanted: list[WantedObject]) -> Sequence[SetupStep]:
        """The missing group, properties and custom objects."""
        return plan_setup(self.admin, wanted)

    def apply(self, steps: Sequence[SetupStep], echo: Callable[[str], None]) -> None:
        """Create them, in order."""
        apply(self.admin, [step for step in steps if isinstance(step, Step)], echo)
