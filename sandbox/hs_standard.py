"""The standard HubSpot object types every portal has beside companies, deals and contacts.

Tickets, products, line items, quotes, leads and the engagements (calls, emails, meetings,
notes, tasks, communications, postal mail) with their objectTypeIds and the properties
integrations commonly read, typed as HubSpot types them; the tables start empty. Property
lists follow HubSpot's object guides (developers.hubspot.com/docs/api/crm/<object>) and the
default property sets its list/search answers carry; a real portal has many more properties,
which clients ignore unless they ask for them. Association type ids are HubSpot-defined ones
from the v4 associations guide ("Association type ID values"); ids we could not confirm are
marked in :data:`ASSOCIATIONS`.
"""

from __future__ import annotations

from sandbox.hs_types import ENUM, ObjectType, Prop, object_kind

CURRENCIES = ("USD", "EUR", "GBP", "JPY")
_OWNER = Prop("hubspot_owner_id", ENUM)  # options come from the owners API (externalOptions)
_WHEN = Prop("hs_timestamp", "datetime")
_FREQUENCY = (
    "weekly", "biweekly", "monthly", "quarterly", "per_six_months", "annually",
    "per_two_years", "per_three_years", "per_four_years", "per_five_years",
)  # fmt: skip
TICKET_STAGES = (
    ("1", "New", "OPEN"),
    ("2", "Waiting on contact", "OPEN"),
    ("3", "Waiting on us", "OPEN"),
    ("4", "Closed", "CLOSED"),
)


def _engagement(
    name: str, type_id: str, singular: str, base: int, *specs: str | Prop
) -> ObjectType:
    return object_kind(
        name, type_id, singular, base, (), _WHEN, _OWNER, *specs, created="hs_createdate"
    )


STANDARD: list[ObjectType] = [
    object_kind(
        "tickets", "0-5", "ticket", 70_000_000_000,
        ("content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_category",
         "hs_ticket_priority", "subject"),
        "subject",
        "content",
        Prop("hs_pipeline", ENUM, ("0",)),
        Prop("hs_pipeline_stage", ENUM, tuple(s[0] for s in TICKET_STAGES)),
        Prop("hs_ticket_priority", ENUM, ("LOW", "MEDIUM", "HIGH", "URGENT")),
        Prop("hs_ticket_category", ENUM,
             ("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY")),
        Prop("source_type", ENUM, ("EMAIL", "CHAT", "PHONE", "FORM")),
        Prop("closed_date", "datetime"),
        Prop("time_to_close", "number", read_only=True),
        _OWNER,
    ),
    object_kind(
        "products", "0-7", "product", 71_000_000_000,
        ("name", "description", "price"),
        "name",
        "description",
        Prop("price", "number"),
        "hs_sku",
        Prop("hs_cost_of_goods_sold", "number"),
        Prop("hs_product_type", ENUM, ("inventory", "non_inventory", "service")),
        Prop("recurringbillingfrequency", ENUM, _FREQUENCY),
        "hs_recurring_billing_period",
        Prop("tax", "number"),
    ),
    object_kind(
        "line_items", "0-8", "line_item", 72_000_000_000,
        ("name", "price", "quantity", "amount"),
        "name",
        "description",
        Prop("hs_product_id", "number"),
        Prop("quantity", "number"),
        Prop("price", "number"),
        Prop("amount", "number", read_only=True),
        Prop("discount", "number"),
        Prop("hs_discount_percentage", "number"),
        "hs_sku",
        Prop("hs_line_item_currency_code", ENUM, CURRENCIES),
        Prop("recurringbillingfrequency", ENUM, _FREQUENCY),
        Prop("hs_recurring_billing_start_date", "date"),
    ),
    object_kind(
        "quotes", "0-14", "quote", 73_000_000_000,
        (),
        "hs_title",
        Prop("hs_expiration_date", "datetime"),
        Prop("hs_status", ENUM,
             ("DRAFT", "APPROVAL_NOT_NEEDED", "PENDING_APPROVAL", "APPROVED", "REJECTED")),
        Prop("hs_quote_amount", "number", read_only=True),
        Prop("hs_currency", ENUM, CURRENCIES),
        "hs_sender_firstname",
        "hs_sender_lastname",
        "hs_sender_email",
        "hs_language",
        "hs_locale",
        created="hs_createdate",
    ),
    _engagement(
        "calls", "0-48", "call", 74_000_000_000,
        "hs_call_title",
        "hs_call_body",
        Prop("hs_call_duration", "number"),
        Prop("hs_call_direction", ENUM, ("INBOUND", "OUTBOUND")),
        "hs_call_disposition",
        Prop("hs_call_status", ENUM,
             ("BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING", "FAILED",
              "IN_PROGRESS", "NO_ANSWER", "QUEUED", "RINGING")),
        "hs_call_from_number",
        "hs_call_to_number",
    ),
    _engagement(
        "emails", "0-49", "email", 75_000_000_000,
        Prop("hs_email_direction", ENUM, ("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL")),
        "hs_email_subject",
        "hs_email_text",
        "hs_email_html",
        Prop("hs_email_status", ENUM, ("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT")),
        "hs_email_headers",
    ),
    _engagement(
        "meetings", "0-47", "meeting", 76_000_000_000,
        "hs_meeting_title",
        "hs_meeting_body",
        "hs_internal_meeting_notes",
        "hs_meeting_external_url",
        "hs_meeting_location",
        Prop("hs_meeting_start_time", "datetime"),
        Prop("hs_meeting_end_time", "datetime"),
        Prop("hs_meeting_outcome", ENUM,
             ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED")),
    ),
    _engagement(
        "notes", "0-46", "note", 77_000_000_000,
        "hs_note_body",
        "hs_attachment_ids",
    ),
    _engagement(
        "tasks", "0-27", "task", 78_000_000_000,
        "hs_task_subject",
        "hs_task_body",
        Prop("hs_task_status", ENUM,
             ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")),
        Prop("hs_task_priority", ENUM, ("NONE", "LOW", "MEDIUM", "HIGH")),
        Prop("hs_task_type", ENUM, ("EMAIL", "CALL", "TODO")),
        Prop("hs_task_completion_date", "datetime", read_only=True),
    ),
    _engagement(
        "communications", "0-18", "communication", 79_000_000_000,
        Prop("hs_communication_channel_type", ENUM, ("WHATS_APP", "LINKEDIN_MESSAGE", "SMS")),
        Prop("hs_communication_logged_from", ENUM, ("CRM",)),
        "hs_communication_body",
    ),
    _engagement(
        "postal_mail", "0-116", "postal_mail", 80_000_000_000,
        "hs_postal_mail_body",
    ),
    object_kind(
        "leads", "0-136", "lead", 81_000_000_000,
        ("hs_lead_name",),
        "hs_lead_name",
        Prop("hs_pipeline", ENUM, ("lead-pipeline-id",)),
        Prop("hs_pipeline_stage", ENUM, ("new-stage-id", "attempting-stage-id",
                                         "connected-stage-id", "qualified-stage-id",
                                         "unqualified-stage-id")),
        Prop("hs_lead_type", ENUM, ("NEW_BUSINESS", "UPSELL", "RE_ATTEMPTING")),
        Prop("hs_lead_label", ENUM, ("COLD", "WARM", "HOT")),
        _OWNER,
        created="hs_createdate",
    ),
]  # fmt: skip

# (from, to) → (primary typeId or None, unlabeled typeId). HubSpot-defined ids (v4 associations
# guide); the "Primary" labels exist only for company associations.
ASSOCIATIONS: dict[tuple[str, str], tuple[int | None, int]] = {
    ("contacts", "tickets"): (None, 15),
    ("tickets", "contacts"): (None, 16),
    ("deals", "line_items"): (None, 19),
    ("line_items", "deals"): (None, 20),
    ("companies", "tickets"): (25, 340),
    ("tickets", "companies"): (26, 339),
    ("deals", "tickets"): (None, 27),
    ("tickets", "deals"): (None, 28),
    ("deals", "quotes"): (None, 63),
    ("quotes", "deals"): (None, 64),
    ("quotes", "line_items"): (None, 67),
    ("line_items", "quotes"): (None, 68),
    ("companies", "calls"): (None, 181),
    ("calls", "companies"): (None, 182),
    ("companies", "emails"): (None, 185),
    ("emails", "companies"): (None, 186),
    ("companies", "meetings"): (None, 187),
    ("meetings", "companies"): (None, 188),
    ("companies", "notes"): (None, 189),
    ("notes", "companies"): (None, 190),
    ("companies", "tasks"): (None, 191),
    ("tasks", "companies"): (None, 192),
    ("contacts", "calls"): (None, 193),
    ("calls", "contacts"): (None, 194),
    ("contacts", "emails"): (None, 197),
    ("emails", "contacts"): (None, 198),
    ("contacts", "meetings"): (None, 199),
    ("meetings", "contacts"): (None, 200),
    ("contacts", "notes"): (None, 201),
    ("notes", "contacts"): (None, 202),
    ("contacts", "tasks"): (None, 203),
    ("tasks", "contacts"): (None, 204),
    ("deals", "calls"): (None, 205),
    ("calls", "deals"): (None, 206),
    ("deals", "emails"): (None, 209),
    ("emails", "deals"): (None, 210),
    ("deals", "meetings"): (None, 211),
    ("meetings", "deals"): (None, 212),
    ("deals", "notes"): (None, 213),
    ("notes", "deals"): (None, 214),
    ("deals", "tasks"): (None, 215),
    ("tasks", "deals"): (None, 216),
    ("contacts", "deals"): (None, 4),
    ("deals", "contacts"): (None, 3),
}
