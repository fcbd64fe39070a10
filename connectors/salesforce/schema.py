"""Salesforce objects known before the first describe: what ``partnerplan validate`` checks.

Standard objects carry the standard fields a PRM org has (``Account.IsPartner``,
``Opportunity.PartnerAccountId``, ``Lead.PartnerAccountId``); the custom objects are those the
starter mappings read (``Deal_Registration__c``, ``Partner_Training__c``, ...), as
``crm/salesforce`` and the sandbox define them. An org's own fields are declared per stream with
``extra_fields:``; an object not listed here is checked against the org's describe at run time.
"""

from __future__ import annotations

from connectors.dialect import ObjectSchema

_COMMON: tuple[str, ...] = (
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


def _object(
    *fields: str, lookups: dict[str, str] | None = None, **picklists: tuple[str, ...]
) -> ObjectSchema:
    return ObjectSchema(
        frozenset((*_COMMON, *fields, *(lookups or {}))), lookups or {}, dict(picklists)
    )


SCHEMAS: dict[str, ObjectSchema] = {
    "Account": _object(
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
    "Opportunity": _object(
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
    "Lead": _object(
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
    "Deal_Registration__c": _object(
        "Status__c",
        "Amount__c",
        "Submitted_Date__c",
        "Approved_Date__c",
        "Expiration_Date__c",
        "Product_Line__c",
        lookups={"Partner_Account__c": "Account", "Opportunity__c": "Opportunity"},
        Status__c=("Submitted", "Approved", "Rejected", "Expired", "Converted"),
    ),
    "Partner_Training__c": _object(
        "Contact_Email__c",
        "Course_Name__c",
        "Status__c",
        "Enrolled_Date__c",
        "Completion_Date__c",
        lookups={"Partner_Account__c": "Account"},
        Status__c=("Enrolled", "In Progress", "Completed"),
    ),
    "Partner_Certification__c": _object(
        "Contact_Email__c",
        "Certification_Name__c",
        "Status__c",
        "Earned_Date__c",
        "Expiration_Date__c",
        lookups={"Partner_Account__c": "Account"},
        Status__c=("Active", "Expired", "Revoked"),
    ),
    "Partner_Marketing_Activity__c": _object(
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
