"""Fixtures for the mapping tests: the shipped mappings, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.loader import MappingSet, load_mappings

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "mappings"
SAMPLES = ROOT / "tests" / "fixtures" / "samples"


@pytest.fixture(scope="session")
def shipped() -> MappingSet:
    """The shipped Salesforce and HubSpot mappings, compiled."""
    mappings, problems = load_mappings(SHIPPED, {"salesforce": "salesforce", "hubspot": "hubspot"})
    assert mappings is not None, [p.render() for p in problems]
    return mappings


@pytest.fixture(autouse=True)
def _fake_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The secrets test settings name come from the environment, as settings.yaml requires."""
    monkeypatch.setenv("SF_SESSION_ID", "test-session-0000")
    monkeypatch.setenv("HUBSPOT_TOKEN", "test-token-0000")
