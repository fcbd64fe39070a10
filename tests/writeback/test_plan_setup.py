"""crm setup for the plan's HubSpot objects: created once from the manifest, then nothing to do."""

from __future__ import annotations

from typing import Any

from connectors.hubspot.setup import Step, apply, plan_setup
from writeback.manifest import load_manifest
from writeback.planwant import merged, wanted_plan_objects

MANIFEST = load_manifest("hubspot/partnerplan-properties.yaml")


class Portal:
    """A portal whose schemas, properties and associations grow as setup creates them."""

    def __init__(self) -> None:
        self.schema_list: list[dict[str, Any]] = []
        self.props: dict[str, set[str]] = {"companies": {"name"}}
        self.created: list[Step] = []

    def schemas(self) -> list[dict[str, Any]]:
        return self.schema_list

    def groups(self, object: str) -> set[str]:
        return {"partner_plan"} if object in self.props else set()

    def properties(self, object: str) -> set[str]:
        return self.props.get(object, set())

    def create(self, step: Step) -> None:
        self.created.append(step)
        if step.action == "create_schema":
            type_id = f"2-{2000 + len(self.schema_list)}"
            self.schema_list.append(
                {
                    "name": step.name,
                    "objectTypeId": type_id,
                    "fullyQualifiedName": step.name,
                    "associations": [],
                }
            )
            self.props[type_id] = {p["name"] for p in step.body["properties"]}
        elif step.action == "create_association":
            source = next(
                s for s in self.schema_list if s["objectTypeId"] == step.body["fromObjectTypeId"]
            )
            source["associations"].append({"toObjectTypeId": step.body["toObjectTypeId"]})


def test_an_empty_portal_gets_every_plan_object_and_association_then_nothing_more():
    """Six custom objects with their properties, then the associations; a second plan is empty."""
    portal = Portal()
    wanted = merged(wanted_plan_objects(MANIFEST))
    steps = plan_setup(portal, wanted)
    apply(portal, steps)
    kinds = [s.action for s in portal.created]
    links = sorted((s.object, s.name) for s in portal.created if s.action == "create_association")
    assert (6, 0) == (kinds.count("create_schema"), kinds.count("create_property"))
    assert [
        ("partner_plan_action", "partner_plan"),
        ("partner_plan_action", "partner_plan_section"),
        ("partner_plan_investment", "partner_plan"),
        ("partner_plan_investment", "partner_plan_section"),
        ("partner_plan_progress", "partner_plan"),
        ("partner_plan_progress", "partner_plan_section"),
        ("partner_plan_section", "partner_plan"),
        ("partner_plan_target_account", "partner_plan"),
        ("partner_plan_target_account", "partner_plan_section"),
    ] == links
    assert [] == plan_setup(portal, wanted)


def test_statuses_are_choices_of_the_values_partnerplan_writes():
    """The plan's status is an enumeration of the six statuses; plan_key is a unique key."""
    portal = Portal()
    steps = plan_setup(portal, wanted_plan_objects(MANIFEST))
    plan = next(s for s in steps if s.name == "partner_plan")
    props = {p["name"]: p for p in plan.body["properties"]}
    assert ["draft", "shared", "changes_requested", "accepted", "active", "closed"] == [
        o["value"] for o in props["status"]["options"]
    ]
    assert (True, "enumeration", "bool") == (
        props["plan_key"]["hasUniqueValue"],
        props["status"]["type"],
        props["shared_with_partner"]["type"],
    )
    assert ["COMPANY"] == plan.body["associatedObjects"]
