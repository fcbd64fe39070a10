"""Source settings as users write them in settings.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSource
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSource
from partnerplan.config import load
from worker.settings import settings_model

SHIPPED = Path(__file__).parents[2] / "config" / "settings.yaml"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the shipped settings.yaml requires, without SF_CA_BUNDLE."""
    monkeypatch.setenv("SF_CLIENT_ID", "client-id")
    monkeypatch.setenv("SF_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-na1-token")
    monkeypatch.delenv("SF_CA_BUNDLE", raising=False)


def test_unset_sf_ca_bundle_means_the_system_trust_store(secrets):
    """`ca_bundle: ${SF_CA_BUNDLE:-}` with the variable unset verifies against the system store."""
    settings = load(SHIPPED, settings_model(), expand=True)
    source = settings.sources["salesforce"]
    assert isinstance(source, SalesforceSource)
    assert None is source.ca_bundle
    connector = SalesforceConnector("salesforce", source)
    assert True is connector.session.verify


def test_sf_ca_bundle_set_is_the_file_trusted(secrets, monkeypatch, tmp_path):
    """With SF_CA_BUNDLE set, the Salesforce session trusts exactly that file."""
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    monkeypatch.setenv("SF_CA_BUNDLE", str(bundle))
    source = load(SHIPPED, settings_model(), expand=True).sources["salesforce"]
    assert isinstance(source, SalesforceSource)
    assert str(bundle) == source.ca_bundle
    assert str(bundle) == SalesforceConnector("salesforce", source).session.verify


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_hubspot_ca_bundle_means_the_system_trust_store(blank):
    """A blank HubSpot ca_bundle is "not set", so the client is not handed a file named ''."""
    source = HubSpotSource.model_validate(
        {"type": "hubspot", "token": SecretStr("pat-na1-token"), "ca_bundle": blank}
    )
    assert None is source.ca_bundle
    assert "pat-na1-token" not in repr(HubSpotConnector("hubspot", source))
