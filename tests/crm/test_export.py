"""``partnerplan crm export DIR`` writes the repository's crm/ out, as the wheel carries it."""

from __future__ import annotations

from pathlib import Path

import pytest

from partnerplan.errors import ConfigurationError
from worker.cli.crm import export

CRM = Path(__file__).resolve().parents[2] / "crm"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_export_writes_every_crm_file_unchanged(tmp_path):
    """The SFDX project, the field manifest and the HubSpot notes arrive byte for byte."""
    export(tmp_path / "out")
    written = _tree(tmp_path / "out")
    assert _tree(CRM) == written
    assert {"salesforce/sfdx-project.json", "hubspot/README.md"} <= set(written)


def test_export_refuses_a_directory_that_holds_files(tmp_path):
    """A non-empty directory is left alone unless --force says to write into it."""
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ConfigurationError, match="not empty"):
        export(tmp_path)
    assert ["mine.txt"] == [p.name for p in tmp_path.iterdir()]
    export(tmp_path, force=True)
    assert "keep" == (tmp_path / "mine.txt").read_text()
    assert (tmp_path / "salesforce" / "sfdx-project.json").is_file()
