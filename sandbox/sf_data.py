"""Generated Salesforce records (DATA.md): about 300 activities per partner, 60 % of ~500.

Each ``_make_*`` builds record ``index`` of one object from the world's random stream; the
store calls it on demand. Datetime fields hold epoch ms (rendered at the edge); dates hold
``YYYY-MM-DD``; money is a JSON number, as the REST API sends it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sandbox import ids
from sandbox.sf_reference import ID_OFFSET, INTEGRATION_USER, REFERENCE, manager
from sandbox.sf_schema import OBJECTS
from sandbox.table import Record, Table
from sandbox.world import (
    CURRENCIES,
    DAY_MS,
    FIRST,
    LAST,
    USD_RATE,
    Draw,
    World,
)

PER_PARTNER = {
    "Account": 4,
    "Opportunity": 120,
    "Lead": 80,
    "Deal_Registration__c": 40,
    "Partner_Training__c": 25,
    "Partner_Certification__c": 15,
    "Partner_Marketing_Activity__c": 20,
    "Partner_Plan_Progress__c": 0,
}
ACTIVITY_OBJECTS = tuple(k for k in PER_PARTNER if k not in {"Account", "Partner_Plan_Progress__c"})
_CODES = {name: 100 + n for n, name in enumerate(OBJECTS)}
_STAGE_WEIGHTS = (3, 3, 2, 2, 2, 5, 3)
_PRODUCTS = ("Platform", "Analytics", "Security", "Services")
_COURSES = ("Platform Fundamentals", "Analytics Deep Dive", "Security Essentials", "Selling 101")
_CERTS = ("Certified Platform Specialist", "Certified Analytics Consultant", "Security Architect")


class SalesforceData:
    """Builds the records of every Salesforce object for one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.counts = {name: PER_PARTNER.get(name, 0) * world.scale for name in OBJECTS}
        self.counts.update({name: count(world) for name, (count, _) in REFERENCE.items()})
        self.quarters = self._quarters()
        self.counts["DatedConversionRate"] = len(self.quarters) * len(CURRENCIES)
        self._makers: dict[str, Callable[[Draw, int], dict[str, Any]]] = {
            "Account": self._account,
            "Opportunity": self._opportunity,
            "Lead": self._lead,
            "Deal_Registration__c": self._registration,
            "Partner_Training__c": self._training,
            "Partner_Certification__c": self._certification,
            "Partner_Marketing_Activity__c": self._marketing,
            "DatedConversionRate": self._rate,
        }

    def _quarters(self) -> list[date]:
        anchor = self.world.anchor
        first = date(anchor.year - 2, 1 + 3 * ((anchor.month - 1) // 3), 1)
        days = [first]
        while days[-1] <= anchor + timedelta(days=183):
            month = days[-1].month + 3
            days.append(date(days[-1].year + (month - 1) // 12, (month - 1) % 12 + 1, 1))
        return days

    def table(self, name: str) -> Table:
        """The store table for object ``name``, generated records included."""
        o = OBJECTS[name]
        prefix = o.prefix
        count = self.counts[name]
        maker = self._makers.get(name)
        reference = REFERENCE.get(name)
        code = _CODES[name]
        world = self.world
        offset = ID_OFFSET.get(name, 0)
        # Every field present (null, booleans false), then what Salesforce fills itself.
        blank: Record = {f.name: False if f.type == "boolean" else None for f in o.fields}
        blank.update(CreatedById=INTEGRATION_USER, LastModifiedById=INTEGRATION_USER)
        owned = o.field("OwnerId") is not None
        partnered = o.field("Partner_Account__c") or o.field("PartnerAccountId")

        def stamp(index: int) -> int:
            return world.modstamp(count, index, whole_seconds=True)

        def deleted(index: int) -> bool:
            return name in ACTIVITY_OBJECTS and Draw(world.seed, code, index, 99).chance(3)

        def make(index: int) -> Record:
            draw = world.draw(code, index)
            modified = stamp(index)
            created = max(modified - draw.below(60) * DAY_MS - draw.below(DAY_MS), world.start_ms)
            record: Record = dict(blank)
            record.update(
                Id=ids.sf_id(prefix, index + offset),
                IsDeleted=deleted(index),
                CreatedDate=created,
                LastModifiedDate=modified,
                SystemModstamp=modified,
            )
            if maker is not None:
                record.update(maker(draw, index))
            elif reference is not None:
                record.update(reference[1](world, index))
            if owned:
                record["OwnerId"] = self._owner(name, record, index, partnered is not None)
            record.update(_i=index, _ms=modified, _del=record["IsDeleted"])
            return record

        return Table(
            name,
            count,
            make,
            stamp,
            deleted,
            lambda index: ids.sf_id(prefix, index + offset),
            lambda record_id: _shifted(ids.sf_index(prefix, record_id), offset),
        )

    def _owner(self, name: str, record: Record, index: int, partnered: bool) -> str:
        """The channel manager of the record's partner's region (the integration user else)."""
        if name == "Account":
            return manager(str(record.get("Region__c") or "NA"))
        partner = record.get("Partner_Account__c") or record.get("PartnerAccountId")
        if partnered and partner:
            found = ids.sf_index("001", str(partner))
            if found is not None and found < self.world.scale:
                return manager(self.world.partner(found)["region"])
        return INTEGRATION_USER

    def _partner_id(self, draw: Draw) -> tuple[str, int]:
        partner = draw.below(self.world.scale)
        return ids.sf_id("001", partner), partner

    def _account(self, draw: Draw, index: int) -> dict[str, Any]:
        scale = self.world.scale
        if index < scale:
            partner = self.world.partner(index)
            return {
                "Name": partner["name"],
                "Type": "Partner",
                "IsPartner": True,
                "Partner_Key__c": partner["key"],
                "Partner_Tier__c": partner["tier"],
                "Region__c": partner["region"],
                "CurrencyIsoCode": partner["currency"],
                "Plan_Score__c": None,
                "Plan_Status__c": None,
                "Plan_Computed_At__c": None,
            }
        return {
            "Name": f"{self.world.company(draw)} {index - scale + 1}",
            "Type": "Customer",
            "IsPartner": False,
            "Partner_Key__c": None,
            "Partner_Tier__c": None,
            "Region__c": draw.pick(("NA", "EMEA", "APAC", "LATAM")),
            "CurrencyIsoCode": draw.pick(CURRENCIES),
            "Plan_Score__c": None,
            "Plan_Status__c": None,
            "Plan_Computed_At__c": None,
        }

    def _currency(self, draw: Draw, partner: int) -> str:
        own = self.world.partner(partner)["currency"]
        return own if draw.chance(80) else draw.pick(CURRENCIES)

    def _opportunity(self, draw: Draw, index: int) -> dict[str, Any]:
        partner_id, partner = self._partner_id(draw)
        customer = self.world.scale + draw.below(self.counts["Account"] - self.world.scale)
        stage = draw.weighted(OBJECTS["Opportunity"].by_lower["stagename"].values, _STAGE_WEIGHTS)
        closed = stage.startswith("Closed")
        currency = self._currency(draw, partner)
        product = draw.pick(_PRODUCTS)
        registrations = self.counts["Deal_Registration__c"]
        registered = registrations and draw.chance(25)
        return {
            "Name": f"{self.world.company(draw)} - {product} {10 + draw.below(990)} seats",
            "AccountId": ids.sf_id("001", customer),
            "PartnerAccountId": partner_id if draw.chance(92) else None,
            "StageName": stage,
            "IsClosed": closed,
            "IsWon": stage == "Closed Won",
            "Amount": self.world.amount(draw, currency) if draw.chance(97) else None,
            "CurrencyIsoCode": currency,
            "CloseDate": self.world.day(draw, -730, 0)
            if closed
            else self.world.day(draw, -20, 182),
            "Type": draw.pick(OBJECTS["Opportunity"].by_lower["type"].values),
            "LeadSource": draw.pick(("Partner Referral", "Partner Event", "Web")),
            "Product_Line__c": product,
            "Deal_Registration__c": (
                ids.sf_id("a0A", draw.below(registrations)) if registered else None
            ),
        }

    def _lead(self, draw: Draw, index: int) -> dict[str, Any]:
        partner_id, _ = self._partner_id(draw)
        status = draw.weighted(OBJECTS["Lead"].by_lower["status"].values, (3, 3, 2, 2))
        converted = status == "Closed - Converted"
        accepted = self.world.day(draw, -730, 0) if status != "Open - Not Contacted" else None
        first, last = draw.pick(FIRST), draw.pick(LAST)
        return {
            "Name": f"{first} {last}",
            "FirstName": first,
            "LastName": last,
            "Company": self.world.company(draw),
            "Email": f"{first.lower()}.{index}@lead.example.com",
            "Status": status,
            "PartnerAccountId": partner_id if draw.chance(90) else None,
            "LeadSource": draw.weighted(("Partner Referral", "Partner Event", "Web"), (5, 3, 2)),
            "IsConverted": converted,
            "ConvertedDate": (
                self.world.days_after(accepted, draw, 0, 60) if converted and accepted else None
            ),
            "ConvertedOpportunityId": (
                ids.sf_id("006", draw.below(self.counts["Opportunity"])) if converted else None
            ),
            "Accepted_Date__c": accepted,
        }

    def _registration(self, draw: Draw, index: int) -> dict[str, Any]:
        partner_id, partner = self._partner_id(draw)
        status = draw.weighted(
            ("Submitted", "Approved", "Rejected", "Expired", "Converted"), (2, 3, 1, 1, 2)
        )
        submitted = self.world.day(draw, -700, 0)
        approved = (
            self.world.days_after(submitted, draw, 1, 10)
            if status in {"Approved", "Expired", "Converted"}
            else None
        )
        currency = self._currency(draw, partner)
        return {
            "Name": f"DR-{index + 1:06d}",
            "Partner_Account__c": partner_id,
            "Status__c": status,
            "Amount__c": self.world.amount(draw, currency),
            "CurrencyIsoCode": currency,
            "Submitted_Date__c": submitted,
            "Approved_Date__c": approved,
            "Expiration_Date__c": self.world.days_after(approved, draw, 90, 90)
            if approved
            else None,
            "Opportunity__c": (
                ids.sf_id("006", draw.below(self.counts["Opportunity"]))
                if status == "Converted"
                else None
            ),
            "Product_Line__c": draw.pick(_PRODUCTS),
        }

    def _email(self, draw: Draw, partner: int) -> str:
        return f"{draw.pick(FIRST).lower()}{draw.below(40)}@partner{partner + 1}.example.com"

    def _training(self, draw: Draw, index: int) -> dict[str, Any]:
        partner_id, partner = self._partner_id(draw)
        status = draw.weighted(("Enrolled", "In Progress", "Completed"), (1, 1, 3))
        enrolled = self.world.day(draw, -720, -50)
        return {
            "Name": f"TR-{index + 1:06d}",
            "Partner_Account__c": partner_id,
            "Contact_Email__c": self._email(draw, partner),
            "Course_Name__c": draw.pick(_COURSES),
            "Status__c": status,
            "Enrolled_Date__c": enrolled,
            "Completion_Date__c": (
                self.world.days_after(enrolled, draw, 1, 45) if status == "Completed" else None
            ),
        }

    def _certification(self, draw: Draw, index: int) -> dict[str, Any]:
        partner_id, partner = self._partner_id(draw)
        earned = self.world.day(draw, -730, 0)
        expires = self.world.days_after(earned, draw, 365, 365)
        status = "Revoked" if draw.chance(5) else "Active"
        if expires <= self.world.anchor.isoformat() and status == "Active":
            status = "Expired"
        return {
            "Name": f"CE-{index + 1:06d}",
            "Partner_Account__c": partner_id,
            "Contact_Email__c": self._email(draw, partner),
            "Certification_Name__c": draw.pick(_CERTS),
            "Status__c": status,
            "Earned_Date__c": earned,
            "Expiration_Date__c": expires,
        }

    def _marketing(self, draw: Draw, index: int) -> dict[str, Any]:
        partner_id, partner = self._partner_id(draw)
        day = self.world.day(draw, -720, 120)
        past = day <= self.world.anchor.isoformat()
        status = draw.weighted(("Completed", "Cancelled"), (9, 1)) if past else "Planned"
        currency = self._currency(draw, partner)
        return {
            "Name": f"MA-{index + 1:06d}",
            "Partner_Account__c": partner_id,
            "Activity_Type__c": draw.pick(("Webinar", "Event", "Email Campaign", "Content")),
            "Status__c": status,
            "Activity_Date__c": day,
            "Spend__c": round(self.world.amount(draw, currency) / 20, 2),
            "CurrencyIsoCode": currency,
            "Leads_Generated__c": float(draw.below(60)) if status == "Completed" else None,
        }

    def _rate(self, draw: Draw, index: int) -> dict[str, Any]:
        quarter, currency = divmod(index, len(CURRENCIES))
        iso = CURRENCIES[currency]
        base = USD_RATE[iso]
        wobble = 1 + (draw.below(81) - 40) / 1000 if iso != "USD" else 1
        start = self.quarters[quarter]
        following = self.quarters[quarter + 1] if quarter + 1 < len(self.quarters) else None
        return {
            "IsoCode": iso,
            "ConversionRate": round(base * wobble, 6),
            "StartDate": start.isoformat(),
            "NextStartDate": following.isoformat() if following else "9999-12-31",
        }


def _shifted(index: int | None, offset: int) -> int | None:
    """An id's index for an object whose ids start ``offset`` past index 0."""
    return None if index is None or index < offset else index - offset
