"""The HubSpot portal's object types, properties, pipelines and custom-object schemas (DATA.md).

Standard types resolve loosely, as HubSpot does: ``deals``, ``deal`` and ``0-3`` name the same
type. Custom types answer to their objectTypeId ``2-1001``, their fully qualified name
``p4242424_deal_registrations`` and the short ``p_deal_registrations``, not to their bare name
(see :attr:`ObjectType.aliases`). The standard types every portal has beside these three are
in :mod:`hs_standard`.
"""

from __future__ import annotations

from typing import Any

from sandbox.hs_plans import ASSOCIATIONS as PLAN_ASSOCIATIONS
from sandbox.hs_plans import PLAN_TYPES, PROGRESS_PROPS
from sandbox.hs_standard import ASSOCIATIONS, STANDARD, TICKET_STAGES
from sandbox.hs_types import EPOCH_TEXT, PORTAL, ObjectType, Prop, object_kind

__all__ = ["ASSOCIATION_TYPES", "PORTAL", "STAGES", "TYPES", "ObjectType", "Prop", "object_type"]
STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
    ("closedwon", "Closed Won", "1.0"),
    ("closedlost", "Closed Lost", "0.0"),
)


_E = "enumeration"
TYPES: list[ObjectType] = [
    object_kind(
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
    object_kind(
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
    object_kind(
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
    object_kind(
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
    object_kind(
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
    object_kind(
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
        *PROGRESS_PROPS,
        created="hs_createdate",
    ),
]
TYPES.extend(STANDARD)  # appended: the generated records of the types above keep their draws
TYPES.extend(PLAN_TYPES)
_ALIASES: dict[str, ObjectType] = {a.lower(): t for t in TYPES for a in t.aliases}
_NAMES: dict[str, ObjectType] = {a.lower(): t for t in TYPES for a in {t.name, t.singular}}


def object_type(name: str, *, api: bool = True) -> ObjectType | None:
    """The type ``name`` refers to, or None.

    Args:
        name: a name as a request spells it (any case).
        api: resolve as the API does (:attr:`ObjectType.aliases`); False also accepts a
            custom object's bare name, as the sandbox's own helpers and ``--data`` files do.
    """
    found = _ALIASES.get(name.lower())
    return found if found is not None or api else _NAMES.get(name.lower())


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
    **{pair: (*ids, "HUBSPOT_DEFINED") for pair, ids in ASSOCIATIONS.items()},
    **PLAN_ASSOCIATIONS,
}


def _stage(stage_id: str, label: str, order: int, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "label": label,
        "displayOrder": order,
        "metadata": metadata,
        "id": stage_id,
        "createdAt": EPOCH_TEXT,
        "updatedAt": EPOCH_TEXT,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        "archived": False,
    }


def pipelines(kind: ObjectType) -> list[dict[str, Any]]:
    """``GET /crm/v3/pipelines/{type}``: the default pipeline of deals and of tickets.

    Deals: "Sales Pipeline" ``default`` with the stages in DATA.md (pipelines-deals.json).
    Tickets: "Support Pipeline" ``0`` with stages ``1``-``4``, the ids a new portal's ticket
    pipeline has. Other types have no pipelines here: an empty list (assumed; the real answer
    for a type without pipelines is not documented).
    """
    if kind.name == "deals":
        name, pipeline_id = "Sales Pipeline", "default"
        stages = [
            _stage(s, label, n, {"isClosed": str(s.startswith("closed")).lower(), "probability": p})
            for n, (s, label, p) in enumerate(STAGES)
        ]
    elif kind.name == "tickets":
        name, pipeline_id = "Support Pipeline", "0"
        stages = [
            _stage(s, label, n, {"ticketState": state, "isClosed": str(state == "CLOSED").lower()})
            for n, (s, label, state) in enumerate(TICKET_STAGES)
        ]
    else:
        return []
    return [
        {
            "label": name,
            "displayOrder": 0,
            "id": pipeline_id,
            "stages": stages,
            "createdAt": EPOCH_TEXT,
            "updatedAt": EPOCH_TEXT,
            "archived": False,
        }
    ]


def _by_name(name: str) -> ObjectType | None:
    return _NAMES.get(name.lower())


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
                "toObjectTypeId": to.type_id,
                "name": f"{kind.singular}_to_{to.singular}",
                "id": str(ids[1]),
            }
            for (source, target), ids in ASSOCIATION_TYPES.items()
            if source == kind.name and (to := _by_name(target)) is not None
        ],
        "properties": [p.definition(kind.group) for p in kind.props.values()],
        "createdAt": "2024-01-05T09:00:00Z",
        "updatedAt": "2024-01-05T09:00:00Z",
        "archived": False,
    }
