"""The shipped Salesforce metadata (crm/salesforce) and writeback.yaml name the same fields."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.writeback.test_push import shipped
from writeback.config import PROGRESS_FIELDS, ROLLUP_FIELDS

ROOT = Path(__file__).resolve().parents[2] / "crm" / "salesforce"
DEFAULT = ROOT / "force-app" / "main" / "default"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
SF_TYPES = {"text": "Text", "number": "Number", "datetime": "DateTime"}


def fields_of(object_name: str) -> dict[str, str]:
    """Each field's fullName to its type, parsed from the object's fields/*.field-meta.xml."""
    out: dict[str, str] = {}
    for path in sorted((DEFAULT / "objects" / object_name / "fields").glob("*.field-meta.xml")):
        root = ET.parse(path).getroot()  # noqa: S314 - our own repository files
        name = root.findtext("md:fullName", namespaces=NS)
        assert name == path.name.removesuffix(".field-meta.xml")
        out[name] = root.findtext("md:type", namespaces=NS) or ""
    return out


def expected_types(part, vocabulary) -> dict[str, str]:
    return {
        target.field: "Percent" if target.percent else SF_TYPES[vocabulary[name]]
        for name, target in part.targets().items()
    }


def test_the_sfdx_project_parses_and_points_at_force_app():
    """sfdx-project.json is valid JSON naming the force-app package directory."""
    project = json.loads((ROOT / "sfdx-project.json").read_text())
    assert [p["path"] for p in project["packageDirectories"]] == ["force-app"]
    for path in DEFAULT.rglob("*.xml"):
        ET.parse(path)  # noqa: S314 - our own repository files


def test_progress_object_fields_are_exactly_what_writeback_writes():
    """Partner_Plan_Progress__c has exactly the mapped fields, the key and the lookup, typed."""
    part = shipped().destinations["salesforce"].progress
    assert part is not None
    expected = {
        **expected_types(part, PROGRESS_FIELDS),
        part.key_field: "Text",
        part.partner_field: "Lookup",
    }
    assert expected == fields_of(part.object)


def test_the_key_field_is_a_unique_external_id_and_the_lookup_targets_account():
    """Upserts need External_Id__c as a unique external id; the lookup makes the related list."""
    fields = DEFAULT / "objects" / "Partner_Plan_Progress__c" / "fields"
    key = ET.parse(fields / "External_Id__c.field-meta.xml").getroot()  # noqa: S314
    lookup = ET.parse(fields / "Partner_Account__c.field-meta.xml").getroot()  # noqa: S314
    assert (
        key.findtext("md:externalId", namespaces=NS),
        key.findtext("md:unique", namespaces=NS),
    ) == ("true", "true")
    assert lookup.findtext("md:referenceTo", namespaces=NS) == "Account"


def test_account_rollup_fields_are_exactly_what_writeback_writes():
    """The Account fields shipped are exactly the roll-up fields, with matching types."""
    part = shipped().destinations["salesforce"].rollup
    assert part is not None
    assert expected_types(part, ROLLUP_FIELDS) == fields_of("Account")


def test_the_account_layout_shows_the_progress_related_list():
    """The Account layout lists Partner_Plan_Progress__c through its Partner_Account__c lookup."""
    path = DEFAULT / "layouts" / "Account-Account Layout.layout-meta.xml"
    root = ET.parse(path).getroot()  # noqa: S314 - our own repository file
    related = [
        r.findtext("md:relatedList", namespaces=NS) for r in root.findall("md:relatedLists", NS)
    ]
    assert "Partner_Plan_Progress__c.Partner_Account__c" in related
