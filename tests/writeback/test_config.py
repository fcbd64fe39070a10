"""writeback.yaml is validated like every config: each problem at FILE:LINE with the fix."""

from __future__ import annotations

from connectors.hubspot.setup import Step, plan_setup
from connectors.setup import WantedObject, WantedProperty
from tests.writeback.test_push import KINDS, SHIPPED
from writeback.config import load_writeback

SOURCES = {
    "salesforce": type("S", (), {"type": "salesforce"})(),
    "hubspot": type("H", (), {"type": "hubspot"})(),
}


def problems_of(tmp_path, text, sources=SOURCES):
    path = tmp_path / "writeback.yaml"
    path.write_text(text)
    model, problems = load_writeback(path, sources)
    return model, [p.render().replace(str(path), "FILE") for p in problems]


def test_the_shipped_file_is_valid():
    """config/writeback.yaml loads without a problem against the shipped sources."""
    model, problems = load_writeback(SHIPPED, dict.fromkeys(KINDS))
    assert (problems, sorted(model.destinations)) == ([], ["hubspot", "salesforce"])


def test_a_missing_file_means_write_back_is_off(tmp_path):
    """No writeback.yaml: no destinations and no problem."""
    model, problems = load_writeback(tmp_path / "writeback.yaml", SOURCES)
    assert (model.destinations, problems) == ({}, [])


def test_an_unknown_progress_field_is_located_with_a_suggestion(tmp_path):
    """A typo in a progress field name names the line and the closest known name."""
    text = SHIPPED.read_text().replace("        actual: Actual__c", "        actuals: Actual__c", 1)
    model, problems = problems_of(tmp_path, text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "actuals:" in t)
    assert model is None
    assert len(problems) == 1
    assert problems[0].startswith(f"FILE:{line}: destinations.salesforce.progress.fields.actuals: ")
    assert "'actuals' is not a progress field; did you mean 'actual'?" in problems[0]


def test_a_destination_must_be_a_source(tmp_path):
    """A destination not defined under sources: in settings.yaml is reported at its line."""
    text = (
        "version: 1\ndestinations:\n  sales_force:\n    rollup:\n      object: Account\n"
        "      fields: {status: Plan_Status__c}\n"
    )
    _, problems = problems_of(tmp_path, text)
    assert problems == [
        "FILE:3: destinations.sales_force: no source named 'sales_force' in settings.yaml; "
        "did you mean 'salesforce'? destinations are named after sources (hubspot, salesforce)"
    ]


def test_salesforce_progress_needs_the_account_lookup(tmp_path):
    """Progress records without partner_field would not show on the Account: an error."""
    text = SHIPPED.read_text().replace(
        "      partner_field: Partner_Account__c      # lookup to the partner's Account\n", ""
    )
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1 and "need `partner_field:`" in problems[0]


def test_unknown_keys_are_reported(tmp_path):
    """A misspelt key (owned_by_crm) is an error with a suggestion, never ignored."""
    text = SHIPPED.read_text().replace("      owned_by_crm: []", "      owned_by_cmr: []", 1)
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1 and "did you mean 'owned_by_crm'?" in problems[0]


class FakeAdmin:
    """A portal with a custom object schema and some properties."""

    def __init__(self, properties, groups=(), schemas=()):
        self.props = {k: set(v) for k, v in properties.items()}
        self.group_names = {k: set(groups) for k in properties}
        self.schema_list = list(schemas)
        self.created: list[Step] = []

    def schemas(self):
        return self.schema_list

    def groups(self, object):
        return self.group_names.get(object, set())

    def properties(self, object):
        return self.props.get(object, set())

    def create(self, step):
        self.created.append(step)


def test_hubspot_setup_plans_only_what_is_missing():
    """Existing properties are left alone; missing ones get the group first, then the property."""
    wanted = [
        WantedObject(
            "companies",
            (WantedProperty("plan_score", "number"), WantedProperty("plan_status", "text")),
        )
    ]
    admin = FakeAdmin({"companies": {"name", "plan_score"}})
    steps = plan_setup(admin, wanted)
    assert [s.describe() for s in steps] == [
        "create property group partner_plan on companies",
        "create property plan_status (string) on companies",
    ]
    assert plan_setup(FakeAdmin({"companies": {"plan_score", "plan_status"}}), wanted) == []


def test_hubspot_setup_creates_the_custom_object_with_a_unique_key():
    """A missing custom object is one schema step carrying every property and the company link."""
    props = (
        WantedProperty("progress_key", "text", unique=True),
        WantedProperty("actual", "number"),
    )
    wanted = [WantedObject("partner_plan_progress", props, custom=True, linked_to_partner=True)]
    (step,) = plan_setup(FakeAdmin({}), wanted)
    assert (step.action, step.body["primaryDisplayProperty"], step.body["associatedObjects"]) == (
        "create_schema",
        "progress_key",
        ["COMPANY"],
    )
    assert step.body["properties"][0]["hasUniqueValue"] is True
    existing = FakeAdmin(
        {"2-1003": {"progress_key", "actual"}},
        schemas=[{"name": "partner_plan_progress", "objectTypeId": "2-1003"}],
    )
    assert plan_setup(existing, wanted) == []
