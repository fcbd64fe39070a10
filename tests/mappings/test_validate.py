"""`partnerplan validate` on mappings: shipped ones pass; each mistake is FILE:LINE + fix, exit 2.

Every file in ``tests/fixtures/bad-mappings/`` holds one mistake and, in its first line, the
``# expect: LINE: message`` that validate must print for it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.mappings.conftest import ROOT, SHIPPED
from worker.cli import run

BAD = ROOT / "tests" / "fixtures" / "bad-mappings"
SETTINGS = """\
version: 1
sources:
  salesforce:
    type: salesforce
    instance_url: https://example.my.salesforce.com
    auth: {flow: session, session_id: "${SF_SESSION_ID}"}
  hubspot:
    type: hubspot
    token: "${HUBSPOT_TOKEN}"
"""
"""Settings whose secrets come from the environment (the autouse fixture of conftest sets them)."""


def _config(tmp_path: Path, *mapping_files: Path) -> Path:
    root = tmp_path / "config"
    (root / "mappings").mkdir(parents=True)
    (root / "settings.yaml").write_text(SETTINGS)
    for path in mapping_files:
        shutil.copy(path, root / "mappings" / path.name)
    return root


def _expectation(path: Path) -> tuple[int, str]:
    first = path.read_text().partition("\n")[0]
    if not first.startswith("# expect: "):
        return 1, "file is empty; add the settings it should hold or delete it"
    line, _, message = first.removeprefix("# expect: ").partition(": ")
    return int(line), message


def test_shipped_mappings_validate(tmp_path, capsys):
    """The shipped config/mappings pass validate with no warning."""
    root = _config(tmp_path, *sorted(SHIPPED.glob("*.yaml")))
    assert run(["validate", "--config", str(root)]) == 0
    captured = capsys.readouterr()
    assert "configuration is valid" in captured.out
    assert captured.err == ""


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.yaml")))
def test_bad_mapping_is_reported_at_its_line(tmp_path, capsys, name):
    """Each bad mapping file: exit 2, `FILE:LINE: ...message`, no traceback."""
    root = _config(tmp_path, BAD / name)
    line, message = _expectation(BAD / name)
    assert run(["validate", "--config", str(root)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    where = f"{root / 'mappings' / name}:{line}: "
    assert any(row.startswith(where) and message in row for row in err.splitlines()), err


def test_duplicate_stream_names_across_files_name_both_places(tmp_path, capsys):
    """A stream name used in two files is reported at the second, pointing at the first."""
    root = _config(tmp_path, SHIPPED / "salesforce.yaml")
    copy = root / "mappings" / "zz-more.yaml"
    copy.write_text(
        "source: salesforce\nstreams:\n  - name: sf_leads\n    object: Lead\n    kind: lead\n"
    )
    assert run(["validate", "--config", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"{copy}:3: streams[0].name: stream name 'sf_leads' is already used at " in err
    assert f"{root / 'mappings' / 'salesforce.yaml'}:" in err


def test_a_5_mb_mapping_file_is_refused_with_the_fix(tmp_path, capsys):
    """An oversized mapping file is refused before parsing, with the advice to split it."""
    root = _config(tmp_path)
    big = root / "mappings" / "big.yaml"
    big.write_text("# padding\n" * (5 * 1024 * 1024 // 10))
    assert run(["validate", "--config", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"{big}:1: file is 5.0 MiB; config files are limited to 1 MiB: split it" in err


def test_unmapped_picklist_values_are_a_warning_listing_them(tmp_path, capsys):
    """A map without "*" that misses known source values warns with the values; still valid."""
    root = _config(tmp_path)
    (root / "mappings" / "sf.yaml").write_text(
        "source: salesforce\n"
        "streams:\n"
        "  - name: sf_deal_registrations\n"
        "    object: Deal_Registration__c\n"
        "    kind: deal_registration\n"
        "    fields:\n"
        "      status:\n"
        "        field: Status__c\n"
        "        map: {Submitted: submitted, Approved: approved}\n"
    )
    assert run(["validate", "--config", str(root)]) == 0
    err = capsys.readouterr().err
    assert (
        f"{root / 'mappings' / 'sf.yaml'}:9: warning: streams[0].fields.status.map: values of "
        "Status__c not in the map: 'Rejected', 'Expired', 'Converted'; records with them will "
        'be quarantined: map them or add a "*" fallback'
    ) in err


def test_extra_fields_accept_an_org_specific_field(tmp_path, capsys):
    """A field outside partnerplan's schema is accepted once listed under extra_fields."""
    root = _config(tmp_path)
    (root / "mappings" / "sf.yaml").write_text(
        "source: salesforce\n"
        "streams:\n"
        "  - name: sf_opportunities\n"
        "    object: Opportunity\n"
        "    kind: opportunity\n"
        "    extra_fields: [Campaign_Code__c]\n"
        "    attributes: {campaign: Campaign_Code__c}\n"
    )
    assert run(["validate", "--config", str(root)]) == 0
