"""The HubSpot portal's object types, properties, pipelines and custom-object schemas (DATA.md).

Types resolve loosely, as HubSpot does: ``deals``, ``deal``, ``0-3`` and, for custom objects,
``2-1001`` / ``p4242424_deal_registrations`` / ``deal_registrations`` all name the same type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PORTAL = 4242424
EPOCH_TEXT = "1970-01-01T00:00:00Z"
STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
    ("closedwon", "Closed Won", "1.0"),
    ("closedlost", "Closed Lost", "0.0"),
)


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

    @property
    def field_type(self) -> str:
        """The UI field type HubSpot pairs with ``type``."""
        return {
            "number": "number",
            "date": "date",
            "datetime": "date",
            "enumeration": "select",
            "bool": "booleancheckbox",
        }.get(self.type, "text")

    def definition(self, group: str) -> dict[str, Any]:
        """The body ``GET /crm/v3/properties/{type}`` returns for this property."""
        return {
            "name": self.name,
            "label": self.name.replace("_", " ").capitalize(),
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
    def group(self) -> str:
        """The default property group."""
        return f"{self.singular}information"


def _props(*specs: str | Prop) -> dict[str, Prop]:
    out = {}
    for spec in specs:
        prop = spec if isinstance(spec, Prop) else Prop(spec)
        out[prop.name] = prop
    return out


def _system(modified: str, created: str) -> list[Prop]:
    return [
        Prop("hs_object_id", "number", read_only=True),
        Prop(created, "datetime", read_only=True),
        Prop(modified, "datetime", read_only=True),
    ]


def _type(
    name: str,
    type_id: str,
    singular: str,
    base: int,
    defaults: tuple[str, ...],
    *props: str | Prop,
    modified: str = "hs_lastmodifieddate",
    created: str = "createdate",
) -> ObjectType:
    system = _system(modified, created)
    everything = _props(*system, *props)
    shown = (*defaults, created, modified, "hs_object_id")
    return ObjectType(name, type_id, singular, modified, created, base, shown, everything)


_E = "enumeration"
TYPES: list[ObjectType] = [
    _type(
        "companies",
        "0-2",
        "company",
        10_000_000_000,
        ("name", "domain"),
        "name",
        "domain",
        Prop("is_partner", "bool"),
        "partner_key",
        Prop("partner_tier", _E, ("Platinum", "Gold", "Silver", "Registered")),
        Prop("region", _E, ("NA", "EMEA", "APAC", "LATAM")),
        Prop("plan_score", "number"),
        "plan_status",
        Prop("plan_computed_at", "datetime"),
    ),
    _type(
        "deals",
        "0-3",
        "deal",
        20_000_000_000,
        ("dealname", "amount", "closedate", "pipeline", "dealstage"),
        "dealname",
        Prop("amount", "number"),
        Prop("deal_currency_code", _E, ("USD", "EUR", "GBP", "JPY")),
        Prop("dealstage", _E, tuple(s[0] for s in STAGES)),
        Prop("pipeline", _E, ("default",)),
        Prop("closedate", "datetime"),
        Prop("hs_is_closed", "bool"),
        Prop("hs_is_closed_won", "bool"),
        Prop("product_line", _E, ("Platform", "Analytics", "Security", "Services")),
        Prop("dealtype", _E, ("newbusiness", "existingbusiness")),
    ),
    _type(
        "contacts",
        "0-1",
        "contact",
        30_000_000_000,
        ("firstname", "lastname", "email"),
        "firstname",
        "lastname",
        Prop("email", unique=True),
        Prop(
            "lifecyclestage",
            _E,
            ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"),
        ),
        Prop(
            "hs_lead_status",
            _E,
            ("NEW", "OPEN", "IN_PROGRESS", "CONNECTED", "UNQUALIFIED", "OPEN_DEAL"),
        ),
        Prop("partner_company_id", "number"),
        Prop("lead_accepted_date", "date"),
        modified="lastmodifieddate",
    ),
    _type(
        "deal_registrations",
        "2-1001",
        "deal_registration",
        40_000_000_000,
        (),
        "registration_name",
        Prop("status", _E, ("submitted", "approved", "rejected", "expired", "converted")),
        Prop("amount", "number"),
        Prop("currency", _E, ("USD", "EUR", "GBP", "JPY")),
        Prop("submitted_date", "date"),
        Prop("approved_date", "date"),
        Prop("expiration_date", "date"),
        Prop("partner_company_id", "number"),
        Prop("deal_id", "number"),
        Prop("product_line", _E, ("Platform", "Analytics", "Security", "Services")),
        created="hs_createdate",
    ),
    _type(
        "partner_trainings",
        "2-1002",
        "partner_training",
        50_000_000_000,
        (),
        Prop("record_type", _E, ("course", "certification")),
        "name",
        "contact_email",
        Prop("status", _E, ("enrolled", "completed", "certified", "expired")),
        Prop("completion_date", "date"),
        Prop("expiration_date", "date"),
        Prop("partner_company_id", "number"),
        created="hs_createdate",
    ),
    _type(
        "partner_plan_progress",
        "2-1003",
        "partner_plan_progress",
        60_000_000_000,
        (),
        Prop("progress_key", unique=True),
        "plan_key",
        "metric",
        "metric_label",
        "period",
        Prop("target", "number"),
        Prop("actual", "number"),
        Prop("attainment", "number"),
        Prop("expected_to_date", "number"),
        Prop("forecast", "number"),
        Prop("gap", "number"),
        "status",
        Prop("computed_at", "datetime"),
        Prop("data_as_of", "datetime"),
        "metric_version",
        created="hs_createdate",
    ),
]
_ALIASES: dict[str, ObjectType] = {}
for _t in TYPES:
    for _alias in {_t.name, _t.singular, _t.type_id, _t.fqn}:
        _ALIASES[_alias.lower()] = _t


def object_type(name: str) -> ObjectType | None:
    """The type ``name`` refers to (plural, singular, ``0-N``/``2-N`` or fully qualified)."""
    return _ALIASES.get(name.lower())


# (from, to) → (primary typeId or None, unlabeled typeId, category) — HubSpot-defined ids where
# they exist (deal→company 5/341, contact→company 1/279); ids for custom objects are ours.
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[int | None, int, str]] = {
    ("deals", "companies"): (5, 341, "HUBSPOT_DEFINED"),
    ("companies", "deals"): (6, 342, "HUBSPOT_DEFINED"),
    ("contacts", "companies"): (1, 279, "HUBSPOT_DEFINED"),
    ("companies", "contacts"): (2, 280, "HUBSPOT_DEFINED"),
    ("deal_registrations", "companies"): (None, 101, "USER_DEFINED"),
    ("companies", "deal_registrations"): (None, 102, "USER_DEFINED"),
    ("deal_registrations", "deals"): (None, 103, "USER_DEFINED"),
    ("deals", "deal_registrations"): (None, 104, "USER_DEFINED"),
    ("partner_trainings", "companies"): (None, 105, "USER_DEFINED"),
    ("companies", "partner_trainings"): (None, 106, "USER_DEFINED"),
    ("partner_plan_progress", "companies"): (None, 107, "USER_DEFINED"),
    ("companies", "partner_plan_progress"): (None, 108, "USER_DEFINED"),
}


def pipelines(kind: ObjectType) -> list[dict[str, Any]]:
    """``GET /crm/v3/pipelines/{type}``: the default sales pipeline for deals, none otherwise."""
    if kind.name != "deals":
        return []
    stages = [
        {
            "label": label,
            "displayOrder": n,
            "metadata": {"isClosed": str(stage.startswith("closed")).lower(), "probability": p},
            "id": stage,
            "createdAt": EPOCH_TEXT,
            "updatedAt": EPOCH_TEXT,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            "archived": False,
        }
        for n, (stage, label, p) in enumerate(STAGES)
    ]
    return [
        {
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "id": "default",
            "stages": stages,
            "createdAt": EPOCH_TEXT,
            "updatedAt": EPOCH_TEXT,
            "archived": False,
        }
    ]


def schema(kind: ObjectType) -> dict[str, Any]:
    """``GET /crm-object-schemas/v3/schemas/{type}`` for a custom object."""
    primary = next(
        (p for p in kind.props if p not in {"hs_object_id", kind.created, kind.modified}), ""
    )
    return {
        "id": kind.type_id.split("-")[1],
        "objectTypeId": kind.type_id,
        "fullyQualifiedName": kind.fqn,
        "name": kind.name,
        "labels": {
            "singular": kind.singular.replace("_", " ").capitalize(),
            "plural": kind.name.replace("_", " ").capitalize(),
        },
        "primaryDisplayProperty": primary,
        "requiredProperties": [primary],
        "searchableProperties": [primary],
        "secondaryDisplayProperties": [],
        "associations": [
            {
                "fromObjectTypeId": kind.type_id,
                "toObjectTypeId": "0-2",
                "name": f"{kind.singular}_to_company",
                "id": str(ASSOCIATION_TYPES[(kind.name, "companies")][1]),
            }
        ],
        "properties": [p.definition(kind.group) for p in kind.props.values()],
        "createdAt": "2024-01-05T09:00:00Z",
        "updatedAt": "2024-01-05T09:00:00Z",
        "archived": False,
    }
