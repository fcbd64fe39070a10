"""A record's link in its CRM's app, built from the source's settings alone (no call, no token)."""

from __future__ import annotations

from connectors.hubspot.dialect import HubSpotDialect
from connectors.hubspot.settings import HubSpotSource
from connectors.salesforce.dialect import SalesforceDialect
from connectors.salesforce.settings import SalesforceSource


def _salesforce() -> SalesforceSource:
    return SalesforceSource.model_validate(
        {
            "type": "salesforce",
            "instance_url": "https://acme.my.salesforce.com/",
            "auth": {"flow": "client_credentials"},
        }
    )


def _hubspot(**extra: object) -> HubSpotSource:
    return HubSpotSource.model_validate({"type": "hubspot", "token": "", **extra})


def test_a_salesforce_record_opens_in_lightning_on_the_instance():
    """The instance URL plus /lightning/r/OBJECT/ID/view."""
    url = SalesforceDialect().record_url(_salesforce(), "Opportunity", "0068d0000000047AAA")
    assert "https://acme.my.salesforce.com/lightning/r/Opportunity/0068d0000000047AAA/view" == url


def test_a_hubspot_record_needs_the_portal_id_and_a_standard_object():
    """With portal_id: the app's record page by object type id; without it, or custom: None."""
    dialect = HubSpotDialect()
    eu = _hubspot(portal_id=2519445, app_url="https://app-eu1.hubspot.com")
    assert [
        "https://app-eu1.hubspot.com/contacts/2519445/record/0-3/20000000038",
        None,
        None,
    ] == [
        dialect.record_url(eu, "deals", "20000000038"),
        dialect.record_url(_hubspot(), "deals", "20000000038"),
        dialect.record_url(eu, "deal_registrations", "1"),
    ]


def test_each_dialect_names_the_api_url_a_preflight_checks():
    """Salesforce: the instance; HubSpot: the API host."""
    assert ["https://acme.my.salesforce.com/", "https://api.hubapi.com"] == [
        SalesforceDialect().api_url(_salesforce()),
        HubSpotDialect().api_url(_hubspot()),
    ]
