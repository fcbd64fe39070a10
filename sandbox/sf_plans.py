"""The joint plan's objects in the sandbox org, as ``crm/salesforce`` defines them, and Files.

The fields are those of the SFDX package (``crm/salesforce/force-app``): what partnerplan's
plan push writes (``crm/salesforce/partnerplan-fields.yaml``) and what its streams read. Formula
fields are read-only here (``Awaiting_Acceptance__c``, ``Responded_By__c``, ...) and derived by
the store. Master-detail children have no owner. Files are the standard ``ContentVersion``,
``ContentDocument`` and ``ContentDocumentLink``: creating a version without a document creates
the document; a version naming its document is that document's new latest version.

These objects come after every other (their order fixes each object's random stream: the
generated records of the objects before them keep their draws); they start empty.
"""

from __future__ import annotations

from sandbox.sf_types import CURRENCIES, SObject, fld, sobj

PLAN = "Partner_Business_Plan__c"
SECTION = "Partner_Plan_Section__c"
RESPONSE = "Partner_Plan_Response__c"
PLAN_STATUSES = ("draft", "shared", "changes_requested", "accepted", "active", "closed")
SECTION_KINDS = (
    "sales_objectives",
    "marketing",
    "training_certification",
    "joint_investment",
    "action_plan",
    "custom",
)
_ACC = "Account"
_KEY = fld("External_Id__c", "string", ext=True)
_CUR = fld("CurrencyIsoCode", "picklist", *CURRENCIES)


def _child(*fields: object) -> list[object]:
    """The parent lookups every part of a plan has: its plan (master-detail) and section."""
    return [
        _KEY,
        fld("Plan__c", "reference", to=PLAN, required=True),
        fld("Section__c", "reference", to=SECTION),
        *fields,
    ]


PLAN_OBJECTS: list[SObject] = [
    sobj(PLAN, "a0F", "Partner Business Plan",
         _KEY,
         fld("Partner_Account__c", "reference", to=_ACC, required=True),
         fld("Shared_With__c", "reference", to=_ACC),
         fld("Period__c", "string"),
         fld("Start_Date__c", "date"),
         fld("End_Date__c", "date"),
         fld("Status__c", "picklist", *PLAN_STATUSES),
         fld("Version__c", "double"),
         fld("Summary__c", "textarea"),
         fld("Score__c", "percent"),
         fld("Data_As_Of__c", "datetime"),
         fld("Accepted_By__c", "reference", to="User"),
         fld("Accepted_At__c", "datetime"),
         fld("Accepted_Version__c", "double"),
         fld("Origin__c", "picklist", "config", "crm"),
         fld("Awaiting_Acceptance__c", "boolean", calc=True),
         fld("Total_Investment__c", "currency", calc=True),
         _CUR,
         owned=True),
    sobj(SECTION, "a0G", "Partner Plan Section",
         _KEY,
         fld("Plan__c", "reference", to=PLAN, required=True),
         fld("Order__c", "double"),
         fld("Kind__c", "picklist", *SECTION_KINDS),
         fld("Summary__c", "textarea"),
         _CUR),
    sobj("Partner_Plan_Action__c", "a0H", "Partner Plan Action",
         *_child(
             fld("Owner_Side__c", "picklist", "vendor", "partner"),
             fld("Owner_Name__c", "string"),
             fld("Due_Date__c", "date"),
             fld("Status__c", "picklist", "open", "in_progress", "done", "cancelled"),
             _CUR,
         )),  # type: ignore[arg-type]
    sobj("Partner_Plan_Investment__c", "a0I", "Partner Plan Investment",
         *_child(
             fld("Amount__c", "currency"),
             fld("Vendor_Share__c", "percent"),
             fld("Partner_Share__c", "percent", calc=True),
             fld("Vendor_Amount__c", "currency", calc=True),
             fld("Partner_Amount__c", "currency", calc=True),
             fld("Status__c", "picklist", "planned", "requested", "approved", "rejected",
                 "claimed", "paid", "cancelled"),
             fld("Source__c", "picklist", "plan", "fund_allocation", "fund_request",
                 "fund_claim"),
             fld("Source_Record_Id__c", "string"),
             _CUR,
         )),  # type: ignore[arg-type]
    sobj("Partner_Plan_Target_Account__c", "a0J", "Partner Plan Target Account",
         *_child(
             fld("Account__c", "reference", to=_ACC),
             fld("Notes__c", "textarea"),
             _CUR,
         )),  # type: ignore[arg-type]
    sobj(RESPONSE, "a0K", "Partner Plan Response",
         fld("Plan__c", "reference", to=PLAN, required=True),
         fld("Response__c", "picklist", "accept", "request_changes", required=True),
         fld("Comment__c", "textarea"),
         fld("Plan_Version__c", "double"),
         fld("Responded_By__c", "string", calc=True),
         named="calculated"),
    # Salesforce Files (Object Reference: ContentVersion, ContentDocument, ContentDocumentLink).
    sobj("ContentDocument", "069", "Content Document",
         fld("Title", "string", read_only=True),
         fld("LatestPublishedVersionId", "reference", to="ContentVersion", read_only=True),
         fld("FileExtension", "string", read_only=True),
         fld("ContentSize", "int", read_only=True),
         named="", owned=True),
    sobj("ContentVersion", "068", "Content Version",
         fld("Title", "string", required=True),
         fld("PathOnClient", "string"),
         fld("VersionData", "base64"),
         fld("ContentUrl", "url"),
         fld("ContentDocumentId", "reference", to="ContentDocument"),
         fld("IsLatest", "boolean", read_only=True),
         fld("VersionNumber", "string", read_only=True),
         fld("ContentSize", "int", read_only=True),
         fld("Checksum", "string", read_only=True),
         fld("FirstPublishLocationId", "reference", to=PLAN),
         named="", owned=True, deletable=False),
    sobj("ContentDocumentLink", "06A", "Content Document Link",
         fld("ContentDocumentId", "reference", to="ContentDocument", required=True),
         fld("LinkedEntityId", "reference", to=PLAN, required=True,
             also=(_ACC, "User")),
         fld("ShareType", "picklist", "V", "C", "I"),
         fld("Visibility", "picklist", "AllUsers", "InternalUsers", "SharedUsers"),
         named="", deletable=False),
]  # fmt: skip
PROGRESS_FIELDS = [
    fld("Plan__c", "reference", to=PLAN),
    fld("Section__c", "reference", to=SECTION),
    fld("Unit__c", "picklist", "money", "count", "percent", "days", "ratio", "number"),
    fld("Weight__c", "double"),
    fld("Proposed_Target__c", "double"),
    _CUR,
]
"""The progress object's fields that place a target in its plan (the object itself is older)."""
