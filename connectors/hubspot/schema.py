"""HubSpot objects known before the first properties call: what ``partnerplan validate`` checks.

Standard objects carry the properties every portal has plus the partner-program ones the starter
mappings read (``companies.partner_key``, ``contacts.partner_company_id``); the custom objects
are those the starter mappings read (``deal_registrations``, ``partner_trainings``), looked up
by name whichever alias a mapping uses (see :func:`custom_name`). An object not listed here is
checked against the portal's properties at run time.
"""

from __future__ import annotations

import re

from connectors.dialect import ObjectSchema

TOP_LEVEL = frozenset({"id", "createdAt", "updatedAt", "archived", "archivedAt"})
"""Keys every record has beside ``properties`` and ``associations``."""
_COMMON = ("hs_object_id", "createdate", "hs_createdate", "hs_lastmodifieddate")
_FULLY_QUALIFIED = re.compile(r"^p\d*_(?P<name>.+)$")


STANDARD_TYPES: dict[str, str] = {
    alias: plural
    for plural, singular in (
        ("contacts", "contact"), ("companies", "company"), ("deals", "deal"),
        ("tickets", "ticket"), ("products", "product"), ("line_items", "line_item"),
        ("quotes", "quote"), ("calls", "call"), ("emails", "email"), ("meetings", "meeting"),
        ("notes", "note"), ("tasks", "task"), ("communications", "communication"),
        ("postal_mail", "postal_mail"), ("leads", "lead"),
        ("feedback_submissions", "feedback_submission"), ("invoices", "invoice"),
        ("orders", "order"), ("carts", "cart"), ("discounts", "discount"), ("fees", "fee"),
        ("taxes", "tax"), ("commerce_payments", "commerce_payment"),
        ("subscriptions", "subscription"), ("goal_targets", "goal_target"),
        ("appointments", "appointment"), ("courses", "course"), ("listings", "listing"),
        ("services", "service"), ("users", "user"), ("marketing_events", "marketing_event"),
    )
    for alias in (plural, singular)
}  # fmt: skip
"""HubSpot's standard object types by every bare name the API resolves (plural and singular)."""
_TYPE_ID = re.compile(r"^\d+-\d+$")


def standard_name(object: str) -> str:
    """The plural name of a standard object type (``contact`` → ``contacts``), else ``object``."""
    return STANDARD_TYPES.get(object.lower(), object)


def api_object_type(object: str) -> str:
    """The ``{objectType}`` to send for a mapping's object: what HubSpot itself resolves.

    Standard types go as written (``deals``, ``deal``, ``0-3``), and so do objectTypeIds
    (``2-1234``) and qualified names (``p_name``, ``p{portalId}_name``). Any other name is a
    custom object's bare name, which HubSpot stopped resolving in 2025 (developer changelog:
    "Removed support for referencing custom object types by base name"; 400 "Unable to infer
    object type from: name"): it is sent as the documented short form ``p_name``, which
    needs no schema lookup.
    """
    if _TYPE_ID.match(object) or _FULLY_QUALIFIED.match(object):
        return object
    if object.lower() in STANDARD_TYPES:
        return object
    return f"p_{object}"


def custom_name(object: str) -> str:
    """A custom object's name from any alias a request may use.

    HubSpot accepts a custom object by its name, its fully qualified name ``p{portalId}_name``
    and the short alias ``p_name``; all three share one schema here. The numeric
    ``2-NNNN`` objectTypeId is portal-specific and stays as it is (not known offline).
    """
    match = _FULLY_QUALIFIED.match(object)
    return match.group("name") if match else object


def _object(*properties: str, **picklists: tuple[str, ...]) -> ObjectSchema:
    return ObjectSchema(frozenset((*_COMMON, *properties)), {}, dict(picklists))


SCHEMAS: dict[str, ObjectSchema] = {
    "companies": _object(
        "name",
        "domain",
        "is_partner",
        "partner_key",
        "partner_tier",
        "region",
        "plan_score",
        "plan_status",
        "plan_computed_at",
    ),
    "deals": _object(
        "dealname",
        "amount",
        "deal_currency_code",
        "dealstage",
        "pipeline",
        "closedate",
        "hs_is_closed",
        "hs_is_closed_won",
        "product_line",
        "dealtype",
        dealstage=(
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "closedwon",
            "closedlost",
        ),
        dealtype=("newbusiness", "existingbusiness"),
    ),
    "contacts": _object(
        "firstname",
        "lastname",
        "email",
        "lifecyclestage",
        "hs_lead_status",
        "partner_company_id",
        "lead_accepted_date",
        "lastmodifieddate",
        lifecyclestage=(
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
        ),
        hs_lead_status=("NEW", "OPEN", "IN_PROGRESS", "CONNECTED", "UNQUALIFIED", "OPEN_DEAL"),
    ),
    "deal_registrations": _object(
        "registration_name",
        "status",
        "amount",
        "currency",
        "submitted_date",
        "approved_date",
        "expiration_date",
        "partner_company_id",
        "deal_id",
        "product_line",
        status=("submitted", "approved", "rejected", "expired", "converted"),
    ),
    "partner_trainings": _object(
        "record_type",
        "name",
        "contact_email",
        "status",
        "completion_date",
        "expiration_date",
        "partner_company_id",
        record_type=("course", "certification"),
        status=("enrolled", "completed", "certified", "expired"),
    ),
}
