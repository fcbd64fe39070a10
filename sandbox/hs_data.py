"""Generated HubSpot records (DATA.md): about 200 activities per partner, 40 % of ~500.

Every property value is a string (or None), as HubSpot sends them. A record carries its
associations under ``_assoc`` (to-type → ids, primary first) and its creation instant under
``_created``; archived records have ``_del`` set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox import ids
from sandbox.formats import day_ms, hs_datetime
from sandbox.hs_schema import STAGES, TYPES, ObjectType
from sandbox.table import Record, Table
from sandbox.world import CURRENCIES, DAY_MS, FIRST, LAST, Draw, World

PER_PARTNER = {
    "companies": 2,
    "deals": 80,
    "contacts": 60,
    "deal_registrations": 30,
    "partner_trainings": 30,
    "partner_plan_progress": 0,
}
"""Records per partner; the standard types not listed (tickets, engagements, ...) start empty."""
ACTIVITY_TYPES = ("deals", "contacts", "deal_registrations", "partner_trainings")
_CODES = {t.name: 200 + n for n, t in enumerate(TYPES)}
_PRODUCTS = ("Platform", "Analytics", "Security", "Services")


def _money(value: float, currency: str) -> str:
    return f"{value:.0f}" if currency == "JPY" else f"{value:.2f}"


class HubSpotData:
    """Builds the records of every HubSpot object type for one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.counts = {t.name: PER_PARTNER.get(t.name, 0) * world.scale for t in TYPES}
        self._makers: dict[
            str, Callable[[Draw, int], tuple[dict[str, Any], dict[str, list[str]]]]
        ] = {
            "companies": self._company,
            "deals": self._deal,
            "contacts": self._contact,
            "deal_registrations": self._registration,
            "partner_trainings": self._training,
        }

    def company_id(self, partner: int) -> str:
        """The HubSpot id of partner ``partner``'s company."""
        return ids.hs_id(TYPES[0].id_base, partner)

    def table(self, kind: ObjectType) -> Table:
        """The store table of ``kind``, generated records included."""
        count = self.counts[kind.name]
        maker = self._makers.get(kind.name)
        code, world = _CODES[kind.name], self.world

        def stamp(index: int) -> int:
            return world.modstamp(count, index, whole_seconds=False)

        def deleted(index: int) -> bool:
            return kind.name != "companies" and Draw(world.seed, code, index, 99).chance(3)

        def make(index: int) -> Record:
            draw = world.draw(code, index)
            modified = stamp(index)
            created = max(modified - draw.below(60) * DAY_MS - draw.below(DAY_MS), world.start_ms)
            record_id = ids.hs_id(kind.id_base, index)
            props, assoc = maker(draw, index) if maker else ({}, {})
            props.update(
                {
                    "hs_object_id": record_id,
                    kind.created: hs_datetime(created),
                    kind.modified: hs_datetime(modified),
                }
            )
            return {"_i": index, "_ms": modified, "_del": deleted(index), "_created": created,
                    "_archived": modified, "p": props, "_assoc": assoc}  # fmt: skip

        return Table(
            kind.name,
            count,
            make,
            stamp,
            deleted,
            lambda index: ids.hs_id(kind.id_base, index),
            lambda record_id: ids.hs_index(kind.id_base, record_id),
        )

    def _partner(self, draw: Draw) -> tuple[int, str]:
        partner = draw.below(self.world.scale)
        return partner, self.company_id(partner)

    def _company(self, draw: Draw, index: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
        scale = self.world.scale
        if index < scale:
            partner = self.world.partner(index)
            return {
                "name": partner["name"],
                "domain": partner["domain"],
                "is_partner": "true",
                "partner_key": partner["key"],
                "partner_tier": partner["tier"],
                "region": partner["region"],
                "plan_score": None,
                "plan_status": None,
                "plan_computed_at": None,
            }, {}
        return {
            "name": f"{self.world.company(draw)} {index - scale + 1}",
            "domain": f"customer{index - scale + 1}.example.com",
            "is_partner": "false",
            "partner_key": None,
            "partner_tier": None,
            "region": draw.pick(("NA", "EMEA", "APAC", "LATAM")),
            "plan_score": None,
            "plan_status": None,
            "plan_computed_at": None,
        }, {}

    def _currency(self, draw: Draw, partner: int) -> str:
        own = self.world.partner(partner)["currency"]
        return own if draw.chance(80) else draw.pick(CURRENCIES)

    def _deal(self, draw: Draw, index: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
        partner, company = self._partner(draw)
        stage = draw.weighted([s[0] for s in STAGES], (3, 3, 2, 2, 2, 5, 3))
        closed = stage.startswith("closed")
        day = self.world.day(draw, -730, 0) if closed else self.world.day(draw, -20, 182)
        close_ms = day_ms(self.world.anchor) + (
            self.world._offsets[day] * DAY_MS + draw.below(DAY_MS)
        )
        currency = self._currency(draw, partner)
        product = draw.pick(_PRODUCTS)
        return {
            "dealname": f"{self.world.company(draw)} - {product} (via partner)",
            "amount": _money(self.world.amount(draw, currency), currency)
            if draw.chance(97)
            else None,
            "deal_currency_code": currency,
            "dealstage": stage,
            "pipeline": "default",
            "closedate": hs_datetime(close_ms),
            "hs_is_closed": "true" if closed else "false",
            "hs_is_closed_won": "true" if stage == "closedwon" else "false",
            "product_line": product,
            "dealtype": draw.pick(("newbusiness", "existingbusiness")),
        }, {"companies": [company]}

    def _contact(self, draw: Draw, index: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
        _, company = self._partner(draw)
        status = draw.pick(("NEW", "OPEN", "IN_PROGRESS", "CONNECTED", "UNQUALIFIED", "OPEN_DEAL"))
        stage = draw.weighted(
            ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"),
            (5, 3, 2, 1, 1),
        )
        first, last = draw.pick(FIRST), draw.pick(LAST)
        accepted = status not in {"NEW", "UNQUALIFIED"}
        return {
            "firstname": first,
            "lastname": last,
            "email": f"{first.lower()}.{last.lower()}.{index}@lead.example.com",
            "lifecyclestage": stage,
            "hs_lead_status": status,
            "partner_company_id": company,
            "lead_accepted_date": self.world.day(draw, -730, 0) if accepted else None,
        }, {"companies": [company]}

    def _registration(self, draw: Draw, index: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
        partner, company = self._partner(draw)
        status = draw.weighted(
            ("submitted", "approved", "rejected", "expired", "converted"), (2, 3, 1, 1, 2)
        )
        submitted = self.world.day(draw, -700, 0)
        approved = (
            self.world.days_after(submitted, draw, 1, 10)
            if status in {"approved", "expired", "converted"}
            else None
        )
        currency = self._currency(draw, partner)
        deals = self.counts["deals"]
        deal = ids.hs_id(TYPES[1].id_base, draw.below(deals)) if status == "converted" else None
        assoc = {"companies": [company]}
        if deal:
            assoc["deals"] = [deal]
        return {
            "registration_name": f"DR-{index + 1:06d}",
            "status": status,
            "amount": _money(self.world.amount(draw, currency), currency),
            "currency": currency,
            "submitted_date": submitted,
            "approved_date": approved,
            "expiration_date": self.world.days_after(approved, draw, 90, 90) if approved else None,
            "partner_company_id": company,
            "deal_id": deal,
            "product_line": draw.pick(_PRODUCTS),
        }, assoc

    def _training(self, draw: Draw, index: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
        partner, company = self._partner(draw)
        kind = draw.weighted(("course", "certification"), (3, 2))
        if kind == "course":
            status = draw.weighted(("enrolled", "completed"), (1, 3))
            completed = self.world.day(draw, -700, -1) if status == "completed" else None
            expires = None
        else:
            completed = self.world.day(draw, -730, -1)
            expires = self.world.days_after(completed, draw, 365, 365)
            status = "expired" if expires <= self.world.anchor.isoformat() else "certified"
        partner_domain = f"partner{partner + 1}.example.com"
        name = draw.pick(("Platform Fundamentals", "Analytics Deep Dive", "Security Essentials"))
        return {
            "record_type": kind,
            "name": name,
            "contact_email": f"{draw.pick(FIRST).lower()}{draw.below(40)}@{partner_domain}",
            "status": status,
            "completion_date": completed,
            "expiration_date": expires,
            "partner_company_id": company,
        }, {"companies": [company]}


FIRST_NAMES, LAST_NAMES = FIRST, LAST
