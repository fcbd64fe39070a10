"""What partnerplan writes to Salesforce exists in the shipped package, with a type that holds it.

Two sources name Salesforce fields: ``writeback.yaml`` (progress values and Account roll-ups; the
shipped example and the starter ``partnerplan init`` writes) and ``crm/salesforce/partnerplan-
fields.yaml`` (the plan push: plans, sections, actions, investment, target accounts, and the
responses it pulls). Both are held to the metadata here, and the picklists to the values the code
writes, so a renamed field or a new status fails a test before it fails a push.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plans import pacing
from plans.catalogue import Unit
from tests.crm.sfdx import ROOT
from writeback.config import PROGRESS_FIELDS, ROLLUP_FIELDS, FieldTarget, load_writeback

REPO = Path(__file__).resolve().parents[2]
WRITEBACK_FILES = (
    REPO / "config" / "writeback.yaml",
    REPO / "worker" / "starter" / "writeback.yaml",
)
STATUSES = [pacing.ACHIEVED, pacing.ON_TRACK, pacing.AT_RISK, pacing.OFF_TRACK, pacing.NO_DATA]
"""Every status partnerplan computes (plans/pacing.py) and writes to progress and roll-ups."""
PLAN_LIFE = ["draft", "shared", "changes_requested", "accepted", "active", "closed"]
"""A plan's life (DESIGN.md, Key decisions: Plans)."""
WRITEBACK_TYPES = {"text": {"Text"}, "number": {"Number"}, "datetime": {"DateTime"}}
KIND_TYPES = {
    "text": {"Text", "TextArea", "LongTextArea"},
    "number": {"Number"},
    "percent": {"Percent"},
    "money": {"Currency"},
    "date": {"Date"},
    "datetime": {"DateTime"},
    "picklist": {"Picklist"},
    "reference": {"Lookup", "MasterDetail"},
    "user": {"Lookup"},
    "currency": {"CurrencyIsoCode"},
}
"""Each manifest kind to the Salesforce field types that hold it."""


@pytest.fixture(scope="module")
def manifest() -> dict:
    """crm/salesforce/partnerplan-fields.yaml."""
    return yaml.safe_load((ROOT / "partnerplan-fields.yaml").read_text())["objects"]


def _problem(package, obj, name, types, values=None, to=None):
    """Why ``obj.name`` cannot hold the value, or None."""
    field = package.field(obj, name)
    if field is None:
        return f"{obj}.{name} does not exist"
    if field.type not in types:
        return f"{obj}.{name} is {field.type}, not {'/'.join(sorted(types))}"
    if values is not None and list(field.values) != list(values):
        return f"{obj}.{name} offers {list(field.values)}, not {list(values)}"
    if to is not None and field.reference_to != to:
        return f"{obj}.{name} points at {field.reference_to}, not {to}"
    return None


def _key_problem(package, obj, name):
    field = package.field(obj, name)
    if field is None or (field.type, field.external_id, field.unique, field.case_sensitive) != (
        "Text",
        True,
        True,
        True,
    ):
        return f"{obj}.{name} is not a unique, case-sensitive external id"
    return None


@pytest.mark.parametrize("path", WRITEBACK_FILES, ids=lambda p: p.parent.name)
def test_writeback_fields_exist_with_a_compatible_type(package, path):
    """Each progress and roll-up field writeback.yaml maps exists and holds its value's kind."""
    model, problems = load_writeback(path)
    assert ([], True) == (problems, model is not None)
    dest = model.destinations["salesforce"]
    found = [_key_problem(package, dest.progress.object, dest.progress.key_field)]
    found.append(
        _problem(
            package, dest.progress.object, dest.progress.partner_field, {"Lookup"}, to="Account"
        )
    )
    for part, vocabulary in ((dest.progress, PROGRESS_FIELDS), (dest.rollup, ROLLUP_FIELDS)):
        for name, target in part.targets().items():
            assert isinstance(target, FieldTarget)
            if name == "status":
                found.append(_problem(package, part.object, target.field, {"Picklist"}, STATUSES))
                continue
            types = {"Percent"} if target.percent else WRITEBACK_TYPES[vocabulary[name]]
            found.append(_problem(package, part.object, target.field, types))
    assert [] == [p for p in found if p]


def test_the_status_picklists_offer_exactly_the_statuses_partnerplan_writes(package):
    """Progress and Account status picklists hold pacing's five statuses, nothing else."""
    assert STATUSES == list(package.field("Partner_Plan_Progress__c", "Status__c").values)
    assert STATUSES == list(package.field("Account", "Plan_Status__c").values)


def test_the_manifest_is_well_formed(manifest):
    """Every entry names a field and a known kind; picklists list values, references a target."""
    problems = []
    for part, spec in manifest.items():
        assert spec["direction"] in {"push", "pull"}, part
        for name, entry in spec["fields"].items():
            if entry.get("kind") not in KIND_TYPES or not entry.get("field"):
                problems.append((part, name))
            if (entry["kind"] == "picklist") != ("values" in entry):
                problems.append((part, name, "values"))
            if (entry["kind"] == "reference") != ("to" in entry):
                problems.append((part, name, "to"))
    assert [] == problems


def test_manifest_fields_exist_with_a_compatible_type(package, manifest):
    """Every field the plan push writes or the response pull reads exists and holds its kind."""
    problems = []
    for spec in manifest.values():
        obj = spec["object"]
        if "key_field" in spec:
            problems.append(_key_problem(package, obj, spec["key_field"]))
        for entry in spec["fields"].values():
            to = "User" if entry["kind"] == "user" else entry.get("to")
            problems.append(
                _problem(
                    package, obj, entry["field"], KIND_TYPES[entry["kind"]], entry.get("values"), to
                )
            )
    assert [] == [p for p in problems if p]


def test_manifest_picklists_follow_the_code_and_the_design(manifest):
    """Units are the catalogue's, plan statuses the design's life of a plan."""
    assert [unit.value for unit in Unit] == manifest["progress"]["fields"]["unit"]["values"]
    assert PLAN_LIFE == manifest["plan"]["fields"]["status"]["values"]


def test_every_object_partnerplan_upserts_has_an_external_id_and_only_those(package, manifest):
    """Objects keyed by External_Id__c are exactly the ones the push and write-back upsert."""
    model, _ = load_writeback(WRITEBACK_FILES[0])
    upserted = {spec["object"] for spec in manifest.values() if spec["direction"] == "push"}
    upserted.add(model.destinations["salesforce"].progress.object)
    keyed = {name for name, o in package.objects.items() if "External_Id__c" in o.fields}
    assert upserted == keyed


def test_the_integration_user_may_write_what_is_pushed_and_read_what_is_pulled(
    package, manifest, permission_sets
):
    """The integration permission set edits every pushed field and reads every pulled one."""
    _, fields, _ = permission_sets["Partner_Plan_Integration"]
    missing = []
    for spec in manifest.values():
        for entry in spec["fields"].values():
            field = package.field(spec["object"], entry["field"])
            if field.standard or field.required or field.type == "MasterDetail":
                continue  # always accessible: no field permission exists for them
            qualified = f"{spec['object']}.{entry['field']}"
            wanted = spec["direction"] == "push"
            if qualified not in fields or (wanted and not fields[qualified]):
                missing.append(qualified)
    assert [] == missing
