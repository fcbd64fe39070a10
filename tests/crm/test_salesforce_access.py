"""Who may do what in the shipped package: permission sets, tabs, and the partner's response path.

A deploy rejects a permission on a field that does not exist, on a required or master-detail field
(always accessible), and an editable formula; those are checked for every permission set. The
design is checked per persona: the partner reads and responds, never edits; the channel manager
authors plans but leaves partnerplan's values alone; partnerplan's integration user writes what
it pushes and reads what it pulls.
"""

from __future__ import annotations

from tests.crm.sfdx import get

PLAN = "Partner_Business_Plan__c"
PROGRESS = "Partner_Plan_Progress__c"
RESPONSE = "Partner_Plan_Response__c"
PERMISSION_SETS = ("Partner_Plan_Manager", "Partner_Plan_Partner_User", "Partner_Plan_Integration")


def test_the_three_personas_have_a_permission_set(permission_sets):
    """Channel manager, partner user and partnerplan's integration user each get one."""
    assert set(PERMISSION_SETS) == set(permission_sets)


def test_permissions_name_fields_a_deploy_accepts(package, permission_sets):
    """Field permissions exist, skip required and master-detail fields, never edit a formula."""
    problems = []
    for name, (objects, fields, _) in permission_sets.items():
        problems += [(name, o) for o in objects if o not in package.objects]
        for qualified, editable in fields.items():
            field = package.field(*qualified.split("."))
            if field is None or field.standard or field.required or field.type == "MasterDetail":
                problems.append((name, qualified))
            elif editable and field.computed:
                problems.append((name, qualified, "editable"))
            elif field.object not in objects or "allowRead" not in objects[field.object]:
                problems.append((name, qualified, "object not readable"))
    assert [] == problems


def test_tabs_exist_for_the_plan_and_progress_and_are_granted(package, permission_sets):
    """Each tab is a custom object tab of a package object; the people who use them see them."""
    tabs = {path.name.split(".")[0]: root for path, root in package.of("tab")}
    assert {PLAN, PROGRESS} == set(tabs)
    assert {"true"} == {get(root, "customObject") for root in tabs.values()}
    for name in ("Partner_Plan_Manager", "Partner_Plan_Partner_User"):
        assert {PLAN, PROGRESS} == set(permission_sets[name][2])


def test_the_partner_reads_and_responds_but_edits_nothing(package, permission_sets):
    """Partner users: read the plan's records (and Account), create responses, edit nothing else."""
    objects, fields, _ = permission_sets["Partner_Plan_Partner_User"]
    plan_records = {
        PLAN,
        PROGRESS,
        *(o for o in package.objects if package.field(o, "Plan__c") and o != PROGRESS),
    }
    readable = plan_records - {RESPONSE} | {"Account"}
    expected = {o: {"allowRead"} for o in readable} | {RESPONSE: {"allowRead", "allowCreate"}}
    assert expected == objects
    assert [f"{RESPONSE}.Comment__c"] == [name for name, editable in fields.items() if editable]


def test_the_partner_responds_with_read_access_to_the_plan(package):
    """Responses are details whose master needs only read access: no partner ever edits a plan."""
    master = package.field(RESPONSE, "Plan__c")
    assert ("MasterDetail", PLAN, True) == (
        master.type,
        master.reference_to,
        master.write_requires_master_read,
    )


def test_nobody_edits_or_deletes_a_response(permission_sets):
    """A response is history: no permission set may edit or delete one, or modify all of them."""
    grants = {
        name: objects.get(RESPONSE, set()) for name, (objects, _, _) in permission_sets.items()
    }
    assert {} == {
        name: g
        for name, g in grants.items()
        if g & {"allowEdit", "allowDelete", "modifyAllRecords"}
    }


def test_the_channel_manager_leaves_partnerplans_values_alone(package, permission_sets):
    """Managers edit plan definitions, but not progress, scores, acceptance or external ids."""
    objects, fields, _ = permission_sets["Partner_Plan_Manager"]
    assert {"allowRead"} == objects[PROGRESS]
    read_only = {
        f"{PLAN}.{name}"
        for name in (
            "External_Id__c",
            "Score__c",
            "Data_As_Of__c",
            "Accepted_By__c",
            "Accepted_At__c",
            "Accepted_Version__c",
            "Origin__c",
        )
    }
    assert read_only == {name for name in read_only if fields.get(name) is False}
    assert [] == [
        name for name, editable in fields.items() if editable and name.startswith(PROGRESS)
    ]
    assert {"Shared_With__c", "Status__c", "Version__c", "Summary__c"} <= {
        name.split(".")[1]
        for name, editable in fields.items()
        if editable and name.startswith(PLAN)
    }


def test_the_integration_user_writes_every_field_it_may_and_reads_responses(
    package, permission_sets
):
    """partnerplan's user edits every writable field of the plan's records and reads responses."""
    objects, fields, _ = permission_sets["Partner_Plan_Integration"]
    writable = {
        f"{o.name}.{f.name}"
        for o in package.objects.values()
        if o.name.endswith("__c") and o.name != RESPONSE
        for f in o.fields.values()
        if not (f.standard or f.computed or f.required or f.type == "MasterDetail")
    }
    assert set() == writable - {name for name, editable in fields.items() if editable}
    assert {"allowRead", "viewAllRecords"} == objects[RESPONSE]
    assert {
        "allowCreate",
        "allowRead",
        "allowEdit",
        "allowDelete",
        "viewAllRecords",
        "modifyAllRecords",
    } == objects[PLAN]
