"""What partnerplan knows of the CRMs' schemas and of activity kinds, for checking mappings.

The object and field names are those of ``connectors/sandbox/DATA.md`` (a Salesforce PRM org and
a HubSpot portal with a partner program) plus the standard fields every record has. They let
``partnerplan validate`` catch a typo in a field path before a sync quarantines every record.
An org's own fields outside this schema are declared per stream with ``extra_fields:``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS: dict[str, tuple[str, ...]] = {
    "partner": (),
    "opportunity": ("open", "won", "lost"),
    "lead": ("new", "accepted", "rejected", "converted"),
    "deal_registration": ("submitted", "approved", "rejected", "expired", "converted"),
    "training": ("enrolled", "completed"),
    "certification": ("enrolled", "certified", "expired"),
    "marketing": ("planned", "completed", "cancelled"),
}
"""Built-in kinds and their normalized statuses (config/mappings/README.md documents them)."""

PARTNER_ATTRIBUTES = ("key", "name", "tier", "region")


@dataclass(frozen=True)
class ObjectSchema:
    """The fields of one CRM object: lookups name their target object, picklists their values."""

    fields: frozenset[str]
    lookups: dict[str, str] = field(default_factory=dict)
    picklists: dict[str, tuple[str, ...]] = field(default_factory=dict)


_SF_COMMON: tuple[str, ...] = (
    "Id",
    "Name",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
    "IsDeleted",
    "OwnerId",
    "CreatedById",
    "LastModifiedById",
    "CurrencyIsoCode",
)


def _sf(
    *fields: str, lookups: dict[str, str] | None = None, **picklists: tuple[str, ...]
) -> ObjectSchema:
    return ObjectSchema(
        frozenset((*_SF_COMMON, *fields, *(lookups or {}))), lookups or {}, dict(picklists)
    )


SALESFORCE: dict[str, ObjectSchema] = {
    "Account": _sf(
        "Type",
        "IsPartner",
        "Partner_Key__c",
        "Partner_Tier__c",
        "Region__c",
        "Plan_Score__c",
        "Plan_Status__c",
        "Plan_Computed_At__c",
        lookups={"ParentId": "Account"},
        Partner_Tier__c=("Platinum", "Gold", "Silver", "Registered"),
        Region__c=("NA", "EMEA", "APAC", "LATAM"),
    ),
    "Opportunity": _sf(
        "StageName",
        "IsClosed",
        "IsWon",
        "Amount",
        "CloseDate",
        "Type",
        "LeadSource",
        "Product_Line__c",
        lookups={
            "AccountId": "Account",
            "PartnerAccountId": "Account",
            "Deal_Registration__c": "Deal_Registration__c",
        },
        StageName=(
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
            "Closed Lost",
        ),
        Type=("New Customer", "Existing Customer - Upgrade", "Existing Customer - Renewal"),
    ),
    "Lead": _sf(
        "FirstName",
        "LastName",
        "Company",
        "Email",
        "Status",
        "LeadSource",
        "IsConverted",
        "ConvertedDate",
        "Accepted_Date__c",
        lookups={"PartnerAccountId": "Account", "ConvertedOpportunityId": "Opportunity"},
        Status=(
            "Open - Not Contacted",
            "Working - Contacted",
            "Closed - Converted",
            "Closed - Not Converted",
        ),
    ),
    "Deal_Registration__c": _sf(
        "Status__c",
        "Amount__c",
        "Submitted_Date__c",
        "Approved_Date__c",
        "Expiration_Date__c",
        "Product_Line__c",
        lookups={"Partner_Account__c": "Account", "Opportunity__c": "Opportunity"},
        Status__c=("Submitted", "Approved", "Rejected", "Expired", "Converted"),
    ),
    "Partner_Training__c": _sf(
        "Contact_Email__c",
        "Course_Name__c",
        "Status__c",
        "Enrolled_Date__c",
        "Completion_Date__c",
        lookups={"Partner_Account__c": "Account"},
        Status__c=("Enrolled", "In Progress", "Completed"),
    ),
    "Partner_Certification__c": _sf(
        "Contact_Email__c",
        "Certification_Name__c",
        "Status__c",
        "Earned_Date__c",
        "Expiration_Date__c",
        lookups={"Partner_Account__c": "Account"},
        Status__c=("Active", "Expired", "Revoked"),
    ),
    "Partner_Marketing_Activity__c": _sf(
        "Activity_Type__c",
        "Status__c",
        "Activity_Date__c",
        "Spend__c",
        "Leads_Generated__c",
        lookups={"Partner_Account__c": "Account"},
        Activity_Type__c=("Webinar", "Event", "Email Campaign", "Content"),
        Status__c=("Planned", "Completed", "Cancelled"),
    ),
}

HUBSPOT_TOP_LEVEL = frozenset({"id", "createdAt", "updatedAt", "archived", "archivedAt"})
_HS_COMMON = ("hs_object_id", "createdate", "hs_createdate", "hs_lastmodifieddate")


def _hs(*properties: str, **picklists: tuple[str, ...]) -> ObjectSchema:
    return ObjectSchema(frozenset((*_HS_COMMON, *properties)), {}, dict(picklists))


_DEAL_REGISTRATIONS = _hs(
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
)
_PARTNER_TRAININGS = _hs(
    "record_type",
    "name",
    "contact_email",
    "status",
    "completion_date",
    "expiration_date",
    "partner_company_id",
    record_type=("course", "certification"),
    status=("enrolled", "completed", "certified", "expired"),
)
HUBSPOT: dict[str, ObjectSchema] = {
    "companies": _hs(
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
    "deals": _hs(
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
    "contacts": _hs(
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
        hs_lead_status=(
            "NEW",
            "OPEN",
            "IN_PROGRESS",
            "CONNECTED",
            "UNQUALIFIED",
            "OPEN_DEAL",
        ),
    ),
    "deal_registrations": _DEAL_REGISTRATIONS,
    "p4242424_deal_registrations": _DEAL_REGISTRATIONS,
    "2-1001": _DEAL_REGISTRATIONS,
    "partner_trainings": _PARTNER_TRAININGS,
    "p4242424_partner_trainings": _PARTNER_TRAININGS,
    "2-1002": _PARTNER_TRAININGS,
}

SCHEMAS: dict[str, dict[str, ObjectSchema]] = {"salesforce": SALESFORCE, "hubspot": HUBSPOT}

DEFAULTS: dict[str, dict[str, str]] = {
    "salesforce": {"record_id": "Id", "modified": "SystemModstamp", "deleted": "IsDeleted"},
    "hubspot": {"record_id": "id", "modified": "updatedAt", "deleted": "archived"},
}
"""Default field paths for a record's id, modification time and deletion flag per source type."""


def default_modified_field(source_type: str, object_name: str) -> str:
    """The field a connector's watermark follows for this object."""
    if source_type == "salesforce":
        return "SystemModstamp"
    return "lastmodifieddate" if object_name == "contacts" else "hs_lastmodifieddate"


def relationship_name(lookup_field: str) -> str:
    """The SOQL relationship name of a lookup field: ``PartnerAccountId`` → ``PartnerAccount``."""
    if lookup_field.endswith("__c"):
        return lookup_field[:-3] + "__r"
    return lookup_field[:-2] if lookup_field.endswith("Id") else lookup_field
