"""Fixtures of the CRM package tests: the SFDX project and its permission sets, parsed once."""

from __future__ import annotations

import pytest

from tests.crm.sfdx import NS, Package, get, load, texts

OBJECT_FLAGS = (
    "allowCreate",
    "allowRead",
    "allowEdit",
    "allowDelete",
    "viewAllRecords",
    "modifyAllRecords",
)


@pytest.fixture(scope="session")
def package() -> Package:
    """crm/salesforce, parsed."""
    return load()


@pytest.fixture(scope="session")
def permission_sets(package):
    """Each permission set: object grants (flags by object), field grants (editable?), tabs."""
    out = {}
    for path, root in package.of("permissionset"):
        objects = {
            get(o, "object"): {flag for flag in OBJECT_FLAGS if get(o, flag) == "true"}
            for o in root.findall("md:objectPermissions", NS)
        }
        fields = {
            get(f, "field"): get(f, "editable") == "true"
            for f in root.findall("md:fieldPermissions", NS)
        }
        out[path.name.split(".")[0]] = (objects, fields, texts(root, "tabSettings/tab"))
    return out
