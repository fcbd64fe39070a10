"""The joint plan's custom objects in the sandbox portal, as ``crm/hubspot/README.md`` models them.

``partner_plan`` (with the partner's response properties), its sections, actions, investment
lines and target accounts, the progress object's placement properties, and ``partner_funds``
(market development funds kept in a custom object, as HubSpot portals do). They start empty,
come after every other type (their order fixes random streams: the types before keep their
draws), and answer to their ``2-NNNN`` ids and ``p_``/``p4242424_`` names like any custom type.
"""

from __future__ import annotations

from sandbox.hs_types import ENUM, ObjectType, Prop, object_kind

CURRENCIES = ("USD", "EUR", "GBP", "JPY")
PLAN_STATUSES = ("draft", "shared", "changes_requested", "accepted", "active", "closed")
SECTION_KINDS = (
    "sales_objectives",
    "marketing",
    "training_certification",
    "joint_investment",
    "action_plan",
    "custom",
)
_CUR = Prop("currency", ENUM, CURRENCIES)
_ORIGIN = Prop("origin", ENUM, ("config", "crm"))
PLAN_TYPES: list[ObjectType] = [
    object_kind(
        "partner_plan", "2-1004", "partner_plan", 90_000_000_000, (),
        Prop("plan_key", unique=True),
        "plan_name",
        "partner_key",
        "period",
        Prop("start_date", "date"),
        Prop("end_date", "date"),
        Prop("status", ENUM, PLAN_STATUSES),
        Prop("version", "number"),
        "summary",
        Prop("hubspot_owner_id", ENUM),
        Prop("score", "number"),
        Prop("data_as_of", "datetime"),
        "accepted_by",
        Prop("accepted_at", "datetime"),
        Prop("accepted_version", "number"),
        _ORIGIN,
        Prop("shared_with_partner", "bool"),
        _CUR,
        Prop("partner_response", ENUM, ("accept", "request_changes")),
        "partner_response_comment",
        Prop("partner_response_version", "number"),
        "partner_responded_by",
        Prop("partner_responded_at", "datetime"),
        created="hs_createdate",
    ),
    object_kind(
        "partner_plan_section", "2-1005", "partner_plan_section", 91_000_000_000, (),
        Prop("section_key", unique=True),
        "section_title",
        Prop("order", "number"),
        Prop("kind", ENUM, SECTION_KINDS),
        "summary",
        created="hs_createdate",
    ),
    object_kind(
        "partner_plan_action", "2-1006", "partner_plan_action", 92_000_000_000, (),
        Prop("action_key", unique=True),
        "action_title",
        Prop("owner_side", ENUM, ("vendor", "partner")),
        "owner",
        Prop("due_date", "date"),
        Prop("status", ENUM, ("open", "in_progress", "done", "cancelled")),
        created="hs_createdate",
    ),
    object_kind(
        "partner_plan_investment", "2-1007", "partner_plan_investment", 93_000_000_000, (),
        Prop("line_key", unique=True),
        "investment_title",
        Prop("amount", "number"),
        _CUR,
        Prop("vendor_share", "number"),
        Prop("status", ENUM, ("planned", "requested", "approved", "rejected", "claimed", "paid",
                              "cancelled")),
        Prop("source", ENUM, ("plan", "fund_allocation", "fund_request", "fund_claim")),
        "source_record_id",
        created="hs_createdate",
    ),
    object_kind(
        "partner_plan_target_account", "2-1008", "partner_plan_target_account", 94_000_000_000,
        (),
        Prop("account_key", unique=True),
        "customer_name",
        "notes",
        created="hs_createdate",
    ),
    object_kind(
        "partner_funds", "2-1009", "partner_fund", 95_000_000_000, (),
        "fund_name",
        Prop("record_type", ENUM, ("allocation", "request", "claim")),
        Prop("status", ENUM, ("draft", "submitted", "approved", "rejected")),
        Prop("amount", "number"),
        _CUR,
        Prop("fund_date", "date"),
        Prop("partner_company_id", "number"),
        created="hs_createdate",
    ),
]  # fmt: skip
PROGRESS_PROPS = (
    Prop("unit", ENUM, ("money", "count", "percent", "days", "ratio", "number")),
    Prop("weight", "number"),
    _CUR,
    Prop("proposed_target", "number"),
    _ORIGIN,
)
"""What places a target in its plan, added to the older ``partner_plan_progress`` type."""
_PAIRS = [
    ("partner_plan", "companies"),
    ("partner_plan_section", "partner_plan"),
    ("partner_plan_progress", "partner_plan"),
    ("partner_plan_progress", "partner_plan_section"),
    ("partner_plan_action", "partner_plan"),
    ("partner_plan_action", "partner_plan_section"),
    ("partner_plan_investment", "partner_plan"),
    ("partner_plan_investment", "partner_plan_section"),
    ("partner_plan_target_account", "partner_plan"),
    ("partner_plan_target_account", "partner_plan_section"),
    ("partner_plan_target_account", "companies"),
    ("notes", "partner_plan"),
    ("partner_funds", "companies"),
]
ASSOCIATIONS: dict[tuple[str, str], tuple[None, int, str]] = {}
"""(from, to) → (no primary, unlabeled typeId, category): the sandbox's own ids, USER_DEFINED."""
for _n, (_a, _b) in enumerate(_PAIRS):
    ASSOCIATIONS[(_a, _b)] = (None, 401 + 2 * _n, "USER_DEFINED")
    ASSOCIATIONS[(_b, _a)] = (None, 402 + 2 * _n, "USER_DEFINED")
