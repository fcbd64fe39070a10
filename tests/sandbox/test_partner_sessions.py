"""A partner portal user's session answers as the package's sharing set would, and no more."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sandbox import Sandbox
from tests.sandbox.helpers import trusting


def _accounts(sb: Sandbox) -> list[str]:
    return [a["Id"] for a in sb.records("salesforce", "Account") if a.get("Partner_Key__c")]


def _plans(sb: Sandbox) -> dict[str, str]:
    """A shared plan per partner, a draft for the first; each with a section; ids by name."""
    first, second = _accounts(sb)
    rows = [
        ("Shared 1", first, first, "shared"),
        ("Draft 1", first, None, "draft"),
        ("Shared 2", second, second, "shared"),
    ]
    ids = sb.insert(
        "salesforce",
        "Partner_Business_Plan__c",
        [
            {
                "Name": name,
                "Partner_Account__c": partner,
                "Shared_With__c": shared,
                "Status__c": status,
                "Version__c": 1,
                "Origin__c": "config",
            }
            for name, partner, shared, status in rows
        ],
    )
    sb.insert(
        "salesforce",
        "Partner_Plan_Section__c",
        [
            {"Name": f"Section of {name}", "Plan__c": i}
            for (name, *_), i in zip(rows, ids, strict=True)
        ],
    )
    return {name: i for (name, *_), i in zip(rows, ids, strict=True)}


def _client(sb: Sandbox, token: str) -> Salesforce:
    return Salesforce(
        instance_url=sb.salesforce_url, session_id=token, session=trusting(sb.ca_bundle)
    )


@pytest.fixture
def partner(sandbox: Sandbox) -> tuple[Salesforce, dict[str, str]]:
    """Partner 1's portal session and the plans' ids."""
    plans = _plans(sandbox)
    return _client(sandbox, sandbox.partner_session("P-00001")), plans


def test_queries_return_only_plans_shared_with_the_users_account(partner):
    """Drafts and other partners' plans are left out of queries, their sections too."""
    client, _ = partner
    names = sorted(
        r["Name"] for r in client.query_all("SELECT Name FROM Partner_Business_Plan__c")["records"]
    )
    sections = client.query("SELECT COUNT() FROM Partner_Plan_Section__c")["totalSize"]
    assert (["Shared 1"], 1) == (names, sections)


def test_a_record_the_user_cannot_read_is_not_found(partner):
    """Another partner's plan by id: 404 NOT_FOUND, the body of a record that does not exist."""
    client, plans = partner
    with pytest.raises(SalesforceResourceNotFound) as hidden:
        client.Partner_Business_Plan__c.get(plans["Shared 2"])
    with pytest.raises(SalesforceResourceNotFound) as missing:
        client.Partner_Business_Plan__c.get("a0F8d00000000zzEAA")
    assert hidden.value.content == missing.value.content


def test_objects_outside_the_permission_set_are_not_supported(partner):
    """A query on Opportunity is INVALID_TYPE for a partner user."""
    client, _ = partner
    with pytest.raises(SalesforceMalformedRequest) as raised:
        client.query("SELECT Id FROM Opportunity")
    assert "INVALID_TYPE" == raised.value.content[0]["errorCode"]


def test_the_user_responds_to_their_plan_and_to_no_other(sandbox: Sandbox, partner):
    """A response to their plan is created by them; to another partner's plan it is refused."""
    client, plans = partner
    client.Partner_Plan_Response__c.create(
        {"Plan__c": plans["Shared 1"], "Response__c": "accept", "Plan_Version__c": 1}
    )
    with pytest.raises(SalesforceMalformedRequest) as raised:
        client.Partner_Plan_Response__c.create(
            {"Plan__c": plans["Shared 2"], "Response__c": "accept", "Plan_Version__c": 1}
        )
    [response] = sandbox.records("salesforce", "Partner_Plan_Response__c")
    user = sandbox.sf_store.find("User", response["CreatedById"])
    assert "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY" == raised.value.content[0]["errorCode"]
    assert (user["UserType"], user["AccountId"]) == ("PowerPartner", _accounts(sandbox)[0])


def test_the_user_edits_nothing(partner):
    """Their own shared plan is read-only: INSUFFICIENT_ACCESS_OR_READONLY."""
    client, plans = partner
    with pytest.raises(SalesforceMalformedRequest) as raised:
        client.Partner_Business_Plan__c.update(plans["Shared 1"], {"Name": "Mine now"})
    assert "INSUFFICIENT_ACCESS_OR_READONLY" == raised.value.content[0]["errorCode"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Response__c": "request_changes"}, "Say which changes you request in Comment."),
        ({"Response__c": "accept", "Plan_Version__c": 2}, "The plan has changed since you"),
    ],
)
def test_the_packages_validation_rules_refuse_a_bad_response(
    partner, values: dict[str, Any], message: str
):
    """A change request needs a comment; a response answers the plan's current version."""
    client, plans = partner
    with pytest.raises(SalesforceMalformedRequest) as raised:
        client.Partner_Plan_Response__c.create(
            {"Plan__c": plans["Shared 1"], "Plan_Version__c": 1, **values}
        )
    error = raised.value.content[0]
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" == error["errorCode"]
    assert error["message"].startswith(message)
