"""The Salesforce org's objects and fields (DATA.md), and the describe bodies built from them.

One table of field definitions drives describe, SOQL validation (``INVALID_FIELD``), the types
of literals in WHERE, write coercion and the JSON/CSV rendering of values. The objects the sync
reads come first (their order fixes each one's random stream: append, never insert); the other
standard objects every org has follow, from :mod:`sf_standard`, then the joint plan's objects and
Files (:mod:`sf_plans`).
"""

from __future__ import annotations

from typing import Any

from sandbox.sf_plans import PLAN_OBJECTS, PROGRESS_FIELDS
from sandbox.sf_standard import STANDARD
from sandbox.sf_types import CURRENCIES, Field, SObject, fld, sobj

__all__ = ["CURRENCIES", "NUMBER_TYPES", "OBJECTS", "Field", "SObject", "sobject"]
DATETIME_TYPES = {"datetime"}
NUMBER_TYPES = {"currency", "double", "percent", "int"}
_f = fld


_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
_PRODUCTS = ("Platform", "Analytics", "Security", "Services")
_ACC = "Account"

_LEAD_SOURCES = ("Partner Referral", "Partner Event", "Web")
_ADDRESS = ("Street", "City", "State", "PostalCode", "Country")


def _address(prefix: str) -> list[Field]:
    return [_f(prefix + part, "textarea" if part == "Street" else "string") for part in _ADDRESS]


_CORE: list[SObject] = [
    sobj(
        "Account",
        "001",
        "Account",
        _f("Type", "picklist", "Partner", "Customer"),
        _f("IsPartner", "boolean"),
        _f("Partner_Key__c", "string", ext=True),
        _f("Partner_Tier__c", "picklist", "Platinum", "Gold", "Silver", "Registered"),
        _f("Region__c", "picklist", "NA", "EMEA", "APAC", "LATAM"),
        _f("CurrencyIsoCode", "picklist", *CURRENCIES),
        _f("Plan_Score__c", "percent"),
        _f("Plan_Status__c", "string"),
        _f("Plan_Computed_At__c", "datetime"),
        _f("ParentId", "reference", to=_ACC),
        _f("Industry", "picklist", "Technology", "Finance", "Healthcare", "Manufacturing",
           "Retail", "Other"),
        _f("Website", "url"),
        _f("Phone", "phone"),
        _f("NumberOfEmployees", "int"),
        _f("AnnualRevenue", "currency"),
        *_address("Billing"),
        owned=True,
    ),
    sobj(
        "Opportunity",
        "006",
        "Opportunity",
        _f("AccountId", "reference", to=_ACC),
        _f("PartnerAccountId", "reference", to=_ACC),
        _f("StageName", "picklist", *_STAGES, required=True),
        Field("IsClosed", "boolean", calculated=True),
        Field("IsWon", "boolean", calculated=True),
        _f("Amount", "currency"),
        _f("CurrencyIsoCode", "picklist", *CURRENCIES),
        _f("CloseDate", "date", required=True),
        _f(
            "Type",
            "picklist",
            "New Customer",
            "Existing Customer - Upgrade",
            "Existing Customer - Renewal",
        ),
        _f("LeadSource", "picklist", *_LEAD_SOURCES),
        _f("Product_Line__c", "picklist", *_PRODUCTS),
        _f("Deal_Registration__c", "reference", to="Deal_Registration__c"),
        _f("Probability", "percent"),
        _f("ForecastCategoryName", "picklist", "Omitted", "Pipeline", "Best Case", "Commit",
           "Closed"),
        _f("CampaignId", "reference", to="Campaign"),
        _f("Pricebook2Id", "reference", to="Pricebook2"),
        _f("HasOpportunityLineItem", "boolean", read_only=True),
        _f("FiscalYear", "int", calc=True),
        _f("FiscalQuarter", "int", calc=True),
        owned=True,
    ),
    sobj(
        "Lead",
        "00Q",
        "Lead",
        _f("FirstName", "string"),
        _f("LastName", "string", required=True),
        _f("Company", "string", required=True),
        _f("Email", "email"),
        _f(
            "Status",
            "picklist",
            "Open - Not Contacted",
            "Working - Contacted",
            "Closed - Converted",
            "Closed - Not Converted",
            required=True,
        ),
        _f("PartnerAccountId", "reference", to=_ACC),
        _f("LeadSource", "picklist", *_LEAD_SOURCES),
        _f("IsConverted", "boolean"),
        _f("ConvertedDate", "date"),
        _f("ConvertedOpportunityId", "reference", to="Opportunity"),
        _f("Accepted_Date__c", "date"),
        _f("ConvertedAccountId", "reference", to=_ACC, read_only=True),
        _f("ConvertedContactId", "reference", to="Contact", read_only=True),
        _f("Title", "string"),
        _f("Phone", "phone"),
        _f("Industry", "picklist", "Technology", "Finance", "Healthcare", "Manufacturing",
           "Retail", "Other"),
        _f("Rating", "picklist", "Hot", "Warm", "Cold"),
        _f("IsUnreadByOwner", "boolean"),
        owned=True,
        named="calculated",
    ),
    sobj(
        "Deal_Registration__c",
        "a0A",
        "Deal Registration",
        _f("Partner_Account__c", "reference", to=_ACC),
        _f("Status__c", "picklist", "Submitted", "Approved", "Rejected", "Expired", "Converted"),
        _f("Amount__c", "currency"),
        _f("CurrencyIsoCode", "picklist", *CURRENCIES),
        _f("Submitted_Date__c", "date"),
        _f("Approved_Date__c", "date"),
        _f("Expiration_Date__c", "date"),
        _f("Opportunity__c", "reference", to="Opportunity"),
        _f("Product_Line__c", "picklist", *_PRODUCTS),
        owned=True,
    ),
    sobj(
        "Partner_Training__c",
        "a0B",
        "Partner Training",
        _f("Partner_Account__c", "reference", to=_ACC),
        _f("Contact_Email__c", "email"),
        _f("Course_Name__c", "string"),
        _f("Status__c", "picklist", "Enrolled", "In Progress", "Completed"),
        _f("Enrolled_Date__c", "date"),
        _f("Completion_Date__c", "date"),
        owned=True,
    ),
    sobj(
        "Partner_Certification__c",
        "a0C",
        "Partner Certification",
        _f("Partner_Account__c", "reference", to=_ACC),
        _f("Contact_Email__c", "email"),
        _f("Certification_Name__c", "string"),
        _f("Status__c", "picklist", "Active", "Expired", "Revoked"),
        _f("Earned_Date__c", "date"),
        _f("Expiration_Date__c", "date"),
        owned=True,
    ),
    sobj(
        "Partner_Marketing_Activity__c",
        "a0D",
        "Partner Marketing Activity",
        _f("Partner_Account__c", "reference", to=_ACC),
        _f("Activity_Type__c", "picklist", "Webinar", "Event", "Email Campaign", "Content"),
        _f("Status__c", "picklist", "Planned", "Completed", "Cancelled"),
        _f("Activity_Date__c", "date"),
        _f("Spend__c", "currency"),
        _f("CurrencyIsoCode", "picklist", *CURRENCIES),
        _f("Leads_Generated__c", "double"),
        owned=True,
    ),
    sobj(
        "Partner_Plan_Progress__c",
        "a0E",
        "Partner Plan Progress",
        _f("External_Id__c", "string", ext=True),
        _f("Partner_Account__c", "reference", to=_ACC),
        _f("Plan_Key__c", "string"),
        _f("Metric__c", "string"),
        _f("Metric_Label__c", "string"),
        _f("Period__c", "string"),
        _f("Target__c", "double"),
        _f("Actual__c", "double"),
        _f("Attainment__c", "percent"),
        _f("Expected_To_Date__c", "double"),
        _f("Forecast__c", "double"),
        _f("Gap__c", "double"),
        _f("Status__c", "picklist", "achieved", "on_track", "at_risk", "off_track", "no_data"),
        _f("Computed_At__c", "datetime"),
        _f("Data_As_Of__c", "datetime"),
        _f("Metric_Version__c", "string"),
        *PROGRESS_FIELDS,
        owned=True,
        plural="Partner Plan Progress",
    ),
    # Advanced Currency Management: rates to the corporate currency by date range. No Name
    # and no Recycle Bin; NextStartDate is set by Salesforce from the next range's StartDate.
    sobj(
        "DatedConversionRate",
        "04w",
        "Dated Conversion Rate",
        _f("IsoCode", "picklist", *CURRENCIES, required=True),
        _f("ConversionRate", "double", required=True),
        _f("StartDate", "date", required=True),
        _f("NextStartDate", "date", read_only=True),
        named="",
        deletable=False,
    ),
]  # fmt: skip
OBJECTS: dict[str, SObject] = {o.name: o for o in (*_CORE, *STANDARD, *PLAN_OBJECTS)}
_BY_LOWER = {name.lower(): o for name, o in OBJECTS.items()}


def sobject(name: str) -> SObject | None:
    """The sObject called ``name`` in any case, or None."""
    return _BY_LOWER.get(name.lower())


_SOAP = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
}


def describe_field(f: Field) -> dict[str, Any]:
    """One entry of describe's ``fields`` list, with every key a real describe has."""
    numeric = f.type in NUMBER_TYPES
    sized = not (numeric or f.type in {"boolean", "date", "datetime"})
    length = {"id": 18, "reference": 18, "textarea": 32000, "url": 255, "phone": 40}.get(
        f.type, 255 if sized else 0
    )
    return {
        "aggregatable": True,
        "autoNumber": False,
        "byteLength": length * 3 if sized else 0,
        "calculated": f.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": f.updateable,
        "custom": f.name.endswith("__c"),
        "defaultValue": False if f.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.system or f.type == "boolean",
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": None,
        "filterable": True,
        "filteredLookupInfo": None,
        "groupable": not numeric,
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.external_id or f.name == "Id",
        "inlineHelpText": None,
        "label": f.name.removesuffix("__c").replace("_", " "),
        "length": length,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name == "Name",
        "namePointing": False,
        "nillable": f.nillable,
        "permissionable": f.updateable and f.name.endswith("__c"),
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in f.values
        ],
        "precision": 0 if f.type == "int" else 18 if numeric else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": [f.reference_to, *f.also_to] if f.reference_to else [],
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.name == "CurrencyIsoCode",
        "scale": 2 if numeric and f.type != "int" else 0,
        "digits": 9 if f.type == "int" else 0,
        "soapType": _SOAP.get(f.type, "xsd:string"),
        "sortable": True,
        "type": f.type,
        "unique": f.external_id,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def _urls(version: str, name: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _summary(o: SObject, version: str) -> dict[str, Any]:
    writable = o.writable
    return {
        "activateable": False,
        "createable": writable,
        "custom": o.custom,
        "customSetting": False,
        "deletable": writable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isSubtype": False,
        "keyPrefix": o.prefix,
        "label": o.label,
        "labelPlural": o.plural,
        "layoutable": True,
        "mergeable": o.name in {"Account", "Contact", "Lead", "Case"},
        "mruEnabled": True,
        "name": o.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": writable,
        "updateable": writable,
        "urls": _urls(version, o.name),
    }


def describe_global(version: str) -> dict[str, Any]:
    """``GET /sobjects``."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_summary(o, version) for o in OBJECTS.values()],
    }


def describe_object(o: SObject, version: str) -> dict[str, Any]:
    """``GET /sobjects/{name}/describe``: object flags plus every field."""
    children = [
        {
            "cascadeDelete": False,
            "childSObject": child.name,
            "field": f.name,
            "relationshipName": None,
        }
        for child in OBJECTS.values()
        for f in child.fields
        if f.reference_to == o.name
    ]
    return {
        **_summary(o, version),
        "actionOverrides": [],
        "compactLayoutable": True,
        "childRelationships": children,
        "recordTypeInfos": [],
        "fields": [describe_field(f) for f in o.fields],
    }
