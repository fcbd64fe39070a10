"""The SFDX project in crm/salesforce holds together: every file parses, every reference resolves.

No org is at hand, so the package is checked statically: what a deploy would reject for a
dangling name (a list view column, a related list, a report column, a permission on a field that
does not exist) and the design rules the README states (drafts never reach the partner, the
partner reads and responds but edits nothing, the org's Account layout is never replaced).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from tests.crm.sfdx import NS, ROOT, each, formula_fields, get, picklist_literals, texts

PLAN = "Partner_Business_Plan__c"
PROGRESS = "Partner_Plan_Progress__c"
RESPONSE = "Partner_Plan_Response__c"
PLAN_PARTS = (
    "Partner_Plan_Section__c",
    "Partner_Plan_Action__c",
    "Partner_Plan_Investment__c",
    "Partner_Plan_Target_Account__c",
    RESPONSE,
)
LIST_VIEW_COLUMNS = {"NAME": "Name", "OWNER.ALIAS": "OwnerId", "LAST_UPDATE": "LastModifiedDate"}
RELATED_LIST_COLUMNS = {"NAME": "Name", "CREATED_DATE": "CreatedDate"}


def test_every_metadata_file_is_well_formed_metadata_xml():
    """Each *-meta.xml parses and its root element is in the Metadata API namespace."""
    roots = {path.name: ET.parse(path).getroot().tag for path in ROOT.rglob("*-meta.xml")}  # noqa: S314
    assert len(roots) > 50
    assert [] == [name for name, tag in roots.items() if not tag.startswith("{" + NS["md"] + "}")]


def test_the_project_names_its_package_directories():
    """sfdx-project.json lists force-app (deployed first) and partner-portal, and both exist."""
    project = json.loads((ROOT / "sfdx-project.json").read_text())
    paths = [p["path"] for p in project["packageDirectories"]]
    assert ["force-app", "partner-portal"] == paths
    assert [] == [path for path in paths if not (ROOT / path).is_dir()]


def test_each_file_is_named_after_its_full_name(package):
    """A field's or rule's file name is its fullName: a mismatch deploys under the wrong name."""
    kinds = ("field", "validationRule", "listView", "compactLayout")
    mismatched = [
        path.name
        for kind in kinds
        for path, root in package.of(kind)
        if get(root, "fullName") != path.name.split(".")[0]
    ]
    assert [] == mismatched


def test_the_org_account_layout_is_not_shipped():
    """No Account layout ships: deploying one replaces the org's layout of that name."""
    assert [] == sorted(p.name for p in ROOT.rglob("Account-*.layout-meta.xml"))


def test_every_lookup_points_at_an_object_the_package_knows(package):
    """Lookups and master-details reference a package object, Account or User, uniquely named."""
    lookups = [f for o in package.objects.values() for f in o.fields.values() if f.lookup]
    custom = [f for f in lookups if not f.standard]
    assert [] == [f.name for f in lookups if f.reference_to not in package.objects]
    pairs = [(f.reference_to, f.relationship) for f in custom]
    assert len(pairs) == len(set(pairs))
    assert [] == [f.name for f in custom if not f.relationship]


def test_plan_parts_are_details_of_the_plan_and_share_its_access(package):
    """Sections, actions, investment, target accounts and responses are master-detail children."""
    for name in PLAN_PARTS:
        sobject = package.objects[name]
        master = sobject.fields["Plan__c"]
        assert ("MasterDetail", PLAN) == (master.type, master.reference_to), name
        assert ("ControlledByParent", "ControlledByParent") == (
            sobject.sharing,
            sobject.external_sharing,
        ), name


def test_plans_and_progress_are_private_to_partners(package):
    """External org-wide defaults are Private: partners see only what the sharing set grants."""
    for name in (PLAN, PROGRESS):
        assert ("Read", "Private") == (
            package.objects[name].sharing,
            package.objects[name].external_sharing,
        )


def test_the_sharing_set_grants_read_through_lookups_to_the_partner_account(package):
    """Plans are shared through Shared_With__c (never a draft), progress through its partner."""
    ((_, root),) = package.of("sharingSet")
    mappings = {
        get(m, "object"): (get(m, "objectField"), get(m, "userField"), get(m, "accessLevel"))
        for m in root.findall("md:accessMappings", NS)
    }
    assert {
        PLAN: ("Shared_With__c", "Account", "Read"),
        PROGRESS: ("Partner_Account__c", "Account", "Read"),
    } == mappings
    for obj, (field, _, _) in mappings.items():
        assert "Account" == package.field(obj, field).reference_to
    assert ["Partner Community User"] == texts(root, "profiles")  # README: edit to yours


def test_a_draft_cannot_be_shared_and_a_shared_plan_only_with_its_partner(package):
    """A validation rule ties Shared_With__c to the status: the sharing set never leaks a draft."""
    rules = {path.name.split(".")[0]: root for path, root in package.of("validationRule")}
    formula = get(rules["Shared_With_Follows_Status"], "errorConditionFormula")
    assert {("Status__c", "draft")} == picklist_literals(formula)
    assert {"Shared_With__c", "Partner_Account__c", "Status__c"} == formula_fields(formula)


def _formulas(package):
    """(object, where, formula) for every field formula, validation rule and quick-action value."""
    for sobject in package.objects.values():
        for f in sobject.fields.values():
            if f.formula:
                yield sobject.name, f.name, f.formula
    for path, root in package.of("validationRule"):
        yield path.parent.parent.name, path.name, get(root, "errorConditionFormula")


def test_every_formula_names_fields_that_exist_and_picklist_values_they_offer(package):
    """Formula and rule fields resolve; each ISPICKVAL literal is a value of its field."""
    unknown, bad_values = [], []
    for obj, where, formula in _formulas(package):
        unknown += [(where, p) for p in formula_fields(formula) if package.resolve(obj, p) is None]
        for path, value in picklist_literals(formula):
            field = package.resolve(obj, path)
            if field is None or value not in field.values:
                bad_values.append((where, path, value))
    assert ([], []) == (unknown, bad_values)


def test_picklists_are_restricted_with_labels_users_read(package):
    """Every picklist is restricted, and no label is a raw API value such as on_track."""
    picklists = [f for o in package.objects.values() for f in o.fields.values() if f.values]
    assert len(picklists) >= 10
    assert [] == [f.name for f in picklists if not f.restricted]
    raw = [(f.name, label) for f in picklists for label in f.labels if "_" in label]
    assert [] == raw


def test_list_views_name_fields_of_their_object(package):
    """The list views the README promises exist, and their columns and filters resolve."""
    views = {
        (path.parent.parent.name, path.name.split(".")[0]): root
        for path, root in package.of("listView")
    }
    assert {
        (PLAN, "My_Partner_Plans"),
        (PLAN, "Awaiting_Acceptance"),
        (PROGRESS, "At_Risk_Targets"),
    } <= set(views)
    missing = [
        (obj, name)
        for (obj, _), root in views.items()
        for name in texts(root, "columns") + texts(root, "filters/field")
        if package.field(obj, LIST_VIEW_COLUMNS.get(name, name)) is None
    ]
    assert [] == missing
    assert "Mine" == get(views[(PLAN, "My_Partner_Plans")], "filterScope")


def test_layouts_name_fields_related_lists_and_actions_that_exist(package):
    """Layout fields, related lists (Child.LookupField to this object) and actions resolve."""
    actions = {
        path.name.removesuffix(".quickAction-meta.xml") for path, _ in package.of("quickAction")
    }
    problems = []
    for path, root in package.of("layout"):
        obj = path.name.split("-")[0]
        problems += [
            f
            for f in texts(root, "layoutSections/layoutColumns/layoutItems/field")
            if not package.field(obj, f)
        ]
        for related in root.findall("md:relatedLists", NS):
            name = get(related, "relatedList")
            if name in {"RelatedFileList", "RelatedEntityHistoryList"}:
                continue
            child, _, lookup = name.partition(".")
            field = package.field(child, lookup)
            if field is None or field.reference_to != obj:
                problems.append(name)
            columns = texts(related, "fields")
            problems += [
                c for c in columns if not package.field(child, RELATED_LIST_COLUMNS.get(c, c))
            ]
        for item in root.findall("md:platformActionList/md:platformActionListItems", NS):
            if get(item, "actionType") == "QuickAction" and get(item, "actionName") not in actions:
                problems.append(get(item, "actionName"))
    assert [] == problems


def test_each_custom_object_has_a_layout_and_the_plan_a_compact_layout(package):
    """Every package object ships its own layout; the plan's compact layout exists and resolves."""
    custom = {name for name in package.objects if name.endswith("__c")}
    laid_out = {path.name.split("-")[0] for path, _ in package.of("layout")}
    assert custom == laid_out
    compacts = {path.name.split(".")[0]: root for path, root in package.of("compactLayout")}
    compact = compacts[package.objects[PLAN].compact_layout]
    assert [] == [f for f in texts(compact, "fields") if not package.field(PLAN, f)]


def test_the_response_actions_create_a_response_for_the_current_version(package):
    """Accept Plan / Request Changes set the response and copy the plan's version onto it."""
    found = {}
    for path, root in package.of("quickAction"):
        source, name = path.name.removesuffix(".quickAction-meta.xml").split(".")
        target = get(root, "targetObject")
        parent = package.field(target, get(root, "targetParentField"))
        assert parent.reference_to == source
        overrides = {
            get(o, "field"): get(o, "literalValue") or get(o, "formula")
            for o in root.findall("md:fieldOverrides", NS)
        }
        layout_fields = texts(
            root, "quickActionLayout/quickActionLayoutColumns/quickActionLayoutItems/field"
        )
        assert [] == [f for f in [*overrides, *layout_fields] if not package.field(target, f)]
        version_source, _, version_field = overrides["Plan_Version__c"].partition(".")
        assert (source, "Version__c") == (version_source, package.field(source, version_field).name)
        found[name] = overrides["Response__c"]
    assert {"Accept_Plan": "accept", "Request_Changes": "request_changes"} == found
    assert set(found.values()) == set(package.field(RESPONSE, "Response__c").values)


def _page_components(root):
    for instance in each(root, "componentInstance"):
        props = {
            get(p, "name"): get(p, "value")
            for p in instance.findall("md:componentInstanceProperties", NS)
        }
        lists = {
            get(p, "name"): texts(p, "valueList/valueListItems/value")
            for p in instance.findall("md:componentInstanceProperties", NS)
        }
        yield get(instance, "componentName"), get(instance, "identifier"), props, lists


def test_record_pages_show_related_lists_that_exist(package):
    """Each FlexiPage related list is a child relationship of its object; identifiers are unique."""
    pages = {path.name.split(".")[0]: root for path, root in package.of("flexipage")}
    assert {"Partner_Business_Plan_Record_Page", "Partner_Account_Record_Page"} == set(pages)
    shown = {}
    for name, root in pages.items():
        obj = get(root, "sobjectType")
        children = package.children(obj)
        idents, facets = [], {get(r, "name") for r in root.findall("md:flexiPageRegions", NS)}
        for _, ident, props, lists in _page_components(root):
            idents.append(ident)
            assert [] == [
                props[k] for k in ("body", "tabs") if k in props and props[k] not in facets
            ]
            relationship = props.get("relatedListApiName")
            if relationship is None:
                continue
            assert f"{obj}.Id" == props["parentFieldApiName"]
            shown.setdefault(name, set()).add(relationship)
            if relationship != "AttachedContentDocuments":
                child = children[relationship].object
                aliases = lists.get("relatedListFieldAliases", [])
                assert [] == [
                    a for a in aliases if not package.field(child, RELATED_LIST_COLUMNS.get(a, a))
                ]
        assert len(idents) == len(set(idents)), name
    assert {
        "Plan_Sections__r",
        "Plan_Progress__r",
        "Plan_Actions__r",
        "Plan_Investments__r",
        "Plan_Target_Accounts__r",
        "Plan_Responses__r",
        "AttachedContentDocuments",
    } == shown["Partner_Business_Plan_Record_Page"]
    assert {"Partner_Business_Plans__r", "Partner_Plan_Progress__r"} == shown[
        "Partner_Account_Record_Page"
    ]


def test_the_plan_page_is_its_objects_default_and_no_standard_object_is_overridden(package):
    """The plan object opens its record page; Account keeps whatever page the org assigns."""
    pages = {
        path.name.split(".")[0]: get(root, "sobjectType") for path, root in package.of("flexipage")
    }
    overrides = {(name, page) for name, o in package.objects.items() for page in o.record_pages}
    assert {(PLAN, "Partner_Business_Plan_Record_Page")} == overrides
    assert overrides == {(pages[page], page) for _, page in overrides}


def test_the_account_page_renders_the_orgs_own_layout(package):
    """The Account page uses the detail and related-list components, which draw the org's layout."""
    ((path, root),) = [
        (p, r) for p, r in package.of("flexipage") if get(r, "sobjectType") == "Account"
    ]
    components = {component for component, *_ in _page_components(root)}
    assert {"force:detailPanel", "force:relatedListContainer"} <= components, path.name
