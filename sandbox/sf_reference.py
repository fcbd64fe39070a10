"""The few records of the org's reference objects: users, roles, currencies, stages, products,
the channel program and its members.

Each maker builds record ``index`` of one object from the world alone (no random draws), so
adding these objects changed none of the generated activities. Ids follow the objects' key
prefixes; the integration user (the one the OAuth flows log in as) is ``0058d0000000001AAA``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox import ids
from sandbox.world import CHANNEL_MANAGERS, CURRENCIES, REGIONS, TIERS, USD_RATE, World

INTEGRATION_USER = ids.sf_id("005", 1)
ORGANIZATION = ids.sf_id("00D", 1)
_STAGES = (
    # name, sort order, closed, won, probability, forecast category
    ("Prospecting", 1, False, False, 10.0, "Pipeline"),
    ("Qualification", 2, False, False, 20.0, "Pipeline"),
    ("Needs Analysis", 3, False, False, 20.0, "Pipeline"),
    ("Proposal/Price Quote", 4, False, False, 75.0, "Pipeline"),
    ("Negotiation/Review", 5, False, False, 90.0, "Pipeline"),
    ("Closed Won", 6, True, True, 100.0, "Closed"),
    ("Closed Lost", 7, True, False, 0.0, "Omitted"),
)
_PRODUCTS = ("Platform", "Analytics", "Security", "Services")
_LIST_PRICE = {
    "Platform": 24_000.0,
    "Analytics": 12_000.0,
    "Security": 18_000.0,
    "Services": 1_500.0,
}


def manager(region: str) -> str:
    """The user id of the channel manager who owns a region's partners and their records."""
    return ids.sf_id("005", 2 + REGIONS.index(region))


def _user(world: World, index: int) -> dict[str, Any]:
    if index == 0:
        first, last, role, profile = "Automated", "Process", None, 0
    elif index == 1:
        first, last, role, profile = "Integration", "User", None, 0
    else:
        first, last, _ = CHANNEL_MANAGERS[index - 2]
        role, profile = ids.sf_id("00E", index - 1), 1
    alias = (first[:1] + last[:4]).lower()
    return {
        "Name": f"{first} {last}",
        "FirstName": first,
        "LastName": last,
        "Username": f"{first.lower()}.{last.lower()}@vendor.example.com.sandbox",
        "Alias": alias,
        "Email": f"{first.lower()}.{last.lower()}@vendor.example.com",
        "IsActive": True,
        "UserRoleId": role,
        "ProfileId": ids.sf_id("00e", profile),
        "UserType": "Standard",
        "Title": "Channel Manager" if index > 1 else None,
        "TimeZoneSidKey": "America/Los_Angeles",
        "LocaleSidKey": "en_US",
        "LanguageLocaleKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "DefaultCurrencyIsoCode": "USD",
        "CurrencyIsoCode": "USD",
    }


def _profile(world: World, index: int) -> dict[str, Any]:
    name, kind = (
        ("System Administrator", "Standard"),
        ("Standard User", "Standard"),
        ("Partner Community User", "PowerPartner"),
    )[index]
    return {"Name": name, "UserType": kind}


def _role(world: World, index: int) -> dict[str, Any]:
    if index == 0:
        return {"Name": "VP Channel Sales", "DeveloperName": "VP_Channel_Sales",
                "PortalType": "None"}  # fmt: skip
    region = REGIONS[index - 1]
    return {
        "Name": f"Channel Manager {region}",
        "DeveloperName": f"Channel_Manager_{region}",
        "ParentRoleId": ids.sf_id("00E", 0),
        "PortalType": "None",
        "OpportunityAccessForAccountOwner": "Edit",
    }


def _organization(world: World, index: int) -> dict[str, Any]:
    return {
        "Name": "Partnerplan Sandbox Org",
        "OrganizationType": "Enterprise Edition",
        "InstanceName": "NA224",
        "IsSandbox": False,
        "DefaultLocaleSidKey": "en_US",
        "TimeZoneSidKey": "America/Los_Angeles",
        "FiscalYearStartMonth": 1,
        "UsesStartDateAsFiscalYearName": True,
    }


def _currency(world: World, index: int) -> dict[str, Any]:
    """The org's currencies; ConversionRate is the rate the generated amounts were drawn at."""
    iso = CURRENCIES[index]
    return {
        "IsoCode": iso,
        "ConversionRate": USD_RATE[iso],
        "DecimalPlaces": 0 if iso == "JPY" else 2,
        "IsActive": True,
        "IsCorporate": iso == "USD",
    }


def _stage(world: World, index: int) -> dict[str, Any]:
    name, order, closed, won, probability, category = _STAGES[index]
    return {
        "MasterLabel": name,
        "ApiName": name,
        "IsActive": True,
        "SortOrder": order,
        "IsClosed": closed,
        "IsWon": won,
        "DefaultProbability": probability,
        "ForecastCategory": "BestCase" if category == "Best Case" else category,
        "ForecastCategoryName": category,
    }


def _product(world: World, index: int) -> dict[str, Any]:
    line = _PRODUCTS[index]
    return {
        "Name": line,
        "ProductCode": f"PL-{line.upper()}",
        "Family": line,
        "IsActive": True,
        "QuantityUnitOfMeasure": "Each",
        "CurrencyIsoCode": "USD",
    }


def _pricebook(world: World, index: int) -> dict[str, Any]:
    return {"Name": "Standard Price Book", "IsActive": True, "IsStandard": True}


def _price(world: World, index: int) -> dict[str, Any]:
    product, currency = divmod(index, len(CURRENCIES))
    line, iso = _PRODUCTS[product], CURRENCIES[currency]
    price = _LIST_PRICE[line] * USD_RATE[iso]
    return {
        "Name": line,
        "Pricebook2Id": ids.sf_id("01s", 0),
        "Product2Id": ids.sf_id("01t", product),
        "UnitPrice": float(round(price)) if iso == "JPY" else round(price, 2),
        "IsActive": True,
        "UseStandardPrice": False,
        "ProductCode": f"PL-{line.upper()}",
        "CurrencyIsoCode": iso,
    }


def _program(world: World, index: int) -> dict[str, Any]:
    return {"Name": "Partner Program", "IsActive": True, "Category": "Resell"}


def _level(world: World, index: int) -> dict[str, Any]:
    return {"Name": TIERS[index], "ProgramId": ids.sf_id("0Nn", 0), "Rank": index + 1}


def _member(world: World, index: int) -> dict[str, Any]:
    """Partner ``index``'s membership, at the level of its tier (the Account's tier)."""
    partner = world.partner(index)
    return {
        "Name": partner["name"],
        "PartnerId": ids.sf_id("001", index),
        "ProgramId": ids.sf_id("0Nn", 0),
        "LevelId": ids.sf_id("0No", TIERS.index(partner["tier"])),
    }


Maker = Callable[[World, int], dict[str, Any]]
REFERENCE: dict[str, tuple[Callable[[World], int], Maker]] = {
    "User": (lambda w: 2 + len(CHANNEL_MANAGERS), _user),
    "Profile": (lambda w: 3, _profile),
    "UserRole": (lambda w: 1 + len(REGIONS), _role),
    "Organization": (lambda w: 1, _organization),
    "CurrencyType": (lambda w: len(CURRENCIES), _currency),
    "OpportunityStage": (lambda w: len(_STAGES), _stage),
    "Product2": (lambda w: len(_PRODUCTS), _product),
    "Pricebook2": (lambda w: 1, _pricebook),
    "PricebookEntry": (lambda w: len(_PRODUCTS) * len(CURRENCIES), _price),
    "ChannelProgram": (lambda w: 1, _program),
    "ChannelProgramLevel": (lambda w: len(TIERS), _level),
    "ChannelProgramMember": (lambda w: w.scale, _member),
}
"""Object → (how many records the world has, the maker of record ``index``)."""
ID_OFFSET = {"Organization": 1}
"""Objects whose ids start past index 0 (the org is ``00D8d0000000001EAA``, as tokens say)."""
